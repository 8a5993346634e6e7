"""Params schema, incremental runs, HTML cleaning — and every notebook executed on the tiny demo corpus."""

import json
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from ser_lib import pipeline
from conftest import PROJECT, clone_env, git_in


def test_all_params_files_follow_the_schema():
    exps = pipeline.load_experiments(PROJECT / "params", PROJECT / "notebooks")
    assert exps and exps[0].notebook == "exploration"
    names = [e.name for e in exps]
    assert len(names) == len(set(names))


def test_committed_notebooks_have_no_outputs_and_one_parameters_cell():
    for path in sorted((PROJECT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), f"{path.name} has outputs"
        tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: expected one cell tagged 'parameters'"
        params = pipeline.notebook_parameters(path)
        assigned = [ln for ln in tagged[0].source.splitlines() if ln and not ln.startswith("#")]
        assert len(assigned) == len(params), f"{path.name}: papermill could not parse every parameter line"
        needed = pipeline.INJECTED if path.stem in pipeline.STAGES else (
            *pipeline.INJECTED, "experiment", "title", "corpus", "protocol")
        for key in needed:
            assert key in params, f"{path.name} lacks parameter {key}"


def test_every_notebook_is_paired_with_its_text_form():
    """notebooks/py/<name>.py (jupytext percent) holds the same cells as notebooks/<name>.ipynb."""
    import jupytext

    for path in sorted((PROJECT / "notebooks").glob("*.ipynb")):
        text = PROJECT / "notebooks" / "py" / f"{path.stem}.py"
        assert text.is_file(), f"{path.name} has no text form (make sync)"
        ours = [(c.cell_type, c.source) for c in jupytext.read(path).cells]
        theirs = [(c.cell_type, c.source) for c in jupytext.read(text).cells]
        assert ours == theirs, f"{path.name} and {text.name} differ: run `make sync`"
    assert sorted(p.stem for p in (PROJECT / "notebooks" / "py").glob("*.py")) == sorted(
        p.stem for p in (PROJECT / "notebooks").glob("*.ipynb"))


@pytest.fixture()
def fake_project(tmp_path):
    (tmp_path / "params").mkdir()
    shutil.copytree(PROJECT / "notebooks", tmp_path / "notebooks")
    return tmp_path


def write_params(project, name, **kw):
    body = {"experiment": name, "notebook": "exploration", "title": "t", "corpus": "crema-d",
            "report": {"section": "exploration", "family": "x", "model": name}, **kw}
    (project / "params" / f"{name}.yaml").write_text(json.dumps(body))  # JSON is valid YAML
    return project / "params" / f"{name}.yaml"


def test_params_errors(fake_project):
    nbdir = fake_project / "notebooks"
    with pytest.raises(pipeline.ParamsError, match="unknown parameters \\['colour'\\]"):
        pipeline.load_experiment(write_params(fake_project, "a", colour=1), nbdir)
    with pytest.raises(pipeline.ParamsError, match="set by the pipeline"):
        pipeline.load_experiment(write_params(fake_project, "b", data_root="/x"), nbdir)
    with pytest.raises(pipeline.ParamsError, match="set by the pipeline"):  # a key of the run's context
        pipeline.load_experiment(write_params(fake_project, "b", n_jobs=2), nbdir)
    p = write_params(fake_project, "c")
    p.rename(fake_project / "params" / "other.yaml")
    with pytest.raises(pipeline.ParamsError, match="must equal the file name"):
        pipeline.load_experiment(fake_project / "params" / "other.yaml", nbdir)
    with pytest.raises(pipeline.ParamsError, match="not found"):
        pipeline.load_experiment(write_params(fake_project, "d", notebook="nope"), nbdir)
    (fake_project / "params" / "e.yaml").write_text("experiment: e\nnotebook: exploration\n")
    with pytest.raises(pipeline.ParamsError, match="missing required keys"):
        pipeline.load_experiment(fake_project / "params" / "e.yaml", nbdir)
    for after in ("a", ["f"], [""], [3]):  # a name, itself, empty, not a string
        with pytest.raises(pipeline.ParamsError, match="'after' must be a list of other experiments"):
            pipeline.load_experiment(write_params(fake_project, "f", after=after), nbdir)
    assert pipeline.load_experiment(write_params(fake_project, "g", after=["a"]), nbdir).params["after"] == ["a"]


def test_demo_block_is_validated_and_applies_to_synthetic_runs_only(fake_project):
    nbdir = fake_project / "notebooks"
    for demo, match in (({"colour": 1}, "refused: \\['colour'\\]"), ({"corpus": "ravdess"}, "refused: \\['corpus'\\]"),
                        ({"data_root": "/x"}, "refused"), ("small", "must be a mapping")):
        with pytest.raises(pipeline.ParamsError, match=match):
            pipeline.load_experiment(write_params(fake_project, "a", demo=demo), nbdir)
    exp = pipeline.load_experiment(write_params(fake_project, "a", n_audio=5, demo={"n_audio": 1, "example_seed": 2}), nbdir)
    real = pipeline.experiment_parameters(exp, synthetic=False)
    assert real["n_audio"] == 5 and "example_seed" not in real and "demo" not in real and "notebook" not in real
    demo = pipeline.experiment_parameters(exp, synthetic=True)
    assert demo["n_audio"] == 1 and demo["example_seed"] == 2
    cli = pipeline.experiment_parameters(exp, synthetic=True, overrides={"n_audio": 7, "epochs": 3})
    assert cli["n_audio"] == 7 and "epochs" not in cli  # --set wins; unknown names are ignored


def test_fingerprint_tracks_inputs(fake_project, tmp_path):
    exp = pipeline.load_experiment(write_params(fake_project, "a"), fake_project / "notebooks")
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "__init__.py").write_text("x = 1\n")
    (lib / "m.py").write_text("x = 1\n")
    fp = lambda **kw: pipeline.fingerprint(exp, lib_dir=lib, data_root_dir=tmp_path / "d", demo_size="tiny", **kw)
    first = fp()
    assert fp() == first
    (lib / "m.py").write_text("x = 2\n")  # a module the notebook does not import
    assert fp() == first
    (lib / "__init__.py").write_text("x = 2\n")  # the package itself always counts
    second = fp()
    assert second != first
    exp = pipeline.load_experiment(write_params(fake_project, "a", protocol="other"), fake_project / "notebooks")
    assert fp() != second
    assert fp(inputs={"m.json": 1}) != fp()


def test_clean_stderr_drops_noise_and_keeps_last_progress_state():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="2026-11-23 18:00:00.123: I tensorflow/core/x.cc] oneDNN\n"),
        nbformat.v4.new_output("stream", name="stderr", text="\rbar:  50%|#   | 1/2"),
        nbformat.v4.new_output("stream", name="stderr", text="\rbar: 100%|####| 2/2\n"),
        nbformat.v4.new_output("stream", name="stdout", text="12/12 ━━━━━━━━━━━━━━━━━━━━ 0s 3ms/step\nkept\n"),
    ]
    nb.cells.append(cell)
    pipeline.clean_stderr(nb)
    texts = [o["text"] for o in nb.cells[0].outputs]
    assert texts == ["bar: 100%|####| 2/2\n", "kept\n"]
    assert nb.cells[0].outputs[0]["name"] == "stdout"  # a progress bar is not shown as an error


#: One experiment per notebook (and both protocols; the cnn notebook's seed protocol through its 2-D
#: run), run on the tiny synthetic corpus.
SMOKE = ["explore-crema-d", "explore-ravdess", "cnn1d-rolloff-actor", "cnn2d-singh-fang-std-aug-seed",
         "wader-seed", "wader-actor", "cross-crema-d-to-ravdess", "smile-linear-crema-d-actor",
         "crnn-ravdess-speaker-actor", "cross-smile-crema-d-to-ravdess", "generalise-crema-d",
         "ship-generalise", "crnn-ravdess-joint-global-actor", "summary"]


@pytest.mark.slow
def test_pipeline_runs_every_notebook_on_tiny_demo_corpus(clone, tiny_cache, tmp_path):
    """`make report` on a fresh clone without the corpora (two experiments at once through Dask, as
    `JOBS=auto` runs on 2 cores; the tiny demo corpus, 2 epochs, 2 folds, augmentation on): every
    notebook executes, the HTML is clean, nothing committed is touched (the
    real records, RESULTS.md, the shipped model, the notebooks: git status stays clean), a re-run is
    a no-op."""
    exps = {e.name: e for e in pipeline.load_experiments(PROJECT / "params", PROJECT / "notebooks")}
    assert set(SMOKE) <= set(exps)
    assert {exps[n].notebook for n in SMOKE} == {p.stem for p in (PROJECT / "notebooks").glob("*.ipynb")}
    from ser_lib.models.predict import DEFAULT_MODEL

    shipped = DEFAULT_MODEL.with_suffix(".npz").read_bytes()  # the installed package's, which the kernels import
    env = clone_env(tmp_path)  # no DATA_ROOT: the pipeline falls back to the demo corpus by itself
    cmd = [sys.executable, "-m", "ser_lib.pipeline", "--cache", str(tiny_cache), "--demo-size", "tiny", "--jobs", "2",
           "--only", *SMOKE, "--set", "epochs=2", "n_folds=2", "ae_epochs=1", "clf_epochs=1", "max_frames=2", "n_repeats=1",
           "records=[generalise-crema-d]"]
    done = subprocess.run(cmd, cwd=clone, env=env, capture_output=True, text=True, timeout=2700)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    assert "SYNTHETIC DEMO" in done.stdout  # the console says the numbers are synthetic
    assert git_in(clone, "status", "--porcelain") == ""  # nothing committed touched, nothing untracked left
    reports = clone / "reports"
    assert all(json.loads(p.read_text())["data"] == "real" for p in (reports / "metrics").glob("*.json"))  # nothing real touched
    assert 'href="demo/index.html"' in (reports / "index.html").read_text()  # the real index links the demo apart
    reports = reports / "demo"
    index = (reports / "index.html").read_text()
    for name in SMOKE:
        html = (reports / f"{name}.html").read_text()
        assert "SYNTHETIC DEMO DATA" in html, name
        assert "data:audio" not in html, f"{name} embeds audio"
        for noise in ("oneDNN", "cpu_feature_guard", "Traceback", "WARNING:tensorflow", "written to STDERR"):
            assert noise not in html, f"{name}: {noise!r} leaked into the HTML"
        assert not re.search(r"\d+/\d+ ━", html), f"{name}: a Keras progress bar leaked into the HTML"
        assert '<details class="ser-code">' in html, f"{name}: code cells are not folded"
        for block in re.findall(r'application/vnd.jupyter.stderr"[^>]*>(.*?)</div>', html, flags=re.S):
            assert not re.search(r"\d+%\|", block), f"{name}: a progress bar is shown as an error block"
        if name == "summary":  # a stage: it writes RESULTS.md, no record
            assert not (reports / "metrics" / "summary.json").exists()
            continue
        rec = json.loads((reports / "metrics" / f"{name}.json").read_text())
        assert rec["data"] == "synthetic" and rec["experiment"] == name and rec["commit"]
        assert rec["report"]["section"] and rec["effective_params"]
        assert f'href="{name}.html"' in index
    assert json.loads((reports / "metrics" / "cnn2d-singh-fang-std-aug-seed.json").read_text())["effective_params"]["augment"] is True
    assert (reports / "predictions" / "cnn1d-rolloff-actor.csv").is_file()
    assert (reports / "predictions" / "wader-actor.csv").is_file()
    cross = json.loads((reports / "metrics" / "cross-crema-d-to-ravdess.json").read_text())
    assert cross["source_corpus"] == "crema-d" and set(cross["variants"]) == {"corpus", "none"}
    results_md = (reports / "RESULTS.md").read_text()
    assert "## Cross-corpus" in results_md and "by speaker sex" in results_md
    assert "## Beyond the originals (ablation)" in results_md
    assert "## WaDER: why our figures are not 74 %" in results_md
    seed_run = json.loads((reports / "metrics" / "wader-seed.json").read_text())
    assert seed_run["n_scales"] == 125 and seed_run["epoch_log"] and seed_run["published_at"]
    assert list((tiny_cache / "runs").glob("*.json")), "WaDER runs leave no run record to resume from"
    assert "from cache" in (reports / "wader-seed.html").read_text()
    assert not (reports / "runs").exists()  # only real-data run records are archived with the metrics
    assert "| crnn |" in results_md and "fusion: crnn + svm" in results_md
    linear_rec = json.loads((reports / "metrics" / "smile-linear-crema-d-actor.json").read_text())
    assert linear_rec["normalisation"] == "speaker" and linear_rec["other_normalisation"]["normalisation"] == "global"
    assert linear_rec["shipped_model"] is None  # a demo run never replaces the shipped model
    assert DEFAULT_MODEL.with_suffix(".npz").read_bytes() == shipped
    assert (reports / "predictions" / "crnn-ravdess-speaker-actor.csv").is_file()
    assert "SYNTHETIC DEMO DATA" in (reports / "RESULTS.md").read_text()
    assert "## What the report found" in results_md and (reports / "figures" / "ua-per-experiment.png").is_file()
    assert "## Generalisation: robustness to recording conditions" in results_md
    gen = json.loads((reports / "metrics" / "generalise-crema-d.json").read_text())
    assert gen["headline_recipe"] == "joint-augment" and {r["recipe"] for r in gen["recipes"]} >= {"single", "joint-augment"}
    joint = json.loads((reports / "metrics" / "crnn-ravdess-joint-global-actor.json").read_text())
    assert joint["joint_with"] == "crema-d" and len(joint["labels"]) == 6 and joint["alone"]["ua"] is not None
    assert [a["classifier"] for a in joint["ablation"]] == ["crnn (ravdess alone)", "crnn + crema-d in training"]
    ship_rec = json.loads((reports / "metrics" / "ship-generalise.json").read_text())
    assert ship_rec["shipped"] is False and ship_rec["bundle_same_answer"] >= 0.99  # built, checked, never shipped
    assert set(ship_rec["expected"]) == {"crema-d"} and (reports / "models" / ship_rec["bundle"]).is_file()
    again = subprocess.run(cmd, cwd=clone, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "running" not in again.stdout
    assert again.stdout.count("up to date") == len(SMOKE)


def test_failing_experiment_does_not_stop_the_others(fake_project, tiny_root, tiny_cache, tmp_path):
    write_params(fake_project, "broken", corpus="nonexistent-corpus")
    (fake_project / "ser_lib").mkdir()
    failed = pipeline.run_all(project=fake_project, reports_dir=tmp_path / "demo", data_root_dir=tiny_root,
                              cache=tiny_cache, demo_size="tiny", log=lambda *a: None)
    assert failed == ["broken"]
    assert (tmp_path / "demo" / "broken.html").is_file() and (tmp_path / "demo" / "index.html").is_file()
    assert (tmp_path / "demo" / "logs" / "broken.log").is_file()


def test_stderr_to_catches_child_processes_and_restores(tmp_path, capfd):
    with pipeline.stderr_to(tmp_path / "logs" / "x.log") as path:
        subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write('kernel noise\\n')"], check=True)
    sys.stderr.write("after\n")
    assert path.read_text() == "kernel noise\n"
    assert capfd.readouterr().err == "after\n"


def test_editing_a_reporting_module_reruns_the_summary_only(tmp_path):
    """The fingerprint covers the ser_lib modules a notebook imports, directly or transitively."""
    import shutil

    from ser_lib import pipeline as PL

    lib = tmp_path / "ser_lib"
    shutil.copytree(PL.PROJECT_ROOT / "ser_lib", lib, ignore=shutil.ignore_patterns("__pycache__", "resources"))
    exps = PL.load_experiments(PL.PROJECT_ROOT / "params", PL.PROJECT_ROOT / "notebooks")

    def prints():
        return {e.name: PL.fingerprint(e, lib_dir=lib, data_root_dir=tmp_path, demo_size="tiny", real=False) for e in exps}

    before = prints()
    (lib / "reporting" / "summary.py").write_text((lib / "reporting" / "summary.py").read_text() + "\n# edited\n")
    after = prints()
    assert {n for n in before if before[n] != after[n]} == {"summary"}
    (lib / "evaluation" / "metrics.py").write_text((lib / "evaluation" / "metrics.py").read_text() + "\n# edited\n")
    changed = {n for n, fp in prints().items() if fp != after[n]}
    assert {"summary", "cnn1d-energy-seed", "wader-actor", "smile-linear-crema-d-actor"} <= changed  # everyone scores


def test_notebook_modules_follow_imports(tmp_path):
    from ser_lib import pipeline as PL

    mods = {p.stem for p in PL.notebook_modules(PL.PROJECT_ROOT / "notebooks" / "exploration.ipynb",
                                                PL.PROJECT_ROOT / "ser_lib")}
    assert {"explore", "corpus", "config", "__init__"} <= mods and "training" not in mods and "wader" not in mods


def test_the_demo_block_and_comments_do_not_make_a_real_data_run_stale(fake_project, tmp_path):
    path = write_params(fake_project, "a")
    exp = pipeline.load_experiment(path, fake_project / "notebooks")
    lib = tmp_path / "lib"
    lib.mkdir()

    def fp(real):
        e = pipeline.load_experiment(path, fake_project / "notebooks")
        return pipeline.fingerprint(e, lib_dir=lib, data_root_dir=tmp_path, demo_size="tiny", real=real)

    real, synthetic = fp(True), fp(False)
    body = json.loads(path.read_text())
    path.write_text(json.dumps({**body, "demo": {"n_audio": 1}}))
    assert fp(True) == real and fp(False) != synthetic
    path.write_text("# a comment\n" + path.read_text())
    assert fp(True) == real
    assert exp.name == "a"


def test_model_settings_are_checked_when_the_params_load(fake_project):
    nbdir = fake_project / "notebooks"
    with pytest.raises(pipeline.ParamsError, match=r"settings: unknown settings \['epoch'\]"):
        pipeline.load_experiment(write_params(fake_project, "a", notebook="crnn", settings={"epoch": 3}), nbdir)
    with pytest.raises(pipeline.ParamsError, match="patience must be int"):
        pipeline.load_experiment(write_params(fake_project, "b", notebook="crnn", settings={"patience": "6"}), nbdir)
    with pytest.raises(pipeline.ParamsError, match=r"demo.settings: unknown settings \['frames'\]"):
        pipeline.load_experiment(write_params(fake_project, "c", notebook="wader_actor",
                                              demo={"settings": {"frames": 2}}), nbdir)
    with pytest.raises(pipeline.ParamsError, match=r"alone_settings: unknown settings \['epoch'\]"):
        pipeline.load_experiment(write_params(fake_project, "e", notebook="crnn", alone_settings={"epoch": 3}), nbdir)
    ok = pipeline.load_experiment(write_params(fake_project, "d", notebook="crnn",
                                               settings={"epochs": 30, "learning_rate": 1, "channels": [4, 8, 8]}), nbdir)
    assert ok.params["settings"]["epochs"] == 30


def test_run_context_is_one_typed_parameter(tmp_path):
    """Every notebook gets where to read and write as one ``context`` mapping: unknown keys are refused,
    a notebook has no parameter of its own for them, and a demo run writes under reports/demo/."""
    from ser_lib.reporting.notebook import Context

    ctx = Context.of({"reports_dir": str(tmp_path), "demo_size": "tiny"})
    assert ctx == Context.of(ctx) and ctx.n_jobs == -1 and ctx.data_root is None
    with pytest.raises(ValueError, match="unknown context keys \\['colour'\\]"):
        Context.of({"colour": 1})
    with pytest.raises(Exception):  # frozen
        ctx.demo_size = "demo"
    for nb in sorted((PROJECT / "notebooks").glob("*.ipynb")):
        names = pipeline.notebook_parameters(nb)
        assert "context" in names and not set(names) & {"data_root", "cache_dir", "reports_dir", "demo_size", "n_jobs"}, nb.name


def test_compare_lists_every_changed_figure_and_ignores_timings():
    from ser_lib.pipeline.compare import differences, figures

    old = {"experiment": "x", "wall_s": 10.0, "ua": 0.5, "wa": 0.6, "folds": [{"fold": 0, "ua": 0.5, "train_s": 3.0}],
           "confusion": [[1, 0], [0, 1]], "macro_f1": float("nan")}
    same = {**old, "wall_s": 99.0, "folds": [{"fold": 0, "ua": 0.5, "train_s": 7.5}], "effective_params": {"a": 1}}
    assert differences(figures(old), figures(same)) == []
    changed = {**old, "ua": 0.5000001, "confusion": [[1, 0], [1, 0]], "folds": []}
    found = differences(figures(old), figures(changed))
    assert found == [".confusion[1][0]: base 0, here 1", ".confusion[1][1]: base 1, here 0",
                     ".folds: 1 items in base, 0 here", ".ua: base 0.5, here 0.5000001"]
    assert differences(figures(old), figures({k: v for k, v in old.items() if k != "wa"})) == [".wa: only in base"]


def test_compare_runs_both_trees_with_tensorflow_op_determinism(monkeypatch, tmp_path):
    # A base that predates seed_everything gets op determinism from the environment, so its
    # neural experiments give one set of figures that this tree's can be compared with.
    import subprocess

    from ser_lib.pipeline import compare

    seen = []

    def fake_run(cmd, cwd=None, env=None, **kw):
        seen.append((cmd, env))
        return subprocess.CompletedProcess(cmd, 0, stdout="--demo \n", stderr="")

    monkeypatch.setattr(compare.subprocess, "run", fake_run)
    compare.run_demo(tmp_path, ["x"], work=tmp_path, tag="t", demo_size="tiny", overrides=["epochs=2", "n_folds=2"])
    assert seen and all(env["TF_DETERMINISTIC_OPS"] == "1" and env["PYTHONPATH"] == str(tmp_path) for _, env in seen)
    pipeline_cmd = seen[-1][0]  # the run itself (the first call only reads --help)
    assert pipeline_cmd[pipeline_cmd.index("--set"):] == ["--set", "epochs=2", "n_folds=2"]
    assert pipeline_cmd[pipeline_cmd.index("--only") + 1] == "x"
