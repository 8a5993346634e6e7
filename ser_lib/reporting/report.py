"""Run bookkeeping and report pages.

Every experiment notebook starts a :class:`Run` and ends with :meth:`Run.finish`, which writes
its results (figures, protocol, real or synthetic data, wall time, peak memory) for the pipeline;
the pipeline turns them into the run record ``reports/metrics/<experiment>.json``
(:mod:`ser_lib.reporting.record`), and :func:`read_metrics` reads every record back, validated.
"""

from __future__ import annotations

import html
import json
import os
import platform
import resource
import time
from datetime import datetime, timezone
from pathlib import Path

from ser_lib.data.identity import plain

SYNTHETIC_BANNER = (
    "SYNTHETIC DEMO DATA — the real corpus was not found under DATA_ROOT, so this page was "
    "computed on the built-in synthetic corpus. Its numbers say nothing about emotion in "
    "real speech. Run `make data` (or set DATA_ROOT) and `make report` for real results."
)


#: Sub-folder of the reports folder that receives every output of a synthetic (demo) run, so that a
#: demo never replaces the committed real results (``reports/metrics``, ``RESULTS.md``, ``runs``).
DEMO_DIR = "demo"


def output_dir(reports_dir: str | Path, synthetic: bool) -> Path:
    """Where a run writes: ``reports_dir`` for real data, ``reports_dir/demo`` for synthetic data.

    Idempotent: a folder already named ``demo`` is kept, so the pipeline can pass the demo folder
    itself. A notebook opened in JupyterLab and run with its defaults on a machine without the
    corpora therefore writes into the git-ignored ``reports/demo/``.

    Examples
    --------
    >>> output_dir("reports", True).as_posix(), output_dir("reports", False).as_posix()
    ('reports/demo', 'reports')
    >>> output_dir("reports/demo", True).as_posix()
    'reports/demo'
    """
    reports_dir = Path(reports_dir)
    if synthetic and reports_dir.name != DEMO_DIR:
        return reports_dir / DEMO_DIR
    return reports_dir


def write_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename, so that
    a reader never sees a half-written file (an interrupted run leaves the old file or none)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def peak_rss_mb() -> float:
    """Peak resident memory of this process and its finished children, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0  # ru_maxrss is in KiB on Linux


class Run:
    """Bookkeeping of one experiment run in its notebook (wall time, memory, results file).

    The notebook's results go to ``<reports_dir>/results/<experiment>.json``; the pipeline then
    writes the run record ``metrics/<experiment>.json`` from them, with the parameters it passed
    and the provenance (:mod:`ser_lib.reporting.record`). A notebook never writes its own record.

    Parameters
    ----------
    experiment : str
        Experiment name (the params file's stem).
    corpus : str
    protocol : str
        Evaluation protocol, e.g. ``"seed"``, ``"actor"``, ``"human"``, ``"none"``.
    synthetic : bool
        Whether the data is the synthetic demo corpus.
    reports_dir : path
        Report folder. On synthetic data everything goes to ``<reports_dir>/demo/`` instead
        (:func:`output_dir`): use :attr:`reports_dir` of the run, not the parameter, for every
        file the notebook writes.
    title : str
    """

    def __init__(self, experiment: str, corpus: str, protocol: str, *, synthetic: bool,
                 reports_dir: str | Path, title: str = ""):
        if not experiment:
            raise ValueError("experiment name is empty")
        self.experiment = experiment
        self.corpus = corpus
        self.protocol = protocol
        self.synthetic = bool(synthetic)
        self.title = title or experiment
        self.reports_dir = output_dir(reports_dir, self.synthetic)
        self.started = time.time()

    @property
    def data(self) -> str:
        return "synthetic" if self.synthetic else "real"

    @property
    def results_path(self) -> Path:
        return results_path(self.reports_dir, self.experiment)

    def banner(self):
        """An IPython HTML banner for synthetic data (an empty string for real data)."""
        from IPython.display import HTML

        if not self.synthetic:
            return HTML(f"<p><b>Data:</b> real {html.escape(self.corpus)} corpus.</p>")
        return HTML(
            '<div style="background:#b00020;color:white;padding:12px;font-size:1.1em;'
            f'font-weight:bold;border-radius:4px">{html.escape(SYNTHETIC_BANNER)}</div>'
        )

    def finish(self, *, n_test_clips: int | None, scores: dict | None = None,
               reference: dict | None = None, extra: dict | None = None) -> dict:
        """Write the notebook's results file and return its content.

        Parameters
        ----------
        n_test_clips : int or None
            Clips the headline figures were measured on.
        scores : dict, optional
            ``wa``, ``ua``, ``macro_f1``, ``weighted_f1`` (fractions) and optionally their
            ``_std`` twins, ``wa_ci``, ``chance`` etc. Missing headline keys are stored as null.
        reference : dict, optional
            The original work's reported figures, with a ``source`` string.
        extra : dict, optional
            Anything else worth keeping (per-class tables, fold results, ...).
        """
        scores = dict(scores or {})
        record = {"experiment": self.experiment, "title": self.title, "corpus": self.corpus,
                  "protocol": self.protocol, "data": self.data, "n_test_clips": n_test_clips}
        for key in ("wa", "ua", "macro_f1", "weighted_f1"):
            record[key] = scores.pop(key, None)
        record.update(scores)
        record["reference"] = reference or {}
        record["wall_s"] = round(time.time() - self.started, 1)
        record["peak_rss_mb"] = round(peak_rss_mb(), 1)
        record["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        record["host"] = {"machine": platform.machine(), "cpus": os.cpu_count()}
        if extra:
            record.update(extra)
        record = plain(record)
        write_atomic(self.results_path, json.dumps(record, indent=1, allow_nan=False) + "\n")
        return record


def measured_on() -> dict:
    """When and where a benchmark was measured: ``measured`` (UTC, ISO 8601) and ``host``."""
    return {"measured": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "host": {"machine": platform.machine(), "cpus": os.cpu_count()}}


def results_path(reports_dir: str | Path, experiment: str) -> Path:
    """Where a notebook leaves its results for the pipeline (git-ignored)."""
    return Path(reports_dir) / "results" / f"{experiment}.json"


def read_metrics(reports_dir: str | Path) -> list[dict]:
    """Load and validate every run record ``metrics/*.json`` under ``reports_dir`` (sorted by name;
    :func:`ser_lib.reporting.record.from_json`), in their flat form.

    Raises
    ------
    ValueError
        If a file is not valid JSON or does not follow the record's schema (the file is named).
    """
    from ser_lib.reporting.record import from_json

    out = []
    for path in sorted((Path(reports_dir) / "metrics").glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
        from_json(record, where=str(path))
        out.append(record)
    return out
