"""Training and evaluation of one experiment over the folds of a protocol.

Model selection and early stopping look only at each fold's validation clips, never at its
test clips. Seeds are fixed per fold (``seed + fold``) so a run is repeatable on one machine
(TensorFlow on CPU is deterministic up to thread scheduling of reductions).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ser_lib.evaluation import metrics as M
from ser_lib.data.protocols import Split
from ser_lib.models.tf_logging import quiet_tensorflow

quiet_tensorflow()


@dataclass
class FoldResult:
    """What one fold produced."""

    fold: int
    scores: dict
    history: pd.DataFrame
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray
    epochs_run: int
    best_epoch: int
    train_s: float
    extra: dict = field(default_factory=dict)


def merge_settings(settings: dict, defaults: dict, *, what: str) -> dict:
    """``defaults`` updated by ``settings``; an unknown key is refused with the list of known ones."""
    unknown = set(settings) - set(defaults)
    if unknown:
        raise ValueError(f"unknown {what} settings {sorted(unknown)}; expected some of {sorted(defaults)}")
    return {**defaults, **settings}


def epoch_bar(total: int, desc: str):
    """A Keras callback showing a tqdm bar over epochs with the latest loss/accuracy
    (used instead of Keras' own per-batch bars, which would flood the report)."""
    import keras
    from tqdm import tqdm

    class EpochBar(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(total=total, desc=desc, unit="epoch", mininterval=5.0)

        def on_epoch_end(self, epoch, logs=None):
            shown = ("loss", "accuracy", "val_loss", "val_accuracy")
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in (logs or {}).items() if k in shown})
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return EpochBar()


def train_fold(X: np.ndarray, y: np.ndarray, split: Split, *, labels, architecture: str, epochs: int,
               batch_size: int, learning_rate: float, seed: int = 0, patience: int | None = None,
               extra_inputs: dict | None = None, augment: dict | None = None, paths=None,
               standardize: bool = False, desc: str = "") -> tuple[FoldResult, object]:
    """Train one fold and score it on its test clips.

    Parameters
    ----------
    X : ndarray
        Model inputs for all clips (first axis = clips).
    y : ndarray of str
        Emotion code of each clip.
    split : Split
        Train / validation / test indices.
    labels : sequence of str
        Class order.
    architecture : str
        See :data:`ser_lib.models.models.ARCHITECTURES`.
    epochs, batch_size, learning_rate : training settings.
    seed : int
        Random seed of this fold (weights, dropout, shuffling).
    patience : int, optional
        Early stopping on validation loss with this patience, restoring the best weights;
        ``None`` trains for exactly ``epochs`` (as the original work did).
    extra_inputs : dict, optional
        name → alternative input array (same clips) on which the trained model is *also* scored,
        e.g. to reproduce an evaluation mistake of the original work.
    augment : dict, optional
        Train on freshly augmented log-mel batches (see :mod:`ser_lib.features.augment`) with these
        settings (``{}`` = defaults; ``workers`` sets the loader threads). Needs ``paths``.
        Validation and test inputs are never augmented.
    paths : sequence of str, optional
        Audio file of every clip (same order as ``X``), for augmentation.
    standardize : bool
        Scale inputs to zero mean and unit variance with one mean and one std computed on this
        fold's *training* clips only (the original fed raw values, e.g. −80…0 dB log-mel).
        The model then includes the scaling, so a saved model takes raw features.

    Returns
    -------
    FoldResult, keras.Model
    """
    import keras

    from ser_lib.models.models import build

    labels = list(labels)
    index = {lab: i for i, lab in enumerate(labels)}
    onehot = keras.utils.to_categorical([index[v] for v in y], len(labels))
    from ser_lib.models.croptrain import seed_everything

    seed_everything(seed)
    model = build(architecture, X.shape[1:], len(labels), learning_rate=learning_rate)
    if standardize:
        mean, std = float(X[split.train].mean()), float(X[split.train].std()) or 1.0
        inner = model
        model = keras.Sequential([keras.Input(X.shape[1:]), keras.layers.Rescaling(1.0 / std, offset=-mean / std),
                                  *inner.layers], name=f"{inner.name}_standardized")
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=float(learning_rate)),
                      loss="categorical_crossentropy", metrics=["accuracy"])
    callbacks = [epoch_bar(epochs, desc or f"fold {split.fold}")]
    if patience:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                                       restore_best_weights=True))
    t0 = time.time()
    if augment is not None:
        from ser_lib.features.augment import augmented_mel_batches
        from ser_lib.features.features import DEFAULTS as FEATURE_DEFAULTS

        if paths is None:
            raise ValueError("augmentation needs the clips' audio paths")
        if X.ndim != 4:
            raise ValueError(f"augmentation makes log-mel batches; it needs the 'mel' feature set, not inputs "
                             f"of shape {X.shape[1:]}")
        settings = dict(augment)
        workers = int(settings.pop("workers", 2))
        train = augmented_mel_batches([paths[i] for i in split.train], onehot[split.train], batch_size=batch_size,
                                      sr=FEATURE_DEFAULTS["sr"], length=FEATURE_DEFAULTS["length"], seed=seed,
                                      workers=workers, **settings)
        hist = model.fit(train, validation_data=(X[split.val], onehot[split.val]), epochs=epochs, verbose=0,
                         callbacks=callbacks)
    else:
        hist = model.fit(X[split.train], onehot[split.train], validation_data=(X[split.val], onehot[split.val]),
                         epochs=epochs, batch_size=batch_size, verbose=0, callbacks=callbacks, shuffle=True)
    train_s = time.time() - t0
    history = pd.DataFrame(hist.history)
    history.index = np.arange(1, len(history) + 1)
    history.index.name = "epoch"
    proba = model.predict(X[split.test], batch_size=256, verbose=0)
    y_pred = np.array(labels, dtype=object)[proba.argmax(axis=1)]
    y_true = np.asarray(y, dtype=object)[split.test]
    scores = M.evaluate(y_true, y_pred, labels)
    extra = {}
    for name, X_alt in (extra_inputs or {}).items():
        alt = np.array(labels, dtype=object)[model.predict(X_alt[split.test], verbose=0).argmax(axis=1)]
        extra[name] = M.evaluate(y_true, alt, labels)
    best = int(history["val_loss"].idxmin()) if patience else len(history)
    return FoldResult(split.fold, scores, history, y_true, y_pred, proba, len(history), best, train_s, extra), model


def summarize(results, labels) -> dict:
    """Headline scores of a run: mean ± std over folds (or one split's 95 % interval),
    pooled confusion matrix and per-class table over all test clips, chance level.

    ``results`` is a list of :class:`FoldResult` (one seed) or a dict ``{seed: [FoldResult per
    fold]}``. With several seeds each seed is summarised over its folds; the headline is the mean
    over seeds, its ``_std`` the spread over folds of the seed-averaged fold scores, ``_seed_std``
    the spread over seeds of the fold means; confusion and per-class tables pool all test clips
    of every seed; ``frame`` holds the window-level scores where the folds have them.
    """
    if isinstance(results, dict):
        return _summarize_seeds(results, labels)
    labels = list(labels)
    y_true = np.concatenate([r.y_true for r in results])
    y_pred = np.concatenate([r.y_pred for r in results])
    pooled = M.evaluate(y_true, y_pred, labels)
    out = {"n_test_clips": int(y_true.size), "chance": pooled["chance"], "per_class": pooled["per_class"],
           "confusion": pooled["confusion"], "labels": labels,
           "folds": [{"fold": r.fold, **{k: r.scores[k] for k in M.HEADLINE}, "n": r.scores["n"],
                      "epochs_run": r.epochs_run, "best_epoch": r.best_epoch, "train_s": round(r.train_s, 1)}
                     for r in results]}
    if len(results) == 1:
        out.update({k: results[0].scores[k] for k in M.HEADLINE})
        out["wa_ci"] = results[0].scores["wa_ci"]
    else:
        out.update(M.summarize_folds([r.scores for r in results]))
    return out


def _summarize_seeds(runs: dict, labels) -> dict:
    per_seed = {sd: summarize(rs, labels) for sd, rs in runs.items()}
    everything = summarize([r for rs in runs.values() for r in rs], labels)
    out = {k: everything[k] for k in ("chance", "per_class", "confusion", "labels")}
    out["n_test_clips"] = int(everything["n_test_clips"] // max(1, len(runs)))
    folds = sorted({r.fold for rs in runs.values() for r in rs})
    for key in M.HEADLINE:
        by_fold = [np.mean([r.scores[key] for rs in runs.values() for r in rs if r.fold == f]) for f in folds]
        out[key] = float(np.mean([p[key] for p in per_seed.values()]))
        out[key + "_std"] = float(np.std(by_fold))
        out[key + "_seed_std"] = float(np.std([p[key] for p in per_seed.values()]))
    if all("frame" in r.extra for rs in runs.values() for r in rs):
        frame = {k: [r.extra["frame"][k] for rs in runs.values() for r in rs] for k in ("wa", "ua")}
        out["frame"] = {**{k: float(np.mean(v)) for k, v in frame.items()},
                        **{k + "_std": float(np.std(v)) for k, v in frame.items()}}
    out["per_seed"] = {str(sd): {k: p[k] for k in ("ua", "ua_std", "wa", "macro_f1")} for sd, p in per_seed.items()}
    out["folds"] = [{"seed": sd, **f} for sd, p in per_seed.items() for f in p["folds"]]
    return out


#: The headline scores a comparison row carries (mean and std over folds).
ROW_SCORES = ("ua", "ua_std", "wa", "wa_std", "macro_f1", "macro_f1_std")


def ablation_row(summary: dict, *, feature_set: str, classifier: str, normalisation: str | None,
                 fit_s: float | None = None) -> dict:
    """One row of a record's ``ablation`` table (what the report's "beyond the originals" reads)
    from a :func:`summarize` result or any dict with the :data:`ROW_SCORES` keys."""
    missing = [k for k in ROW_SCORES if k not in summary]
    if missing:
        raise KeyError(f"an ablation row needs the scores {missing}")
    return {"feature_set": feature_set, "classifier": classifier, "normalisation": normalisation,
            **{k: summary[k] for k in ROW_SCORES}, "fit_s": fit_s}


def predictions_frame(results: list[FoldResult], clips: pd.DataFrame, splits: list[Split], labels) -> pd.DataFrame:
    """Per-clip test predictions of every fold, with the clip's metadata (for breakdowns by sex,
    intensity or human vote): ``clip``, ``fold``, ``true``, ``pred``, ``p_<label>`` and the
    table's other columns (see :func:`ser_lib.evaluation.breakdown.predictions_table`)."""
    from ser_lib.evaluation.breakdown import predictions_table

    return predictions_table(clips, ((r.fold, s.test, r.y_true, r.y_pred, r.proba) for r, s in zip(results, splits)),
                             labels)
