"""A strong from-scratch neural model: a small CRNN with attention pooling on log-mel crops.

What it does differently from the reproduced CNNs (all measured against them in the report):

* **random fixed-length crops** of each clip's own frames in training (no zero-padding to 5 s)
  and **windowed scoring** at test (windows with 50 % overlap, probabilities averaged per clip);
* **per-speaker** (or global) band normalisation of the log-mel (:func:`ser_lib.melspec.normalise`);
* **SpecAugment** (time and frequency masks) and **mixup** on the training crops;
* a CRNN: three Conv2D–BatchNorm–ReLU–MaxPool blocks, a bidirectional GRU, attention pooling
  over time, dropout, softmax;
* **early stopping on the validation actors' clip-level UA** (windowed, like the test), best
  weights restored. The test actors are scored once, at the end.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from . import melspec
from . import metrics as M
from .protocols import Split
from .tf_logging import quiet_tensorflow

quiet_tensorflow()

DEFAULTS = {"crop": 125, "channels": (16, 32, 64), "gru": 64, "dropout": 0.3, "learning_rate": 1e-3,
            "batch_size": 64, "epochs": 40, "patience": 8, "mixup_alpha": 0.2, "time_masks": 2, "time_mask": 20,
            "freq_masks": 2, "freq_mask": 8}


def build_crnn(n_frames: int, n_mels: int, n_classes: int, *, channels=(16, 32, 64), gru: int = 64,
               dropout: float = 0.3, learning_rate: float = 1e-3):
    """The CRNN (compiled, Adam, categorical cross-entropy).

    Input ``(n_frames, n_mels)``; output class probabilities.
    """
    import keras
    from keras import layers

    inp = keras.Input((n_frames, n_mels))
    x = layers.Reshape((n_frames, n_mels, 1))(inp)
    for c in channels:
        x = layers.Conv2D(c, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D((2, 2))(x)
    t, f, c = x.shape[1], x.shape[2], x.shape[3]
    x = layers.Reshape((t, f * c))(x)
    x = layers.Bidirectional(layers.GRU(gru, return_sequences=True))(x)
    score = layers.Dense(1)(layers.Dense(64, activation="tanh")(x))
    weights = layers.Softmax(axis=1)(score)                    # attention over time
    pooled = layers.Flatten()(layers.Dot(axes=1)([weights, x]))
    out = layers.Dense(n_classes, activation="softmax")(layers.Dropout(dropout)(pooled))
    model = keras.Model(inp, out, name="crnn_attention")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=float(learning_rate)),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def spec_augment(X: np.ndarray, rng: np.random.Generator, *, time_masks: int = 2, time_mask: int = 20,
                 freq_masks: int = 2, freq_mask: int = 8) -> np.ndarray:
    """SpecAugment on a batch ``(n, frames, bands)`` of normalised log-mel: random time and
    frequency bands set to 0 (the normalised mean), in place; returns ``X``."""
    n, T, F = X.shape
    for i in range(n):
        for _ in range(time_masks):
            w = int(rng.integers(0, time_mask + 1))
            s = int(rng.integers(0, max(1, T - w)))
            X[i, s: s + w] = 0
        for _ in range(freq_masks):
            w = int(rng.integers(0, freq_mask + 1))
            s = int(rng.integers(0, max(1, F - w)))
            X[i, :, s: s + w] = 0
    return X


def mixup(X: np.ndarray, Y: np.ndarray, rng: np.random.Generator, *, alpha: float = 0.2):
    """Mixup (Zhang et al., 2018): each example blended with a random other one, labels alike."""
    if alpha <= 0:
        return X, Y
    lam = rng.beta(alpha, alpha, size=len(X)).astype(np.float32)
    perm = rng.permutation(len(X))
    return (lam[:, None, None] * X + (1 - lam[:, None, None]) * X[perm],
            lam[:, None] * Y + (1 - lam[:, None]) * Y[perm])


def clip_probabilities(model, mel: np.ndarray, n_frames: np.ndarray, rows, *, crop: int) -> np.ndarray:
    """Windowed scoring: each clip's windows (50 % overlap) through the model, probabilities averaged."""
    return melspec.windowed_predictions(model, mel, n_frames, rows, length=crop)[2]


def train_fold(mel: np.ndarray, n_frames: np.ndarray, y, split: Split, *, labels, seed: int = 0, desc: str = "",
               **settings):
    """Train one fold on ``split.train``, stop on ``split.val`` clip UA, score ``split.test`` once.

    Parameters
    ----------
    mel : ndarray (clips, frames, bands)
        Normalised log-mel (:func:`ser_lib.melspec.normalise`).
    n_frames : ndarray of int
    y : array of str
    split : Split
    labels : sequence of str
    seed : int
    **settings
        Overrides of :data:`DEFAULTS`.

    Returns
    -------
    FoldResult (``history``: loss, accuracy on the mixed crops and ``val_ua`` per epoch), keras.Model
    """
    import keras
    from tqdm import tqdm

    from .training import FoldResult, merge_settings

    s = merge_settings(settings, DEFAULTS, what="CRNN")
    labels = list(labels)
    y = np.asarray(y, dtype=object)
    onehot = np.eye(len(labels), dtype=np.float32)[[labels.index(v) for v in y]]
    from .croptrain import seed_everything
    rng = seed_everything(seed)
    model = build_crnn(s["crop"], mel.shape[2], len(labels), channels=s["channels"], gru=s["gru"],
                       dropout=s["dropout"], learning_rate=s["learning_rate"])
    history, best, best_weights, waited = [], -1.0, None, 0
    t0 = time.time()
    bar = tqdm(total=s["epochs"], desc=desc or f"fold {split.fold}", unit="epoch", mininterval=5.0)
    for epoch in range(1, s["epochs"] + 1):
        X = spec_augment(melspec.crops(mel, n_frames, split.train, length=s["crop"], rng=rng), rng,
                         time_masks=s["time_masks"], time_mask=s["time_mask"], freq_masks=s["freq_masks"],
                         freq_mask=s["freq_mask"])
        X, Y = mixup(X, onehot[split.train], rng, alpha=s["mixup_alpha"])
        h = model.fit(X, Y, batch_size=s["batch_size"], epochs=1, verbose=0, shuffle=True).history
        val = clip_probabilities(model, mel, n_frames, split.val, crop=s["crop"])
        val_ua = M.evaluate(y[split.val], np.array(labels, dtype=object)[val.argmax(1)], labels)["ua"]
        history.append({"epoch": epoch, "loss": h["loss"][-1], "accuracy": h["accuracy"][-1], "val_ua": val_ua})
        bar.set_postfix(loss=f"{h['loss'][-1]:.3f}", val_ua=f"{val_ua:.3f}")
        bar.update(1)
        if val_ua > best:
            best, best_weights, waited = val_ua, model.get_weights(), 0
        else:
            waited += 1
            if waited >= s["patience"]:
                break
    bar.close()
    model.set_weights(best_weights)
    train_s = time.time() - t0
    hist = pd.DataFrame(history).set_index("epoch")
    proba = clip_probabilities(model, mel, n_frames, split.test, crop=s["crop"])
    y_true = y[split.test]
    y_pred = np.array(labels, dtype=object)[proba.argmax(1)]
    best_epoch = int(hist["val_ua"].idxmax())
    val_proba = clip_probabilities(model, mel, n_frames, split.val, crop=s["crop"])  # for fusion weights
    return FoldResult(split.fold, M.evaluate(y_true, y_pred, labels), hist, y_true, y_pred, proba, len(hist),
                      best_epoch, train_s, extra={"val_proba": val_proba}), model


def plot_curves(results, *, title: str = ""):
    """Training loss and validation clip UA per epoch, every fold (best epoch marked)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 3.6))
    for r in results:
        line, = axes[0].plot(r.history.index, r.history["loss"], lw=1, label=f"fold {r.fold}")
        axes[1].plot(r.history.index, 100 * r.history["val_ua"], lw=1, color=line.get_color())
        axes[1].axvline(r.best_epoch, color=line.get_color(), lw=0.5, alpha=0.6)
    axes[0].set(xlabel="epoch", ylabel="loss", title="training loss (mixed, augmented crops)")
    axes[1].set(xlabel="epoch", ylabel="UA %", title="validation actors: clip UA (windowed); best epoch marked")
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
