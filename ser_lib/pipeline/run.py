"""``make report``: every stale experiment, one after another or on a Dask cluster, then the index;
the command line (``python -m ser_lib.pipeline``)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


from ser_lib.config import PROJECT_ROOT, cache_dir, data_root
from ser_lib.pipeline.execute import Outcome, execute
from ser_lib.pipeline.experiments import Experiment, LAST, ParamsError, STAGES, applicable, check_corpus_sizes, check_data_root, corpora_found, corpora_needed, fingerprint, load_experiments, parse_overrides


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


def _digest(path: Path) -> str | None:
    """SHA-256 of a file's bytes (None when it does not exist)."""
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def interleaved(exps) -> list[str]:
    """Experiment names in the order parallel runs start them: round-robin over notebooks.

    Experiments of one notebook share cached features (the first one to run computes them, the
    others read them; :func:`ser_lib.features.clipcache.locked` makes a second one wait rather than compute
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
    report (:func:`ser_lib.reporting.recordpage.build_real_report`), which links the demo pages as a pipeline
    check. A real run skips (and names) the experiments whose corpus is absent.

    ``overrides`` (``--set key=value``) replaces a parameter in every experiment whose notebook
    has it, e.g. ``{"epochs": 1}`` for a quick smoke run; it is part of the fingerprint.

    ``jobs`` > 1 runs up to that many experiments at once on an embedded Dask cluster (each
    experiment's thread pools limited to cores / jobs); ``scheduler`` (``tcp://host:8786``) sends
    them to an existing Dask scheduler whose workers have the project and the corpora at the same
    paths. The summary runs last, after every experiment it reads. A failed experiment (or a dead
    worker) is reported with its log; the others finish and keep their results.
    """
    from ser_lib.reporting.recordpage import build_real_report
    from ser_lib.reporting.report import output_dir, write_atomic

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
        elif exp.params.get("after"):  # an experiment that reads other records depends on their content
            inputs = {name: _digest(reports_dir / "metrics" / f"{name}.json") for name in exp.params["after"]}
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
    tiers = ([e for e in exps if e.notebook not in LAST and not e.params.get("after")],
             [e for e in exps if e.notebook not in LAST and e.params.get("after")],  # after the records they read
             [e for e in exps if e.notebook in LAST])
    for group in tiers:
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
            from ser_lib.reporting.recordpage import build_real_report

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
