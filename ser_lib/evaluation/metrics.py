"""Evaluation metrics for the report.

Conventions: accuracies are fractions in 0–1. **WA** (weighted accuracy) is plain accuracy
over clips; **UA** (unweighted accuracy) is the mean of per-class recalls (balanced
accuracy). A prediction outside ``labels`` (e.g. a tied human vote) is simply wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from sklearn.metrics import confusion_matrix as _sk_confusion
from sklearn.metrics import f1_score, precision_recall_fscore_support


def _check(y_true, y_pred, labels):
    y_true, y_pred = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of equal length, got {y_true.shape} and {y_pred.shape}")
    if y_true.size == 0:
        raise ValueError("cannot evaluate on zero clips")
    labels = list(labels)
    unknown = set(y_true) - set(labels)
    if unknown:
        raise ValueError(f"y_true holds labels not in labels: {sorted(map(str, unknown))}")
    return y_true, y_pred, labels


def accuracy_interval(n_correct: int, n: int, *, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for an accuracy measured on ``n`` independent clips
    (:meth:`scipy.stats.binomtest(...).proportion_ci <scipy.stats._result_classes.BinomTestResult.proportion_ci>`).

    >>> [round(v, 4) for v in accuracy_interval(40, 100)]
    [0.3094, 0.498]
    """
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= n_correct <= n:
        raise ValueError("n_correct must lie in 0..n")
    ci = binomtest(int(n_correct), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def chance_levels(y_true, labels) -> dict:
    """Chance levels of a test set.

    Returns
    -------
    dict
        ``ua``: 1 / number of classes (any constant or random guess); ``wa``: the share of
        the most frequent class (always guessing it); ``wa_random``: expected accuracy of
        guessing with the test set's class distribution.
    """
    y_true = np.asarray(y_true, dtype=object)
    labels = list(labels)
    share = np.array([(y_true == lab).mean() for lab in labels])
    return {"ua": 1.0 / len(labels), "wa": float(share.max()), "wa_random": float((share ** 2).sum())}


def confusion(y_true, y_pred, labels, *, extra: Sequence[str] = ()) -> pd.DataFrame:
    """Confusion matrix as a DataFrame (rows: true, columns: predicted).

    ``extra`` names prediction values outside ``labels`` to show as additional columns
    (e.g. ``"tie"`` for human votes).
    """
    y_true, y_pred, labels = _check(y_true, y_pred, labels)
    cols = labels + [e for e in extra if e not in labels]
    m = _sk_confusion(y_true, y_pred, labels=cols)[: len(labels)]
    return pd.DataFrame(m, index=pd.Index(labels, name="true"), columns=pd.Index(cols, name="predicted"))


def per_class_table(y_true, y_pred, labels) -> pd.DataFrame:
    """Per-class precision, recall, F1 and support, ranked from most to least confused.

    The ``confused_with`` column names the class this one is most often mistaken for, with
    the share of its clips that went there. Rows are sorted by ascending F1, so the first
    row is the most confused class.
    """
    y_true, y_pred, labels = _check(y_true, y_pred, labels)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    cm = confusion(y_true, y_pred, labels, extra=sorted(set(map(str, y_pred)) - set(labels))).to_numpy()
    cols = labels + sorted(set(map(str, y_pred)) - set(labels))
    confused = []
    for i, lab in enumerate(labels):
        row = cm[i].astype(float).copy()
        row[i] = -1
        j = int(np.argmax(row))
        confused.append(f"{cols[j]} ({row[j] / max(cm[i].sum(), 1):.0%})" if row[j] > 0 else "")
    table = pd.DataFrame({"class": labels, "precision": p, "recall": r, "f1": f, "support": s,
                          "confused_with": confused})
    return table.sort_values(["f1", "recall"], kind="stable").reset_index(drop=True)


def evaluate(y_true, y_pred, labels, *, level: float = 0.95) -> dict:
    """All headline metrics of one test set.

    Returns
    -------
    dict
        ``n``, ``wa``, ``ua``, ``macro_f1``, ``weighted_f1``, ``wa_ci`` (Wilson interval),
        ``chance`` (see :func:`chance_levels`), ``per_class`` (records of
        :func:`per_class_table`) and ``confusion`` (list of rows, ``labels`` order).
    """
    y_true, y_pred, labels = _check(y_true, y_pred, labels)
    n = int(y_true.size)
    correct = int((y_true == y_pred).sum())
    recalls = [float((y_pred[y_true == lab] == lab).mean()) for lab in labels if (y_true == lab).any()]
    return {
        "n": n,
        "wa": correct / n,
        "ua": float(np.mean(recalls)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)),
        "wa_ci": accuracy_interval(correct, n, level=level),
        "chance": chance_levels(y_true, labels),
        "per_class": per_class_table(y_true, y_pred, labels).to_dict("records"),
        "confusion": confusion(y_true, y_pred, labels).to_numpy().tolist(),
    }


HEADLINE = ("wa", "ua", "macro_f1", "weighted_f1")


def summarize_folds(results: Sequence[dict], keys: Sequence[str] = HEADLINE) -> dict:
    """Mean and standard deviation (ddof=1) of per-fold results.

    Returns ``{key: mean, key + "_std": std, "n_folds": k}``; the std is 0 for one fold.
    """
    if not results:
        raise ValueError("no fold results to summarize")
    out = {"n_folds": len(results)}
    for key in keys:
        vals = np.array([r[key] for r in results], dtype=float)
        out[key] = float(vals.mean())
        out[key + "_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
    return out


def format_score(value: float | None, std: float | None = None, ci=None) -> str:
    """``0.412, 0.03`` → ``"41.2 ± 3.0"``; with ``ci`` → ``"41.2 [39.1, 43.3]"`` (percent)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    text = f"{100 * value:.1f}"
    if std is not None and not (isinstance(std, float) and np.isnan(std)):
        text += f" ± {100 * std:.1f}"
    elif ci is not None:
        text += f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"
    return text
