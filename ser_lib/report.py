"""Run bookkeeping and report pages.

Every experiment notebook starts a :class:`Run` and ends with :meth:`Run.finish`, which
writes ``reports/metrics/<experiment>.json``: the machine-readable figures, the protocol,
whether the data was real or synthetic, wall time and peak memory. :func:`ser_lib.frontpage.build_index`
turns all of them into ``reports/index.html`` (:func:`ser_lib.frontpage.build_index`).
"""

from __future__ import annotations

import html
import json
import math
import os
import platform
import resource
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

#: Keys every metrics file carries.
REQUIRED_KEYS = ("experiment", "corpus", "protocol", "data", "n_test_clips", "wa", "ua",
                 "macro_f1", "weighted_f1", "wall_s", "peak_rss_mb", "reference")

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


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


class Run:
    """Bookkeeping of one experiment run (wall time, memory, metrics file).

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
        Report folder; the metrics go to ``<reports_dir>/metrics/<experiment>.json``. On synthetic
        data everything goes to ``<reports_dir>/demo/`` instead (:func:`output_dir`): use
        :attr:`reports_dir` of the run, not the parameter, for every file the notebook writes.
    params : dict, optional
        The run's parameters, stored in the metrics file.
    """

    def __init__(self, experiment: str, corpus: str, protocol: str, *, synthetic: bool,
                 reports_dir: str | Path, params: dict | None = None, title: str = ""):
        if not experiment:
            raise ValueError("experiment name is empty")
        self.experiment = experiment
        self.corpus = corpus
        self.protocol = protocol
        self.synthetic = bool(synthetic)
        self.title = title or experiment
        self.reports_dir = output_dir(reports_dir, self.synthetic)
        self.params = dict(params or {})
        self.started = time.time()

    @property
    def data(self) -> str:
        return "synthetic" if self.synthetic else "real"

    @property
    def metrics_path(self) -> Path:
        return self.reports_dir / "metrics" / f"{self.experiment}.json"

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
        """Write the metrics file and return its content.

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
        record = {
            "experiment": self.experiment,
            "title": self.title,
            "corpus": self.corpus,
            "protocol": self.protocol,
            "data": self.data,
            "n_test_clips": n_test_clips,
        }
        for key in ("wa", "ua", "macro_f1", "weighted_f1"):
            record[key] = scores.pop(key, None)
        record.update(scores)
        record["reference"] = reference or {}
        record["wall_s"] = round(time.time() - self.started, 1)
        record["peak_rss_mb"] = round(peak_rss_mb(), 1)
        record["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        record["host"] = {"machine": platform.machine(), "cpus": os.cpu_count()}
        record["params"] = self.params
        if extra:
            record.update(extra)
        record = _jsonable(record)
        write_atomic(self.metrics_path, json.dumps(record, indent=1, allow_nan=False) + "\n")
        return record


def read_metrics(reports_dir: str | Path) -> list[dict]:
    """Load every ``metrics/*.json`` under ``reports_dir`` (sorted by name).

    Raises
    ------
    ValueError
        If a file is not valid JSON or lacks a required key (the file is named).
    """
    out = []
    for path in sorted((Path(reports_dir) / "metrics").glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
        missing = [k for k in REQUIRED_KEYS if k not in record]
        if missing:
            raise ValueError(f"{path}: missing keys {missing}")
        try:
            check_metrics_schema(record)
        except Exception as exc:  # jsonschema.ValidationError
            raise ValueError(f"{path}: does not follow ser_lib/resources/metrics.schema.json "
                             f"({getattr(exc, 'message', exc)} at {'/'.join(map(str, getattr(exc, 'path', [])))})") from None
        out.append(record)
    return out


def check_metrics_schema(record: dict) -> None:
    """Validate a metrics record against ``ser_lib/resources/metrics.schema.json``, the one written
    schema of the metrics record that the summary and the index rely on.

    Raises
    ------
    jsonschema.ValidationError
    """
    import jsonschema

    schema = json.loads((Path(__file__).resolve().parent / "resources" / "metrics.schema.json").read_text())
    jsonschema.validate(record, schema)
