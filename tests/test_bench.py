import json

import pytest

from ser_lib.pipeline import bench, bench_training


def test_bench_measures_and_judges_the_target(tiny_root, tiny_cache, tmp_path):
    out = tmp_path / "bench.json"
    r = bench.run(tiny_root, n_clips=3, cache=tiny_cache, out=out, demo_size="tiny")
    assert json.loads(out.read_text()) == json.loads(json.dumps(r))
    assert r["data"] == "synthetic" and r["n_clips"] == 3 and set(r["opensmile"]) == {"eGeMAPSv02", "ComParE_2016"}
    for key in ("decode_x_realtime_1core", "features_x_realtime_1core_padded", "features_x_realtime_1core_padded_cpu",
                "end_to_end_ms_per_clip", "parallel_clips_per_s", "peak_rss_mb"):
        assert r[key] > 0, key
    basis = "features_x_realtime_1core_padded_cpu" if r["target_basis"].startswith("cpu") else "features_x_realtime_1core_padded"
    assert r["target_met"] == (r[basis] >= bench.TARGET_X_REALTIME)
    # the padded window (5.005 s) is longer than the synthetic clips, so the padded rate is the larger one
    assert r["features_x_realtime_1core_padded"] >= r["features_x_realtime_1core_clip"]
    g = r["generalisation"]
    assert {"level front end", "augment", "condition telephone", "condition reverb", "condition codec"} <= set(g)
    assert all(m["x_realtime_1core_cpu"] > 0 for k, m in g.items() if k != "svm_fit") and g["svm_fit"]["wall_s"] > 0


def test_training_speed_times_a_real_model():
    r = bench_training.training_speed("cnn1d", (157, 1), n_clips=64, batch_size=32, repeat=1)
    assert r["multiply_adds"] > 0 and r["s_per_clip_epoch"] > 0 and r["gflop_per_s"] > 0
    assert r["gflop_per_s"] == pytest.approx(6 * r["multiply_adds"] / r["s_per_clip_epoch"] / 1e9)
    with pytest.raises(ValueError, match="at least one batch"):
        bench_training.training_speed("cnn1d", (157, 1), n_clips=16, batch_size=32)


def test_experiment_input_shape():
    assert bench_training.experiment_input_shape(["energy", "zcr"]) == (314, 1)
    assert bench_training.experiment_input_shape("mfcc") == (157, 1)
    assert bench_training.experiment_input_shape(["mel"]) == (128, 157, 1)


def test_budget_projection_arithmetic():
    import pandas as pd

    # 6 actors × 2 emotions × 5 clips = 60 clips
    table = pd.DataFrame([{"actor": a, "emotion": e} for a in range(6) for e in ("ANG", "SAD") for _ in range(5)])
    base = {"architecture": "cnn1d", "features": ["energy"], "epochs": 4, "n_folds": 3}
    experiments = [{**base, "experiment": "e-seed", "protocol": "seed"},
                   {**base, "experiment": "e-actor", "protocol": "actor"},
                   {**base, "experiment": "e-aug-seed", "protocol": "seed", "augment": True}]
    speed = 0.01
    proj = bench_training.budget_projection(experiments, table, {("cnn1d", (157, 1)): speed}, augment_s_per_clip=0.5)
    from ser_lib.data.protocols import make_splits

    for name, protocol, extra in (("e-seed", "seed", 0.0), ("e-actor", "actor", 0.0), ("e-aug-seed", "seed", 0.5)):
        splits = make_splits(protocol, table, n_folds=3)
        train = sum(len(s.train) for s in splits)
        val = sum(len(s.val) for s in splits)
        test = sum(len(s.test) for s in splits)
        row = proj.set_index("experiment").loc[name]
        assert row["training clips"] == train and row["folds"] == len(splits)
        assert row["projected_s"] == pytest.approx(train * 4 * (speed + extra) + (val * 4 + test) * speed / 3)
    assert proj.set_index("experiment")["reproduction"].to_dict() == {"e-seed": True, "e-actor": True, "e-aug-seed": False}
    with pytest.raises(ValueError, match="no training speed measured"):
        bench_training.budget_projection(experiments, table, {})


def test_augmentation_speed(tiny_crema):
    from ser_lib.data.corpus import corpus_table

    clips, _ = corpus_table("crema-d", tiny_crema)
    assert bench_training.augmentation_speed(clips["path"].tolist(), n_clips=2) > 0


def test_run_training_projects_every_crema_d_model_experiment(tiny_root, tiny_cache, tmp_path, capsys):
    from ser_lib.pipeline import PROJECT_ROOT, load_experiments

    out = tmp_path / "bench-training.json"
    r = bench_training.run_training(tiny_root, cache=tiny_cache, n_clips=128, repeat=1, out=out, demo_size="tiny",
                           overrides={"n_folds": 2}, determinism=False)  # the tiny corpus has 4 actors
    assert json.loads(out.read_text()) == json.loads(json.dumps(r))
    names = {e.name for e in load_experiments(PROJECT_ROOT / "params", PROJECT_ROOT / "notebooks")
             if e.notebook == "cnn" and e.params["corpus"] == "crema-d"}
    assert {row["experiment"] for row in r["projection"]} == names
    assert {row["folds"] for row in r["projection"] if row["protocol"] == "actor"} == {2}
    assert r["all_projected_s"] == pytest.approx(sum(row["projected_s"] for row in r["projection"]))
    assert 0 < r["reproduction_projected_s"] < r["all_projected_s"]
    assert r["target_met"] == (r["reproduction_projected_s"] <= bench.TARGET_CREMA_D_RUN_S)
    assert {s["architecture"] for s in r["speeds"]} == {"cnn1d", "cnn1d_big", "cnn2d_own", "cnn2d_singh_fang"}
    bench_training.print_training(r)
    assert "reproduction runs" in capsys.readouterr().out


def test_crnn_and_opensmile_speeds_are_measured():
    import numpy as np

    r = bench_training.crnn_speed(n_clips=32, repeat=1)
    assert r["multiply_adds"] > 1e6 and r["s_per_clip_epoch"] > 0 and r["input_shape"] == [125, 64]
    d = bench_training.determinism_cost(n_clips=16, repeat=1, rounds=1)
    assert d["off"] > 0 and d["on"] > 0 and d["slowdown"] == pytest.approx(d["on"] / d["off"])
    assert d["off_rounds"] == [d["off"]] and d["slowdown_range"] == [d["slowdown"], d["slowdown"]]
    with pytest.raises(ValueError, match="rounds"):
        bench_training.determinism_cost(rounds=0)
    y = (0.2 * np.sin(np.arange(16000) / 10)).astype(np.float32)
    s = bench.opensmile_speed([y, y], sr=16000)
    assert set(s) == {"eGeMAPSv02", "ComParE_2016"} and all(v["x_realtime_1core_cpu"] > 1 for v in s.values())


def test_demo_benchmark_times_a_pipeline_child(tmp_path):
    from ser_lib.pipeline import bench_demo

    r = bench_demo.timed_pipeline(tmp_path / "reports", tmp_path / "cache", jobs=1, log=tmp_path / "log.txt",
                                  extra=["--list"])
    assert r["rc"] == 0 and r["wall_s"] > 0 and r["cpu_s"] > 0
    assert "wader-as-published" in (tmp_path / "log.txt").read_text()
    (tmp_path / "jobs1").mkdir()
    with pytest.raises(FileExistsError, match="cold"):
        bench_demo.run(out=tmp_path / "b.json", workdir=tmp_path, jobs=(1,))
