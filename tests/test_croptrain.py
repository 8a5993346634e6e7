"""The shared crop trainer: early stopping on validation actors only, best weights restored,
determinism, and the one learning-curve plotter."""

import numpy as np
import pandas as pd
import pytest

from ser_lib.models import croptrain
from ser_lib.reporting import plots
from ser_lib.data.protocols import Split


def _toy(n=60, seed=0):
    """Clips whose first band carries the class (3 classes), variable lengths, zero padding."""
    rng = np.random.default_rng(seed)
    labels = ["ANG", "HAP", "SAD"]
    y = np.array([labels[i % 3] for i in range(n)], dtype=object)
    lengths = rng.integers(12, 30, n)
    X = rng.standard_normal((n, 30, 4)).astype(np.float32)
    for i in range(n):
        X[i, :, 0] += 2.0 * labels.index(y[i])
        X[i, lengths[i]:] = 0
    idx = np.arange(n)
    return X, lengths, y, labels, Split(0, idx[:40], idx[40:50], idx[50:])


def _model(crop, bands, n_classes):
    import keras

    model = keras.Sequential([keras.Input((crop, bands)), keras.layers.GlobalAveragePooling1D(),
                              keras.layers.Dense(n_classes, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _run(X, lengths, y, labels, split, *, seed=1, epochs=6, patience=3, augment=None):
    rng = croptrain.seed_everything(seed)
    model = _model(10, X.shape[2], len(labels))
    return croptrain.train_on_crops(model, X, lengths, y, split, labels=labels, crop=10, rng=rng, epochs=epochs,
                                    patience=patience, batch_size=8, augment=augment, keep_val_proba=True), model


def test_crop_trainer_learns_restores_best_and_is_deterministic():
    X, lengths, y, labels, split = _toy()
    r1, m1 = _run(X, lengths, y, labels, split)
    r2, _ = _run(X, lengths, y, labels, split)
    pd.testing.assert_frame_equal(r1.history, r2.history, check_exact=True)
    np.testing.assert_array_equal(r1.proba, r2.proba)
    assert list(r1.history.columns) == ["loss", "accuracy", "val_loss", "val_frame_acc", "val_ua"]
    assert r1.best_epoch == int(r1.history["val_ua"].idxmax())
    # the restored weights are the best epoch's: re-scoring the validation clips gives its UA
    val = croptrain.score_windows(m1, X, lengths, y, split.val, labels=labels, crop=10)
    assert val.scores["ua"] == pytest.approx(r1.history["val_ua"].max())
    np.testing.assert_allclose(val.proba, r1.extra["val_proba"])
    assert r1.scores["ua"] > 0.6  # the class is in plain sight
    assert r1.proba.shape == (len(split.test), 3) and np.allclose(r1.proba.sum(1), 1, atol=1e-5)
    assert r1.extra["n_windows"] >= len(split.test)


def test_crop_trainer_never_looks_at_test_labels():
    X, lengths, y, labels, split = _toy()
    scrambled = y.copy()
    scrambled[split.test] = np.roll(y[split.test], 1)
    r1, _ = _run(X, lengths, y, labels, split)
    r2, _ = _run(X, lengths, scrambled, labels, split)
    pd.testing.assert_frame_equal(r1.history, r2.history)
    np.testing.assert_array_equal(r1.y_pred, r2.y_pred)


def test_patience_stops_and_augment_sees_every_epoch():
    X, lengths, y, labels, split = _toy()
    seen = []

    def augment(Xc, Yc, rng):
        seen.append(Xc.shape)
        return Xc * 0, Yc  # nothing to learn: validation UA cannot improve after epoch 1

    r, _ = _run(X, lengths, y, labels, split, epochs=20, patience=2, augment=augment)
    assert r.epochs_run == len(seen) and r.epochs_run <= 20
    assert all(s == (len(split.train), 10, 4) for s in seen)
    assert r.epochs_run - r.best_epoch <= 2


def test_fold_curves_draws_every_fold_and_seed():
    X, lengths, y, labels, split = _toy()
    r, _ = _run(X, lengths, y, labels, split, epochs=3)
    fig = plots.fold_curves({0: [r], 1: [r]}, title="toy")
    assert len(fig.axes) == 3 and all(len(ax.lines) >= 2 for ax in fig.axes)
    keras_like = type(r)(0, r.scores, pd.DataFrame({"loss": [1.0, 0.5], "val_loss": [1.1, 0.9],
                                                     "accuracy": [0.2, 0.4], "val_accuracy": [0.1, 0.3]}, index=[1, 2]),
                         r.y_true, r.y_pred, r.proba, 2, 2, 0.0)
    fig = plots.fold_curves([keras_like], panels=plots.KERAS_PANELS)
    assert len(fig.axes) == 2 and all(len(ax.lines) == 2 for ax in fig.axes)


def test_joint_training_adds_the_other_corpus_to_training_only():
    from ser_lib.models import crnn

    rng = np.random.default_rng(0)
    own = (rng.standard_normal((6, 5, 3)).astype(np.float16), np.array([5, 4, 5, 3, 5, 2]), np.array(list("aabbcc")))
    other = (rng.standard_normal((4, 8, 3)).astype(np.float16), np.array([8, 7, 6, 8]), np.array(list("abca")))
    mel, n_frames, y = crnn.stack_corpora(own, other)
    assert mel.shape == (10, 8, 3)
    assert np.array_equal(mel[:6, :5], own[0]) and not mel[:6, 5:].any()  # own rows unchanged, padded with zeros
    assert np.array_equal(mel[6:], other[0])
    assert list(n_frames) == [5, 4, 5, 3, 5, 2, 8, 7, 6, 8] and "".join(y) == "aabbccabca"

    split = Split(0, np.array([0, 1, 2]), np.array([3]), np.array([4, 5]))
    joint = crnn.with_training_rows(split, 6 + np.arange(4))
    assert list(joint.train) == [0, 1, 2, 6, 7, 8, 9]
    assert joint.val is split.val and joint.test is split.test  # choices and scores stay within the corpus
    with pytest.raises(ValueError, match="overlap"):
        crnn.with_training_rows(split, [4])
    with pytest.raises(ValueError, match="mel bands"):
        crnn.stack_corpora(own, (np.zeros((1, 5, 4)), [5], ["a"]))


def test_ablation_row_carries_the_scores_and_refuses_missing_ones():
    from ser_lib.models import training

    summary = {"ua": 0.5, "ua_std": 0.1, "wa": 0.6, "wa_std": 0.05, "macro_f1": 0.4, "macro_f1_std": 0.02, "folds": []}
    row = training.ablation_row(summary, feature_set="log-mel", classifier="crnn", normalisation="global", fit_s=3.0)
    assert row == {"feature_set": "log-mel", "classifier": "crnn", "normalisation": "global", "ua": 0.5, "ua_std": 0.1,
                   "wa": 0.6, "wa_std": 0.05, "macro_f1": 0.4, "macro_f1_std": 0.02, "fit_s": 3.0}
    with pytest.raises(KeyError, match="macro_f1_std"):
        training.ablation_row({k: v for k, v in summary.items() if k != "macro_f1_std"}, feature_set="x",
                              classifier="y", normalisation=None)
