"""One training core for models that learn from random crops of variable-length clips.

Used by the CRNN (:mod:`ser_lib.models.crnn`) and the converged WaDER (:mod:`ser_lib.models.wader_converged`),
and meant for the models to come:

* every epoch draws ``crops_per_clip`` random ``crop``-frame crops of every training clip
  (:func:`ser_lib.features.melspec.crops`), optionally transformed by an ``augment(X, Y, rng)`` callable
  (SpecAugment, mixup, ...), and fits one pass over them;
* after every epoch the **validation actors'** clips are scored with all their windows (50 %
  overlap, probabilities averaged per clip, :func:`ser_lib.features.melspec.windowed_predictions`);
  training stops when their clip UA has not improved for ``patience`` epochs and the best
  weights are restored;
* the test actors' clips are scored once, at the end, the same way.

:func:`seed_everything` seeds Python, NumPy and TensorFlow and turns TensorFlow's op determinism
on, so the same parameters, data and machine give the same metrics (its cost is timed by
``make bench``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ser_lib.features import melspec
from ser_lib.evaluation import metrics as M
from ser_lib.data.protocols import Split
from ser_lib.models.training import FoldResult


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and TensorFlow, make TensorFlow's ops deterministic, and return a NumPy
    generator seeded with ``seed`` (for crops and augmentation).

    >>> rng = seed_everything(3)
    >>> float(rng.random()) == float(np.random.default_rng(3).random())
    True
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()
    return np.random.default_rng(int(seed))


@dataclass(frozen=True)
class WindowScores:
    """Windowed scores of some clips: clip-level ``scores`` and ``proba``, window-level ``frame``
    scores, the mean window cross-entropy ``loss``."""

    rows: np.ndarray
    proba: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    scores: dict
    frame: dict
    loss: float
    n_windows: int


def score_windows(model, X: np.ndarray, lengths: np.ndarray, y, rows, *, labels, crop: int) -> WindowScores:
    """Score the clips ``rows`` with all their ``crop``-frame windows (50 % overlap).

    Parameters
    ----------
    model : keras.Model
        Takes ``(n, crop, bands)`` and returns class probabilities.
    X : ndarray (clips, frames, bands)
    lengths : ndarray of int
        Valid frames of each clip.
    y : array of str
        Label of every clip.
    rows : array of int
    labels : sequence of str
    crop : int

    Returns
    -------
    WindowScores
    """
    labels = list(labels)
    lab = np.array(labels, dtype=object)
    y = np.asarray(y, dtype=object)
    rows = np.asarray(rows)
    p_win, owner, p_clip = melspec.windowed_predictions(model, X, lengths, rows, length=crop)
    true_win = np.array([labels.index(v) for v in y[rows[owner]]])
    loss = float(-np.mean(np.log(p_win[np.arange(len(owner)), true_win] + 1e-7)))
    y_true, y_pred = y[rows], lab[p_clip.argmax(1)]
    return WindowScores(rows, p_clip, y_true, y_pred, M.evaluate(y_true, y_pred, labels),
                        M.evaluate(y[rows[owner]], lab[p_win.argmax(1)], labels), loss, int(len(owner)))


def fit_on_crops(model, X: np.ndarray, lengths: np.ndarray, y, split: Split, *, labels, crop: int, epochs: int,
                 patience: int, batch_size: int, rng: np.random.Generator, crops_per_clip: int = 1,
                 augment=None, desc: str = "") -> pd.DataFrame:
    """Train ``model`` on random crops of ``split.train`` with early stopping on ``split.val``.

    Parameters
    ----------
    model : keras.Model
        Compiled, with an ``accuracy`` metric.
    X, lengths, y, labels, crop : as in :func:`score_windows`.
    split : Split
        Only ``train`` and ``val`` are used.
    epochs, patience, batch_size : int
        At most ``epochs`` passes; stop after ``patience`` epochs without a better validation
        clip UA; the best epoch's weights are restored.
    rng : numpy.random.Generator
        Draws the crops (and is passed to ``augment``).
    crops_per_clip : int
        Crops of every training clip per epoch.
    augment : callable ``(X, Y, rng) -> (X, Y)``, optional
        Applied to each epoch's crops and one-hot labels.

    Returns
    -------
    pandas.DataFrame
        Per epoch (index ``epoch``): ``loss`` and ``accuracy`` on the training crops, the
        validation actors' window ``val_loss`` and ``val_frame_acc``, and clip ``val_ua``.
    """
    from tqdm import tqdm

    labels = list(labels)
    y = np.asarray(y, dtype=object)
    onehot = np.eye(len(labels), dtype=np.float32)[[labels.index(v) for v in y]]
    train_rows = np.repeat(np.asarray(split.train), int(crops_per_clip))
    history, best, best_weights, waited = [], -1.0, None, 0
    bar = tqdm(total=int(epochs), desc=desc or f"fold {split.fold}", unit="epoch", mininterval=5.0)
    for epoch in range(1, int(epochs) + 1):
        crops = melspec.crops(X, lengths, train_rows, length=crop, rng=rng)
        targets = onehot[train_rows]
        if augment is not None:
            crops, targets = augment(crops, targets, rng)
        h = model.fit(crops, targets, batch_size=int(batch_size), epochs=1, verbose=0, shuffle=True).history
        val = score_windows(model, X, lengths, y, split.val, labels=labels, crop=crop)
        history.append({"epoch": epoch, "loss": h["loss"][-1], "accuracy": h["accuracy"][-1], "val_loss": val.loss,
                        "val_frame_acc": val.frame["wa"], "val_ua": val.scores["ua"]})
        bar.set_postfix(loss=f"{h['loss'][-1]:.3f}", val_ua=f"{val.scores['ua']:.3f}")
        bar.update(1)
        if val.scores["ua"] > best:
            best, best_weights, waited = val.scores["ua"], model.get_weights(), 0
        else:
            waited += 1
            if waited >= int(patience):
                break
    bar.close()
    model.set_weights(best_weights)
    return pd.DataFrame(history).set_index("epoch")


def train_on_crops(model, X: np.ndarray, lengths: np.ndarray, y, split: Split, *, labels, crop: int, rng,
                   keep_val_proba: bool = False, **fit) -> FoldResult:
    """:func:`fit_on_crops` then score the test actors once (:func:`score_windows`).

    Returns
    -------
    FoldResult
        ``history`` as :func:`fit_on_crops`; ``best_epoch`` the restored one; ``extra`` holds the
        window-level test scores (``frame``), ``n_windows`` and, with ``keep_val_proba``, the
        validation clips' probabilities (``val_proba``, for late fusion).
    """
    t0 = time.time()
    hist = fit_on_crops(model, X, lengths, y, split, labels=labels, crop=crop, rng=rng, **fit)
    train_s = time.time() - t0
    test = score_windows(model, X, lengths, y, split.test, labels=labels, crop=crop)
    extra = {"frame": test.frame, "n_windows": test.n_windows}
    if keep_val_proba:
        extra["val_proba"] = score_windows(model, X, lengths, y, split.val, labels=labels, crop=crop).proba
    return FoldResult(split.fold, test.scores, hist, test.y_true, test.y_pred, test.proba, len(hist),
                      int(hist["val_ua"].idxmax()), train_s, extra=extra)
