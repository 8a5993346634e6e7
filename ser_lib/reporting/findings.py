"""What the report found, computed once from the run records and rendered by both the index
(:mod:`ser_lib.reporting.frontpage`) and ``RESULTS.md`` (:func:`ser_lib.reporting.summary.write_results_md`).

* :func:`headline` — one row per corpus: the best actor-disjoint run, the best that needs one
  recording only, the original work's figure (the ``report.original`` its params file declares),
  the human listeners, chance and the best cross-corpus run;
* :func:`stated` — the findings in plain language (:func:`statements` over the
  summary's tables);
* :func:`chart_png` — UA of every actor-disjoint and cross-corpus run with chance and human lines.

Every "best" here is the highest of several runs scored on the same test folds, so it is a
selection on test data and optimistic by a little; :data:`SELECTION_NOTE` says so beside it.
Nothing here knows an experiment by name: runs are placed by their records' ``report`` fields.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from ser_lib.config import CORPUS_EMOTIONS
from ser_lib.evaluation.metrics import format_score

SELECTION_NOTE = ("“Best” is the highest of the runs scored on the same actor-disjoint test folds: the choice "
                  "itself looked at the test folds, so the figure is slightly optimistic for a model picked "
                  "this way; each run on its own chose nothing on its test actors.")


def _placement(record: dict) -> dict:
    return record.get("report") or {}


def _normalisation(record: dict) -> str:
    return record.get("normalisation") or _placement(record).get("normalisation") or "global"


def all_emotions(record: dict) -> bool:
    """Whether a run was scored on every emotion of its corpus (a run on a subset, such as the six
    emotions RAVDESS shares with CREMA-D, has another chance level and is not compared with them)."""
    labels = record.get("labels")
    return labels is None or len(labels) == len(CORPUS_EMOTIONS[record["corpus"]])


def headline(records: list[dict]) -> list[dict]:
    """One row per corpus with actor-disjoint runs (see the module docstring) on all its emotions."""
    rows = []
    for corpus in CORPUS_EMOTIONS:
        actor = [r for r in records if r["corpus"] == corpus and r.get("protocol") == "actor" and r.get("ua") is not None
                 and all_emotions(r)]
        if not actor:
            continue
        best = max(actor, key=lambda r: r["ua"])
        single = [(r["ua"], r.get("ua_std"), r["experiment"]) for r in actor if _normalisation(r) == "global"]
        single += [(r["other_normalisation"]["ua"], r["other_normalisation"].get("ua_std"), r["experiment"])
                   for r in actor if (r.get("other_normalisation") or {}).get("normalisation") == "global"]
        best_single = max(single) if single else None
        human = next((r for r in records if r["corpus"] == corpus and r.get("protocol") == "human"
                      and r.get("ua") is not None), None)
        original = next((_placement(r)["original"] for r in records
                         if r["corpus"] == corpus and _placement(r).get("original")), None)
        crossed = []  # (cross UA, normalisation, experiment, within UA or None)
        for r in records:
            if r.get("protocol") != "cross-corpus" or r["corpus"] != corpus:
                continue
            for norm, v in (r.get("variants") or {}).items():
                c, w = (v or {}).get("cross") or {}, (v or {}).get("within") or {}
                if c.get("ua") is not None:
                    crossed.append((c["ua"], norm, r["experiment"], w.get("ua")))
        crossed.sort(key=lambda t: -t[0])
        single_cross = [t for t in crossed if t[1] in ("global", "none")]
        rows.append({
            "corpus": corpus,
            "best (actor-disjoint)": f"{format_score(best['ua'], best.get('ua_std'))} — {best['experiment']}"
                                     f" ({_normalisation(best)} normalisation; best of {len(actor)} runs)",
            "best from one recording": (f"{format_score(best_single[0], best_single[1])} — {best_single[2]} (global)"
                                        if best_single else "–"),
            "original work": original or "–",
            "human listeners": format_score(human["ua"]) + " UA" if human else "–",
            "chance": format_score(1 / len(CORPUS_EMOTIONS[corpus])),
            "trained on the other corpus": "; ".join(
                f"{format_score(c)} ({n}, {e}" + (f"; within: {format_score(w)})" if w is not None else ")")
                for c, n, e, w in crossed[:1] + single_cross[:1]) or "–",
        })
    return rows


def stated(records: list[dict], reports_dir) -> list[str]:
    """The findings in plain language, from the records (and per-clip predictions where saved):
    the ``notes`` of :func:`ser_lib.reporting.summary.tables`, the same as in ``RESULTS.md``."""
    from ser_lib.reporting.summary import tables

    return tables(records, reports_dir)["notes"]


#: Colours of the report's sections in :func:`chart_png`.
SECTION_COLOURS = {"exploration": "grey", "reproduction": "tab:orange", "wader": "tab:purple", "beyond": "tab:blue",
                   "cross-corpus": "tab:green", "generalisation": "tab:brown"}


def chart_png(records: list[dict]) -> bytes | None:
    """PNG: UA ± std of every actor-protocol and cross-corpus run, per corpus, coloured by the
    report section, with chance and human lines (None when there is nothing to plot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in records if r.get("protocol") in ("actor", "cross-corpus") and r.get("ua") is not None
            and (r.get("protocol") == "cross-corpus" or all_emotions(r))]
    if not runs:
        return None
    corpora = [c for c in CORPUS_EMOTIONS if any(r["corpus"] == c for r in runs)]
    height = 0.3 * max(sum(r["corpus"] == c for r in runs) for c in corpora) + 1.8
    fig, axes = plt.subplots(1, len(corpora), figsize=(6.5 * len(corpora), height), squeeze=False)
    for ax, corpus in zip(axes[0], corpora):
        rs = sorted([r for r in runs if r["corpus"] == corpus], key=lambda r: r["ua"])
        y = np.arange(len(rs))
        ax.barh(y, [100 * r["ua"] for r in rs], xerr=[100 * (r.get("ua_std") or 0) for r in rs],
                color=[SECTION_COLOURS.get(_placement(r).get("section"), "grey") for r in rs], capsize=2)
        ax.set_yticks(y, [r["experiment"] for r in rs], fontsize=7)
        ax.axvline(100 / len(CORPUS_EMOTIONS[corpus]), color="black", ls=":", lw=1, label="chance")
        human = next((r["ua"] for r in records if r.get("protocol") == "human" and r["corpus"] == corpus
                      and r.get("ua") is not None), None)
        if human is not None:
            ax.axvline(100 * human, color="tab:red", ls="--", lw=1, label="human listeners")
        ax.set_xlabel("UA % (± std over folds or repeats)")
        ax.set_title(f"{corpus}: orange reproduction, blue beyond, purple WaDER, green cross-corpus, brown generalisation",
                     fontsize=8)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def statements(table: pd.DataFrame, *, cross: pd.DataFrame | None = None, human_model: dict | None = None,
             human_model_experiment: str = "", groups: dict | None = None,
             augmentation: pd.DataFrame | None = None, ablation: pd.DataFrame | None = None) -> list[str]:
    """Plain-language findings computed from the numbers (none is typed in by hand).

    Parameters
    ----------
    table : DataFrame
        :func:`results_table`.
    cross : DataFrame, optional
        :func:`cross_corpus_table`.
    human_model : dict, optional
        Scores of :func:`ser_lib.evaluation.breakdown.human_vs_model` for ``human_model_experiment``.
    groups : dict, optional
        ``breakdowns(...)["groups"]``: per-sex and per-intensity tables of each corpus's best model.
    augmentation : DataFrame, optional
        :func:`augmentation_effects`.
    ablation : DataFrame, optional
        :func:`ablation_table`: its best configuration per corpus is named when it beats the best
        experiment headline (e.g. a fusion), and the best one-recording (``global``) one.
    """
    from ser_lib.reporting.summary import protocol_gaps

    from ser_lib.evaluation.breakdown import group_gap

    out = []
    if table.empty:
        return ["No experiment with scores has been run yet."]
    if (table["data"] == "synthetic").any():
        out.append("Some results come from the synthetic demo corpus: they show that the pipeline runs, "
                   "not how well emotion is recognised in speech.")
    human = table[table["protocol"] == "human"]
    # a run on a subset of the corpus's emotions (RAVDESS's six shared ones) has another chance level
    # and is not compared with the runs on all of them
    for corpus, part in table[(table["protocol"] == "actor") & table["all_emotions"].astype(bool)].groupby("corpus"):
        part = part.dropna(subset=["ua_value"])
        if part.empty:
            continue
        best = part.loc[part["ua_value"].idxmax()]
        text = (f"{corpus}: the best speaker-independent (actor-disjoint) model is {best['experiment']} with "
                f"UA {best['UA %']} % (the highest of {len(part)} runs on the same test folds, a choice that looked "
                f"at them) against a chance level of {best['chance UA %']} %")
        h = human[human["corpus"] == corpus]
        if len(h):
            text += f"; human listeners reach UA {h.iloc[0]['UA %']} % on the same task"
        if ablation is not None and len(ablation) and (ablation["corpus"] == corpus).any():
            a = ablation[(ablation["corpus"] == corpus) & ablation["all_emotions"].astype(bool)]
            top = a.loc[a["ua_value"].idxmax()] if len(a) else None
            if top is not None and top["ua_value"] > best["ua_value"]:
                text += (f". Its best configuration in the ablation is {top['feature set']} with {top['classifier']} "
                         f"({top['experiment']}, {top['normalisation']} normalisation): UA {top['UA %']} %")
            one = a[a["normalisation"] == "global"]
            if len(one):
                g = one.loc[one["ua_value"].idxmax()]
                text += (f". With one recording of an unknown speaker (global normalisation) the best is "
                         f"{g['feature set']} with {g['classifier']} ({g['experiment']}): UA {g['UA %']} %")
        out.append(text + ".")
    gaps = protocol_gaps(table)
    if len(gaps):
        mean_gap = gaps["gap (points)"].mean()
        worst = gaps.loc[gaps["gap (points)"].idxmax()]
        best = gaps.loc[gaps["gap (points)"].idxmin()]
        out.append(f"Seed-protocol UA minus actor-disjoint UA, over the {len(gaps)} model(s) run under both "
                   f"protocols: {mean_gap:+.1f} points on average, from {best['gap (points)']:+.1f} "
                   f"({best['model']}) to {worst['gap (points)']:+.1f} ({worst['model']}). A positive gap is "
                   "what sharing speakers between training and test adds.")
    if human_model:
        h = human_model
        out.append(f"Human vs model on CREMA-D ({human_model_experiment}, {h['n']} clips, each a test clip once): the model "
                   f"agrees with the listeners' majority vote on {100 * h['agreement']:.1f} % of clips; it is right on "
                   f"{100 * h['model_wa_when_human_right']:.1f} % of the clips the listeners got right and on "
                   f"{100 * h['model_wa_when_human_wrong']:.1f} % of those they got wrong (model {100 * h['model_wa']:.1f} %, "
                   f"listeners {100 * h['human_wa']:.1f} % accuracy).")
    for corpus, g in (groups or {}).items():
        parts = []
        for what, key in (("speaker sex", "sex"), ("intensity", "intensity")):
            if len(g[key]) >= 2:
                best, worst, gap = group_gap(g[key])
                parts.append(f"by {what}, UA is {gap:.1f} points higher for {best} than for {worst}")
        if parts:
            out.append(f"{corpus} ({g['experiment']}): " + "; ".join(parts) + ".")
    for _, row in (augmentation if augmentation is not None else pd.DataFrame()).iterrows():
        verdict = ("a difference this size is unlikely to be chance" if row["McNemar p"] < 0.05
                   else "within what chance alone gives on these clips")
        out.append(f"Training-time augmentation ({row['augmented']} against {row['baseline']}, same {row['protocol']} "
                   f"split, {row['test clips']} test clips): UA {row['augmented UA %']:.1f} % against "
                   f"{row['baseline UA %']:.1f} % ({row['UA change (points)']:+.1f} points; McNemar p = "
                   f"{row['McNemar p']:.3g}, {verdict}).")
    if cross is not None and len(cross):
        for _, row in cross[cross["headline"]].iterrows():
            if pd.isna(row["cross_ua_value"]) or pd.isna(row["within_ua_value"]):
                continue
            out.append(f"Cross-corpus {row['direction']} ({row['normalisation']} normalisation): UA {row['cross UA %']} % "
                       f"against {row['within-target UA %']} % within the target corpus "
                       f"({-row['drop (points)']:+.1f} points; chance {row['chance UA %']} %).")
    return out


#: The markers between which the README carries :func:`readme_block` (written by the summary stage).
README_MARKERS = ("<!-- headline: generated from reports/metrics by the summary stage; do not edit -->",
                  "<!-- end of headline -->")


def readme_block(records: list[dict]) -> str:
    """The README's headline: :func:`headline` as a Markdown table, with the selection note."""
    rows = headline(records)
    if not rows:
        return "No real-data run record yet."
    cols = ["corpus", "best (actor-disjoint)", "best from one recording", "original work", "human listeners", "chance",
            "trained on the other corpus"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(row[c]) for c in cols) + " |" for row in rows]
    return "\n".join(lines) + "\n\nUA in percent, mean ± std over actor-disjoint folds. " + SELECTION_NOTE


def update_readme(path, records: list[dict]) -> bool:
    """Replace the README's headline block (between :data:`README_MARKERS`); True if it changed."""
    from pathlib import Path

    from ser_lib.reporting.report import write_atomic

    text = Path(path).read_text()
    start, end = README_MARKERS
    if start not in text or end not in text:
        raise ValueError(f"{path}: no headline markers")
    head, rest = text.split(start, 1)
    new = f"{head}{start}\n{readme_block(records)}\n{end}{rest.split(end, 1)[1]}"
    if new != text:
        write_atomic(path, new)
    return new != text
