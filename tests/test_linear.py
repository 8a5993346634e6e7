"""Normalisations, the kernel SVM, and the inner-CV rule: no choice can depend on test labels."""

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ser_lib.features import normalise
from ser_lib.models import linear
from ser_lib.data.protocols import actor_folds

LABELS = ["ANG", "HAP", "NEU", "SAD"]


@pytest.fixture(scope="module")
def data():
    """12 actors × 24 clips; each actor has its own offset (a 'voice'), the emotion a direction."""
    rng = np.random.default_rng(0)
    rows, X = [], []
    for actor in range(12):
        voice = rng.normal(0, 3, 10)
        for k in range(24):
            emo = LABELS[k % 4]
            x = voice + rng.normal(0, 1, 10)
            x[LABELS.index(emo)] += 1.5
            X.append(x)
            rows.append({"actor": 1000 + actor, "emotion": emo})
    return np.array(X, dtype=np.float32), pd.DataFrame(rows)


def test_group_zscore_uses_each_groups_own_statistics():
    X = np.array([[1.0, 5.0], [3.0, 5.0], [10.0, 0.0], [30.0, 2.0]])
    Z = normalise.group_zscore(X, np.array(["a", "a", "b", "b"]))
    np.testing.assert_allclose(Z, [[-1, 0], [1, 0], [-1, -1], [1, 1]])  # a constant feature becomes 0
    with pytest.raises(ValueError, match="one group per row"):
        normalise.group_zscore(X, ["a", "b"])


def test_normalise_names(data):
    X, clips = data
    np.testing.assert_array_equal(normalise.normalise(X, clips, "global"), X)  # done by the fold's scaler
    Z = normalise.normalise(X, clips, "speaker")
    one = clips["actor"] == 1003
    np.testing.assert_allclose(Z[one].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(Z[one].std(axis=0), 1, atol=1e-4)
    with pytest.raises(ValueError, match="unknown normalisation"):
        normalise.normalise(X, clips, "utterance")
    with pytest.raises(ValueError, match="'corpus' column"):
        normalise.normalise(X, clips, "corpus")


def test_speaker_normalisation_removes_the_voice_offset(data):
    X, clips = data
    split = actor_folds(clips["emotion"], clips["actor"], n_folds=3)[0]
    grid = {"C": [0.01, 1.0], "class_weight": [None], "scaler": ["standard"]}
    ua = {}
    for norm in ("global", "speaker"):
        r, _ = linear.run_fold(normalise.normalise(X, clips, norm), clips["emotion"], clips["actor"], split,
                               labels=LABELS, grid=grid, n_jobs=1)
        ua[norm] = r.scores["ua"]
    assert ua["speaker"] > ua["global"] + 0.1 and ua["speaker"] > 0.5  # chance: 0.25


def test_kernel_svm_is_sklearns_linear_svm():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 8))
    y = np.array(LABELS)[rng.integers(0, 4, 200)]
    X[y == "ANG", 0] += 2
    ours = linear.make_pipeline("svm", C=0.5).fit(X, y)
    Z = StandardScaler().fit_transform(X)
    ref = SVC(kernel="linear", C=0.5).fit(Z, y)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(Z), atol=1e-3)
    W, b = ours[-1].pairwise()
    np.testing.assert_allclose(W, ref.coef_, atol=1e-3)
    np.testing.assert_allclose(b, ref.intercept_, atol=1e-3)


def test_changing_test_labels_cannot_change_any_choice(data):
    """The inner-CV rule: the chosen hyperparameters and the inner scores of an outer fold are a
    function of its training actors only."""
    X, clips = data
    split = actor_folds(clips["emotion"], clips["actor"], n_folds=3)[1]
    y = clips["emotion"].to_numpy().copy()
    grid = {"C": [0.001, 0.1, 10.0], "class_weight": [None, "balanced"], "scaler": ["standard", "robust"]}
    a, model_a = linear.run_fold(X, y, clips["actor"], split, labels=LABELS, grid=grid, n_jobs=1)
    scrambled = y.copy()
    scrambled[split.test] = np.random.default_rng(5).permutation(np.array(LABELS * len(split.test))[: len(split.test)])
    assert (scrambled[split.test] != y[split.test]).mean() > 0.5
    b, model_b = linear.run_fold(X, scrambled, clips["actor"], split, labels=LABELS, grid=grid, n_jobs=1)
    assert a.extra["chosen"] == b.extra["chosen"]
    pd.testing.assert_frame_equal(a.history, b.history)
    np.testing.assert_allclose(a.proba, b.proba)       # same model, same test predictions
    assert a.scores["ua"] != b.scores["ua"]             # only the score against the (changed) truth moves


def test_run_fold_refuses_overlapping_actors(data):
    X, clips = data
    split = actor_folds(clips["emotion"], clips["actor"], n_folds=3)[0]
    bad = type(split)(split.fold, split.train, split.val, np.concatenate([split.test, split.train[:3]]))
    with pytest.raises(ValueError, match="overlap"):
        linear.run_fold(X, clips["emotion"], clips["actor"], bad, labels=LABELS, n_jobs=1)


def test_run_configs_table(data):
    X, clips = data
    splits = actor_folds(clips["emotion"], clips["actor"], n_folds=3)
    grids = {"a": {"C": [0.1], "class_weight": [None], "scaler": ["standard"]}}
    table, runs = linear.run_configs({"a": X}, clips, splits, labels=LABELS, configs=[("a", "svm"), ("a", "logreg")],
                                     normalisation="speaker", grids=grids, n_jobs=1, progress=False)
    assert list(table["classifier"]) == ["svm", "logreg"] and set(table["normalisation"]) == {"speaker"}
    assert len(runs[("a", "svm")]) == 3 and table["chosen_C"][0] == "0.1, 0.1, 0.1"
    assert (table["ua"] > 0.4).all()
    shown = linear.display_table(table)
    assert "±" in shown["UA %"][0]
    with pytest.raises(ValueError, match="not extracted"):
        linear.run_configs({"a": X}, clips, splits, labels=LABELS, configs=[("b", "svm")], progress=False)
    with pytest.raises(ValueError, match="unknown grid keys"):
        linear.select(X, clips["emotion"], clips["actor"], grid={"gamma": [1]})
