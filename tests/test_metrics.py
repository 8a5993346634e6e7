import numpy as np
import pytest

from ser_lib.evaluation import metrics

LABELS = ["A", "B", "C"]


def test_evaluate_known_values():
    y_true = ["A"] * 6 + ["B"] * 3 + ["C"] * 1
    y_pred = ["A"] * 5 + ["B"] + ["B"] * 2 + ["C"] + ["C"]
    r = metrics.evaluate(y_true, y_pred, LABELS)
    assert r["n"] == 10
    assert r["wa"] == pytest.approx(8 / 10)
    assert r["ua"] == pytest.approx(np.mean([5 / 6, 2 / 3, 1.0]))
    # per-class F1: A: p=1, r=5/6; B: p=2/3, r=2/3; C: p=1/2, r=1
    f1 = [2 * 1 * 5 / 6 / (1 + 5 / 6), 2 / 3, 2 * 0.5 / 1.5]
    assert r["macro_f1"] == pytest.approx(np.mean(f1))
    assert r["weighted_f1"] == pytest.approx(np.average(f1, weights=[6, 3, 1]))
    assert r["confusion"] == [[5, 1, 0], [0, 2, 1], [0, 0, 1]]
    assert r["chance"] == {"ua": pytest.approx(1 / 3), "wa": pytest.approx(0.6),
                           "wa_random": pytest.approx(0.36 + 0.09 + 0.01)}
    lo, hi = r["wa_ci"]
    assert lo < 0.8 < hi


def test_prediction_outside_labels_counts_as_wrong():
    r = metrics.evaluate(["A", "B"], ["tie", "B"], LABELS[:2])
    assert r["wa"] == 0.5 and r["ua"] == 0.5
    cm = metrics.confusion(["A", "B"], ["tie", "B"], LABELS[:2], extra=["tie"])
    assert list(cm.columns) == ["A", "B", "tie"] and cm.loc["A", "tie"] == 1


def test_per_class_table_ranked_most_confused_first():
    y_true = ["A"] * 4 + ["B"] * 4 + ["C"] * 4
    y_pred = ["A"] * 4 + ["B"] * 3 + ["A"] + ["A"] * 3 + ["C"]
    t = metrics.per_class_table(y_true, y_pred, LABELS)
    assert list(t["class"]) == ["C", "A", "B"]
    assert t.loc[0, "confused_with"] == "A (75%)"
    assert t["f1"].is_monotonic_increasing


def test_wilson_interval():
    lo, hi = metrics.accuracy_interval(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-3) and hi == pytest.approx(0.5962, abs=1e-3)
    assert metrics.accuracy_interval(0, 10)[0] == 0.0
    with pytest.raises(ValueError):
        metrics.accuracy_interval(11, 10)


def test_summarize_folds():
    s = metrics.summarize_folds([{"wa": 0.4, "ua": 0.3, "macro_f1": 0.2, "weighted_f1": 0.1},
                                 {"wa": 0.6, "ua": 0.5, "macro_f1": 0.4, "weighted_f1": 0.3}])
    assert s["n_folds"] == 2 and s["wa"] == pytest.approx(0.5)
    assert s["wa_std"] == pytest.approx(np.std([0.4, 0.6], ddof=1))
    with pytest.raises(ValueError):
        metrics.summarize_folds([])


def test_validation_errors():
    with pytest.raises(ValueError, match="equal length"):
        metrics.evaluate(["A"], ["A", "B"], LABELS)
    with pytest.raises(ValueError, match="zero clips"):
        metrics.evaluate([], [], LABELS)
    with pytest.raises(ValueError, match="not in labels"):
        metrics.evaluate(["Z"], ["A"], LABELS)


def test_format_score():
    assert metrics.format_score(0.4123, 0.031) == "41.2 ± 3.1"
    assert metrics.format_score(0.5, ci=(0.4, 0.6)) == "50.0 [40.0, 60.0]"
    assert metrics.format_score(None) == "–"
