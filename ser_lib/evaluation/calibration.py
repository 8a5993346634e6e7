"""Probabilities a person can read: temperature scaling, expected calibration error, reliability
bins and the threshold below which an answer is marked uncertain.

Every fit here takes *validation* scores (clips of validation actors drawn from the training
actors); the test clips are only ever passed to :func:`softmax`, :func:`expected_calibration_error`
and :func:`reliability`.

Temperature scaling (Guo et al., ICML 2017) divides a model's class scores by one number ``T``
before the softmax; it changes the confidence, never the predicted class, so a model's UA is the
same before and after.
"""

from __future__ import annotations

import numpy as np

#: Bins of the expected calibration error and the reliability diagram (equal width on [0, 1]).
N_BINS = 15


def softmax(scores: np.ndarray, *, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``scores / temperature``; rows sum to 1.

    >>> softmax(np.array([[0.0, 0.0]])).tolist()
    [[0.5, 0.5]]
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    z = np.asarray(scores, dtype=np.float64) / float(temperature)
    if z.ndim != 2:
        raise ValueError(f"scores must have shape (n, classes), got {z.shape}")
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _targets(y_true, labels) -> np.ndarray:
    index = {lab: i for i, lab in enumerate(labels)}
    unknown = set(np.asarray(y_true).tolist()) - set(index)
    if unknown:
        raise ValueError(f"labels {sorted(map(str, unknown))} are not among {list(labels)}")
    return np.array([index[v] for v in np.asarray(y_true).tolist()], dtype=int)


def nll(scores: np.ndarray, y_true, labels, *, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true classes under :func:`softmax`."""
    p = softmax(scores, temperature=temperature)
    t = _targets(y_true, labels)
    return float(-np.mean(np.log(np.clip(p[np.arange(t.size), t], 1e-12, None))))


def fit_temperature(scores: np.ndarray, y_true, labels, *, bounds=(0.01, 100.0)) -> float:
    """The temperature that minimises the NLL of validation clips (bounded scalar search on log T).

    Parameters
    ----------
    scores : ndarray, shape (n, classes)
        Class scores of *validation* clips, columns in ``labels`` order.
    y_true : array-like
        Their true labels.
    labels : sequence
        Class order of the columns.
    """
    from scipy.optimize import minimize_scalar

    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] == 0 or scores.shape[1] != len(labels):
        raise ValueError(f"need scores of shape (n > 0, {len(labels)}), got {scores.shape}")
    res = minimize_scalar(lambda log_t: nll(scores, y_true, labels, temperature=float(np.exp(log_t))),
                          bounds=tuple(np.log(bounds)), method="bounded")
    return float(np.exp(res.x))


def reliability(proba: np.ndarray, y_true, labels, *, n_bins: int = N_BINS) -> dict:
    """Confidence (top probability) against accuracy in equal-width bins.

    Returns
    -------
    dict of lists: ``lower``, ``upper``, ``count``, ``confidence`` (mean top probability) and
    ``accuracy`` (fraction correct) of each bin; empty bins hold NaN.
    """
    proba = np.asarray(proba, dtype=np.float64)
    t = _targets(y_true, labels)
    conf, correct = proba.max(axis=1), proba.argmax(axis=1) == t
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    out = {"lower": edges[:-1].tolist(), "upper": edges[1:].tolist(), "count": [], "confidence": [], "accuracy": []}
    for b in range(n_bins):
        rows = which == b
        out["count"].append(int(rows.sum()))
        out["confidence"].append(float(conf[rows].mean()) if rows.any() else float("nan"))
        out["accuracy"].append(float(correct[rows].mean()) if rows.any() else float("nan"))
    return out


def expected_calibration_error(proba: np.ndarray, y_true, labels, *, n_bins: int = N_BINS) -> float:
    """ECE: the count-weighted mean gap between confidence and accuracy over :func:`reliability` bins.

    >>> p = np.array([[0.9, 0.1], [0.9, 0.1]])
    >>> round(expected_calibration_error(p, ["a", "b"], ["a", "b"]), 3)
    0.4
    """
    bins = reliability(proba, y_true, labels, n_bins=n_bins)
    n = sum(bins["count"])
    return float(sum(c * abs(conf - acc) for c, conf, acc in zip(bins["count"], bins["confidence"], bins["accuracy"])
                     if c) / max(n, 1))


def uncertainty_threshold(proba: np.ndarray, y_true, labels, *, target_accuracy: float,
                          min_coverage: float = 0.2) -> float:
    """The lowest top probability at which the *validation* answers above it reach ``target_accuracy``.

    An answer whose top probability is below the threshold is marked uncertain. When no threshold
    reaches the target while keeping ``min_coverage`` of the clips answered, the threshold that keeps
    exactly ``min_coverage`` is returned (the caller states the accuracy reached).
    """
    if not 0 < target_accuracy <= 1 or not 0 < min_coverage <= 1:
        raise ValueError("target_accuracy and min_coverage must be in (0, 1]")
    proba = np.asarray(proba, dtype=np.float64)
    t = _targets(y_true, labels)
    conf, correct = proba.max(axis=1), proba.argmax(axis=1) == t
    order = np.argsort(-conf, kind="stable")
    running = np.cumsum(correct[order]) / np.arange(1, conf.size + 1)  # accuracy of the k most confident
    floor = max(1, int(np.ceil(min_coverage * conf.size)))
    good = np.flatnonzero(running[floor - 1:] >= target_accuracy)
    k = floor + int(good.max()) if good.size else floor  # the most clips kept while on target
    return float(conf[order][k - 1])


def coverage_and_accuracy(proba: np.ndarray, y_true, labels, *, threshold: float) -> dict:
    """Fraction of clips answered (top probability ≥ ``threshold``) and the accuracy of those answers."""
    proba = np.asarray(proba, dtype=np.float64)
    t = _targets(y_true, labels)
    keep = proba.max(axis=1) >= threshold
    correct = proba.argmax(axis=1) == t
    return {"coverage": float(keep.mean()) if keep.size else float("nan"),
            "accuracy": float(correct[keep].mean()) if keep.any() else float("nan")}
