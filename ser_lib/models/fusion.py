"""Late fusion of two models' class scores, with the weight chosen on validation actors only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ser_lib.evaluation import metrics as M

#: Weights of the first model tried (the second gets 1 − w).
WEIGHTS = tuple(np.round(np.linspace(0, 1, 11), 2))


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax (turns e.g. SVM one-vs-rest scores into a distribution).

    Examples
    --------
    >>> softmax(np.array([[0.0, 0.0]])).tolist()
    [[0.5, 0.5]]
    """
    s = np.asarray(scores, dtype=np.float64)
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def fuse(p_a: np.ndarray, p_b: np.ndarray, weight: float) -> np.ndarray:
    """``weight · p_a + (1 − weight) · p_b`` (both row-stochastic, same class order)."""
    if not 0 <= weight <= 1:
        raise ValueError(f"weight must lie in [0, 1], got {weight}")
    if p_a.shape != p_b.shape:
        raise ValueError(f"score shapes differ: {p_a.shape} vs {p_b.shape}")
    return weight * p_a + (1 - weight) * p_b


def choose_weight(p_a_val: np.ndarray, p_b_val: np.ndarray, y_val, labels, *, weights=WEIGHTS):
    """The weight of model A that maximises UA on the validation clips (ties: the one closest to
    0.5). Only validation clips are seen: call it with validation actors, never test actors.

    Returns
    -------
    weight : float
    table : DataFrame (``weight``, ``val_ua``)
    """
    labels = list(labels)
    rows = []
    for w in weights:
        pred = np.array(labels, dtype=object)[fuse(p_a_val, p_b_val, float(w)).argmax(1)]
        rows.append({"weight": float(w), "val_ua": M.evaluate(np.asarray(y_val, dtype=object), pred, labels)["ua"]})
    table = pd.DataFrame(rows)
    best = table["val_ua"].max()
    cands = table[table["val_ua"] >= best - 1e-12]
    weight = float(cands.iloc[(cands["weight"] - 0.5).abs().argmin()]["weight"])
    return weight, table


def fuse_folds(results, linear_scores, splits, y, labels) -> tuple[pd.DataFrame, dict]:
    """Fuse, fold by fold, a model's results with a linear model's scores.

    Parameters
    ----------
    results : list of FoldResult
        The first model; ``extra["val_proba"]`` holds its validation probabilities.
    linear_scores : list of dict
        Per fold: ``val`` and ``test`` class scores of the linear model (fitted on the training
        actors only), and ``chosen`` (its hyperparameters).
    splits : list of Split
    y : array of str
        All clips' labels (only validation labels are used for the weight).

    Returns
    -------
    table : DataFrame
        Per fold: chosen weight, the linear model's C, UA of each model alone and fused.
    fused : dict
        Mean ± std over folds of the fused scores, the weights, the linear model's mean UA.
    """
    y = np.asarray(y, dtype=object)
    names = np.array(list(labels), dtype=object)
    rows, scored = [], []
    for split, r, lin in zip(splits, results, linear_scores):
        p_val, p_test = softmax(lin["val"]), softmax(lin["test"])
        w, _ = choose_weight(p_val, r.extra["val_proba"], y[split.val], labels)
        fused_scores = M.evaluate(r.y_true, names[fuse(p_test, r.proba, w).argmax(1)], labels)
        linear_ua = M.evaluate(r.y_true, names[p_test.argmax(1)], labels)["ua"]
        scored.append(fused_scores)
        rows.append({"fold": split.fold, "linear weight (chosen on val)": w, "linear C": lin["chosen"]["C"],
                     "CRNN UA": r.scores["ua"], "linear UA": linear_ua, "fused UA": fused_scores["ua"]})
    table = pd.DataFrame(rows)
    fused = {**M.summarize_folds(scored), "weights": table["linear weight (chosen on val)"].tolist(),
             "linear_ua": float(table["linear UA"].mean())}
    return table, fused
