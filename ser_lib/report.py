"""Run bookkeeping and report pages.

Every experiment notebook starts a :class:`Run` and ends with :meth:`Run.finish`, which
writes ``reports/metrics/<experiment>.json``: the machine-readable figures, the protocol,
whether the data was real or synthetic, wall time and peak memory. :func:`build_index`
turns all of them into ``reports/index.html``.
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
        Report folder; the metrics go to ``<reports_dir>/metrics/<experiment>.json``.
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
        self.reports_dir = Path(reports_dir)
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
        self.metrics_path.parent.mkdir(parents=True, exist_ok=True)
        self.metrics_path.write_text(json.dumps(record, indent=1) + "\n")
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
        out.append(record)
    return out


def _pct(value, std=None) -> str:
    from .metrics import format_score

    return format_score(value, std)


def _row(r: dict, reports_dir: Path) -> list[str]:
    page = f"{r['experiment']}.html"
    name = html.escape(r.get("title") or r["experiment"])
    link = f'<a href="{html.escape(page)}">{name}</a>' if (reports_dir / page).is_file() else name
    other = r.get("other_normalisation") or {}
    norm = r.get("normalisation") or "–"
    if other.get("ua") is not None:
        norm += f" ({other['normalisation']}: UA {_pct(other['ua'], other.get('ua_std'))})"
    cells = [link, r["corpus"], r["protocol"], r["data"], html.escape(norm),
             "–" if r["n_test_clips"] is None else str(r["n_test_clips"])]
    cells += [_pct(r.get(k), r.get(k + "_std")) for k in ("wa", "ua", "macro_f1", "weighted_f1")]
    cells.append(_pct((r.get("chance") or {}).get("ua")))
    cells.append(f"{r['wall_s']:.0f}")
    return cells


def _table(header, rows) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def build_index(reports_dir: str | Path, *, title: str = "Speech emotion recognition report") -> Path:
    """Write ``<reports_dir>/index.html``: the findings and a chart first (:mod:`ser_lib.frontpage`),
    then every experiment with its headline numbers, grouped in the report's sections."""
    from . import frontpage as FP

    reports_dir = Path(reports_dir)
    records = read_metrics(reports_dir)
    synthetic = any(r["data"] == "synthetic" for r in records)
    header = ["experiment", "corpus", "protocol", "data", "normalisation", "test clips", "WA %", "UA %",
              "macro F1 %", "weighted F1 %", "chance UA %", "wall s"]
    found = FP.findings(records)
    top = _table(list(found[0]), [[html.escape(str(v)) for v in row.values()] for row in found]) if found else ""
    chart = FP.chart_png(records)
    chart_html = (f'<img id="chart" alt="UA per experiment with chance and human lines" '
                  f'src="data:image/png;base64,{chart}">' if chart else "")
    sections, toc = [], []
    for k, section in enumerate(FP.SECTIONS):
        members = [r for r in records if FP.section_of(r) == section]
        if not members:
            continue
        anchor = f"s{k}"
        toc.append(f'<a href="#{anchor}">{html.escape(section)}</a>')
        body = ""
        if section == "CREMA-D reproduction":
            pairs = FP.reproduction_pairs(records)
            body += "<p>Seed (the original's split, speakers shared) beside actor-disjoint folds, one row per model.</p>"
            body += _table(["model", "seed UA %", "actor UA %", "gap (points)"], [
                [html.escape(p["model"]),
                 *(_pct(p[k]["ua"], p[k].get("ua_std")) if k in p else "–" for k in ("seed", "actor")),
                 f"{100 * (p['seed']['ua'] - p['actor']['ua']):+.1f}" if {"seed", "actor"} <= set(p) else "–"]
                for p in pairs])
        body += _table(header, [_row(r, reports_dir) for r in members])
        sections.append(f'<h2 id="{anchor}">{html.escape(section)}</h2>\n{body}')
    banner = (f'<div class="banner">{html.escape(SYNTHETIC_BANNER)}</div>' if synthetic else "")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1300px; }}
table {{ border-collapse: collapse; margin-bottom: 1em; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; }}
th {{ background: #eee; }}
.banner {{ background: #b00020; color: white; padding: 12px; font-weight: bold; }}
#chart {{ max-width: 100%; }} nav a {{ margin-right: 1em; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
{banner}
<h2 id="findings">What the report found</h2>
<p>Per corpus, under actor-disjoint folds (no speaker in both training and test), UA = mean
per-class recall in percent, mean ± std over folds. <i>speaker</i> normalisation uses several
recordings of each speaker together (transductive); <i>global</i> needs one recording only.</p>
{top}
{chart_html}
<nav>{' '.join(toc)}</nav>
{chr(10).join(sections)}
<p>Each row is one experiment run: its page shows parameters, figures and tables. Figures are
percent; "a ± b" is mean ± standard deviation over folds. WA = accuracy over clips,
UA = mean per-class recall. Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.</p>
</body></html>
"""
    out = reports_dir / "index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page)
    return out
