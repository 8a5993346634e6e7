import json

import pytest

from conftest import PROJECT, write_record
from ser_lib.reporting import frontpage, record, report


def test_run_finish_writes_results_for_the_pipeline_only(tmp_path):
    run = report.Run("exp-a", "crema-d", "actor", synthetic=True, reports_dir=tmp_path)
    rec = run.finish(n_test_clips=10, scores={"wa": 0.5, "ua": 0.4, "macro_f1": 0.3, "weighted_f1": 0.35,
                                              "wa_std": 0.1, "chance": {"ua": 1 / 6}},
                     reference={"source": "paper", "wa": 0.46})
    assert not (tmp_path / "metrics").exists() and not (tmp_path / "demo" / "metrics").exists()  # no record
    assert run.reports_dir == tmp_path / "demo"  # synthetic results never land beside the real ones
    on_disk = json.loads(report.results_path(tmp_path / "demo", "exp-a").read_text())
    assert on_disk == rec and on_disk["data"] == "synthetic" and on_disk["wa_std"] == 0.1
    assert on_disk["peak_rss_mb"] > 10 and on_disk["wall_s"] >= 0 and "params" not in on_disk


def test_missing_scores_are_null(tmp_path):
    rec = report.Run("e", "ravdess", "none", synthetic=False, reports_dir=tmp_path).finish(n_test_clips=None)
    assert rec["wa"] is None and rec["data"] == "real"


def test_a_composed_record_round_trips_and_keeps_provenance(tmp_path):
    flat = write_record(tmp_path, "exp-b", "ravdess", "actor", ua=0.4, wa=0.5, ua_std=0.02, n_test_clips=8,
                        folds=[{"fold": 0}], section="wader", role="converged", params={"seeds": [0]})
    back = record.from_json(json.loads((tmp_path / "metrics" / "exp-b.json").read_text()))
    assert back.to_json() == flat
    assert back.report.section == "wader" and back.report.role == "converged"
    assert back.effective_params == {"seeds": [0]} and back.results["folds"] == [{"fold": 0}]
    assert back.provenance.data == "real" and back.provenance.commit == "0" * 40 and back.provenance.wall_s >= 0


def test_read_metrics_validates(tmp_path):
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        report.read_metrics(tmp_path)
    (tmp_path / "metrics" / "bad.json").write_text('{"experiment": "x"}')
    with pytest.raises(record.RecordError, match="bad.json: 'title' must be a non-empty string"):
        report.read_metrics(tmp_path)


def test_the_record_refuses_a_broken_record(tmp_path):
    good = write_record(tmp_path, "x", "crema-d", "actor", ua=0.5, wa=0.5, macro_f1=0.4, weighted_f1=0.4,
                        n_test_clips=3)
    record.from_json(good)
    broken = [({**good, "ua": 50.0}, "'ua' must be a fraction"), ({**good, "protocol": "random"}, "protocol"),
              ({**good, "corpus": "all"}, "corpus"), ({**good, "commit": None, "committed_in": None}, "names no commit"),
              ({**good, "report": {**good["report"], "section": "misc"}}, "report.section"),
              ({**good, "report": {**good["report"], "colour": "red"}}, "unknown report keys"),
              ({**good, "ablation": [{"ua": 0.5}]}, "ablation row 0 lacks"),
              ({k: v for k, v in good.items() if k != "effective_params"}, "effective_params")]
    for bad, message in broken:
        with pytest.raises(record.RecordError, match=message):
            record.from_json(bad, where="x.json")


def test_every_committed_record_validates_and_names_its_commit():
    paths = sorted((PROJECT / "reports" / "metrics").glob("*.json"))
    assert len(paths) > 30
    for p in paths:
        rec = record.from_json(json.loads(p.read_text()), where=str(p))
        assert rec.provenance.data == "real", p
        assert rec.provenance.commit or rec.provenance.committed_in, p


def test_every_params_file_declares_where_the_report_places_it():
    from ser_lib.pipeline import load_experiments

    exps = [e for e in load_experiments(PROJECT / "params", PROJECT / "notebooks") if e.notebook != "summary"]
    assert len(exps) > 40 and all(isinstance(e.params["report"], record.Placement) for e in exps)
    originals = [e for e in exps if e.params["report"].original]
    assert sorted(e.params["corpus"] for e in originals) == ["crema-d", "ravdess"]  # one per corpus


def test_build_index(tmp_path):
    write_record(tmp_path, "exp-real", "crema-d", "seed", title="Real one", n_test_clips=5,
                 wa=0.5, ua=0.25, macro_f1=0.2, weighted_f1=0.3, section="reproduction")
    (tmp_path / "exp-real.html").write_text("<html></html>")
    page = frontpage.build_index(tmp_path).read_text()
    assert '<a href="exp-real.html">Real one</a>' in page and "50.0" in page and "25.0" in page
    assert "SYNTHETIC" not in page
    write_record(tmp_path, "exp-syn", "ravdess", "actor", synthetic=True, n_test_clips=3, wa=0.5, wa_std=0.05)
    page = frontpage.build_index(tmp_path / "demo").read_text()
    assert "SYNTHETIC DEMO DATA" in page and "50.0 ± 5.0" in page


def test_empty_experiment_name(tmp_path):
    with pytest.raises(ValueError):
        report.Run("", "crema-d", "seed", synthetic=False, reports_dir=tmp_path)


def test_results_are_written_atomically_and_never_as_nan(tmp_path, monkeypatch):
    run = report.Run("e", "crema-d", "actor", synthetic=False, reports_dir=tmp_path)
    rec = run.finish(n_test_clips=3, scores={"wa": float("nan"), "ua": 0.5})
    path = report.results_path(tmp_path, "e")
    text = path.read_text()
    assert rec["wa"] is None and "NaN" not in text
    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))  # strict JSON
    assert not list(path.parent.glob(".*tmp"))
    # an interrupted write leaves the old file, not half a file
    import os

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        run.finish(n_test_clips=3, scores={"wa": 0.9})
    assert json.loads(path.read_text())["ua"] == 0.5
    assert not list(path.parent.glob(".*tmp"))


def test_the_readme_headline_is_generated_from_the_committed_records_and_the_readme_is_short():
    from ser_lib.reporting import findings

    text = (PROJECT / "README.md").read_text()
    start, end = findings.README_MARKERS
    block = text.split(start, 1)[1].split(end, 1)[0].strip()
    assert block == findings.readme_block(report.read_metrics(PROJECT / "reports")).strip()
    assert len(text.splitlines()) <= 150
