"""A strong from-scratch neural model: a small CRNN with attention pooling on log-mel crops.

What it does differently from the reproduced CNNs (all measured against them in the report):

* **random fixed-length crops** of each clip's own frames in training (no zero-padding to 5 s)
  and **windowed scoring** at test (windows with 50 % overlap, probabilities averaged per clip);
* **per-speaker** (or global) band normalisation of the log-mel (:func:`ser_lib.features.melspec.normalise`);
* **SpecAugment** (time and frequency masks) and **mixup** on the training crops;
* a CRNN: three Conv2D–BatchNorm–ReLU–MaxPool blocks, a bidirectional GRU, attention pooling
  over time, dropout, softmax;
* **early stopping on the validation actors' clip-level UA** (windowed, like the test), best
  weights restored. The test actors are scored once, at the end.
"""

from __future__ import annotations

import numpy as np

from ser_lib.data.protocols import Split
from ser_lib.models.tf_logging import quiet_tensorflow

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


def train_fold(mel: np.ndarray, n_frames: np.ndarray, y, split: Split, *, labels, seed: int = 0, desc: str = "",
               **settings):
    """Train one fold on ``split.train``, stop on ``split.val`` clip UA, score ``split.test`` once
    (the shared crop trainer, :func:`ser_lib.models.croptrain.train_on_crops`).

    Parameters
    ----------
    mel : ndarray (clips, frames, bands)
        Normalised log-mel (:func:`ser_lib.features.melspec.normalise`).
    n_frames : ndarray of int
    y : array of str
    split : Split
    labels : sequence of str
    seed : int
    **settings
        Overrides of :data:`DEFAULTS`.

    Returns
    -------
    FoldResult (``history`` as :func:`ser_lib.models.croptrain.fit_on_crops`, loss and accuracy on the
    mixed crops; ``extra["val_proba"]`` for fusion weights), keras.Model
    """
    from ser_lib.models.croptrain import seed_everything, train_on_crops
    from ser_lib.models.training import merge_settings

    s = merge_settings(settings, DEFAULTS, what="CRNN")
    rng = seed_everything(seed)
    model = build_crnn(s["crop"], mel.shape[2], len(labels), channels=s["channels"], gru=s["gru"],
                       dropout=s["dropout"], learning_rate=s["learning_rate"])

    def augment(X, Y, rng):
        X = spec_augment(X, rng, time_masks=s["time_masks"], time_mask=s["time_mask"], freq_masks=s["freq_masks"],
                         freq_mask=s["freq_mask"])
        return mixup(X, Y, rng, alpha=s["mixup_alpha"])

    result = train_on_crops(model, mel, n_frames, y, split, labels=labels, crop=s["crop"], rng=rng,
                            keep_val_proba=True, epochs=s["epochs"], patience=s["patience"],
                            batch_size=s["batch_size"], augment=augment, desc=desc)
    return result, model


def train_folds(mel: np.ndarray, n_frames: np.ndarray, y, splits, *, labels, seed: int = 0, groups=None,
                desc: str = "", **settings) -> list:
    """Every fold of one CRNN experiment (:func:`train_fold`), fold ``k`` seeded ``seed + k``.

    ``groups`` given (actors): the log-mel is z-scored per group once (``speaker`` normalisation);
    ``None``: per fold, with that fold's training clips (``global``). Returns the fold results.
    """
    from ser_lib.features import melspec

    by_group = None if groups is None else melspec.normalise(mel, n_frames, groups)
    results = []
    for split in splits:
        inputs = by_group if by_group is not None else melspec.normalise(mel, n_frames, None, fit_rows=split.train)
        result, _ = train_fold(inputs, n_frames, y, split, labels=labels, seed=seed + split.fold,
                               desc=f"{desc} fold {split.fold + 1}/{len(splits)}", **settings)
        results.append(result)
    return results


def stack_corpora(*parts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Several corpora's log-mel in one array, for training on them jointly.

    Parameters
    ----------
    *parts : tuple (mel, n_frames, y)
        Each corpus's :func:`ser_lib.features.melspec.extract` output and labels, in order: the
        first corpus keeps rows ``0 .. n-1``, so folds made on its own table index it unchanged.

    Returns
    -------
    mel : ndarray (clips, max frames, bands), padded with zeros to the longest corpus
    n_frames, y : ndarray
    """
    if not parts:
        raise ValueError("stack_corpora needs at least one corpus")
    bands = {p[0].shape[2] for p in parts}
    if len(bands) != 1:
        raise ValueError(f"the corpora have different numbers of mel bands {sorted(bands)}")
    longest = max(p[0].shape[1] for p in parts)
    mel = np.zeros((sum(len(p[0]) for p in parts), longest, bands.pop()), dtype=parts[0][0].dtype)
    at = 0
    for m, _, _ in parts:
        mel[at: at + len(m), : m.shape[1]] = m
        at += len(m)
    return mel, np.concatenate([np.asarray(p[1]) for p in parts]), np.concatenate([np.asarray(p[2]) for p in parts])


def with_training_rows(split: Split, rows) -> Split:
    """``split`` with ``rows`` (e.g. every clip of another corpus) added to its training clips only;
    its validation and test clips, and so every choice and score, stay within the corpus."""
    rows = np.asarray(rows, dtype=int)
    if np.isin(rows, np.concatenate([split.val, split.test])).any():
        raise ValueError("added training rows overlap the fold's validation or test clips")
    return Split(split.fold, np.concatenate([np.asarray(split.train, dtype=int), rows]), split.val, split.test)

