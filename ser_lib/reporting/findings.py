"""What the report found, computed once from the run records and rendered by both the index
(:mod:`ser_lib.reporting.frontpage`) and ``RESULTS.md`` (:func:`ser_lib.reporting.summary.write_results_md`).

* :func:`headline` — one row per corpus: the best actor-disjoint run, the best that needs one
  recording only, the original work's figure (the ``report.original`` its params file declares),
  the human listeners, chance and the best cross-corpus run;
* :func:`stated` — the findings in plain language (:func:`ser_lib.reporting.summary.findings` over the
  summary's tables);
* :func:`chart_png` — UA of every actor-disjoint and cross-corpus run with chance and human lines.

Every "best" here is the highest of several runs scored on the same test folds, so it is a
selection on test data and optimistic by a little; :data:`SELECTION_NOTE` says so beside it.
Nothing here knows an experiment by name: runs are placed by their records' ``report`` fields.
"""

from __future__ import annotations

import io

import numpy as np

from ser_lib.config import CORPUS_EMOTIONS
from ser_lib.evaluation.metrics import format_score

SELECTION_NOTE = ("“Best” is the highest of the runs scored on the same actor-disjoint test folds: the choice "
                  "itself looked at the test folds, so the figure is slightly optimistic for a model picked "
                  "this way; each run on its own chose nothing on its test actors.")


def _placement(record: dict) -> dict:
    return record.get("report") or {}


def _normalisation(record: dict) -> str:
    return record.get("normalisation") or _placement(record).get("normalisation") or "global"


def headline(records: list[dict]) -> list[dict]:
    """One row per corpus with actor-disjoint runs (see the module docstring)."""
    rows = []
    for corpus in CORPUS_EMOTIONS:
        actor = [r for r in records if r["corpus"] == corpus and r.get("protocol") == "actor" and r.get("ua") is not None]
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
    """The findings in plain language, from the records (and per-clip predictions where saved)."""
    from ser_lib.reporting import summary as S

    table = S.results_table(records)
    parts = S.breakdowns(records, reports_dir)
    return S.findings(table, cross=S.cross_corpus_table(records), human_model=parts["human_model"],
                      human_model_experiment=parts["human_model_experiment"], groups=parts["groups"],
                      augmentation=S.augmentation_effects(records, reports_dir), ablation=S.ablation_table(records))


#: Colours of the report's sections in :func:`chart_png`.
SECTION_COLOURS = {"exploration": "grey", "reproduction": "tab:orange", "wader": "tab:purple", "beyond": "tab:blue",
                   "cross-corpus": "tab:green"}


def chart_png(records: list[dict]) -> bytes | None:
    """PNG: UA ± std of every actor-protocol and cross-corpus run, per corpus, coloured by the
    report section, with chance and human lines (None when there is nothing to plot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in records if r.get("protocol") in ("actor", "cross-corpus") and r.get("ua") is not None]
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
        ax.set_title(f"{corpus}: orange reproduction, blue beyond, purple WaDER, green cross-corpus", fontsize=8)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
