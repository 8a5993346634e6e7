"""Where a model succeeds: per-clip test predictions broken down by speaker sex, intensity, and
against the human listeners of CREMA-D.

Every function reads a *predictions frame*: one row per test clip with ``true``, ``pred`` and the
corpus table's columns (``sex``, ``level`` or ``intensity_name``, ``human_vote`` …), as written
by the experiment notebooks to ``reports/predictions/<experiment>.csv``. Under the ``actor``
protocol each clip is a test clip exactly once, so the breakdowns cover the whole corpus.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ser_lib.evaluation.metrics import evaluate

#: The column that holds a clip's emotional intensity, per corpus.
INTENSITY_COLUMN = {"crema-d": "level", "ravdess": "intensity_name"}

#: Display order of intensity levels (CREMA-D: LO/MD/HI exist for one sentence, IEO; ``XX`` = unspecified).
INTENSITY_ORDER = ("LO", "MD", "HI", "XX", "normal", "strong")


def _check(predictions: pd.DataFrame, columns) -> None:
    missing = set(columns) - set(predictions.columns)
    if missing:
        raise ValueError(f"predictions lack the column(s) {sorted(missing)}; "
                         "expected a frame written by an experiment notebook (reports/predictions/*.csv)")
    if predictions.empty:
        raise ValueError("predictions frame is empty")


def predictions_table(clips: pd.DataFrame, folds, labels) -> pd.DataFrame:
    """Per-clip test predictions with the clips' metadata, one block per fold.

    Parameters
    ----------
    clips : DataFrame
        The corpus table the row indices refer to (``path`` and store bookkeeping columns are dropped).
    folds : iterable of (fold, rows, y_true, y_pred, proba)
        Row indices of the fold's test clips, their true and predicted labels, and the class
        probabilities (n_rows × len(labels)).
    labels : sequence of str

    Returns
    -------
    DataFrame: ``clip``, ``fold``, the table's other columns, ``true``, ``pred``, ``p_<label>``.
    """
    parts = []
    for fold, rows, y_true, y_pred, proba in folds:
        part = clips.iloc[rows].drop(columns=["path", "offset", "length"], errors="ignore").reset_index(drop=True)
        part.insert(1, "fold", fold)
        part["true"], part["pred"] = y_true, y_pred
        for k, lab in enumerate(labels):
            part[f"p_{lab}"] = proba[:, k].round(5)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def save_predictions(predictions: pd.DataFrame, reports_dir: str | Path, experiment: str) -> Path:
    """Write ``reports/predictions/<experiment>.csv`` (read back by :func:`read_predictions`)."""
    path = Path(reports_dir) / "predictions" / f"{experiment}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    predictions.to_csv(path, index=False)
    return path


def read_predictions(reports_dir: str | Path, experiment: str) -> pd.DataFrame | None:
    """``reports/predictions/<experiment>.csv`` as a frame, or ``None`` when it does not exist."""
    path = Path(reports_dir) / "predictions" / f"{experiment}.csv"
    return pd.read_csv(path) if path.is_file() else None


def best_with_predictions(records: list[dict], reports_dir: str | Path, corpus: str, *,
                          protocol: str = "actor") -> tuple[dict | None, pd.DataFrame | None]:
    """The highest-UA experiment of ``corpus`` under ``protocol`` whose per-clip predictions exist.

    Returns ``(record, predictions)``, or ``(None, None)`` when no such experiment has been run.
    """
    candidates = sorted((r for r in records if r.get("corpus") == corpus and r.get("protocol") == protocol
                         and r.get("ua") is not None), key=lambda r: r["ua"], reverse=True)
    for record in candidates:
        frame = read_predictions(reports_dir, record["experiment"])
        if frame is not None and len(frame):
            return record, frame
    return None, None


def by_group(predictions: pd.DataFrame, column: str, labels, *, order=None) -> pd.DataFrame:
    """WA, UA and macro F1 of the predictions within each value of ``column``.

    Parameters
    ----------
    predictions : DataFrame
        ``true``, ``pred`` and ``column``.
    column : str
        E.g. ``sex``, ``level`` (CREMA-D intensity) or ``intensity_name`` (RAVDESS).
    labels : sequence of str
        Class order.
    order : sequence, optional
        Row order of the group values (others follow).

    Returns
    -------
    DataFrame indexed by group value: ``clips``, ``WA``, ``UA``, ``macro F1`` (fractions), and
    ``WA 95 % CI`` (Wilson interval of the accuracy).
    """
    _check(predictions, ["true", "pred", column])
    rows = []
    for value, part in predictions.groupby(column, dropna=True):
        s = evaluate(part["true"].astype(str), part["pred"].astype(str), labels)
        rows.append({column: value, "clips": s["n"], "WA": s["wa"], "UA": s["ua"], "macro F1": s["macro_f1"],
                     "WA 95 % CI": f"[{100 * s['wa_ci'][0]:.1f}, {100 * s['wa_ci'][1]:.1f}]"})
    out = pd.DataFrame(rows, columns=[column, "clips", "WA", "UA", "macro F1", "WA 95 % CI"]).set_index(column)
    if order is not None:
        first = [v for v in order if v in out.index]
        out = out.loc[first + [v for v in out.index if v not in first]]
    return out


def intensity_breakdown(predictions: pd.DataFrame, corpus: str, labels) -> pd.DataFrame:
    """:func:`by_group` over the corpus's intensity column (CREMA-D LO/MD/HI/XX, RAVDESS normal/strong)."""
    if corpus not in INTENSITY_COLUMN:
        raise ValueError(f"no intensity column known for corpus {corpus!r}")
    return by_group(predictions, INTENSITY_COLUMN[corpus], labels, order=INTENSITY_ORDER)


def human_vs_model(predictions: pd.DataFrame, labels) -> tuple[dict, pd.DataFrame]:
    """Compare a CREMA-D model with the human listeners' voice-only majority vote, clip by clip.

    Only clips with a human vote are used; a tied vote counts as a wrong human answer and never
    agrees with the model.

    Returns
    -------
    scores : dict
        ``n``; ``model_wa`` and ``human_wa`` (accuracy on those clips); ``agreement`` (model
        prediction = human vote); ``model_wa_when_human_right`` / ``_wrong`` with their clip
        counts; ``both_right``, ``both_wrong`` (fractions of clips), and ``model_agrees_with_human_error``
        (of the clips humans got wrong without a tie, the share where the model made the same error).
    per_emotion : DataFrame
        Per intended emotion: clips, human recall, model recall, agreement.
    """
    _check(predictions, ["true", "pred", "human_vote"])
    p = predictions[predictions["human_vote"].notna()]
    if p.empty:
        raise ValueError("no clip has a human vote (CREMA-D summaryTable.csv needed)")
    true, pred, vote = (p[c].astype(str).to_numpy() for c in ("true", "pred", "human_vote"))
    human_ok, model_ok, agree = vote == true, pred == true, pred == vote
    wrong_voted = (~human_ok) & (vote != "tie")
    scores = {
        "n": int(len(p)),
        "model_wa": float(model_ok.mean()),
        "human_wa": float(human_ok.mean()),
        "agreement": float(agree.mean()),
        "n_human_right": int(human_ok.sum()),
        "n_human_wrong": int((~human_ok).sum()),
        "model_wa_when_human_right": float(model_ok[human_ok].mean()) if human_ok.any() else float("nan"),
        "model_wa_when_human_wrong": float(model_ok[~human_ok].mean()) if (~human_ok).any() else float("nan"),
        "both_right": float((human_ok & model_ok).mean()),
        "both_wrong": float((~human_ok & ~model_ok).mean()),
        "model_agrees_with_human_error": float(agree[wrong_voted].mean()) if wrong_voted.any() else float("nan"),
    }
    rows = []
    for lab in labels:
        m = true == lab
        if not m.any():
            continue
        rows.append({"emotion": lab, "clips": int(m.sum()), "human recall": float(human_ok[m].mean()),
                     "model recall": float(model_ok[m].mean()), "agreement": float(agree[m].mean())})
    per_emotion = pd.DataFrame(rows).set_index("emotion")
    per_emotion["model − human (points)"] = (100 * (per_emotion["model recall"] - per_emotion["human recall"])).round(1)
    return scores, per_emotion


def paired_comparison(predictions_a: pd.DataFrame, predictions_b: pd.DataFrame, labels) -> dict:
    """Compare two models on the same test clips: accuracies, UA, and an exact McNemar test.

    The frames are matched on ``clip`` (and ``fold`` where both have it); a clip present in only
    one frame is an error, because the comparison is only fair on identical test sets.

    Returns
    -------
    dict
        ``n``; ``wa_a``, ``wa_b``, ``ua_a``, ``ua_b``; ``a_only`` / ``b_only`` (clips only that
        model got right); ``mcnemar_p`` (two-sided exact binomial test on those discordant clips;
        1.0 when there are none).
    """
    from scipy.stats import binomtest

    keys = ["clip", "fold"] if {"fold"} <= set(predictions_a.columns) & set(predictions_b.columns) else ["clip"]
    for frame in (predictions_a, predictions_b):
        _check(frame, ["true", "pred", *keys])
    merged = predictions_a[keys + ["true", "pred"]].merge(predictions_b[keys + ["true", "pred"]], on=keys,
                                                          how="outer", suffixes=("_a", "_b"), indicator=True)
    unmatched = int((merged["_merge"] != "both").sum())
    if unmatched:
        raise ValueError(f"{unmatched} test clip(s) are in only one of the two prediction frames; "
                         "a paired comparison needs the same test clips (same protocol, split and corpus)")
    if (merged["true_a"].astype(str) != merged["true_b"].astype(str)).any():
        raise ValueError("the two prediction frames disagree on the true emotion of some clips")
    true = merged["true_a"].astype(str).to_numpy()
    pred_a, pred_b = (merged[c].astype(str).to_numpy() for c in ("pred_a", "pred_b"))
    ok_a, ok_b = pred_a == true, pred_b == true
    a_only, b_only = int((ok_a & ~ok_b).sum()), int((ok_b & ~ok_a).sum())
    p = binomtest(min(a_only, b_only), a_only + b_only, 0.5).pvalue if a_only + b_only else 1.0
    a, b = evaluate(true, pred_a, labels), evaluate(true, pred_b, labels)
    return {"n": int(len(merged)), "wa_a": a["wa"], "wa_b": b["wa"], "ua_a": a["ua"], "ua_b": b["ua"],
            "a_only": a_only, "b_only": b_only, "mcnemar_p": float(p)}


def percent(frame: pd.DataFrame, columns=("WA", "UA", "macro F1", "human recall", "model recall", "agreement")) -> pd.DataFrame:
    """A copy with the given fraction columns as percentages rounded to 0.1 (for display)."""
    out = frame.copy()
    for c in columns:
        if c in out.columns:
            out[c] = (100 * out[c].astype(float)).round(1)
    return out


def group_gap(table: pd.DataFrame, *, metric: str = "UA") -> tuple[str, str, float]:
    """(best group, worst group, gap in points) of a :func:`by_group` table."""
    if len(table) < 2:
        return (table.index[0], table.index[0], 0.0) if len(table) else ("", "", float("nan"))
    values = table[metric].astype(float)
    return str(values.idxmax()), str(values.idxmin()), float(100 * (values.max() - values.min()))


__all__ = ["INTENSITY_COLUMN", "best_with_predictions", "by_group", "group_gap", "human_vs_model",
           "intensity_breakdown", "paired_comparison", "percent", "predictions_table", "read_predictions", "save_predictions"]
