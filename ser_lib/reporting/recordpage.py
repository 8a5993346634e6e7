"""The real report from the committed results alone: one HTML page per metrics record.

A fresh clone holds ``reports/metrics/*.json`` (the real-data records) and ``reports/RESULTS.md``
but none of the executed notebooks, which took about 14 h of experiments on 2 cores. This module
turns what each record holds into a page — headline and per-fold figures, per-class table,
confusion heatmap, learning curves and per-epoch logs where recorded, the parameters, and when,
where and on what data it was computed — so that :func:`build_real_report` gives the reader the
whole real report in about a minute (47 s measured for 46 records; ``make pages``, and ``make report``
on a machine without corpora); pages whose record and code did not change are kept.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np

from ser_lib.evaluation.metrics import format_score
from ser_lib.reporting.report import DEMO_DIR, SYNTHETIC_BANNER, read_metrics, write_atomic

#: Folder (under the reports folder) of the pages built from records.
RECORDS_DIR = "records"

#: Keys shown in the page's own sections, not again among "other recorded fields".
_SHOWN = {"experiment", "title", "corpus", "protocol", "data", "n_test_clips", "wa", "ua", "macro_f1", "weighted_f1",
          "wa_std", "ua_std", "macro_f1_std", "weighted_f1_std", "wa_ci", "chance", "reference", "reference_note",
          "wall_s", "peak_rss_mb", "finished", "host", "params", "effective_params", "folds", "per_class",
          "confusion", "labels", "history", "epoch_log", "committed_in", "n_clips", "n_skipped", "normalisation", "other_normalisation"}

_STYLE = """body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; }
table { border-collapse: collapse; margin-bottom: 1em; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 3px 7px; text-align: right; } th { background: #eee; }
td:first-child, th:first-child { text-align: left; }
.banner { background: #b00020; color: white; padding: 12px; font-weight: bold; }
.provenance { background: #eef5ee; padding: 8px 12px; border-left: 4px solid #2e7d32; }
img { max-width: 100%; } pre { background: #f6f6f6; padding: 8px; overflow-x: auto; font-size: 0.85em; }"""


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="figure" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if np.isfinite(value) else "–"
    if isinstance(value, (dict, list)):
        return html.escape(json.dumps(value, default=str)[:200])
    return html.escape("–" if value is None else str(value))


def table(rows: list[dict]) -> str:
    """An HTML table of a list of flat-ish dicts (nested values shown as short JSON)."""
    if not rows:
        return ""
    cols = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "\n".join("<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def _flatten(row: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in row.items():
        if isinstance(v, dict) and all(not isinstance(x, (dict, list)) for x in v.values()):
            out.update({f"{prefix}{k} {kk}": vv for kk, vv in v.items()})
        else:
            out[f"{prefix}{k}"] = v
    return out


def headline(record: dict) -> list[dict]:
    """The headline figures of a record as table rows (percent, mean ± std where recorded)."""
    rows = [{"figure": name, "value": format_score(record.get(key), record.get(f"{key}_std"),
                                                    record.get("wa_ci") if key == "wa" else None)}
            for key, name in (("wa", "WA (accuracy) %"), ("ua", "UA (mean per-class recall) %"),
                              ("macro_f1", "macro F1 %"), ("weighted_f1", "weighted F1 %"))
            if record.get(key) is not None]
    chance = (record.get("chance") or {}).get("ua")
    if chance is not None:
        rows.append({"figure": "chance UA %", "value": format_score(chance)})
    other = record.get("other_normalisation") or {}
    if other.get("ua") is not None:
        rows.append({"figure": f"UA with {other.get('normalisation')} normalisation %",
                     "value": format_score(other["ua"], other.get("ua_std"))})
    for key, ref in (record.get("reference") or {}).items():
        if isinstance(ref, (int, float)) and not isinstance(ref, bool):
            rows.append({"figure": f"original work: {key}", "value": format_score(ref)})
    return rows


def confusion_png(record: dict) -> str:
    """The pooled confusion matrix as a heatmap (row %), or '' when the record has none."""
    matrix, labels = record.get("confusion"), record.get("labels")
    if not matrix or not labels or len(matrix) != len(labels):
        return ""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from ser_lib.reporting.plots import confusion_heatmap

    cols = labels if len(matrix[0]) == len(labels) else [*labels, *[f"other {i}" for i in range(len(matrix[0]) - len(labels))]]
    frame = pd.DataFrame(matrix, index=pd.Index(labels, name="true"), columns=pd.Index(cols, name="predicted"))
    fig, ax = plt.subplots(figsize=(1.0 * len(cols) + 2, 0.8 * len(labels) + 1.5))
    confusion_heatmap(frame, title="all test clips pooled (row %)", ax=ax)
    return _png(fig)


def curves(record: dict) -> list[tuple[str, dict]]:
    """Learning curves a record holds: (run name, {series: (epochs, values)})."""
    out = []
    history = record.get("history")
    if isinstance(history, dict):
        for run, h in history.items():
            if isinstance(h, dict) and isinstance(h.get("epoch"), list):
                out.append((str(run), {k: (h["epoch"], v) for k, v in h.items()
                                       if k != "epoch" and isinstance(v, list) and len(v) == len(h["epoch"])}))
    log = record.get("epoch_log")
    if isinstance(log, dict) and {"run", "epoch", "reading", "value"} <= set(log):
        runs: dict = {}
        for r, e, reading, v in zip(log["run"], log["epoch"], log["reading"], log["value"]):
            runs.setdefault(str(r), {}).setdefault(str(reading), ([], []))
            runs[str(r)][str(reading)][0].append(e)
            runs[str(r)][str(reading)][1].append(v)
        out += [(f"run {r}", series) for r, series in runs.items()]
    return out


def curves_png(record: dict, *, max_runs: int = 6) -> str:
    """Up to ``max_runs`` learning-curve panels, or ''."""
    found = curves(record)[:max_runs]
    if not found:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(found))
    rows = -(-len(found) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.flat[len(found):]:
        ax.axis("off")
    for ax, (name, series) in zip(axes.flat, found):
        for label, (x, y) in series.items():
            y = np.asarray([np.nan if v is None else v for v in y], dtype=float)
            ax.plot(x, y, label=label, lw=1)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=6)
    fig.tight_layout()
    return _png(fig)


def provenance(record: dict) -> str:
    """One paragraph: when, where and on what the record was computed."""
    host = record.get("host") or {}
    bits = [f"<b>{html.escape(str(record.get('data', '?')))} data</b>, corpus {html.escape(str(record.get('corpus')))}",
            f"protocol {html.escape(str(record.get('protocol')))}"]
    if record.get("n_clips") is not None:
        bits.append(f"{record['n_clips']} clips" + (f" ({record['n_skipped']} skipped)" if record.get("n_skipped") else ""))
    if record.get("n_test_clips") is not None:
        bits.append(f"{record['n_test_clips']} test clips")
    bits.append(f"computed {html.escape(str(record.get('finished', 'at an unrecorded time')))}")
    if host:
        bits.append(f"on {html.escape(str(host.get('machine', '?')))} with {host.get('cpus', '?')} CPUs")
    bits.append(f"wall {record.get('wall_s', 0):.0f} s, peak RSS {record.get('peak_rss_mb', 0):.0f} MB")
    if record.get("committed_in"):
        bits.append(f"results committed in {html.escape(str(record['committed_in']))[:12]}")
    return '<p class="provenance">' + "; ".join(bits) + ".</p>"


def record_page(record: dict, *, notebook_page: str | None = None) -> str:
    """The HTML page of one metrics record."""
    title = html.escape(record.get("title") or record["experiment"])
    parts = [f"<h1>{title}</h1>", f"<p><code>{html.escape(record['experiment'])}</code> · "
             '<a href="../index.html">report index</a>'
             + (f' · <a href="../{html.escape(notebook_page)}">executed notebook</a>' if notebook_page else "")
             + "</p>"]
    if record.get("data") != "real":
        parts.append(f'<div class="banner">{html.escape(SYNTHETIC_BANNER)}</div>')
    parts.append(provenance(record))
    parts.append("<p>Built from this experiment's committed metrics record (reports/metrics/"
                 f"{html.escape(record['experiment'])}.json), not re-run.</p>")
    rows = headline(record)
    if rows:
        parts += ["<h2>Headline</h2>", table(rows)]
    if record.get("reference_note"):
        parts.append(f"<p><b>Note.</b> {html.escape(str(record['reference_note']))}</p>")
    if isinstance(record.get("findings"), list):
        parts += ["<h2>Findings</h2>", "<ul>" + "".join(f"<li>{html.escape(str(f))}</li>" for f in record["findings"]) + "</ul>"]
    if isinstance(record.get("folds"), list) and record["folds"]:
        parts += ["<h2>Per fold</h2>", table([_flatten(f) for f in record["folds"] if isinstance(f, dict)])]
    if isinstance(record.get("per_class"), list) and record["per_class"]:
        parts += ["<h2>Per class</h2>", table(record["per_class"])]
    heat = confusion_png(record)
    if heat:
        parts += ["<h2>Confusion matrix</h2>", heat]
    lc = curves_png(record)
    if lc:
        parts += ["<h2>Learning curves and per-epoch logs</h2>", lc]
    for key, value in record.items():
        if key in _SHOWN or key == "findings":
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            parts += [f"<h2>{html.escape(key)}</h2>", table([_flatten(v) for v in value])]
        elif isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            parts += [f"<h2>{html.escape(key)}</h2>", table([{"": k, **_flatten(v)} for k, v in value.items()])]
    rest = {k: v for k, v in record.items() if k not in _SHOWN and k != "findings"
            and not (isinstance(v, list) and v and all(isinstance(x, dict) for x in v))
            and not (isinstance(v, dict) and v and all(isinstance(x, dict) for x in v.values()))}
    params = record.get("effective_params") or record.get("params") or {}
    parts += ["<h2>Parameters</h2>", f"<pre>{html.escape(json.dumps(params, indent=1, default=str))}</pre>"]
    if rest:
        parts += ["<details><summary>Other recorded fields</summary>",
                  f"<pre>{html.escape(json.dumps(rest, indent=1, default=str))}</pre></details>"]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{_STYLE}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")


def results_page(results_md: Path) -> str:
    """``RESULTS.md`` rendered to HTML (mistune, which nbconvert already needs)."""
    import mistune

    body = mistune.html(results_md.read_text())
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Results</title>'
            f'<style>{_STYLE}</style></head><body>\n<p><a href="index.html">report index</a></p>\n{body}\n</body></html>\n')


def build_record_pages(reports_dir: str | Path) -> dict[str, Path]:
    """Write ``<reports_dir>/records/<experiment>.html`` for every record; returns name → path.

    A page is drawn again only when what it shows may have changed: its first line holds a digest
    of the record, the link to the executed notebook and the source of the reporting code that
    draws it (drawing the figures of 49 pages took 21.9 s on 2 cores, on every ``make report``)."""
    from ser_lib.data.identity import settings_key
    from ser_lib.pipeline.sources import source_fingerprint

    reports_dir = Path(reports_dir)
    code = source_fingerprint(["reporting.recordpage"])
    out = {}
    for record in read_metrics(reports_dir):
        name = record["experiment"]
        nb = f"{name}.html" if (reports_dir / f"{name}.html").is_file() else None
        path = reports_dir / RECORDS_DIR / f"{name}.html"
        stamp = settings_key([record, nb, code], length=64)
        first = f"<!-- ser_lib record page {stamp} -->\n"
        if path.is_file():
            with open(path) as fh:
                if fh.readline() == first:
                    out[name] = path
                    continue
        out[name] = write_atomic(path, first + record_page(record, notebook_page=nb))
    return out


def build_real_report(reports_dir: str | Path, *, demo_dir: str | Path | None = None,
                      record_pages: bool = True) -> Path:
    """The report a reader opens: ``<reports_dir>/index.html`` with one page per committed record,
    ``results.html`` from ``RESULTS.md``, and — clearly apart, as a pipeline check — a link to the
    synthetic demo's pages when ``demo_dir`` (default ``<reports_dir>/demo``) holds them.

    When ``demo_dir`` is given, the demo's own index (with its synthetic banner) is rebuilt too.
    ``record_pages=False`` keeps the record pages already built (only the indexes are rebuilt)."""
    from ser_lib.reporting.frontpage import build_index

    reports_dir = Path(reports_dir)
    demo = Path(demo_dir) if demo_dir is not None else reports_dir / DEMO_DIR
    if demo_dir is not None and (demo / "metrics").is_dir():
        build_index(demo)
    if record_pages or not (reports_dir / RECORDS_DIR).is_dir():
        build_record_pages(reports_dir)
    results = reports_dir / "RESULTS.md"
    if results.is_file():
        write_atomic(reports_dir / "results.html", results_page(results))
    rel = demo.relative_to(reports_dir).as_posix() if demo.is_relative_to(reports_dir) else demo.as_uri()
    return build_index(reports_dir, records_dir=RECORDS_DIR,
                       demo_index=f"{rel}/index.html" if (demo / "index.html").is_file() else None,
                       results_page="results.html" if results.is_file() else None)
