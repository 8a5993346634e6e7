"""WaDER models: a per-timestep dense autoencoder on CWT frames and a 1-D CNN + LSTM classifier
on its frozen encoder (Dutt & Gader, IEEE/ACM TASLP 31, 2023, as in the replicated work)."""

from __future__ import annotations

import gc
import time

import numpy as np

from ser_lib.models.tf_logging import quiet_tensorflow

quiet_tensorflow()

import keras  # noqa: E402
from keras import layers  # noqa: E402

ENCODER_UNITS = (64, 16, 16)
LATENT = 8
DECODER_UNITS = (16, 32, 64)


def r2_score(y_true, y_pred):
    """Coefficient of determination over all values of a batch (Keras metric)."""
    ss_res = keras.ops.sum(keras.ops.square(y_true - y_pred))
    ss_tot = keras.ops.sum(keras.ops.square(y_true - keras.ops.mean(y_true)))
    return 1.0 - ss_res / (ss_tot + keras.backend.epsilon())


def _dense_block(x, units, name):
    # Dense acts on the last axis, i.e. on every time step with shared weights: the same model as
    # TimeDistributed(Dense), without its per-step reshaping (measured 7.5x slower on CPU).
    x = layers.Dense(units, name=f"{name}_dense")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation("elu", name=f"{name}_elu")(x)


def autoencoder(frame_len: int, n_scales: int, *, learning_rate: float = 1e-3) -> tuple[keras.Model, keras.Model]:
    """Per-timestep dense autoencoder: n_scales → 64 → 16 → 16 → 8 → 16 → 32 → 64 → n_scales.

    Every hidden Dense is followed by BatchNorm and ELU. Compiled with Adam, MSE loss and R².

    Returns
    -------
    autoencoder, encoder : keras.Model
        The encoder maps ``(frame_len, n_scales)`` to ``(frame_len, 8)``.
    """
    inp = keras.Input((frame_len, n_scales), name="cwt_frame")
    x = inp
    for i, u in enumerate(ENCODER_UNITS):
        x = _dense_block(x, u, f"enc{i}")
    z = _dense_block(x, LATENT, "latent")
    x = z
    for i, u in enumerate(DECODER_UNITS):
        x = _dense_block(x, u, f"dec{i}")
    out = layers.Dense(n_scales, name="reconstruction")(x)
    ae = keras.Model(inp, out, name="wader_autoencoder")
    ae.compile(optimizer=keras.optimizers.Adam(float(learning_rate)), loss="mse", metrics=[r2_score])
    return ae, keras.Model(inp, z, name="wader_encoder")


def true_class_above_half(y_true, y_pred):
    """The original's accuracy reading (a Keras metric): a frame counts as right only when the
    probability of its true class exceeds 0.5; Keras averages it over the frames of each batch."""
    hit = keras.ops.cast(y_pred > 0.5, "float32") * keras.ops.cast(y_true, "float32")
    return keras.ops.sum(hit, axis=-1)


def original_metric(proba: np.ndarray, y_index: np.ndarray, *, batch_size: int = 64) -> float:
    """:func:`true_class_above_half` as the original read it: per batch of ``batch_size`` frames
    (in order), then the mean of the batch means."""
    hit = proba[np.arange(len(y_index)), y_index] > 0.5
    if not len(hit):
        return float("nan")
    return float(np.mean([hit[i: i + batch_size].mean() for i in range(0, len(hit), batch_size)]))


def classifier(encoder: keras.Model | None, n_classes: int, *, learning_rate: float = 1e-4,
               optimizer: str = "sgd", input_shape: tuple[int, int] | None = None) -> keras.Model:
    """Frozen encoder → Conv1D(128,3,same) → ELU → BN → MaxPool 2 → Conv1D(256,3) → ELU → BN →
    MaxPool 2 → Conv1D(512,3) → ELU → BN → MaxPool 2 → LSTM(128) → Dense(128) → ELU → BN →
    Dense(n_classes, softmax). Compiled with SGD (the original) or Adam; metrics: argmax accuracy
    and :func:`true_class_above_half`.

    ``encoder=None`` feeds the frames (``input_shape``: time, scales) to the same head directly,
    which is the ablation "raw CWT instead of the autoencoder's latent".
    """
    if optimizer not in ("sgd", "adam"):
        raise ValueError("optimizer must be 'sgd' or 'adam'")
    if encoder is None:
        if input_shape is None:
            raise ValueError("without an encoder, give the frames' input_shape (time, scales)")
        inp = keras.Input(tuple(input_shape), name="cwt_frame")
        x = inp
    else:
        encoder.trainable = False
        inp = keras.Input(encoder.input_shape[1:], name="cwt_frame")
        x = encoder(inp, training=False)
    for i, filters in enumerate((128, 256, 512)):
        x = layers.Conv1D(filters, 3, padding="same", name=f"conv{i}")(x)
        x = layers.Activation("elu")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling1D(2, padding="same")(x)
    x = layers.LSTM(128)(x)
    x = layers.Dense(128)(x)
    x = layers.Activation("elu")(x)
    x = layers.BatchNormalization()(x)
    out = layers.Dense(n_classes, activation="softmax")(x)
    model = keras.Model(inp, out, name="wader_classifier")
    opt = (keras.optimizers.SGD(float(learning_rate)) if optimizer == "sgd"
           else keras.optimizers.Adam(float(learning_rate)))
    model.compile(optimizer=opt, loss="categorical_crossentropy", metrics=["accuracy", true_class_above_half])
    return model


def epoch_scores(sets: dict, *, batch_size: int = 64):
    """A Keras callback that scores the model after every epoch (inference mode) on each named set
    ``{name: (X, y_index)}``: argmax accuracy and :func:`original_metric`. Read ``.rows``."""

    class EpochScores(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rows: list[dict] = []

        def on_train_begin(self, logs=None):
            self.rows = []

        def on_epoch_end(self, epoch, logs=None):
            row = {"epoch": epoch + 1, **{f"fit_{k}": float(v) for k, v in (logs or {}).items()}}
            for name, (X, y) in sets.items():
                p = self.model.predict(X, batch_size=256, verbose=0)
                row[f"{name}_argmax"] = float((p.argmax(1) == y).mean())
                row[f"{name}_p>0.5"] = original_metric(p, y, batch_size=batch_size)
            self.rows.append(row)

    return EpochScores()


def train_wader_fold(X_train, y_train, X_val, y_val, *, labels, ae_epochs: int, clf_epochs: int,
                     ae_batch: int = 128, clf_batch: int = 64, ae_lr: float = 1e-3, clf_lr: float = 1e-4,
                     optimizer: str = "sgd", patience: int | None = None, seed: int = 0, desc: str = "",
                     score_sets: dict | None = None):
    """Train the autoencoder on the training frames, then the classifier on its frozen encoder.

    Model selection (early stopping, when ``patience`` is set) uses the validation frames only.
    ``score_sets`` (``{name: (X, labels)}``) are scored after every classifier epoch
    (:func:`epoch_scores`): argmax accuracy and the original's p > 0.5 reading.

    Returns
    -------
    dict with ``autoencoder``, ``encoder``, ``classifier`` (models), ``ae_history``,
    ``clf_history`` (dicts of lists), ``epoch_scores`` (list of dicts, or empty), ``ae_s``,
    ``clf_s`` (seconds).
    """
    from ser_lib.models.training import epoch_bar

    labels = list(labels)
    index = {lab: i for i, lab in enumerate(labels)}
    to_index = lambda y: np.array([index[v] for v in y], dtype=int)  # noqa: E731
    to1h = lambda y: keras.utils.to_categorical(to_index(y), len(labels))  # noqa: E731
    from ser_lib.models.croptrain import seed_everything

    seed_everything(seed)
    ae, enc = autoencoder(X_train.shape[1], X_train.shape[2], learning_rate=ae_lr)
    t0 = time.time()
    ae_hist = ae.fit(X_train, X_train, validation_data=(X_val, X_val), epochs=ae_epochs, batch_size=ae_batch,
                     verbose=0, callbacks=[epoch_bar(ae_epochs, f"{desc} autoencoder")])
    ae_s = time.time() - t0
    clf = classifier(enc, len(labels), learning_rate=clf_lr, optimizer=optimizer)
    callbacks = [epoch_bar(clf_epochs, f"{desc} classifier")]
    scorer = None
    if score_sets:
        scorer = epoch_scores({k: (X, to_index(y)) for k, (X, y) in score_sets.items()}, batch_size=clf_batch)
        callbacks.insert(0, scorer)
    if patience:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True))
    t0 = time.time()
    clf_hist = clf.fit(X_train, to1h(y_train), validation_data=(X_val, to1h(y_val)), epochs=clf_epochs,
                       batch_size=clf_batch, verbose=0, callbacks=callbacks, shuffle=True)
    return {"autoencoder": ae, "encoder": enc, "classifier": clf, "ae_history": ae_hist.history,
            "clf_history": clf_hist.history, "epoch_scores": scorer.rows if scorer else [],
            "ae_s": ae_s, "clf_s": time.time() - t0}


def release_memory() -> None:
    """Free the models and compiled graphs of a finished fold before the next one.

    Without it each fold kept ~0.75 GB alive (measured on the 60-clip seed set) and the 6-fold
    actor run peaked at 9.6 GB; Keras' ``clear_session`` plus glibc's ``malloc_trim`` (which hands
    freed heap pages back to the system) bring the growth down to ~0.25 GB per fold.
    """
    keras.backend.clear_session(free_memory=True)
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        pass


def predict_frames(model: keras.Model, X: np.ndarray) -> np.ndarray:
    """Frame probabilities (batched)."""
    return model.predict(X, batch_size=256, verbose=0)


# --------------------------------------------------------------------------------------------
# Protocols and one fold, end to end
# --------------------------------------------------------------------------------------------

def seed_subset(clips, *, n_clips: int = 60):
    """The original's data subset: the first ``n_clips`` files in directory order (sorted paths).

    In the usual RAVDESS layout these are the 60 clips of Actor_01 alone.
    """
    return clips.sort_values("path", kind="stable").head(n_clips).reset_index(drop=True)


def splits(clips, protocol: str, *, n_folds: int = 6, random_state: int = 42):
    """WaDER splits of a clip table.

    ``seed``: ``train_test_split(test_size=0.3, random_state=42)`` at clip level, the 30 % split
    again 75/25 into validation and test, and validation + test merged for evaluation (as the
    original did); the validation part is also what training monitors.
    ``actor``: actor-disjoint stratified folds (default 6 folds of 4 actors), validation actors
    drawn from the training actors.
    """
    from sklearn.model_selection import train_test_split

    from ser_lib.data.protocols import Split, actor_folds

    if protocol == "seed":
        idx = np.arange(len(clips))
        train, rest = train_test_split(idx, test_size=0.3, random_state=random_state)
        val, test = train_test_split(rest, test_size=0.25, random_state=random_state)
        return [Split(0, np.sort(train), np.sort(val), np.sort(np.concatenate([val, test])))]
    if protocol == "actor":
        return actor_folds(clips["emotion"], clips["actor"], n_folds=n_folds, val_folds=5, random_state=0)
    raise ValueError(f"unknown protocol {protocol!r}; expected 'seed' or 'actor'")


def run_fold(store, split, *, labels, protocol: str, frame_samples: int = 4000, max_frames: int | None = 100,
             ae_epochs: int = 50, clf_epochs: int = 50, ae_lr: float = 1e-3, clf_lr: float = 1e-4,
             optimizer: str = "sgd", patience: int | None = None, seed: int = 0, split_level: str = "clip",
             frame_layout: str = "transpose", log_epochs: bool = False, desc: str = "") -> dict:
    """Frames → autoencoder → classifier for one fold; scores at frame and clip level.

    ``split_level="frame"`` (seed protocol only) is a *stronger* leak than the original's (which
    splits clips before any feature is computed, i.e. ``split_level="clip"``): the frames of *all*
    the fold's clips (clean and noisy) are pooled and split at random 70/30 (``random_state=42``;
    the 30 % again 75/25 into validation and test, merged for evaluation), so most evaluation
    frames have a neighbouring frame, or their clean/noisy twin, in training. It exists to measure
    how much such a leak inflates frame accuracy; clip-level scores are then meaningless and
    flagged ``leaky``.

    Under ``seed`` the noisy copies are on both sides, as in the original; under ``actor`` they
    are used for training only. Frames never mix clips, and a clip is on one side only.

    ``frame_layout`` is :func:`ser_lib.features.wavelet.arrange_frames`'. ``log_epochs`` scores the
    training and evaluation frames after every classifier epoch, by argmax and by the original's
    p > 0.5 reading (``epoch_scores`` in the result). Early stopping (``patience``) is refused when
    the validation clips are among the test clips (the ``seed`` protocol), since it would select
    on test data.

    Returns
    -------
    dict: ``frame`` and ``clip`` (:func:`ser_lib.evaluation.metrics.evaluate` outputs), ``train_frame``
    (scores on the training frames), ``ae`` (final MSE and R² on validation frames), histories,
    frame counts, timings, and the clip-level predictions (``clip_rows``, ``clip_true``,
    ``clip_pred``).
    """
    from ser_lib.evaluation import metrics as M
    from ser_lib.features.wavelet import clip_probabilities, frame_dataset

    y_all = store.clips["emotion"].to_numpy()
    eval_noisy = "also" if protocol == "seed" else "no"
    if patience and set(np.asarray(split.val)) & set(np.asarray(split.test)):
        raise ValueError("early stopping would select on test clips: the validation clips are among the test "
                         "clips under this protocol (set patience to None)")
    kw = dict(frame_samples=frame_samples, max_frames=max_frames, seed=seed, layout=frame_layout)
    if split_level == "frame":
        if protocol != "seed":
            raise ValueError("split_level='frame' is only for reproducing the seed protocol's leak")
        from sklearn.model_selection import train_test_split

        everything = np.union1d(split.train, split.test)
        X_all, own_all = frame_dataset(store, everything, noisy="also", **kw)
        tr, rest = train_test_split(np.arange(len(X_all)), test_size=0.3, random_state=42)
        va, te = train_test_split(rest, test_size=0.25, random_state=42)
        te = np.concatenate([va, te])
        X_tr, own_tr, X_va, own_va, X_te, own_te = (X_all[tr], own_all[tr], X_all[va], own_all[va],
                                                    X_all[te], own_all[te])
    elif split_level == "clip":
        X_tr, own_tr = frame_dataset(store, split.train, noisy="also", **kw)
        X_va, own_va = frame_dataset(store, split.val, noisy=eval_noisy, **kw)
        X_te, own_te = frame_dataset(store, split.test, noisy=eval_noisy, **kw)
        if set(own_tr) & set(own_te):
            raise AssertionError("a clip contributes frames to both training and test")
    else:
        raise ValueError("split_level must be 'clip' or 'frame'")
    sets = {"train": (X_tr, y_all[own_tr]), "eval": (X_te, y_all[own_te])} if log_epochs else None
    out = train_wader_fold(X_tr, y_all[own_tr], X_va, y_all[own_va], labels=labels, ae_epochs=ae_epochs,
                           clf_epochs=clf_epochs, ae_lr=ae_lr, clf_lr=clf_lr, optimizer=optimizer,
                           patience=patience, seed=seed, desc=desc, score_sets=sets)
    clf = out["classifier"]
    lab = np.array(labels, dtype=object)
    p_te = predict_frames(clf, X_te)
    p_tr = predict_frames(clf, X_tr)
    rows, p_clip = clip_probabilities(p_te, own_te)
    ae_eval = out["autoencoder"].evaluate(X_te, X_te, verbose=0, return_dict=True)
    del out["autoencoder"], out["encoder"], out["classifier"], clf
    release_memory()
    return {
        "frame": M.evaluate(y_all[own_te], lab[p_te.argmax(1)], labels),
        "clip": M.evaluate(y_all[rows], lab[p_clip.argmax(1)], labels),
        "train_frame": M.evaluate(y_all[own_tr], lab[p_tr.argmax(1)], labels),
        "ae_test": {"mse": float(ae_eval["loss"]), "r2": float(ae_eval["r2_score"])},
        "ae_history": out["ae_history"], "clf_history": out["clf_history"], "epoch_scores": out["epoch_scores"],
        "n_frames": {"train": int(len(X_tr)), "val": int(len(X_va)), "test": int(len(X_te))},
        "frame_len": int(X_tr.shape[1]), "ae_s": out["ae_s"], "clf_s": out["clf_s"],
        "clip_rows": rows, "clip_true": y_all[rows], "clip_pred": lab[p_clip.argmax(1)], "clip_proba": p_clip,
        "train_owners": np.unique(own_tr), "test_owners": np.unique(own_te),
        "leaky": split_level == "frame",
    }


def predictions_frame(results: list[dict], clips, labels):
    """Clip-level test predictions of every fold with the clips' metadata: ``clip``, ``fold``,
    ``true``, ``pred``, ``p_<label>`` (mean frame probabilities) and the table's other columns
    (see :func:`ser_lib.evaluation.breakdown.predictions_table`)."""
    from ser_lib.evaluation.breakdown import predictions_table

    return predictions_table(clips, ((k, r["clip_rows"], r["clip_true"], r["clip_pred"], r["clip_proba"])
                                     for k, r in enumerate(results)), labels)


def summarize_folds(results: list[dict], labels) -> dict:
    """Headline figures over folds: clip and frame level (mean ± std, or one split's interval)."""
    from ser_lib.evaluation import metrics as M

    out = {}
    for level in ("clip", "frame"):
        scores = [r[level] for r in results]
        if len(results) == 1:
            s = {k: scores[0][k] for k in M.HEADLINE}
            s["wa_ci"] = scores[0]["wa_ci"]
        else:
            s = M.summarize_folds(scores)
        s["n"] = int(sum(x["n"] for x in scores))
        out[level] = s
    y_true = np.concatenate([r["clip_true"] for r in results])
    y_pred = np.concatenate([r["clip_pred"] for r in results])
    pooled = M.evaluate(y_true, y_pred, labels)
    out["clip_pooled"] = {"confusion": pooled["confusion"], "per_class": pooled["per_class"], "chance": pooled["chance"]}
    out["ae"] = {"mse": float(np.mean([r["ae_test"]["mse"] for r in results])),
                 "mse_std": float(np.std([r["ae_test"]["mse"] for r in results])),
                 "r2": float(np.mean([r["ae_test"]["r2"] for r in results])),
                 "r2_std": float(np.std([r["ae_test"]["r2"] for r in results]))}
    return out
