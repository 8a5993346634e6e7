"""Executing one experiment: papermill into the reports folder, its HTML page, its run record."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path


from ser_lib.config import PROJECT_ROOT
from ser_lib.pipeline.experiments import Experiment, INJECTED, STAGES, _has_real_data, corpora_needed, experiment_parameters, notebook_defaults


TF_NOISE = re.compile(
    r"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] )|(^[IWEF]\d{4} )|oneDNN custom operations|"
    r"cuda|TF-TRT|rebuild TensorFlow|WARNING: All log messages before absl|"
    r"^\s*\d+/\d+ [━─=.>\s]+|computation placer|cpu_feature_guard|Unable to register cu|"
    r"written to STDERR|WARNING:tensorflow|tf\.function retracing|reduce_retracing",
)


PROGRESS_LINE = re.compile(r"\d+%\|.*\|")


def clean_stderr(nb) -> None:
    """Drop TensorFlow start-up noise and Keras progress bars from stderr outputs, keep only the
    final state of carriage-return progress bars (tqdm), and move a stream that holds nothing but
    progress bars from stderr to stdout, so the page shows it as plain text, not as an error."""
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        merged = []  # join consecutive fragments of one stream (tqdm writes many)
        for out in cell.get("outputs", []):
            prev = merged[-1] if merged else None
            if (out.get("output_type") == "stream" and prev is not None
                    and prev.get("output_type") == "stream" and prev.get("name") == out.get("name")):
                prev["text"] = prev.get("text", "") + out.get("text", "")
            else:
                merged.append(out)
        kept = []
        for out in merged:
            if out.get("output_type") == "stream":
                lines = [ln.split("\r")[-1] for ln in out.get("text", "").split("\n")]
                lines = [ln for ln in lines if not TF_NOISE.search(ln)]
                out["text"] = "\n".join(lines).strip("\n")
                if out.get("name") == "stderr" and out["text"] and all(
                        PROGRESS_LINE.search(ln) for ln in out["text"].splitlines() if ln.strip()):
                    out["name"] = "stdout"
                if out["text"]:
                    out["text"] += "\n"
                    kept.append(out)
            else:
                kept.append(out)
        cell["outputs"] = kept


#: nbconvert templates of the report (``report``: JupyterLab's page with code cells folded).
TEMPLATES = Path(__file__).resolve().parents[1] / "resources" / "nbconvert"


def export_html(ipynb: str | Path, html_path: str | Path) -> Path:
    """Convert an executed notebook to a self-contained HTML page (images inlined) in which every
    code cell's source is folded under a "code" toggle, while outputs and narrative stay visible."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(ipynb), as_version=4)
    clean_stderr(nb)
    body, _ = HTMLExporter(template_name="report", extra_template_basedirs=[str(TEMPLATES)]).from_notebook_node(nb)
    from ser_lib.reporting.report import write_atomic

    write_atomic(html_path, body)
    return Path(html_path)


def run_experiment(exp: Experiment, *, reports_dir: Path, data_root_dir: Path, cache: Path,
                   demo_size: str, overrides: dict | None = None, kernel_name: str = "python3",
                   synthetic: bool | None = None) -> None:
    """Execute one experiment into ``reports_dir`` (ipynb + HTML).

    ``synthetic`` (default: whether ``data_root_dir`` lacks the experiment's corpus) selects the
    params file's ``demo`` settings.

    Raises
    ------
    papermill.PapermillExecutionError
        If a cell fails; the partial notebook and its HTML are still written.
    """
    import papermill as pm

    reports_dir.mkdir(parents=True, exist_ok=True)
    out_nb = reports_dir / f"{exp.name}.ipynb"
    if synthetic is None:
        synthetic = not _has_real_data(exp.params["corpus"], data_root_dir)
    params = experiment_parameters(exp, synthetic=synthetic, overrides=overrides)
    params["context"] = dict(data_root=str(data_root_dir), cache_dir=str(cache), reports_dir=str(reports_dir),
                             demo_size=demo_size)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        from ser_lib.reporting.report import output_dir, results_path

        from ser_lib.reporting.record import git_commit

        results = results_path(output_dir(reports_dir, synthetic), exp.name)
        results.unlink(missing_ok=True)
        commit = git_commit(PROJECT_ROOT)  # the code the run starts from (a commit made meanwhile is not it)
        pm.execute_notebook(str(exp.notebook_path), str(out_nb), parameters=params,
                            cwd=str(exp.notebook_path.parent), kernel_name=kernel_name,
                            progress_bar=False, log_output=False, request_save_on_cell_execute=False)
        if exp.notebook not in STAGES:
            write_record(exp, results, {**notebook_defaults(exp.notebook_path), **params},
                         synthetic=synthetic, data_root_dir=data_root_dir, demo_size=demo_size, commit=commit)
            if params.get("ship_model") and not synthetic:
                ship_model(reports_dir / "models" / params["ship_model"])
    finally:
        if out_nb.is_file():
            export_html(out_nb, reports_dir / f"{exp.name}.html")


def write_record(exp: Experiment, results: Path, params: dict, *, synthetic: bool, data_root_dir: Path,
                 demo_size: str, commit: str | None = None) -> Path:
    """Write the run record ``metrics/<experiment>.json`` (:mod:`ser_lib.reporting.record`) beside the
    notebook's results file: the effective parameters the pipeline passed (every notebook
    parameter but :data:`INJECTED`), the provenance (commit, data identity, host, time, wall, peak
    memory) and the experiment's placement in the report. ``commit`` is the one the run started
    from (default: the one checked out now)."""
    from ser_lib.reporting import record as R
    from ser_lib.data.identity import corpus_identity

    if not results.is_file():
        raise RuntimeError(f"{exp.notebook_path.name} finished without writing its results ({results})")
    data_id = (f"synthetic:{demo_size}" if synthetic else
               ";".join(f"{c}:{corpus_identity(data_root_dir / c)}" for c in corpora_needed(exp)))
    rec = R.compose(experiment=exp.name, title=exp.params["title"], corpus=exp.params["corpus"],
                    protocol=exp.params.get("protocol", "none"), placement=exp.params["report"],
                    effective_params=json.loads(json.dumps({k: v for k, v in params.items() if k not in INJECTED},
                                                           default=str)),
                    results=json.loads(results.read_text()), synthetic=synthetic,
                    commit=commit or R.git_commit(PROJECT_ROOT), data_id=data_id)
    return R.write(rec, results.parent.parent / "metrics" / f"{exp.name}.json")


def ship_model(candidate: Path) -> Path:
    """The pipeline step that ships the default model of ``predict``: the bundle a real-data run
    fitted (``reports/models/<name>.{json,npz}``, written by its notebook) is checked and copied
    into ``ser_lib/resources/model/`` (:func:`ser_lib.models.bundle.install`). A notebook never
    writes into the package, and a demo run never reaches this step."""
    from ser_lib.models.bundle import install
    from ser_lib.models.predict import DEFAULT_MODEL

    return install(candidate.with_suffix(".json"), DEFAULT_MODEL.with_name(candidate.name + ".json"))


@contextlib.contextmanager
def stderr_to(path: str | Path):
    """Send this process's standard error (file descriptor 2, inherited by the notebook kernels
    it starts) to ``path`` for the duration: TensorFlow's start-up lines and Jupyter's kernel
    warnings go to a log file instead of the terminal, and a crashed kernel's last words are kept."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as fh:
        os.dup2(fh.fileno(), 2)
        try:
            yield path
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


@dataclass
class Outcome:
    """What running one experiment gave: ``ok``, wall seconds, and a one-line ``message``."""

    name: str
    ok: bool
    seconds: float
    message: str = ""


def execute(exp: Experiment, *, reports_dir: Path, data_root_dir: Path, cache: Path, demo_size: str,
            overrides: dict | None, real: bool, threads: int | None = None) -> Outcome:
    """Run one experiment with its kernel's standard error sent to ``reports/logs/<name>.log``.

    ``threads`` limits the BLAS/OpenMP and TensorFlow thread pools of its kernel (set when several
    experiments share a machine), and gives the worker its own numba cache folder. Never raises:
    a failure is returned with its last line and log path.
    """
    if threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
            os.environ[var] = str(threads)
        os.environ["TF_NUM_INTEROP_THREADS"] = "1"
        # kernels of experiments that run at once must not write numba's cache of librosa's jitted
        # helpers into one folder together (a race there leaves a corrupt index that segfaults):
        # each worker gets its own, started from the compiled template (ser_lib.pipeline.jitcache)
        from ser_lib.pipeline import jitcache

        jitcache.claim(Path(cache) / "numba" / f"worker-{os.getpid()}")
    t0 = time.time()
    kernel_log = reports_dir / "logs" / f"{exp.name}.log"
    kernel_log.unlink(missing_ok=True)
    try:
        with stderr_to(kernel_log):
            run_experiment(exp, reports_dir=reports_dir, data_root_dir=data_root_dir, cache=cache,
                           demo_size=demo_size, overrides=overrides, synthetic=not real)
    except Exception as exc:  # reported, the others go on
        first = str(exc).strip().splitlines()
        return Outcome(exp.name, False, time.time() - t0,
                       f"{first[-1] if first else type(exc).__name__}  (see reports/{exp.name}.html "
                       f"and the kernel's log reports/logs/{exp.name}.log)")
    return Outcome(exp.name, True, time.time() - t0)
