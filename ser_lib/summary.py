"""The summary: one table of every experiment, a chart, findings stated from the numbers, RESULTS.md."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .metrics import format_score

#: Human listeners on CREMA-D (voice only, majority vote, ties wrong), used when the exploration
#: metrics are absent (e.g. on the synthetic corpus the row is simply left out).
HUMAN_SOURCE = "explore-crema-d"


def _cell(record: dict, key: str) -> str:
    ci = record.get("wa_ci") if key == "wa" and record.get(key + "_std") is None else None
    return format_score(record.get(key), record.get(key + "_std"), ci)


def model_key(experiment: str) -> str:
    """``cnn1d-energy-seed`` → ``cnn1d-energy`` (the experiment without its protocol suffix)."""
    for suffix in ("-seed", "-actor"):
        if experiment.endswith(suffix):
            return experiment[: -len(suffix)]
    return experiment


def results_table(records: list[dict]) -> pd.DataFrame:
    """One row per experiment with a headline score (exploration without scores is left out).

    Columns: experiment, title, corpus, protocol, data, test clips, WA, UA, macro F1 (percent
    strings, "mean ± std" over folds or "value [95 % interval]"), chance UA, original (WA / macro
    F1 reported by the original work), and the raw fractions ``wa_value`` / ``ua_value`` /
    ``wa_std_value`` / ``ua_std_value`` for sorting and plotting.
    """
    rows = []
    for r in records:
        if r.get("wa") is None:
            continue
        ref = r.get("reference") or {}
        ref_text = " / ".join(format_score(ref[k]) for k in ("wa", "macro_f1") if ref.get(k) is not None)
        if not ref_text and ref.get("frame_wa") is not None:
            ref_text = f"{format_score(ref['frame_wa'])} (frames)"
        rows.append({
            "experiment": r["experiment"], "title": r.get("title", r["experiment"]), "corpus": r["corpus"],
            "protocol": r["protocol"], "data": r["data"], "test clips": r.get("n_test_clips"),
            "WA %": _cell(r, "wa"), "UA %": _cell(r, "ua"), "macro F1 %": _cell(r, "macro_f1"),
            "chance UA %": format_score((r.get("chance") or {}).get("ua")),
            "frame WA %": _cell(r["frame"], "wa") if isinstance(r.get("frame"), dict) else "–",
            "original %": ref_text or "–",
            "wa_value": r["wa"], "ua_value": r["ua"], "wa_std_value": r.get("wa_std"), "ua_std_value": r.get("ua_std"),
        })
    cols = ["experiment", "title", "corpus", "protocol", "data", "test clips", "WA %", "UA %", "macro F1 %",
            "chance UA %", "frame WA %", "original %", "wa_value", "ua_value", "wa_std_value", "ua_std_value"]
    table = pd.DataFrame(rows, columns=cols)
    table["_human"] = table["protocol"] != "human"  # the human row first within its corpus
    return table.sort_values(["corpus", "_human", "experiment"], kind="stable").drop(columns="_human").reset_index(drop=True)


def protocol_gaps(table: pd.DataFrame) -> pd.DataFrame:
    """For every model run under both ``seed`` and ``actor``: the two UA values and their gap (points)."""
    t = table[table["protocol"].isin(["seed", "actor"])].assign(model=lambda d: d["experiment"].map(model_key))
    wide = t.pivot_table(index=["corpus", "model"], columns="protocol", values="ua_value", aggfunc="first")
    wide = wide.dropna(subset=[c for c in ("seed", "actor") if c in wide.columns])
    if not {"seed", "actor"} <= set(wide.columns) or wide.empty:
        return pd.DataFrame(columns=["corpus", "model", "seed UA %", "actor UA %", "gap (points)"])
    out = pd.DataFrame({"seed UA %": 100 * wide["seed"], "actor UA %": 100 * wide["actor"],
                        "gap (points)": 100 * (wide["seed"] - wide["actor"])}).round(1)
    return out.reset_index()


def findings(table: pd.DataFrame) -> list[str]:
    """Plain-language findings computed from the table (no number is typed in by hand)."""
    out = []
    if table.empty:
        return ["No experiment with scores has been run yet."]
    if (table["data"] == "synthetic").any():
        out.append("Some results come from the synthetic demo corpus: they show that the pipeline runs, "
                   "not how well emotion is recognised in speech.")
    human = table[table["protocol"] == "human"]
    for corpus, part in table[table["protocol"] == "actor"].groupby("corpus"):
        best = part.loc[part["ua_value"].idxmax()]
        text = (f"{corpus}: the best speaker-independent (actor-disjoint) model is {best['experiment']} with "
                f"UA {best['UA %']} % against a chance level of {best['chance UA %']} %")
        h = human[human["corpus"] == corpus]
        if len(h):
            text += f"; human listeners reach UA {h.iloc[0]['UA %']} % on the same task"
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
    return out


def plot_scores(table: pd.DataFrame, *, metric: str = "ua", human: float | None = None, ax=None):
    """Horizontal bars of UA (or WA) per experiment with ± std error bars, chance and human lines."""
    import matplotlib.pyplot as plt

    t = table[table["protocol"] != "human"]
    ax = ax or plt.subplots(figsize=(9, 0.32 * len(t) + 1.5))[1]
    values = 100 * t[f"{metric}_value"].to_numpy(dtype=float)
    errors = 100 * t[f"{metric}_std_value"].fillna(0).to_numpy(dtype=float)
    colors = ["tab:orange" if p == "seed" else "tab:blue" for p in t["protocol"]]
    ax.barh(np.arange(len(t)), values, xerr=errors, color=colors, capsize=2)
    ax.set_yticks(np.arange(len(t)), t["experiment"], fontsize=8)
    ax.invert_yaxis()
    for corpus, n_classes in (("crema-d", 6), ("ravdess", 8)):
        if (t["corpus"] == corpus).any():
            ax.axvline(100 / n_classes, color="grey", ls=":", lw=1)
            ax.text(100 / n_classes, -0.8, f"chance {corpus}", fontsize=7, color="grey")
    if human is not None:
        ax.axvline(100 * human, color="tab:red", ls="--", lw=1)
        ax.text(100 * human, -0.8, "human (CREMA-D)", fontsize=7, color="tab:red")
    ax.set_xlabel(f"{metric.upper()} % (orange: seed protocol, blue: actor-disjoint; bars ± std over folds)")
    return ax


def write_results_md(table: pd.DataFrame, notes: list[str], path: str | Path, *, title: str = "Results") -> Path:
    """Write the summary table and findings as Markdown (committed as ``reports/RESULTS.md``)."""
    cols = ["experiment", "corpus", "protocol", "data", "test clips", "WA %", "UA %", "macro F1 %", "chance UA %",
            "frame WA %", "original %"]
    lines = [f"# {title}", "",
             f"Generated by the summary notebook on {datetime.now(timezone.utc):%Y-%m-%d} from `reports/metrics/*.json`. "
             "Percent; `a ± b` = mean ± std over actor-disjoint folds; `a [l, h]` = one split with its 95 % "
             "interval. WA = accuracy, UA = mean per-class recall, over test clips (for WaDER a clip's "
             "prediction is the mean of its frame probabilities; `frame WA` is accuracy over frames, what the "
             "original reported). `original` = the original work's figures (accuracy / macro F1, or frame "
             "accuracy for WaDER).", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in table[cols].itertuples(index=False):
        lines.append("| " + " | ".join("–" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in row) + " |")
    lines += ["", "## Findings", ""] + [f"- {n}" for n in notes] + [""]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path
