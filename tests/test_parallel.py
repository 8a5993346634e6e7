"""Parallel runs through Dask: same numbers as one at a time, failures stay local, a dead worker
is reported, and the next run re-runs only what failed."""

import json
import shutil

import nbformat
import pytest

from ser_lib import pipeline
from conftest import PROJECT

VOLATILE = ("wall_s", "peak_rss_mb", "finished")


def _metrics(reports):
    out = {}
    for p in sorted((reports / "metrics").glob("*.json")):
        r = json.loads(p.read_text())
        out[p.stem] = {k: v for k, v in r.items() if k not in VOLATILE}
    return out


@pytest.mark.slow
def test_two_jobs_give_the_same_metrics_as_one(tiny_root, tiny_cache, tmp_path):
    only = ["explore-crema-d", "explore-ravdess"]
    logs = {}
    for jobs in (1, 2):
        lines = []
        failed = pipeline.run_all(reports_dir=tmp_path / f"r{jobs}", data_root_dir=tiny_root, cache=tiny_cache,
                                  demo_size="tiny", only=only, jobs=jobs, log=lines.append)
        assert failed == []
        logs[jobs] = lines
    assert _metrics(tmp_path / "r1") == _metrics(tmp_path / "r2") and len(_metrics(tmp_path / "r1")) == 2
    assert any("jobs=2" in ln for ln in logs[2])
    assert any(ln.strip().startswith("progress    2 done, 0 running, 0 waiting, 0 failed") for ln in logs[2])


def _project(tmp_path):
    project = tmp_path / "project"
    (project / "params").mkdir(parents=True)
    shutil.copytree(PROJECT / "notebooks", project / "notebooks")
    shutil.copytree(PROJECT / "ser_lib", project / "ser_lib", ignore=shutil.ignore_patterns("__pycache__"))
    return project


def _params(project, name, **kw):
    body = {"experiment": name, "notebook": "exploration", "title": "t", "corpus": "crema-d", **kw}
    (project / "params" / f"{name}.yaml").write_text(json.dumps(body))


@pytest.mark.slow
def test_a_failure_and_a_dead_worker_stay_local_and_rerun_next_time(tiny_root, tiny_cache, tmp_path):
    project = _project(tmp_path)
    _params(project, "good", n_audio=1)
    _params(project, "broken", corpus="nonexistent-corpus")  # the notebook refuses an unknown corpus
    # a notebook whose kernel kills the Dask worker running it
    nb = nbformat.read(project / "notebooks" / "exploration.ipynb", as_version=4)
    killer = nbformat.v4.new_notebook(metadata=nb.metadata)
    killer.cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    killer.cells.append(nbformat.v4.new_code_cell("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"))
    nbformat.write(killer, project / "notebooks" / "killer.ipynb")
    _params(project, "dies", notebook="killer")
    lines = []
    failed = pipeline.run_all(project=project, reports_dir=tmp_path / "r", data_root_dir=tiny_root, cache=tiny_cache,
                              demo_size="tiny", jobs=2, log=lines.append)
    assert failed == ["broken", "dies"]
    assert (tmp_path / "r" / "metrics" / "good.json").is_file()
    text = "\n".join(lines)
    assert "FAILED      dies" in text and "worker lost" in text and "reports/logs/dies.log" in text
    assert "FAILED      broken" in text and "reports/logs/broken.log" in text
    _params(project, "broken", corpus="ravdess", n_audio=1)  # fixed
    (project / "params" / "dies.yaml").unlink()
    lines = []
    failed = pipeline.run_all(project=project, reports_dir=tmp_path / "r", data_root_dir=tiny_root, cache=tiny_cache,
                              demo_size="tiny", jobs=2, log=lines.append)
    assert failed == []
    assert any("up to date  good" in ln for ln in lines) and any("done        broken" in ln for ln in lines)


def test_effective_params_are_recorded_by_the_pipeline(tmp_path):
    from ser_lib.pipeline import INJECTED, record_effective_params

    path = tmp_path / "m.json"
    path.write_text(json.dumps({"experiment": "x", "params": {"epochs": 3}}))
    record_effective_params(path, {"epochs": 3, "seed": 0, "data_root": "/d", "reports_dir": "/r"})
    rec = json.loads(path.read_text())
    assert rec["effective_params"] == {"epochs": 3, "seed": 0} and not set(INJECTED) & set(rec["effective_params"])
    assert rec["params"] == {"epochs": 3}
