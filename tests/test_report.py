import json

import pytest

from ser_lib import frontpage, report


def test_run_finish_writes_required_keys(tmp_path):
    run = report.Run("exp-a", "crema-d", "actor", synthetic=True, reports_dir=tmp_path, params={"k": 1})
    rec = run.finish(n_test_clips=10, scores={"wa": 0.5, "ua": 0.4, "macro_f1": 0.3, "weighted_f1": 0.35,
                                              "wa_std": 0.1, "chance": {"ua": 1 / 6}},
                     reference={"source": "paper", "wa": 0.46})
    assert not (tmp_path / "metrics").exists()  # synthetic results never land beside the real ones
    assert run.reports_dir == tmp_path / "demo"
    on_disk = json.loads((tmp_path / "demo" / "metrics" / "exp-a.json").read_text())
    assert on_disk == rec
    for key in report.REQUIRED_KEYS:
        assert key in on_disk
    assert on_disk["data"] == "synthetic" and on_disk["wa_std"] == 0.1 and on_disk["params"] == {"k": 1}
    assert on_disk["peak_rss_mb"] > 10 and on_disk["wall_s"] >= 0


def test_missing_scores_are_null(tmp_path):
    rec = report.Run("e", "ravdess", "none", synthetic=False, reports_dir=tmp_path).finish(n_test_clips=None)
    assert rec["wa"] is None and rec["data"] == "real"


def test_read_metrics_validates(tmp_path):
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        report.read_metrics(tmp_path)
    (tmp_path / "metrics" / "bad.json").write_text('{"experiment": "x"}')
    with pytest.raises(ValueError, match="missing keys"):
        report.read_metrics(tmp_path)


def test_build_index(tmp_path):
    report.Run("exp-real", "crema-d", "seed", synthetic=False, reports_dir=tmp_path, title="Real one").finish(
        n_test_clips=5, scores={"wa": 0.5, "ua": 0.25, "macro_f1": 0.2, "weighted_f1": 0.3})
    (tmp_path / "exp-real.html").write_text("<html></html>")
    page = frontpage.build_index(tmp_path).read_text()
    assert '<a href="exp-real.html">Real one</a>' in page and "50.0" in page and "25.0" in page
    assert "SYNTHETIC" not in page
    report.Run("exp-syn", "ravdess", "actor", synthetic=True, reports_dir=tmp_path / "demo").finish(
        n_test_clips=3, scores={"wa": 0.5, "wa_std": 0.05})
    page = frontpage.build_index(tmp_path / "demo").read_text()
    assert "SYNTHETIC DEMO DATA" in page and "50.0 ± 5.0" in page


def test_empty_experiment_name(tmp_path):
    with pytest.raises(ValueError):
        report.Run("", "crema-d", "seed", synthetic=False, reports_dir=tmp_path)


def test_every_committed_metrics_record_follows_the_written_schema():
    from conftest import PROJECT
    from ser_lib.report import check_metrics_schema

    paths = sorted((PROJECT / "reports" / "metrics").glob("*.json"))
    assert len(paths) > 30
    for p in paths:
        check_metrics_schema(json.loads(p.read_text()))


def test_the_schema_refuses_a_broken_record():
    import jsonschema

    from ser_lib.report import check_metrics_schema

    good = {"experiment": "x", "corpus": "crema-d", "protocol": "actor", "data": "real", "n_test_clips": 3,
            "wa": 0.5, "ua": 0.5, "macro_f1": 0.4, "weighted_f1": 0.4, "wall_s": 1, "peak_rss_mb": 1, "reference": {}}
    check_metrics_schema(good)
    for bad in ({**good, "ua": 50.0}, {**good, "protocol": "random"}, {k: v for k, v in good.items() if k != "wa"}):
        with pytest.raises(jsonschema.ValidationError):
            check_metrics_schema(bad)


def test_metrics_are_written_atomically_and_never_as_nan(tmp_path, monkeypatch):
    run = report.Run("e", "crema-d", "actor", synthetic=False, reports_dir=tmp_path)
    rec = run.finish(n_test_clips=3, scores={"wa": float("nan"), "ua": 0.5})
    text = (tmp_path / "metrics" / "e.json").read_text()
    assert rec["wa"] is None and "NaN" not in text
    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))  # strict JSON
    assert not list((tmp_path / "metrics").glob(".*tmp"))
    # an interrupted write leaves the old record, not half a file
    import os

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        run.finish(n_test_clips=3, scores={"wa": 0.9})
    assert json.loads((tmp_path / "metrics" / "e.json").read_text())["ua"] == 0.5
    assert not list((tmp_path / "metrics").glob(".*tmp"))
