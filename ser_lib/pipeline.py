"""The report pipeline: params YAML → papermill → executed notebook → HTML → index.

Each ``params/<experiment>.yaml`` names its notebook and sets that notebook's parameters
(one schema: see :func:`load_experiment`). :func:`run_all` executes, in order, every
experiment whose inputs changed since its last run — the notebook, the params file, the
``ser_lib`` modules that notebook imports (directly or through other modules), the data root and
whether the data is real — into
``reports/<experiment>.ipynb`` and ``reports/<experiment>.html``, then rebuilds
``reports/index.html``. A failing experiment does not stop the others; the command exits
non-zero at the end and names it.

Command line::

    python -m ser_lib.pipeline [--only NAME ...] [--force] [--data-root DIR] [--reports-dir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .config import CORPORA, PROJECT_ROOT, cache_dir, data_root
from .sources import files_digest, imported_modules as _imported_modules, module_closure

#: Keys every params file must set.
REQUIRED = ("experiment", "notebook", "title", "corpus")
#: Parameters the pipeline injects into every notebook (a params file must not set them).
INJECTED = ("data_root", "cache_dir", "reports_dir", "demo_size")
#: Notebooks that run first and last.
FIRST, LAST = ("exploration",), ("summary",)
#: Notebooks that are stages of the pipeline, not experiments: they read the run records and
#: write no record of their own.
STAGES = LAST

TF_NOISE = re.compile(
    r"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] )|(^[IWEF]\d{4} )|oneDNN custom operations|"
    r"cuda|TF-TRT|rebuild TensorFlow|WARNING: All log messages before absl|"
    r"^\s*\d+/\d+ [━─=.>\s]+|computation placer|cpu_feature_guard|Unable to register cu|"
    r"written to STDERR|WARNING:tensorflow|tf\.function retracing|reduce_retracing",
)


class ParamsError(ValueError):
    """A params file that does not follow the schema."""


@dataclass
class Experiment:
    """One params file and the notebook it runs."""

    name: str
    params_path: Path
    notebook_path: Path
    params: dict = field(default_factory=dict)

    @property
    def notebook(self) -> str:
        return self.notebook_path.stem


def notebook_parameters(notebook_path: str | Path) -> dict:
    """Names and defaults of a notebook's ``parameters`` cell (via papermill)."""
    import papermill as pm

    return {name: p["default"] for name, p in pm.inspect_notebook(str(notebook_path)).items()}


def notebook_defaults(notebook_path: str | Path) -> dict:
    """The ``parameters`` cell's defaults as Python values (literals evaluated; anything that is
    not a literal stays the source text)."""
    import ast

    out = {}
    for name, text in notebook_parameters(notebook_path).items():
        try:
            out[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[name] = text
    return out


def load_experiment(params_path: str | Path, notebooks_dir: str | Path) -> Experiment:
    """Read and validate one params file.

    Schema: a mapping with ``experiment`` (equal to the file's stem), ``notebook`` (a file
    in ``notebooks_dir`` without ``.ipynb``), ``title``, ``corpus``, and any other key that is
    a parameter of that notebook. The pipeline's own keys (:data:`INJECTED`) are refused.
    An optional ``demo`` mapping holds parameters that replace the others when the experiment
    runs on the synthetic demo corpus (a smaller budget, so that a fresh clone's report is
    quick); its keys must be parameters of the notebook too.

    Raises
    ------
    ParamsError
        With the file name and what is wrong.
    """
    params_path = Path(params_path)
    try:
        params = yaml.safe_load(params_path.read_text())
    except yaml.YAMLError as exc:
        raise ParamsError(f"{params_path}: not valid YAML ({exc})") from None
    if not isinstance(params, dict):
        raise ParamsError(f"{params_path}: expected a mapping of parameters")
    missing = [k for k in REQUIRED if k not in params]
    if missing:
        raise ParamsError(f"{params_path}: missing required keys {missing}")
    if params["experiment"] != params_path.stem:
        raise ParamsError(f"{params_path}: experiment {params['experiment']!r} must equal the file name "
                          f"{params_path.stem!r}")
    nb = Path(notebooks_dir) / f"{params['notebook']}.ipynb"
    if not nb.is_file():
        raise ParamsError(f"{params_path}: notebook {nb} not found")
    known = notebook_parameters(nb)
    injected = sorted(set(params) & set(INJECTED))
    if injected:
        raise ParamsError(f"{params_path}: {injected} are set by the pipeline, not by params files")
    unknown = sorted(set(params) - set(known) - set(PIPELINE_KEYS))
    if unknown:
        raise ParamsError(f"{params_path}: unknown parameters {unknown} for notebook {nb.name} "
                          f"(its parameters: {sorted(known)})")
    if nb.stem not in STAGES:
        from .record import Placement, RecordError

        try:
            params["report"] = Placement.from_params(params.get("report"), where=str(params_path))
        except RecordError as exc:
            raise ParamsError(str(exc)) from None
    peak = params.get("peak_memory_gib", 0)
    if isinstance(peak, bool) or not isinstance(peak, (int, float)) or peak < 0:
        raise ParamsError(f"{params_path}: 'peak_memory_gib' must be a number of GiB, got {peak!r}")
    demo = params.get("demo", {})
    if not isinstance(demo, dict):
        raise ParamsError(f"{params_path}: 'demo' must be a mapping of parameters, got {type(demo).__name__}")
    bad = sorted((set(demo) - set(known)) | (set(demo) & {*INJECTED, *REQUIRED}))
    if bad:
        raise ParamsError(f"{params_path}: 'demo' may only set parameters of notebook {nb.name} "
                          f"other than {list(REQUIRED)}; refused: {bad}")
    return Experiment(params_path.stem, params_path, nb, params)


def summary_stage(notebooks_dir: str | Path) -> Experiment:
    """The summary: a stage of the pipeline that reads every run record (``summary.ipynb``), runs
    after every experiment and writes ``RESULTS.md`` and ``summary.html``, but no record."""
    nb = Path(notebooks_dir) / "summary.ipynb"
    return Experiment("summary", nb, nb, {"experiment": "summary", "notebook": "summary",
                                          "title": "Summary of all experiments", "corpus": "all"})


def load_experiments(params_dir: str | Path, notebooks_dir: str | Path) -> list[Experiment]:
    """All experiments (one per params file), exploration first, then the rest by name, and the
    summary stage last."""
    exps = [load_experiment(p, notebooks_dir) for p in sorted(Path(params_dir).glob("*.yaml"))]
    exps.append(summary_stage(notebooks_dir))

    def key(e: Experiment):
        return (0 if e.notebook in FIRST else 2 if e.notebook in LAST else 1, e.name)

    return sorted(exps, key=key)


def _has_real_data(corpus: str, root: Path) -> bool:
    from .corpus import index_audio

    return corpus not in CORPORA or bool(index_audio(root / corpus)[0])


def corpora_found(root: Path) -> list[str]:
    """The corpora (of :data:`ser_lib.config.CORPORA`) that hold audio under ``root``."""
    return [c for c in CORPORA if _has_real_data(c, Path(root))]


def corpora_needed(exp: Experiment) -> list[str]:
    """The corpora an experiment reads: its ``corpus`` and, for cross-corpus runs, ``source_corpus``."""
    return [c for c in dict.fromkeys([exp.params.get("corpus"), exp.params.get("source_corpus")]) if c in CORPORA]


def check_corpus_sizes(root: Path, exps: list[Experiment]) -> None:
    """Refuse, in one line, a corpus folder too small for the experiments' folds: each corpus must
    hold every emotion of its label set and more actors than the largest ``n_folds`` asked of it
    (one fold's test actors, plus validation actors drawn from the training actors)."""
    from .config import CORPUS_EMOTIONS
    from .corpus import corpus_table

    for corpus in corpora_found(root):
        mine = [e for e in exps if corpus in corpora_needed(e)]
        if not mine:
            continue
        folds = max(int(e.params.get("n_folds", 5) or 5) for e in mine)
        import warnings

        with warnings.catch_warnings():  # a metadata note is for the exploration report, not this check
            warnings.simplefilter("ignore")
            clips, _ = corpus_table(corpus, root / corpus)
        actors = clips["actor"].nunique() if len(clips) else 0
        missing = sorted(set(CORPUS_EMOTIONS[corpus]) - set(clips["emotion"] if len(clips) else []))
        if actors < folds + 2 or missing:
            raise NoCorpusError(f"error: {root / corpus} holds {len(clips)} usable clips of {actors} actors"
                                + (f", no clip of {', '.join(missing)}" if missing else "")
                                + f": too small for {folds} actor-disjoint folds with validation actors (needs every "
                                f"emotion and at least {folds + 2} actors; the full corpus has them)")


class NoCorpusError(SystemExit):
    """A corpus location was given but holds no corpus (the message names what was looked for)."""


def check_data_root(root: Path) -> list[str]:
    """The corpora under an explicitly given ``root``; raises :class:`NoCorpusError` when there is none.

    A given ``DATA_ROOT`` that holds no corpus is a mistake (a typo, an unmounted disk), never a
    reason to fall back silently to the synthetic demo."""
    from .config import AUDIO_EXTENSIONS

    found = corpora_found(root)
    if not found:
        looked = ", ".join(str(root / c) for c in CORPORA)
        raise NoCorpusError(f"error: DATA_ROOT={root} holds no corpus: looked for audio files "
                            f"({', '.join(AUDIO_EXTENSIONS)}) under {looked}. Fix DATA_ROOT, run `make data`, "
                            "or run the synthetic demo with `make demo`.")
    return found


def notebook_modules(notebook_path: str | Path, lib_dir: Path) -> list[Path]:
    """The ``ser_lib`` source files a notebook depends on: the modules its code cells import,
    and every module those import, transitively (plus the package's ``__init__.py``).

    Magic and shell lines (``%…``, ``!…``) are ignored."""
    import nbformat

    nb = nbformat.read(str(notebook_path), as_version=4)
    code = "\n".join("\n".join(ln for ln in c.source.splitlines() if not ln.lstrip().startswith(("%", "!")))
                     for c in nb.cells if c.cell_type == "code")
    return module_closure(_imported_modules(code), lib_dir)


def fingerprint(exp: Experiment, *, lib_dir: Path, data_root_dir: Path, demo_size: str,
                inputs: dict | None = None, real: bool | None = None) -> str:
    """Hash of everything a run depends on: the notebook, the parameters the run uses (params file,
    and its ``demo`` block on synthetic data only), the ``ser_lib``
    modules the notebook imports (directly or transitively, :func:`notebook_modules`) and the
    data location. Editing a module no notebook of this experiment uses does not re-run it.

    ``real``: whether ``data_root_dir`` holds the experiment's corpus (looked up when ``None``)."""
    if real is None:
        real = _has_real_data(exp.params["corpus"], data_root_dir)
    h = hashlib.sha256()
    h.update(exp.notebook_path.read_bytes())
    # the parameters the run will use, not the file's bytes: a comment, or the demo block of a
    # real-data run, does not make an experiment stale
    h.update(json.dumps(experiment_parameters(exp, synthetic=not real), sort_keys=True, default=str).encode())
    h.update(files_digest(notebook_modules(exp.notebook_path, lib_dir), lib_dir).encode())
    h.update(f"{data_root_dir}|{real}|{demo_size if not real else ''}".encode())
    h.update(json.dumps(inputs or {}, sort_keys=True).encode())
    return h.hexdigest()


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
TEMPLATES = Path(__file__).resolve().parent / "resources" / "nbconvert"


def export_html(ipynb: str | Path, html_path: str | Path) -> Path:
    """Convert an executed notebook to a self-contained HTML page (images inlined) in which every
    code cell's source is folded under a "code" toggle, while outputs and narrative stay visible."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(ipynb), as_version=4)
    clean_stderr(nb)
    body, _ = HTMLExporter(template_name="report", extra_template_basedirs=[str(TEMPLATES)]).from_notebook_node(nb)
    from .report import write_atomic

    write_atomic(html_path, body)
    return Path(html_path)


def applicable(exp: Experiment, overrides: dict | None) -> dict:
    """The subset of ``overrides`` that are parameters of the experiment's notebook."""
    if not overrides:
        return {}
    known = notebook_parameters(exp.notebook_path)
    return {k: v for k, v in overrides.items() if k in known}


def experiment_parameters(exp: Experiment, *, synthetic: bool, overrides: dict | None = None) -> dict:
    """The notebook parameters of one run: the params file, then its ``demo`` block when the
    data is synthetic, then the command line's ``--set`` overrides (those that apply)."""
    params = {k: v for k, v in exp.params.items() if k not in PIPELINE_KEYS and exp.notebook not in STAGES}
    if synthetic:
        params.update(exp.params.get("demo", {}))
    params.update(applicable(exp, overrides))
    return params


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
    params.update(data_root=str(data_root_dir), cache_dir=str(cache), reports_dir=str(reports_dir),
                  demo_size=demo_size)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        from .report import output_dir, results_path

        results = results_path(output_dir(reports_dir, synthetic), exp.name)
        results.unlink(missing_ok=True)
        pm.execute_notebook(str(exp.notebook_path), str(out_nb), parameters=params,
                            cwd=str(exp.notebook_path.parent), kernel_name=kernel_name,
                            progress_bar=False, log_output=False, request_save_on_cell_execute=False)
        if exp.notebook not in STAGES:
            write_record(exp, results, {**notebook_defaults(exp.notebook_path), **params},
                         synthetic=synthetic, data_root_dir=data_root_dir, demo_size=demo_size)
    finally:
        if out_nb.is_file():
            export_html(out_nb, reports_dir / f"{exp.name}.html")


def write_record(exp: Experiment, results: Path, params: dict, *, synthetic: bool, data_root_dir: Path,
                 demo_size: str) -> Path:
    """Write the run record ``metrics/<experiment>.json`` (:mod:`ser_lib.record`) beside the
    notebook's results file: the effective parameters the pipeline passed (every notebook
    parameter but :data:`INJECTED`), the provenance (commit, data identity, host, time, wall, peak
    memory) and the experiment's placement in the report."""
    from . import record as R
    from .identity import corpus_identity

    if not results.is_file():
        raise RuntimeError(f"{exp.notebook_path.name} finished without writing its results ({results})")
    data_id = (f"synthetic:{demo_size}" if synthetic else
               ";".join(f"{c}:{corpus_identity(data_root_dir / c)}" for c in corpora_needed(exp)))
    rec = R.compose(experiment=exp.name, title=exp.params["title"], corpus=exp.params["corpus"],
                    protocol=exp.params.get("protocol", "none"), placement=exp.params["report"],
                    effective_params=json.loads(json.dumps({k: v for k, v in params.items() if k not in INJECTED},
                                                           default=str)),
                    results=json.loads(results.read_text()), synthetic=synthetic,
                    commit=R.git_commit(PROJECT_ROOT), data_id=data_id)
    return R.write(rec, results.parent.parent / "metrics" / f"{exp.name}.json")


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
    experiments share a machine). Never raises: a failure is returned with its last line and log path.
    """
    if threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
            os.environ[var] = str(threads)
        os.environ["TF_NUM_INTEROP_THREADS"] = "1"
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


def _dask_client(jobs: int, scheduler: str | None):
    """A Dask client: on ``scheduler`` (``tcp://host:8786``) or on an embedded local cluster of
    ``jobs`` single-threaded worker processes."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - pinned in requirements.txt
        raise SystemExit("parallel runs need dask[distributed] (pip install -r requirements.txt)") from exc
    if scheduler:
        return Client(scheduler, timeout=SCHEDULER_TIMEOUT_S), None
    import dask

    # Each task is a whole experiment (seconds to hours) that runs in a kernel subprocess: the
    # default millisecond-scale profiling, ticks and monitors cost 8 % of a core at idle (3.1 s of
    # CPU per 40 s, measured) and buy nothing here; at these intervals the cost is 0.5 s per 40 s.
    dask.config.set({"distributed.scheduler.allowed-failures": 0, "distributed.worker.daemon": False,
                     "distributed.logging.distributed": "error",
                     "distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s",
                     "distributed.admin.system-monitor.interval": "5s",
                     "distributed.admin.system-monitor.gil.enabled": False,
                     "distributed.worker.memory.monitor-interval": "1s", "distributed.scheduler.work-stealing": False})
    # loopback only: the embedded cluster runs arbitrary code for whoever reaches it, so it never
    # listens on a network interface (tested)
    cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=50, host="127.0.0.1")
    return Client(cluster), cluster


#: Memory one experiment may need at its peak on the real corpora (largest measured among those
#: that share the machine: 6.7 GB, ``wader-actor``). An experiment that needs more says so in its
#: params file (``peak_memory_gib``) and runs alone (:func:`runs_alone`).
GIB_PER_JOB = 8

#: Params-file keys read by the pipeline, not passed to the notebook.
PIPELINE_KEYS = ("notebook", "demo", "peak_memory_gib", "report")


def runs_alone(exp: Experiment, *, real: bool) -> bool:
    """Whether a local parallel run must give ``exp`` the machine to itself: its params file
    declares a real-data peak (``peak_memory_gib``) above :data:`GIB_PER_JOB`. Demo runs are small."""
    return real and float(exp.params.get("peak_memory_gib", 0)) > GIB_PER_JOB


def auto_jobs(*, cores: int | None = None, memory_gib: float | None = None) -> int:
    """Experiments to run at once on this machine: one per core, at most one per :data:`GIB_PER_JOB`."""
    cores = cores or os.cpu_count() or 1
    if memory_gib is None:
        try:
            memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
            memory_gib = GIB_PER_JOB
    return max(1, min(int(cores), int(memory_gib // GIB_PER_JOB)))


def parse_jobs(value: str | int) -> int:
    """``--jobs`` / ``JOBS``: a positive integer or ``auto`` (:func:`auto_jobs`)."""
    if str(value).strip().lower() == "auto":
        return auto_jobs()
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"JOBS must be a positive integer or 'auto', got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"JOBS must be at least 1, got {n}")
    return n


def interleaved(exps) -> list[str]:
    """Experiment names in the order parallel runs start them: round-robin over notebooks.

    Experiments of one notebook share cached features (the first one to run computes them, the
    others read them; :func:`ser_lib.clipcache.locked` makes a second one wait rather than compute
    them again). Taking one experiment of each notebook in turn keeps experiments that would wait
    on each other apart, so the cores work on different caches instead of queueing on one.
    """
    groups: dict[str, list[str]] = {}
    for exp in exps:
        groups.setdefault(exp.notebook, []).append(exp.name)
    order, depth = [], max((len(g) for g in groups.values()), default=0)
    for i in range(depth):
        order += [g[i] for g in groups.values() if i < len(g)]
    return order


def _run_parallel(tasks, *, jobs: int, scheduler: str | None, log, **kwargs) -> list[Outcome]:
    """Run ``tasks`` (list of (Experiment, real)) on Dask, logging progress as each finishes."""
    from dask.distributed import as_completed

    client, cluster = _dask_client(jobs, scheduler)
    threads = max(1, (os.cpu_count() or 1) // max(1, jobs))
    t0 = time.time()
    try:
        order = interleaved([exp for exp, _ in tasks])
        rank = {name: i for i, name in enumerate(order)}
        futures = {client.submit(execute, exp, real=real, threads=threads, pure=False, key=f"experiment-{exp.name}",
                                 priority=len(order) - rank[exp.name], **kwargs): exp.name for exp, real in tasks}
        outcomes = []
        for fut in as_completed(futures):
            name = futures[fut]
            try:
                outcome = fut.result()
            except Exception as exc:  # the worker died (KilledWorker) or the task could not run
                outcome = Outcome(name, False, time.time() - t0,
                                  f"worker lost or task failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                                  f"see reports/logs/{name}.log")
            outcomes.append(outcome)
            _log_outcome(outcome, log)
            failed = sum(not o.ok for o in outcomes)
            running = min(jobs if not scheduler else len(futures), len(futures) - len(outcomes))
            log(f"  progress    {len(outcomes) - failed} done, {running} running, "
                f"{len(futures) - len(outcomes) - running} waiting, {failed} failed; {time.time() - t0:.0f} s elapsed")
        return outcomes
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _log_outcome(outcome: Outcome, log) -> None:
    if outcome.ok:
        log(f"  done        {outcome.name} in {outcome.seconds:.0f} s")
    else:
        log(f"  FAILED      {outcome.name} after {outcome.seconds:.0f} s: {outcome.message}")


def run_all(*, project: Path = PROJECT_ROOT, reports_dir: Path | None = None,
            data_root_dir: Path | None = None, cache: Path | None = None, demo_size: str = "demo",
            only: list[str] | None = None, force: bool = False, overrides: dict | None = None,
            jobs: int = 1, scheduler: str | None = None, demo: bool | None = None, log=print) -> list[str]:
    """Run every stale experiment, then rebuild the index. Returns the failed experiments.

    ``demo``: run on the synthetic demo corpus (default: when ``data_root_dir`` holds no corpus).
    A demo run writes everything under ``<reports_dir>/demo/`` (git-ignored) and its notebooks see
    no corpus; the committed real results in ``reports_dir`` are only read, to rebuild the real
    report (:func:`ser_lib.recordpage.build_real_report`), which links the demo pages as a pipeline
    check. A real run skips (and names) the experiments whose corpus is absent.

    ``overrides`` (``--set key=value``) replaces a parameter in every experiment whose notebook
    has it, e.g. ``{"epochs": 1}`` for a quick smoke run; it is part of the fingerprint.

    ``jobs`` > 1 runs up to that many experiments at once on an embedded Dask cluster (each
    experiment's thread pools limited to cores / jobs); ``scheduler`` (``tcp://host:8786``) sends
    them to an existing Dask scheduler whose workers have the project and the corpora at the same
    paths. The summary runs last, after every experiment it reads. A failed experiment (or a dead
    worker) is reported with its log; the others finish and keep their results.
    """
    from .recordpage import build_real_report
    from .report import output_dir, write_atomic

    real_reports = Path(reports_dir or project / "reports").resolve()
    data_root_dir = data_root(data_root_dir)
    cache = cache_dir(cache)
    exps = load_experiments(project / "params", project / "notebooks")
    if only:
        unknown = sorted(set(only) - {e.name for e in exps})
        if unknown:
            raise SystemExit(f"unknown experiments {unknown}; known: {[e.name for e in exps]}")
        exps = [e for e in exps if e.name in only]
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    found = corpora_found(data_root_dir)
    if demo is None:
        demo = not found
    reports_dir = output_dir(real_reports, demo)
    if demo:
        # the demo's notebooks must not find a corpus, even when --demo is asked beside a real DATA_ROOT
        data_root_dir = cache / "demo-data-root"
        data_root_dir.mkdir(parents=True, exist_ok=True)
        log(f"SYNTHETIC DEMO: no real corpus is used; every number below is synthetic and goes to "
            f"{reports_dir} (git-ignored); the committed real results in {real_reports} are not touched")
        if (real_reports / "metrics").is_dir():
            log(f"real report (from the committed records, readable now): {build_real_report(real_reports)}")
    else:
        absent = [e for e in exps if set(corpora_needed(e)) - set(found)]
        for e in absent:
            log(f"  skipped     {e.name}  (needs {', '.join(sorted(set(corpora_needed(e)) - set(found)))}, "
                f"not under {data_root_dir})")
        exps = [e for e in exps if e not in absent]
    try:
        stamps = reports_dir / ".stamps"
        stamps.mkdir(parents=True, exist_ok=True)
        _check_writable(reports_dir)
    except OSError as exc:
        raise ReportsDirError(f"error: cannot write the reports folder {reports_dir}: "
                              f"{exc.strerror or exc}") from None
    log(f"DATA_ROOT={data_root_dir}  reports={reports_dir}  experiments={len(exps)}"
        + (f"  jobs={jobs}" if jobs > 1 else "") + (f"  scheduler={scheduler}" if scheduler else ""))
    common = dict(reports_dir=reports_dir, data_root_dir=data_root_dir, cache=cache, demo_size=demo_size,
                  overrides=overrides)

    def stale(exp):
        """(fingerprint, real) when the experiment must run, else None."""
        inputs = None
        if exp.notebook in LAST:  # the summary depends on every other experiment's metrics
            inputs = {p.name: p.stat().st_mtime_ns for p in sorted((reports_dir / "metrics").glob("*.json"))
                      if p.stem != exp.name}
        inputs = {**(inputs or {}), "overrides": applicable(exp, overrides)}
        real = not demo
        fp = fingerprint(exp, lib_dir=project / "ser_lib", data_root_dir=data_root_dir,
                         demo_size=demo_size, inputs=inputs, real=real)
        done = ((stamps / f"{exp.name}.sha256").is_file() and (stamps / f"{exp.name}.sha256").read_text() == fp
                and (reports_dir / f"{exp.name}.html").is_file()
                and ((reports_dir / "RESULTS.md") if exp.notebook in STAGES
                     else (reports_dir / "metrics" / f"{exp.name}.json")).is_file())
        if done and not force:
            log(f"  up to date  {exp.name}")
            return None
        return fp, real

    def record(exp, fp, outcome):
        stamp = stamps / f"{exp.name}.sha256"
        if outcome.ok:
            write_atomic(stamp, fp)
        else:
            stamp.unlink(missing_ok=True)

    failed = []
    for group in ([e for e in exps if e.notebook not in LAST], [e for e in exps if e.notebook in LAST]):
        plan = {e.name: (e, *st) for e in group if (st := stale(e)) is not None}
        if not plan:
            continue
        alone = [] if scheduler or jobs == 1 else [n for n, (e, _, real) in plan.items() if runs_alone(e, real=real)]
        for name in alone:
            log(f"  alone       {name}  (peaks at about {plan[name][0].params.get('peak_memory_gib', '?')} GiB: "
                "runs after the others, one at a time)")
        side_by_side = [(e, real) for n, (e, _, real) in plan.items() if n not in alone]
        one_at_a_time = [(plan[n][0], plan[n][2]) for n in alone]
        outcomes = []
        if scheduler or (jobs > 1 and len(side_by_side) > 1):  # with a scheduler, even one experiment runs there
            outcomes = _run_parallel(side_by_side, jobs=jobs, scheduler=scheduler, log=log, **common)
        else:
            one_at_a_time = side_by_side + one_at_a_time
        for e, real in one_at_a_time:  # in this process
            log(f"  running     {e.name}  ({e.notebook}.ipynb) ...")
            outcomes.append(execute(e, real=real, **common))
            _log_outcome(outcomes[-1], log)
        for outcome in outcomes:
            e, fp, _ = plan[outcome.name]
            record(e, fp, outcome)
            if not outcome.ok:
                failed.append(outcome.name)
    if demo:
        index = build_real_report(real_reports, demo_dir=reports_dir, record_pages=False)
        log(f"demo pages (pipeline check, SYNTHETIC numbers): {reports_dir / 'index.html'}")
    else:
        index = build_real_report(real_reports)
    log(f"index: {index}")
    return sorted(failed)


class ReportsDirError(SystemExit):
    """The reports folder cannot be written (read-only, full, not a folder)."""


def _check_writable(folder: Path) -> None:
    probe = folder / f".write-probe-{os.getpid()}"
    probe.write_text("")
    probe.unlink()


def parse_overrides(items: list[str], exps: list[Experiment]) -> dict:
    """``--set KEY=VALUE`` items → overrides, checked: every key must be a parameter of at least one
    notebook of ``exps`` (the message lists them), every value plain YAML (a scalar, or a list or
    mapping of plain values; no tags, no broken syntax).

    Raises
    ------
    ParamsError
        One line naming the item and what is wrong.
    """
    known = sorted({name for e in exps for name in notebook_parameters(e.notebook_path)} - set(INJECTED) - set(REQUIRED))
    out = {}
    for item in items:
        if "=" not in item:
            raise ParamsError(f"--set expects KEY=VALUE, got {item!r}")
        key, text = item.split("=", 1)
        key = key.strip()
        if key in INJECTED or key in REQUIRED:
            raise ParamsError(f"--set {key}: set by the pipeline or the params file, not on the command line")
        if key not in known:
            import difflib

            near = difflib.get_close_matches(key, known, n=3)
            raise ParamsError(f"--set {key}: no notebook of these experiments has a parameter {key!r}"
                              + (f" (did you mean {', '.join(near)}?)" if near else "")
                              + f"; their parameters: {', '.join(known)}")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ParamsError(f"--set {key}: {text!r} is not plain YAML ({first})") from None
        if not _plain(value):
            raise ParamsError(f"--set {key}: {text!r} is not a plain YAML value (scalars, lists and mappings only)")
        out[key] = value
    return out


def _plain(value) -> bool:
    import datetime as _dt

    if isinstance(value, (_dt.date, _dt.datetime)):
        return False
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, (str, int)) and _plain(v) for k, v in value.items())
    return value is None or isinstance(value, (str, int, float, bool))


#: Seconds to wait for an external Dask scheduler before giving up.
SCHEDULER_TIMEOUT_S = 10


def check_scheduler(address: str, *, timeout: float = SCHEDULER_TIMEOUT_S) -> None:
    """Fail in about ``timeout`` seconds, with one line, when no Dask scheduler answers at ``address``."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls") or not parts.hostname:
        raise SchedulerError(f"error: SCHEDULER={address!r} is not a Dask address (tcp://host:8786 or tls://host:8786)")
    try:
        with socket.create_connection((parts.hostname, parts.port or 8786), timeout=timeout):
            pass
    except OSError as exc:
        raise SchedulerError(f"error: no Dask scheduler answers at {address} within {timeout:.0f} s "
                             f"({exc.strerror or type(exc).__name__}); start one with `dask scheduler`, or unset SCHEDULER "
                             "to run on this machine") from None


class SchedulerError(SystemExit):
    """No Dask scheduler at the given address."""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ser_lib.pipeline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these experiments")
    parser.add_argument("--force", action="store_true", help="re-run even if up to date")
    parser.add_argument("--data-root", default=None,
                        help="corpora folder (default $DATA_ROOT; when neither is given, data/ if it holds a corpus, "
                             "else the synthetic demo). A folder given here that holds no corpus is an error.")
    parser.add_argument("--demo", action="store_true",
                        help="run on the synthetic demo corpus into reports/demo/ (git-ignored), whatever DATA_ROOT says")
    parser.add_argument("--pages", action="store_true",
                        help="run nothing: build reports/index.html and one page per experiment from the committed "
                             "real results (about a minute)")
    parser.add_argument("--reports-dir", default=None, help="output folder (default reports/)")
    parser.add_argument("--cache", default=None, help="derived-data folder (default $SER_CACHE or .cache/)")
    parser.add_argument("--demo-size", default=os.environ.get("SER_DEMO_SIZE", "demo"),
                        choices=("demo", "tiny"), help="synthetic corpus size when real data is absent")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                        help="override a parameter in every notebook that has it (e.g. epochs=1)")
    parser.add_argument("--jobs", type=parse_jobs, default=parse_jobs(os.environ.get("JOBS") or "1"),
                        help="run up to this many experiments at once on a local Dask cluster (default 1: one after "
                             "another); 'auto': one per core, at most one per 8 GiB of memory")
    parser.add_argument("--scheduler", default=os.environ.get("SCHEDULER") or None,
                        help="address of an existing Dask scheduler (tcp://host:8786) to send the experiments to")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    args = parser.parse_args(argv)
    try:
        exps = load_experiments(PROJECT_ROOT / "params", PROJECT_ROOT / "notebooks")
        if args.list:
            for e in exps:
                print(f"{e.name:32s} {e.notebook:16s} {e.params['title']}")
            return 0
        reports = Path(args.reports_dir) if args.reports_dir else PROJECT_ROOT / "reports"
        if args.pages:
            from .recordpage import build_real_report

            print(f"index: {build_real_report(reports.resolve())}  (from the committed real results; nothing was run)")
            return 0
        selected = [e for e in exps if not args.only or e.name in args.only]
        overrides = parse_overrides(args.set, selected or exps)
        given = args.data_root if args.data_root not in (None, "") else (os.environ.get("DATA_ROOT") or None)
        demo = True if args.demo else None
        if given and not args.demo:
            check_data_root(data_root(given))
            check_corpus_sizes(data_root(given), selected)
            demo = False
        elif not args.demo and not corpora_found(data_root(None)):
            print(f"No corpus location given (DATA_ROOT unset) and no corpus under {data_root(None)}: "
                  "the report pages are built from the committed real results, and the pipeline is checked on the "
                  "SYNTHETIC demo corpus (its pages go to reports/demo/).", flush=True)
        if args.scheduler:
            check_scheduler(args.scheduler)
        failed = run_all(reports_dir=reports, data_root_dir=given, cache=args.cache, demo_size=args.demo_size,
                         only=args.only, force=args.force, overrides=overrides, jobs=args.jobs,
                         scheduler=args.scheduler, demo=demo)
    except ParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # NoCorpusError, ReportsDirError, SchedulerError, unknown --only names
        if isinstance(exc.code, str):
            print(exc.code if exc.code.startswith("error:") else f"error: {exc.code}", file=sys.stderr)
            return 2
        raise
    except OSError as exc:  # a full disk or a folder that vanished while writing
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if failed:
        print(f"{len(failed)} experiment(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
