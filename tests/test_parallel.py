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


#: The smallest notebook the pipeline runs: the parameters every notebook has, then a run opened
#: on its corpus (an unknown corpus fails there, as in every notebook) and finished with one figure.
#: These tests are about scheduling, failures and records, not about what a notebook computes, so
#: they spare the kernels the exploration notebook's work (the smoke test runs every real notebook).
PROBE = (
    'experiment = "probe"\ntitle = "t"\ncorpus = "crema-d"\nprotocol = "human"\ncontext = {}',
    "from ser_lib.reporting import notebook\n"
    "run, root, labels = notebook.start(experiment, corpus=corpus, protocol=protocol, title=title, context=context)\n"
    "record = notebook.finish(run, None, extra={'n_labels': len(labels)})",
)


def _project(tmp_path):
    project = tmp_path / "project"
    (project / "params").mkdir(parents=True)
    (project / "notebooks").mkdir()
    shutil.copy2(PROJECT / "notebooks" / "summary.ipynb", project / "notebooks")  # the stage every run ends with
    shutil.copytree(PROJECT / "ser_lib", project / "ser_lib", ignore=shutil.ignore_patterns("__pycache__"))
    template = nbformat.read(PROJECT / "notebooks" / "exploration.ipynb", as_version=4)  # its kernel metadata
    nb = nbformat.v4.new_notebook(metadata=template.metadata)
    nb.cells = [nbformat.v4.new_code_cell(PROBE[0], metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(PROBE[1])]
    nbformat.write(nb, project / "notebooks" / "probe.ipynb")
    return project


def _params(project, name, **kw):
    body = {"experiment": name, "notebook": "probe", "title": "t", "corpus": "crema-d",
            "report": {"section": "exploration", "family": "x", "model": name}, **kw}
    (project / "params" / f"{name}.yaml").write_text(json.dumps(body))


@pytest.mark.slow
def test_a_failure_and_a_dead_worker_stay_local_and_rerun_next_time(tiny_root, tiny_cache, tmp_path):
    project = _project(tmp_path)
    _params(project, "good")
    _params(project, "broken", corpus="nonexistent-corpus")  # the notebook refuses an unknown corpus
    # a notebook whose kernel kills the Dask worker running it
    nb = nbformat.read(project / "notebooks" / "probe.ipynb", as_version=4)
    killer = nbformat.v4.new_notebook(metadata=nb.metadata)
    killer.cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    killer.cells.append(nbformat.v4.new_code_cell("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"))
    nbformat.write(killer, project / "notebooks" / "killer.ipynb")
    _params(project, "dies", notebook="killer")
    lines = []
    failed = pipeline.run_all(project=project, reports_dir=tmp_path / "demo", data_root_dir=tiny_root, cache=tiny_cache,
                              demo_size="tiny", jobs=2, log=lines.append)
    assert failed == ["broken", "dies"]
    assert (tmp_path / "demo" / "metrics" / "good.json").is_file()
    text = "\n".join(lines)
    assert "FAILED      dies" in text and "worker lost" in text and "reports/logs/dies.log" in text
    assert "FAILED      broken" in text and "reports/logs/broken.log" in text
    _params(project, "broken", corpus="ravdess")  # fixed
    (project / "params" / "dies.yaml").unlink()
    lines = []
    failed = pipeline.run_all(project=project, reports_dir=tmp_path / "demo", data_root_dir=tiny_root, cache=tiny_cache,
                              demo_size="tiny", jobs=2, log=lines.append)
    assert failed == []
    assert any("up to date  good" in ln for ln in lines) and any("done        broken" in ln for ln in lines)


def test_the_pipeline_writes_the_record_with_effective_params_and_provenance(tmp_path):
    from ser_lib.pipeline import INJECTED, Experiment, write_record
    from ser_lib.reporting import record
    from ser_lib.reporting.report import Run

    results = Run("x", "crema-d", "actor", synthetic=False, reports_dir=tmp_path).finish(
        n_test_clips=4, scores={"wa": 0.5, "ua": 0.25})
    exp = Experiment("x", tmp_path / "x.yaml", tmp_path / "nb.ipynb",
                     {"title": "T", "corpus": "crema-d", "protocol": "actor",
                      "report": record.Placement(section="beyond", family="crnn", model="x")})
    path = write_record(exp, tmp_path / "results" / "x.json", {"epochs": 3, "seed": 0,
                        "context": {"data_root": "/d", "reports_dir": "/r"}}, synthetic=False, data_root_dir=tmp_path, demo_size="demo")
    rec = record.from_json(json.loads(path.read_text()))
    assert rec.effective_params == {"epochs": 3, "seed": 0} and not set(INJECTED) & set(rec.effective_params)
    assert rec.results["ua"] == 0.25 and rec.report.family == "crnn" and rec.title == "T"
    assert rec.provenance.commit and rec.provenance.wall_s == results["wall_s"] and rec.provenance.data == "real"
    started = write_record(exp, tmp_path / "results" / "x.json", {"epochs": 3}, synthetic=False, data_root_dir=tmp_path,
                           demo_size="demo", commit="a" * 40)  # the commit the run started from, not HEAD at its end
    assert record.from_json(json.loads(started.read_text())).provenance.commit == "a" * 40


def _count_and_measure(path):
    """A clip 'feature' that leaves a trace of every computation (for the cache-lock test)."""
    import os
    import time

    import numpy as np

    with open(os.environ["SER_TEST_TRACE"], "a") as fh:
        fh.write(f"{path}\n")
    time.sleep(0.05)
    return {"x": np.array([float(len(str(path)))])}


def _fill(store, paths):
    from ser_lib.features.clipcache import cached_map

    cached_map(paths, _count_and_measure, store=store, names=["x"], n_jobs=1, progress=False)


def test_experiments_side_by_side_compute_a_shared_cache_once(tmp_path, monkeypatch):
    import multiprocessing

    paths = []
    for i in range(12):
        p = tmp_path / f"clip{i:02d}.wav"
        p.write_bytes(b"x" * (i + 1))
        paths.append(str(p))
    trace = tmp_path / "trace.txt"
    monkeypatch.setenv("SER_TEST_TRACE", str(trace))
    store = tmp_path / "cache" / "features" / "demo.npz"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_fill, args=(store, paths)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    computed = trace.read_text().split()
    assert sorted(computed) == sorted(paths)  # each clip once, not once per process
    assert not list(store.parent.glob("*.tmp"))


def test_parallel_runs_start_one_experiment_of_each_notebook_in_turn():
    from types import SimpleNamespace as E

    exps = [E(name="a1", notebook="a"), E(name="a2", notebook="a"), E(name="a3", notebook="a"),
            E(name="b1", notebook="b"), E(name="c1", notebook="c"), E(name="c2", notebook="c")]
    assert pipeline.interleaved(exps) == ["a1", "b1", "c1", "a2", "c2", "a3"]


def test_jobs_auto_is_one_per_core_within_memory():
    import argparse

    assert pipeline.auto_jobs(cores=2, memory_gib=24) == 2
    assert pipeline.auto_jobs(cores=16, memory_gib=32) == 4  # memory, not cores, is the limit
    assert pipeline.auto_jobs(cores=4, memory_gib=2) == 1
    assert pipeline.parse_jobs("3") == 3 and pipeline.parse_jobs("auto") >= 1
    for bad in ("0", "-1", "two"):
        with pytest.raises(argparse.ArgumentTypeError, match="JOBS"):
            pipeline.parse_jobs(bad)


@pytest.mark.slow
def test_experiments_go_to_an_existing_scheduler(tiny_root, tiny_cache, tmp_path):
    """``SCHEDULER=tcp://host:port``: the experiments run on the workers of a scheduler started
    elsewhere (here a separate local cluster, as `dask scheduler` + `dask worker` would give),
    and the pipeline leaves that cluster running."""
    from dask.distributed import Client, LocalCluster

    project = _project(tmp_path)
    _params(project, "remote")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster:
        lines = []
        failed = pipeline.run_all(project=project, reports_dir=tmp_path / "demo", data_root_dir=tiny_root,
                                  cache=tiny_cache, demo_size="tiny", scheduler=cluster.scheduler_address,
                                  log=lines.append)
        assert failed == []
        assert json.loads((tmp_path / "demo" / "metrics" / "remote.json").read_text())["experiment"] == "remote"
        assert any(ln.strip().startswith("done        remote") for ln in lines)
        assert any(ln.strip().startswith("progress    1 done") for ln in lines)  # through Dask, not in-process
        with Client(cluster.scheduler_address) as client:  # still up after the pipeline disconnected
            assert len(client.scheduler_info()["workers"]) == 1


def test_a_declared_memory_peak_runs_alone_on_real_data_only(tmp_path):
    project = _project(tmp_path)
    _params(project, "heavy", peak_memory_gib=17)
    _params(project, "light", peak_memory_gib=2)
    _params(project, "plain")
    exps = {e.name: e for e in pipeline.load_experiments(project / "params", project / "notebooks")}
    assert pipeline.runs_alone(exps["heavy"], real=True)
    assert not pipeline.runs_alone(exps["heavy"], real=False)  # the demo corpus is small
    assert not pipeline.runs_alone(exps["light"], real=True) and not pipeline.runs_alone(exps["plain"], real=True)
    assert "peak_memory_gib" not in pipeline.experiment_parameters(exps["heavy"], synthetic=False)
    _params(project, "bad", peak_memory_gib="a lot")
    with pytest.raises(pipeline.ParamsError, match="peak_memory_gib"):
        pipeline.load_experiment(project / "params" / "bad.yaml", project / "notebooks")


@pytest.mark.slow
def test_an_experiment_that_runs_alone_starts_after_the_parallel_ones(tiny_root, tiny_cache, tmp_path, monkeypatch):
    project = _project(tmp_path)
    for name in ("one", "two", "big"):
        _params(project, name)
    import ser_lib.pipeline.run as runner

    monkeypatch.setattr(runner, "runs_alone", lambda exp, real: exp.name == "big")
    lines = []
    failed = pipeline.run_all(project=project, reports_dir=tmp_path / "demo", data_root_dir=tiny_root, cache=tiny_cache,
                              demo_size="tiny", jobs=2, log=lines.append)
    assert failed == []
    assert all((tmp_path / "demo" / "metrics" / f"{n}.json").is_file() for n in ("one", "two", "big"))
    text = "\n".join(lines)
    assert "alone       big" in text
    # the two others went through Dask side by side; the big one started only after both finished
    assert text.index("progress    2 done, 0 running") < text.index("running     big")


def _without_timings(value):
    timings = {*VOLATILE, "train_s", "fit_s", "ae_s", "experiment wall s"}
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in timings}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


@pytest.mark.slow
def test_the_same_experiments_twice_one_and_two_jobs_give_identical_scores(tiny_root, tiny_cache, tmp_path):
    """Determinism (TensorFlow op determinism on, every seed fixed): the same parameters, data and
    machine give the same record, every figure but timings and provenance, whether the experiments
    run one at a time or two side by side through Dask."""
    only = ["explore-crema-d", "crnn-ravdess-global-actor"]  # the 1-D CNN and WaDER trainers: test_models, test_wader
    logs = {}
    for jobs in (1, 2):
        lines = []
        failed = pipeline.run_all(reports_dir=tmp_path / f"j{jobs}" / "demo", data_root_dir=tiny_root, cache=tiny_cache,
                                  demo_size="tiny", only=only, jobs=jobs, overrides={"epochs": 2, "n_folds": 2},
                                  log=lines.append)
        assert failed == []
        logs[jobs] = lines
    first, second = (_without_timings(_metrics(tmp_path / f"j{jobs}" / "demo")) for jobs in (1, 2))
    assert set(first) == set(only) and first == second
    assert len(first["crnn-ravdess-global-actor"]["folds"]) == 2 and first["crnn-ravdess-global-actor"]["ua"] is not None
    assert any("jobs=2" in ln for ln in logs[2])
    assert any(ln.strip().startswith("progress    2 done, 0 running, 0 waiting, 0 failed") for ln in logs[2])


def test_a_numba_cache_folder_starts_as_a_copy_of_the_compiled_template(tmp_path, monkeypatch):
    from ser_lib.pipeline import jitcache

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    marker = "import os; open(os.path.join(os.environ['NUMBA_CACHE_DIR'], 'helper.nbi'), 'w').write('compiled')"
    template = jitcache.build_template(tmp_path / "template", code=marker)
    assert (template / "helper.nbi").read_text() == "compiled" and not list(tmp_path.glob("*.tmp-*"))
    worker = jitcache.claim(tmp_path / "numba" / "worker-1", template=template)
    assert (worker / "helper.nbi").read_text() == "compiled"
    import os

    assert os.environ["NUMBA_CACHE_DIR"] == str(worker)
    (worker / "helper.nbi").write_text("recompiled by its worker")
    jitcache.claim(worker, template=template)  # an existing folder is kept as it is
    assert (worker / "helper.nbi").read_text() == "recompiled by its worker"
    assert not list(jitcache.claim(tmp_path / "bare", template=tmp_path / "none").iterdir())  # no template: empty
    with pytest.raises(RuntimeError, match="numba helpers failed: .*boom"):
        jitcache.build_template(tmp_path / "t2", code="raise SystemExit('boom')")
    assert not (tmp_path / "t2").exists() and not list(tmp_path.glob("t2.tmp-*"))
