import json

import pandas as pd
import pytest

from conftest import write_record
from ser_lib.reporting import findings, report, summary, wader_account


def _write(tmp_path, name, protocol, wa, ua, std=None, data="real", corpus="crema-d", ref=None):
    scores = {"wa": wa, "ua": ua, "macro_f1": ua - 0.01, "weighted_f1": wa - 0.01, "chance": {"ua": 1 / 6, "wa": 0.17}}
    if std is not None:
        scores.update(wa_std=std, ua_std=std)
    else:
        scores["wa_ci"] = [wa - 0.02, wa + 0.02]
    rec = write_record(tmp_path, name, corpus, protocol, n_test_clips=100, reference=ref or {},
                       model=name.rsplit("-", 1)[0], section="reproduction", **scores)
    if data == "synthetic":  # a stray synthetic record among real ones (Run itself writes those to demo/)
        (tmp_path / "metrics" / f"{name}.json").write_text(json.dumps({**rec, "data": "synthetic"}))


@pytest.fixture()
def metrics_dir(tmp_path):
    _write(tmp_path, "explore-crema-d", "human", 0.416, 0.429, ref={"wa": 0.416})
    _write(tmp_path, "cnn1d-a-seed", "seed", 0.50, 0.48, ref={"wa": 0.49, "macro_f1": 0.47})
    _write(tmp_path, "cnn1d-a-actor", "actor", 0.40, 0.38, std=0.02)
    _write(tmp_path, "cnn1d-b-seed", "seed", 0.45, 0.44)
    _write(tmp_path, "cnn1d-b-actor", "actor", 0.44, 0.43, std=0.01)
    write_record(tmp_path, "explore-ravdess", "ravdess", "none", section="exploration")
    return tmp_path


def test_results_table(metrics_dir):
    table = summary.results_table(report.read_metrics(metrics_dir))
    assert list(table["experiment"]) == ["explore-crema-d", "cnn1d-a-actor", "cnn1d-a-seed", "cnn1d-b-actor", "cnn1d-b-seed"]
    row = table.set_index("experiment").loc["cnn1d-a-actor"]
    assert row["UA %"] == "38.0 ± 2.0" and row["chance UA %"] == "16.7"
    seed = table.set_index("experiment").loc["cnn1d-a-seed"]
    assert seed["WA %"] == "50.0 [48.0, 52.0]" and seed["original %"] == "49.0 / 47.0"


def test_protocol_gaps_and_findings(metrics_dir):
    table = summary.results_table(report.read_metrics(metrics_dir))
    gaps = summary.protocol_gaps(table).set_index("model")
    assert gaps.loc["cnn1d-a", "gap (points)"] == pytest.approx(10.0)
    assert gaps.loc["cnn1d-b", "gap (points)"] == pytest.approx(1.0)
    notes = findings.statements(table)
    text = " ".join(notes)
    assert "cnn1d-b-actor with UA 43.0 ± 1.0 % (the highest of 2 runs on the same test folds" in text
    assert "human listeners reach UA 42.9 %" in text
    assert "+5.5 points on average" in text and "+10.0 (cnn1d-a)" in text
    assert "synthetic" not in text


def test_synthetic_flag_and_markdown(metrics_dir, tmp_path):
    _write(metrics_dir, "cnn2d-x-actor", "actor", 0.3, 0.3, std=0.1, data="synthetic")
    table = summary.results_table(report.read_metrics(metrics_dir))
    notes = findings.statements(table)
    assert "synthetic demo corpus" in notes[0]
    md = summary.write_results_md(table, notes, tmp_path / "out" / "RESULTS.md").read_text()
    assert "| cnn2d-x-actor | crema-d | actor | synthetic | – | 100 | 30.0 ± 10.0 |" in md
    assert table.set_index("experiment").loc["cnn2d-x-actor", "frame WA %"] == "–"
    assert md.count("\n- ") == len(notes)


def test_empty():
    assert findings.statements(summary.results_table([])) == ["No experiment with scores has been run yet."]


def _cross(tmp_path, name, source, target, cross_ua, within_ua):
    v = {"corpus": {"cross": {"ua": cross_ua, "ua_std": 0.01, "wa": cross_ua}, "within": {"ua": within_ua, "ua_std": 0.02}},
         "none": {"cross": {"ua": cross_ua - 0.05, "wa": 0.2}, "within": {"ua": within_ua - 0.01}}}
    write_record(tmp_path, name, target, "cross-corpus", section="cross-corpus", n_test_clips=50, wa=cross_ua,
                 ua=cross_ua, ua_std=0.01, chance={"ua": 1 / 6}, source_corpus=source, normalisation="corpus",
                 variants=v, within=v["corpus"]["within"])


def test_cross_corpus_table_and_findings(metrics_dir):
    _cross(metrics_dir, "cross-crema-d-to-ravdess", "crema-d", "ravdess", 0.30, 0.45)
    records = report.read_metrics(metrics_dir)
    cross = summary.cross_corpus_table(records)
    assert len(cross) == 2 and cross["headline"].sum() == 1
    head = cross[cross["headline"]].iloc[0]
    assert head["direction"] == "crema-d → ravdess" and head["cross UA %"] == "30.0 ± 1.0"
    assert head["within-target UA %"] == "45.0 ± 2.0" and head["drop (points)"] == pytest.approx(15.0)
    text = " ".join(findings.statements(summary.results_table(records), cross=cross))
    assert "Cross-corpus crema-d → ravdess (corpus normalisation): UA 30.0 ± 1.0 % against 45.0 ± 2.0 %" in text
    assert "-15.0 points" in text


def test_breakdowns_and_results_sections(metrics_dir):
    import pandas as pd

    (metrics_dir / "predictions").mkdir()
    pd.DataFrame({"clip": ["a", "b", "c", "d"], "true": ["ANG", "SAD", "HAP", "NEU"], "pred": ["ANG", "SAD", "SAD", "NEU"],
                  "human_vote": ["ANG", "HAP", "HAP", "tie"], "sex": ["male", "female", "male", "female"],
                  "level": ["HI", "LO", "XX", "MD"]}).to_csv(metrics_dir / "predictions" / "cnn1d-b-actor.csv", index=False)
    records = report.read_metrics(metrics_dir)
    parts = summary.breakdowns(records, metrics_dir)
    assert parts["human_model_experiment"] == "cnn1d-b-actor" and parts["human_model"]["n"] == 4
    assert parts["human_model"]["agreement"] == pytest.approx(0.25)
    assert set(parts["groups"]) == {"crema-d"}
    table = summary.results_table(records)
    notes = findings.statements(table, human_model=parts["human_model"], human_model_experiment="cnn1d-b-actor")
    assert any("agrees with the listeners' majority vote on 25.0 %" in n for n in notes)
    with_groups = findings.statements(table, groups=parts["groups"])
    # female b, d right (UA 100 %); male a right, c wrong (UA 50 %): 50 points
    assert any(n.startswith("crema-d (cnn1d-b-actor): by speaker sex, UA is 50.0 points higher for female than for male")
               for n in with_groups)
    sections = summary.report_sections(summary.protocol_gaps(table), summary.cross_corpus_table(records), parts)
    md = summary.write_results_md(table, notes, metrics_dir / "R.md", sections=sections).read_text()
    assert "## Human listeners vs the best CREMA-D model" in md and "| agreement | 25.0 |" in md
    assert "## crema-d: by speaker sex (cnn1d-b-actor)" in md and "| female | 2 | 100.0 |" in md and "| male | 2 | 50.0 |" in md


def test_augmentation_effects_pairs_by_params_and_tests_clip_by_clip(tmp_path):
    import pandas as pd

    common = {"architecture": "cnn2d_singh_fang", "epochs": 10, "standardize": True}
    for name, augment, extra in (("m-seed", False, {}), ("m-aug-seed", True, {"augment_settings": {"workers": 2}}),
                                 ("other-seed", False, {"epochs": 3})):
        params = {**common, "augment": augment, **extra}
        write_record(tmp_path, name, "crema-d", "seed", params=params, n_test_clips=10, wa=0.5, ua=0.5)
    (tmp_path / "predictions").mkdir()
    true = ["ANG", "SAD"] * 5
    base = pd.DataFrame({"clip": [f"c{i}" for i in range(10)], "fold": 0, "true": true, "pred": ["ANG"] * 10})
    aug = base.assign(pred=true)  # right on all 10; the baseline only on the 5 ANG clips
    base.to_csv(tmp_path / "predictions" / "m-seed.csv", index=False)
    aug.to_csv(tmp_path / "predictions" / "m-aug-seed.csv", index=False)
    base.to_csv(tmp_path / "predictions" / "other-seed.csv", index=False)
    records = report.read_metrics(tmp_path)
    effects = summary.augmentation_effects(records, tmp_path)
    assert effects["baseline"].tolist() == ["m-seed"]  # other-seed differs in epochs: not a twin
    row = effects.iloc[0]
    assert row["augmented UA %"] == 100.0 and row["baseline UA %"] == 50.0 and row["UA change (points)"] == 50.0
    assert row["only augmented right"] == 5 and row["only baseline right"] == 0
    assert row["McNemar p"] == pytest.approx(0.0625)
    notes = findings.statements(summary.results_table(records), augmentation=effects)
    assert any(n.startswith("Training-time augmentation (m-aug-seed against m-seed") and "+50.0 points" in n
               and "within what chance alone gives" in n for n in notes)
    sections = summary.report_sections(summary.protocol_gaps(summary.results_table(records)),
                                       summary.cross_corpus_table(records), {}, effects)
    md = summary.write_results_md(summary.results_table(records), notes, tmp_path / "R.md", sections=sections).read_text()
    assert "## Training-time augmentation" in md and "| 5 | 0 | 0.0625 |" in md
    (tmp_path / "predictions" / "m-aug-seed.csv").unlink()
    assert summary.augmentation_effects(report.read_metrics(tmp_path), tmp_path).empty


def test_ablation_table_sets_each_configuration_beside_the_references():
    base = {"protocol": "actor", "data": "real", "n_test_clips": 10, "wa": 0.5, "macro_f1": 0.5,
            "weighted_f1": 0.5, "wall_s": 1.0, "peak_rss_mb": 1.0, "reference": {}}
    records = [
        {**base, "experiment": "cnn1d-a-actor", "corpus": "crema-d", "ua": 0.47, "ua_std": 0.01},
        {**base, "experiment": "generalise-crema-d", "corpus": "crema-d", "ua": 0.59, "ua_std": 0.01,  # later work
         "report": {"section": "generalisation", "family": "linear", "model": "g"}},
        {**base, "experiment": "explore-crema-d", "corpus": "crema-d", "protocol": "human", "ua": 0.43},
        {**base, "experiment": "smile-linear-crema-d-actor", "corpus": "crema-d", "ua": 0.7, "ua_std": 0.02,
         "chance": {"ua": 1 / 6}, "normalisation": "speaker",
         "ablation": [{"feature_set": "ComParE_2016", "classifier": "svm", "normalisation": n, "ua": u, "ua_std": 0.02,
                       "macro_f1": u, "macro_f1_std": 0.03, "fit_s": 5.0} for n, u in (("global", 0.6), ("speaker", 0.7))]},
    ]
    t = summary.ablation_table(records)
    assert list(t["normalisation"]) == ["global", "speaker"] and list(t["UA %"]) == ["60.0 ± 2.0", "70.0 ± 2.0"]
    assert set(t["best earlier model UA %"]) == {"47.0 ± 1.0 (cnn1d-a-actor)"} and set(t["human UA %"]) == {"43.0"}
    assert set(t["chance UA %"]) == {"16.7"}
    sections = summary.report_sections(pd.DataFrame(), pd.DataFrame(), {}, None, t)
    assert "ablation" in next(iter(sections))


def test_wader_gap_reads_the_measured_runs_and_names_the_missing_ones():
    base = {"corpus": "ravdess", "data": "real", "macro_f1": 0.2, "weighted_f1": 0.2, "wall_s": 1.0,
            "peak_rss_mb": 16691.2, "reference": {}, "wa": 0.3, "ua": 0.3}
    published_at = [{"reading": "training frames, p > 0.5 (original's metric)", "key": "train_p>0.5", "last epoch": 0.75,
                     "first epoch ≥ 74.00 %": "44", "first epoch ≥ 75.78 %": "never"},
                    {"reading": "evaluation frames, p > 0.5 (original's metric)", "key": "eval_p>0.5", "last epoch": 0.12,
                     "first epoch ≥ 74.00 %": "never", "first epoch ≥ 75.78 %": "never"},
                    {"reading": "training frames, argmax", "key": "train_argmax", "last epoch": 0.81}]
    role = lambda r: {"section": "wader", "family": "wader", "model": "w", "role": r}  # noqa: E731
    records = [
        {**base, "experiment": "w-pub", "protocol": "seed", "n_test_clips": 18, "time_pool": 1,
         "frame_layout": "original-reshape", "frame": {"wa": 0.21}, "published_at": published_at,
         "report": role("published")},
        {**base, "experiment": "w-split", "protocol": "seed", "n_test_clips": 18, "frame": {"wa": 0.30},
         "report": role("frame-split")},
        {**base, "experiment": "w-conv", "protocol": "actor", "n_test_clips": 1440, "ua": 0.4, "ua_std": 0.05,
         "frame": {"wa": 0.33}, "report": role("converged")},
    ]
    lines = wader_account.gap(records)
    text = "\n".join(lines)
    assert "75.0 % on the *training* frames and 12.0 % on the evaluation frames" in text
    assert "`w-pub`: full resolution, 1 seed" in lines[0] and "81.0 % training, 21.0 % evaluation" in lines[0]
    assert "74 % is first reached by training frames, p > 0.5 (original's metric) (epoch 44)" in lines[0]
    assert "75.78 % is first reached by no reading" in lines[0]
    never = [{**row, "first epoch ≥ 74.00 %": "never, never"} for row in published_at]
    assert "Neither 74 % nor 75.78 % is reached on any set" in wader_account.gap(
        [{**records[0], "published_at": never}])[0]
    assert "1440 clips of unseen actors" in text and "40.0 ± 5.0 % clip UA (33.0 % window accuracy)" in text
    assert "30.0 % evaluation-frame accuracy against not run" in text
    assert "published-transpose (the same with the correct transpose)" in lines[-1]
    assert "converged (all clips" not in lines[-1]
    assert "the run with an optimizer that fits (role seed-adam) not run" in text
    fitting = [{"reading": "training frames while fitting (Keras log), p > 0.5", "key": "fit_true_class_above_half",
                "last epoch": 0.748, "best epoch": 0.756, "first epoch ≥ 74.00 %": "41"},
               {"reading": "evaluation frames, argmax", "key": "eval_argmax", "last epoch": 0.254}]
    adam = {**base, "experiment": "w-adam", "protocol": "seed", "n_test_clips": 18, "ua": 0.345,
            "published_at": fitting, "report": role("seed-adam")}
    text = "\n".join(wader_account.gap(records + [adam]))
    assert "reach 74.8 % by the original's p > 0.5 reading" in text and "first ≥ 74 % at epoch 41" in text
    assert "evaluation frames stay at 25.4 % argmax" in text and "clip UA 34.5 %" in text
    tr = {**records[0], "experiment": "w-tr", "frame_layout": "transpose", "frame": {"wa": 0.19},
          "report": role("published-transpose")}
    both = wader_account.gap(records + [tr])
    reshape = next(line for line in both if line.startswith("**Reshape**"))
    assert "reshape 21.0 % (full resolution, 1 seed), with the correct transpose 19.0 % (full resolution" in reshape
    resolution = next(line for line in both if line.startswith("**Resolution**"))
    assert "the same with the correct transpose 19.0 % (full resolution, 1 seed, `w-tr`)" in resolution
    table = wader_account.table(records)
    assert list(table["experiment"]) == ["w-pub", "w-split", "w-conv"]  # in the order of the roles
    assert table.loc[0, "train frames p>0.5 % (last)"] == "75.0" and table.loc[2, "clip UA %"] == "40.0 ± 5.0"
    assert table.loc[0, "peak RSS GB"] == 16.3 and table.loc[0, "wall s"] == 1.0
    assert table.loc[0, "runs from records"] == "–"
    resumed = {**records[0], "folds": [{"seed": 0, "fold": 0, "from cache": True},
                                       {"seed": 1, "fold": 0, "from cache": False}]}
    assert wader_account.table([resumed]).loc[0, "runs from records"] == "1 of 2"
    sections = summary.report_sections(pd.DataFrame(), pd.DataFrame(), {}, wader=(lines, table))
    assert any(k.startswith("WaDER") for k in sections)


def test_findings_name_the_best_ablation_configuration_and_the_one_recording_one():
    base = {"protocol": "actor", "data": "real", "n_test_clips": 10, "wa": 0.5, "macro_f1": 0.5,
            "weighted_f1": 0.5, "wall_s": 1.0, "peak_rss_mb": 1.0, "reference": {}, "corpus": "crema-d",
            "chance": {"ua": 1 / 6}}
    row = lambda fs, clf, n, u: {"feature_set": fs, "classifier": clf, "normalisation": n, "ua": u, "ua_std": 0.01,  # noqa: E731
                                 "macro_f1": u, "macro_f1_std": 0.01}
    records = [
        {**base, "experiment": "smile-x-actor", "ua": 0.70, "ua_std": 0.01,
         "ablation": [row("ComParE", "svm", "speaker", 0.70), row("ComParE", "svm", "global", 0.60)]},
        {**base, "experiment": "crnn-x-actor", "ua": 0.66, "ua_std": 0.01,
         "ablation": [row("log-mel", "crnn", "speaker", 0.66), row("log-mel + ComParE", "fusion", "speaker", 0.71)]},
        {**base, "experiment": "crnn-y-actor", "ua": 0.615, "ua_std": 0.02, "ablation": [row("log-mel", "crnn", "global", 0.615)]},
    ]
    notes = findings.statements(summary.results_table(records), ablation=summary.ablation_table(records))
    assert "best speaker-independent (actor-disjoint) model is smile-x-actor" in notes[0]
    assert "log-mel + ComParE with fusion (crnn-x-actor, speaker normalisation): UA 71.0 ± 1.0 %" in notes[0]
    assert "global normalisation) the best is log-mel with crnn (crnn-y-actor): UA 61.5 ± 1.0 %" in notes[0]
    # a run on a subset of the corpus's emotions (another chance level) is neither the best nor counted
    subset = {**base, "corpus": "crema-d", "experiment": "crnn-z-joint", "ua": 0.90, "ua_std": 0.01,
              "labels": ["ANG", "HAP"], "ablation": [row("log-mel", "crnn (alone)", "global", 0.95)]}
    notes = findings.statements(summary.results_table(records + [subset]),
                                ablation=summary.ablation_table(records + [subset]))
    assert "model is smile-x-actor" in notes[0] and "highest of 3 runs" in notes[0] and "crnn-z-joint" not in notes[0]
