"""The first screen of ``reports/index.html``: what the report found, before the list of runs.

Per corpus: the best model under the honest ``actor`` protocol (and the best that needs only one
recording), the original work's figure with its protocol, the human listeners (CREMA-D), chance,
and the cross-corpus drop; one chart of UA per experiment with error bars, chance and human lines.
Below it the runs are grouped in the report's story (:data:`SECTIONS`).
"""

from __future__ import annotations

import base64
import html
import io
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .metrics import format_score
from .report import SYNTHETIC_BANNER, read_metrics

#: Sections of the index, in the report's order, and how an experiment is placed in one.
SECTIONS = ("Data exploration", "CREMA-D reproduction", "WaDER replication (RAVDESS)", "Beyond the originals",
            "Cross-corpus", "Summary")

#: The original works' headline figures, with their protocols (quoted in the issues of this project).
ORIGINAL = {
    "crema-d": "48.1 % accuracy (1-D CNN energy+ZCR; random split sharing speakers)",
    "ravdess": "74 % frame accuracy (WaDER; 18 evaluation clips of the one actor it trained on, noisy copies on both sides)",
}
N_CLASSES = {"crema-d": 6, "ravdess": 8}


def section_of(record: dict) -> str:
    """The index section of an experiment's metrics record."""
    name = record["experiment"]
    if record.get("protocol") == "human" or name.startswith("explore-"):
        return "Data exploration"
    if name == "summary":
        return "Summary"
    if record.get("protocol") == "cross-corpus" or name.startswith("cross-"):
        return "Cross-corpus"
    if name.startswith("wader-") or name == "cnn1d-energy-zcr-ravdess-actor":
        return "WaDER replication (RAVDESS)"
    if name.startswith(("smile-", "crnn-")) or "-std-" in name:
        return "Beyond the originals"
    return "CREMA-D reproduction"


def _single_recording(record: dict) -> bool:
    return (record.get("normalisation") or "global") == "global"


def findings(records: list[dict]) -> list[dict]:
    """One row per corpus: best actor-protocol model (any normalisation), best one-recording model,
    original, humans, chance, cross-corpus drop."""
    rows = []
    for corpus in ("crema-d", "ravdess"):
        actor = [r for r in records if r["corpus"] == corpus and r.get("protocol") == "actor" and r.get("ua") is not None]
        if not actor:
            continue
        best = max(actor, key=lambda r: r["ua"])
        single = [r for r in actor if _single_recording(r)]
        # a per-speaker experiment also reports its global twin
        single_scores = [(r["ua"], r.get("ua_std"), r["experiment"]) for r in single]
        single_scores += [(r["other_normalisation"]["ua"], r["other_normalisation"].get("ua_std"), r["experiment"])
                          for r in actor if (r.get("other_normalisation") or {}).get("normalisation") == "global"]
        best_single = max(single_scores) if single_scores else None
        human = next((r for r in records if r["corpus"] == "crema-d" and r.get("protocol") == "human"), None)
        cross = [r for r in records if r.get("protocol") == "cross-corpus" and r["corpus"] == corpus]
        crossed = []  # (cross UA, normalisation, experiment, within UA or None)
        for r in cross:
            for norm, v in (r.get("variants") or {}).items():
                c, w = (v or {}).get("cross") or {}, (v or {}).get("within") or {}
                if c.get("ua") is not None:
                    crossed.append((c["ua"], norm, r["experiment"], w.get("ua")))
        crossed.sort(key=lambda t: -t[0])
        single_cross = [t for t in crossed if t[1] in ("global", "none")]
        rows.append({
            "corpus": corpus,
            "best (actor-disjoint)": f"{format_score(best['ua'], best.get('ua_std'))} — {best['experiment']}"
                                     f" ({best.get('normalisation') or 'global'} normalisation)",
            "best from one recording": (f"{format_score(best_single[0], best_single[1])} — {best_single[2]} (global)"
                                        if best_single else "–"),
            "original work": ORIGINAL[corpus],
            "human listeners": format_score(human["ua"]) + " UA" if human and corpus == "crema-d" else "–",
            "chance": format_score(1 / N_CLASSES[corpus]),
            "trained on the other corpus": "; ".join(
                f"{format_score(c)} ({n}, {e}" + (f"; within: {format_score(w)})" if w is not None else ")")
                for c, n, e, w in crossed[:1] + single_cross[:1]) or "–",
        })
    return rows


def chart_png(records: list[dict]) -> str | None:
    """Base64 PNG: UA ± std of every actor-protocol and cross-corpus run, per corpus, with chance
    and human lines (None when there is nothing to plot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in records if r.get("protocol") in ("actor", "cross-corpus") and r.get("ua") is not None]
    if not runs:
        return None
    corpora = [c for c in ("crema-d", "ravdess") if any(r["corpus"] == c for r in runs)]
    fig, axes = plt.subplots(1, len(corpora), figsize=(6.5 * len(corpora), 0.3 * max(
        sum(r["corpus"] == c for r in runs) for c in corpora) + 1.8), squeeze=False)
    human = next((r["ua"] for r in records if r.get("protocol") == "human" and r["corpus"] == "crema-d"), None)
    palette = {s: c for s, c in zip(SECTIONS, ("grey", "tab:orange", "tab:purple", "tab:blue", "tab:green", "grey"))}
    for ax, corpus in zip(axes[0], corpora):
        rs = sorted([r for r in runs if r["corpus"] == corpus], key=lambda r: r["ua"])
        y = np.arange(len(rs))
        ax.barh(y, [100 * r["ua"] for r in rs], xerr=[100 * (r.get("ua_std") or 0) for r in rs],
                color=[palette[section_of(r)] for r in rs], capsize=2)
        ax.set_yticks(y, [r["experiment"] for r in rs], fontsize=7)
        ax.axvline(100 / N_CLASSES[corpus], color="black", ls=":", lw=1, label="chance")
        if human is not None and corpus == "crema-d":
            ax.axvline(100 * human, color="tab:red", ls="--", lw=1, label="human listeners")
        ax.set_xlabel("UA % (± std over folds)")
        ax.set_title(f"{corpus}: orange reproduction, blue beyond, purple WaDER, green cross-corpus", fontsize=8)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def reproduction_pairs(records: list[dict]) -> list[dict]:
    """CREMA-D reproduction: one row per model, ``seed`` and ``actor`` side by side."""
    from .summary import model_key

    pairs: dict[str, dict] = {}
    for r in records:
        if section_of(r) == "CREMA-D reproduction" and r.get("protocol") in ("seed", "actor"):
            pairs.setdefault(model_key(r["experiment"]), {})[r["protocol"]] = r
    return [{"model": k, **v} for k, v in sorted(pairs.items())]


def _pct(value, std=None) -> str:
    from .metrics import format_score

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
    """Write ``<reports_dir>/index.html``: the findings and a chart first (:mod:`ser_lib.frontpage`),
    then every experiment with its headline numbers, grouped in the report's sections.

    ``records_dir``: folder (relative to ``reports_dir``) of the pages built from the records
    (:mod:`ser_lib.recordpage`), linked where no executed notebook page exists. ``demo_index``:
    link to the synthetic demo's index, shown apart as a pipeline check. ``results_page``: link
    to ``RESULTS.md`` rendered as HTML."""
    reports_dir = Path(reports_dir)
    records = read_metrics(reports_dir)
    synthetic = any(r["data"] == "synthetic" for r in records)
    header = ["experiment", "corpus", "protocol", "data", "normalisation", "test clips", "WA %", "UA %",
              "macro F1 %", "weighted F1 %", "chance UA %", "wall s"]
    found = findings(records)
    top = _table(list(found[0]), [[html.escape(str(v)) for v in row.values()] for row in found]) if found else ""
    chart = chart_png(records)
    chart_html = (f'<img id="chart" alt="UA per experiment with chance and human lines" '
                  f'src="data:image/png;base64,{chart}">' if chart else "")
    sections, toc = [], []
    for k, section in enumerate(SECTIONS):
        members = [r for r in records if section_of(r) == section]
        if not members:
            continue
        anchor = f"s{k}"
        toc.append(f'<a href="#{anchor}">{html.escape(section)}</a>')
        body = ""
        if section == "CREMA-D reproduction":
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
    summary_rec = next((r for r in records if isinstance(r.get("findings"), list) and r["findings"]), None)
    stated = ("<ul>" + "".join(f"<li>{html.escape(str(f))}</li>" for f in summary_rec["findings"]) + "</ul>"
              if summary_rec else "")
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
</style></head><body>
<h1>{html.escape(title)}</h1>
{banner}
<h2 id="findings">What the report found</h2>
<p>Per corpus, under actor-disjoint folds (no speaker in both training and test), UA = mean
per-class recall in percent, mean ± std over folds. <i>speaker</i> normalisation uses several
recordings of each speaker together (transductive); <i>global</i> needs one recording only.</p>
{provenance}
{top}
{stated}
{chart_html}
<nav>{' '.join(toc)}</nav>
{chr(10).join(sections)}
<p>Each row is one experiment run: its page shows parameters, figures and tables. Figures are
percent; "a ± b" is mean ± standard deviation over folds. WA = accuracy over clips,
UA = mean per-class recall. Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.</p>
{demo}
</body></html>
"""
    from .report import write_atomic

    return write_atomic(reports_dir / "index.html", page)
