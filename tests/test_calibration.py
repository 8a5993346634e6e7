"""Calibration: temperature scaling recovers a known temperature, keeps the predicted class, and
lowers the ECE of an over-confident model; the uncertainty threshold is chosen from validation
scores alone."""

import numpy as np
import pytest

from ser_lib.evaluation import calibration as K

LABELS = ["a", "b", "c", "d"]


def simulated(n=4000, temperature=3.0, seed=0):
    """Scores whose softmax at ``temperature`` is the true class distribution."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, size=(n, len(LABELS)))
    p = K.softmax(logits)
    y = np.array([rng.choice(LABELS, p=row) for row in p])
    return logits * temperature, y


def test_softmax_rows_sum_to_one_and_temperature_keeps_the_order():
    s = np.array([[1.0, 2.0, 0.5], [3.0, -1.0, 0.0]])
    for t in (0.5, 1.0, 4.0):
        p = K.softmax(s, temperature=t)
        assert np.allclose(p.sum(axis=1), 1) and (p.argmax(axis=1) == s.argmax(axis=1)).all()
    with pytest.raises(ValueError, match="positive"):
        K.softmax(s, temperature=0)


def test_fit_temperature_recovers_the_true_one_and_lowers_the_ece():
    scores, y = simulated()
    t = K.fit_temperature(scores, y, LABELS)
    assert t == pytest.approx(3.0, rel=0.1)
    raw, fitted = K.softmax(scores), K.softmax(scores, temperature=t)
    assert K.expected_calibration_error(fitted, y, LABELS) < 0.03 < K.expected_calibration_error(raw, y, LABELS)
    assert K.nll(scores, y, LABELS, temperature=t) < K.nll(scores, y, LABELS)


def test_reliability_bins_count_every_clip():
    scores, y = simulated(n=500)
    bins = K.reliability(K.softmax(scores), y, LABELS, n_bins=10)
    assert sum(bins["count"]) == 500 and len(bins["accuracy"]) == 10
    with pytest.raises(ValueError, match="not among"):
        K.reliability(K.softmax(scores), ["z"] * 500, LABELS)


def test_uncertainty_threshold_reaches_the_target_on_validation_and_generalises():
    val_scores, val_y = simulated(seed=1)
    test_scores, test_y = simulated(seed=2)
    t = K.fit_temperature(val_scores, val_y, LABELS)
    pv, pt = K.softmax(val_scores, temperature=t), K.softmax(test_scores, temperature=t)
    threshold = K.uncertainty_threshold(pv, val_y, LABELS, target_accuracy=0.8)
    on_val = K.coverage_and_accuracy(pv, val_y, LABELS, threshold=threshold)
    on_test = K.coverage_and_accuracy(pt, test_y, LABELS, threshold=threshold)
    assert on_val["accuracy"] >= 0.8 and 0.2 <= on_val["coverage"] < 1
    assert on_test["accuracy"] == pytest.approx(0.8, abs=0.05)
    # a target that cannot be reached keeps the minimum coverage
    low = K.uncertainty_threshold(pv, val_y, LABELS, target_accuracy=1.0, min_coverage=0.5)
    assert K.coverage_and_accuracy(pv, val_y, LABELS, threshold=low)["coverage"] == pytest.approx(0.5, abs=0.01)
