"""Keras builders follow the seed work's layer recipes; training learns and is repeatable."""

import numpy as np
import pytest

from ser_lib.models import models, training
from ser_lib.data.protocols import Split


@pytest.mark.parametrize("arch, shape, kinds", [
    ("cnn1d", (157, 1), ["Conv1D", "MaxPooling1D"] * 3 + ["Flatten", "Dense", "Dropout", "Dense"]),
    ("cnn1d_big", (314, 1), ["Conv1D", "MaxPooling1D"] * 3 + ["Flatten", "Dense", "Dropout", "BatchNormalization", "Dense"]),
    ("cnn2d_own", (128, 157, 1), ["Conv2D", "MaxPooling2D", "BatchNormalization"] * 2 + ["Conv2D", "Flatten", "Dense",
                                                                                        "BatchNormalization", "Dropout", "Dense"]),
    ("cnn2d_singh_fang", (128, 157, 1), ["Conv2D", "MaxPooling2D"] * 2 + ["Conv2D", "Flatten", "Dense", "Dropout", "Dense"]),
])
def test_architectures(arch, shape, kinds):
    model = models.build(arch, shape, 6, learning_rate=1e-3)
    assert [type(layer).__name__ for layer in model.layers] == kinds
    assert model.output_shape == (None, 6)
    assert model.layers[-1].activation.__name__ == "softmax"


def test_layer_settings():
    m = models.build("cnn1d", (157, 1), 6, learning_rate=1e-3)
    convs = [l for l in m.layers if type(l).__name__ == "Conv1D"]
    assert [(c.filters, c.kernel_size[0]) for c in convs] == [(16, 12), (24, 8), (24, 5)]
    m = models.build("cnn2d_singh_fang", (128, 157, 1), 6, learning_rate=1e-3)
    assert [l.kernel_size for l in m.layers if type(l).__name__ == "Conv2D"] == [(12, 6), (8, 12), (5, 7)]
    m = models.build("cnn2d_own", (128, 157, 1), 6, learning_rate="1e-5")
    assert float(m.optimizer.learning_rate.numpy()) == pytest.approx(1e-5)
    assert "Total params" in models.summary_text(m)


def test_build_errors():
    with pytest.raises(ValueError, match="unknown architecture"):
        models.build("resnet", (10, 1), 6, learning_rate=1e-3)
    with pytest.raises(ValueError, match="learning_rate must be a number"):
        models.build("cnn1d", (157, 1), 6, learning_rate="fast")


def _separable(n=240, seed=0):
    rng = np.random.default_rng(seed)
    y = np.array(["A", "B", "C"])[rng.integers(0, 3, n)]
    X = rng.normal(0, 1, (n, 157, 1)).astype("float32")
    for i, lab in enumerate(y):  # class-dependent level in a time window
        X[i, 40:80, 0] += {"A": 0.0, "B": 2.0, "C": -2.0}[lab]
    idx = np.arange(n)
    return X, y, Split(0, idx[:160], idx[160:190], idx[190:])


def test_train_fold_learns_and_is_repeatable():
    X, y, split = _separable()
    kw = dict(labels=["A", "B", "C"], architecture="cnn1d", epochs=8, batch_size=32, learning_rate=1e-3, seed=3)
    r1, _ = training.train_fold(X, y, split, **kw)
    r2, _ = training.train_fold(X, y, split, **kw)
    assert r1.scores["wa"] > 0.8  # chance is about 1/3
    np.testing.assert_allclose(r1.proba, r2.proba, atol=1e-5)
    assert list(r1.history.columns) >= ["accuracy", "loss"] and r1.epochs_run == 8


def test_early_stopping_restores_best_validation_epoch():
    X, y, split = _separable()
    r, _ = training.train_fold(X, y, split, labels=["A", "B", "C"], architecture="cnn1d", epochs=40, batch_size=32,
                               learning_rate=3e-3, seed=0, patience=2, extra_inputs={"zeros": np.zeros_like(X)})
    assert r.best_epoch == int(r.history["val_loss"].idxmin()) and r.epochs_run <= 40
    assert "zeros" in r.extra and r.extra["zeros"]["n"] == len(split.test)


def test_summarize_single_split_and_folds():
    X, y, split = _separable()
    r, _ = training.train_fold(X, y, split, labels=["A", "B", "C"], architecture="cnn1d", epochs=2, batch_size=64,
                               learning_rate=1e-3)
    one = training.summarize([r], ["A", "B", "C"])
    assert "wa_ci" in one and "wa_std" not in one and one["n_test_clips"] == len(split.test)
    two = training.summarize([r, r], ["A", "B", "C"])
    assert two["wa_std"] == 0.0 and two["n_test_clips"] == 2 * len(split.test)
    from ser_lib.reporting.notebook import confusion_frame, score_table

    table = score_table(two, {"wa": 0.5})
    assert table.loc["accuracy (WA)", "original"] == "50.0"
    matrix = confusion_frame(two, ["A", "B", "C"])
    assert matrix.index.name == "true" and matrix.values.sum() == 2 * len(split.test)


def test_standardize_uses_training_statistics_only():
    X, y, split = _separable()
    X = X * 40 - 60  # raw dB-like scale
    X[split.test] += 1000  # test values must not influence the scaling
    r, model = training.train_fold(X, y, split, labels=["A", "B", "C"], architecture="cnn1d", epochs=1, batch_size=64,
                                   learning_rate=1e-3, standardize=True)
    scale = model.layers[0]
    assert type(scale).__name__ == "Rescaling"
    mean, std = X[split.train].mean(), X[split.train].std()
    assert float(scale.scale) == pytest.approx(1 / std, rel=1e-5) and float(scale.offset) == pytest.approx(-mean / std, rel=1e-5)


def test_multiply_adds_counted_by_hand():
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((10, 2)), layers.Conv1D(4, 3), layers.MaxPooling1D(2),
                              layers.Dense(3), layers.Flatten(), layers.Dense(5)])
    # Conv1D: 8 positions × 4 filters × (3 taps × 2 channels) = 192; Dense(3) on (4, 4): 4 × 4 × 3 = 48;
    # Dense(5) on 12 inputs: 60; pooling and flatten cost nothing here
    assert models.multiply_adds(model) == 192 + 48 + 60
    conv2d = keras.Sequential([keras.Input((6, 5, 1)), layers.Conv2D(2, (3, 2))])
    assert models.multiply_adds(conv2d) == 4 * 4 * 2 * (3 * 2 * 1)
