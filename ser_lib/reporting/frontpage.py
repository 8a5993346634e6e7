"""The first screen of ``reports/index.html``: what the report found, before the list of runs.

The headline per corpus, the stated findings and the chart, computed from the run records by
:mod:`ser_lib.reporting.findings` (the same code that writes them into ``RESULTS.md``); below them the runs
grouped in the report's sections (:data:`ser_lib.reporting.record.SECTIONS`, each record's ``report.section``).
"""

from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path

from ser_lib.reporting.findings import SELECTION_NOTE, chart_png, headline, stated
from ser_lib.reporting.record import SECTIONS
from ser_lib.reporting.report import SYNTHETIC_BANNER, read_metrics


def section_of(record: dict) -> str:
    """The index section (its title) of a run record: its params file's ``report.section``."""
    return SECTIONS[(record.get("report") or {}).get("section", "beyond")]


def reproduction_pairs(records: list[dict]) -> list[dict]:
    """The reproduction section: one row per model (``report.model``), ``seed`` and ``actor`` side by side."""
    pairs: dict[str, dict] = {}
    for r in records:
        if (r.get("report") or {}).get("section") == "reproduction" and r.get("protocol") in ("seed", "actor"):
            pairs.setdefault(r["report"]["model"], {})[r["protocol"]] = r
    return [{"model": k, **v} for k, v in sorted(pairs.items())]


def _pct(value, std=None) -> str:
    from ser_lib.evaluation.metrics import format_score

    return format_score(value, std)


def _row(r: dict, reports_dir: Path, records_dir: str | None = None) -> list[str]:
    page = f"{r['experiment']}.html"
    name = html.escape(r.get("title") or r["experiment"])
    record_page = f"{records_dir}/{page}" if records_dir else None
    if (reports_dir / page).is_file():
        link = f'<a href="{html.escape(page)}">{name}</a>'
        if record_page and (reports_dir / record_page).is_file():
            link += f' <small>(<a href="{html.escape(record_page)}">record</a>)</small>'
    elif record_page and (reports_dir / record_page).is_file():
        link = f'<a href="{html.escape(record_page)}">{name}</a>'
    else:
        link = name
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


def build_index(reports_dir: str | Path, *, title: str = "Speech emotion recognition report",
                records_dir: str | None = None, demo_index: str | None = None,
                results_page: str | None = None) -> Path:
    """Write ``<reports_dir>/index.html``: the findings and a chart first (:mod:`ser_lib.reporting.frontpage`),
    then every experiment with its headline numbers, grouped in the report's sections.

    ``records_dir``: folder (relative to ``reports_dir``) of the pages built from the records
    (:mod:`ser_lib.reporting.recordpage`), linked where no executed notebook page exists. ``demo_index``:
    link to the synthetic demo's index, shown apart as a pipeline check. ``results_page``: link
    to ``RESULTS.md`` rendered as HTML."""
    reports_dir = Path(reports_dir)
    records = read_metrics(reports_dir)
    synthetic = any(r["data"] == "synthetic" for r in records)
    header = ["experiment", "corpus", "protocol", "data", "normalisation", "test clips", "WA %", "UA %",
              "macro F1 %", "weighted F1 %", "chance UA %", "wall s"]
    found = headline(records)
    top = (_table(list(found[0]), [[html.escape(str(v)) for v in row.values()] for row in found])
           + f'<p class="note">{html.escape(SELECTION_NOTE)}</p>') if found else ""
    chart = chart_png(records)
    chart_html = (f'<img id="chart" alt="UA per experiment with chance and human lines" '
                  f'src="data:image/png;base64,{base64.b64encode(chart).decode()}">' if chart else "")
    sections, toc = [], []
    for k, section in enumerate(SECTIONS.values()):
        members = [r for r in records if section_of(r) == section]
        if not members:
            continue
        anchor = f"s{k}"
        toc.append(f'<a href="#{anchor}">{html.escape(section)}</a>')
        body = ""
        if section == SECTIONS["reproduction"]:
            pairs = reproduction_pairs(records)
            body += "<p>Seed (the original's split, speakers shared) beside actor-disjoint folds, one row per model.</p>"
            body += _table(["model", "seed UA %", "actor UA %", "gap (points)"], [
                [html.escape(p["model"]),
                 *(_pct(p[k]["ua"], p[k].get("ua_std")) if k in p else "–" for k in ("seed", "actor")),
                 f"{100 * (p['seed']['ua'] - p['actor']['ua']):+.1f}" if {"seed", "actor"} <= set(p) else "–"]
                for p in pairs])
        body += _table(header, [_row(r, reports_dir, records_dir) for r in members])
        sections.append(f'<h2 id="{anchor}">{html.escape(section)}</h2>\n{body}')
    banner = (f'<div class="banner">{html.escape(SYNTHETIC_BANNER)}</div>' if synthetic else "")
    if not records:
        banner += ("<p>No metrics records in this folder yet: run <code>make report</code> with the corpora "
                   "(<code>DATA_ROOT=...</code>).</p>")
    real = [r for r in records if r["data"] == "real"]
    when = sorted(str(r.get("finished", "")) for r in real if r.get("finished"))
    provenance = (f'<p class="provenance">Real data: {len(real)} experiment records computed on the real corpora '
                  f"between {html.escape(when[0][:10])} and {html.escape(when[-1][:10])}"
                  + (f'; every table of the summary: <a href="{html.escape(results_page)}">RESULTS</a>' if results_page else "")
                  + ".</p>") if real and when and not synthetic else ""
    notes = stated(records, reports_dir) if records else []
    stated_html = "<ul>" + "".join(f"<li>{html.escape(str(f))}</li>" for f in notes) + "</ul>" if notes else ""
    if (reports_dir / "summary.html").is_file():
        stated_html += '<p>Every table of the summary: <a href="summary.html">summary page</a>.</p>'

    demo = (f'<h2 id="demo">Pipeline check (synthetic demo)</h2><p class="demo">The same pipeline run on the built-in '
            f'<b>synthetic</b> corpus, to check that every notebook runs: <a href="{html.escape(demo_index)}">demo '
            "pages</a>. Their numbers say nothing about emotion in real speech and are not part of this report.</p>"
            if demo_index else "")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1300px; }}
table {{ border-collapse: collapse; margin-bottom: 1em; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; }}
th {{ background: #eee; }}
.banner {{ background: #b00020; color: white; padding: 12px; font-weight: bold; }}
#chart {{ max-width: 100%; }} nav a {{ margin-right: 1em; }}
.provenance {{ background: #eef5ee; padding: 8px 12px; border-left: 4px solid #2e7d32; }}
.demo {{ background: #fff3e0; padding: 8px 12px; border-left: 4px solid #e65100; }}
.note {{ font-size: 0.9em; color: #444; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
{banner}
<h2 id="findings">What the report found</h2>
<p>Per corpus, under actor-disjoint folds (no speaker in both training and test), UA = mean
per-class recall in percent, mean ± std over folds. <i>speaker</i> normalisation uses several
recordings of each speaker together (transductive); <i>global</i> needs one recording only.</p>
{provenance}
{top}
{stated_html}
{chart_html}
<nav>{' '.join(toc)}</nav>
{chr(10).join(sections)}
<p>Each row is one experiment run: its page shows parameters, figures and tables. Figures are
percent; "a ± b" is mean ± standard deviation over folds. WA = accuracy over clips,
UA = mean per-class recall. Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.</p>
{demo}
</body></html>
"""
    from ser_lib.reporting.report import write_atomic

    return write_atomic(reports_dir / "index.html", page)
