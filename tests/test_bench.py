import json

from ser_lib import bench


def test_bench_measures_and_judges_the_target(tiny_root, tiny_cache, tmp_path):
    out = tmp_path / "bench.json"
    r = bench.run(tiny_root, n_clips=3, cache=tiny_cache, out=out, demo_size="tiny")
    assert json.loads(out.read_text()) == json.loads(json.dumps(r))
    assert r["data"] == "synthetic" and r["n_clips"] == 3
    for key in ("decode_x_realtime_1core", "features_x_realtime_1core_padded", "features_x_realtime_1core_padded_cpu",
                "end_to_end_ms_per_clip", "parallel_clips_per_s", "peak_rss_mb"):
        assert r[key] > 0, key
    basis = "features_x_realtime_1core_padded_cpu" if r["target_basis"].startswith("cpu") else "features_x_realtime_1core_padded"
    assert r["target_met"] == (r[basis] >= bench.TARGET_X_REALTIME)
    # the padded window (5.005 s) is longer than the synthetic clips, so the padded rate is the larger one
    assert r["features_x_realtime_1core_padded"] >= r["features_x_realtime_1core_clip"]
