"""WaDER trained properly: all clips, actor-disjoint folds, trained until validation says stop.

The models are the replication's (:func:`ser_lib.models.wader.autoencoder`, :func:`ser_lib.models.wader.classifier`);
the training is the shared crop trainer (:mod:`ser_lib.models.croptrain`): random crops of every training
clip (clean and noisy copies) each epoch, early stopping on the validation actors' clip UA with the
best weights restored, all windows of every test clip scored once at the end.
"""

from __future__ import annotations

import time

import numpy as np

from ser_lib.data.protocols import Split

#: Settings of :func:`train_converged_fold`. Chosen for the 60-min budget on 2 cores before any
#: run (one crop per clip copy and epoch, at most 30 epochs, patience 6); nothing here was tuned on
#: test actors.
CONVERGED = {"frame_steps": 250, "crops_per_clip": 1, "encoder": True, "ae_epochs": 5, "ae_lr": 1e-3,
             "ae_batch": 128, "epochs": 30, "patience": 6, "learning_rate": 1e-3, "optimizer": "adam",
             "batch_size": 64}


def with_noisy_copies(clean: np.ndarray, noisy: np.ndarray, lengths: np.ndarray, split: Split):
    """Stack clean and noisy copies (rows ``0…n-1`` and ``n…2n-1``) and put the noisy copies of
    the *training* clips into training; validation and test keep their clean copies only.

    Returns
    -------
    X : ndarray (2n, T, scales), lengths : ndarray (2n,), split : Split (train rows extended)
    """
    n = len(clean)
    train = np.concatenate([np.asarray(split.train), np.asarray(split.train) + n])
    return (np.concatenate([clean, noisy]), np.concatenate([lengths, lengths]),
            Split(split.fold, train, np.asarray(split.val), np.asarray(split.test)))


def train_converged_fold(X: np.ndarray, lengths: np.ndarray, y, split: Split, *, labels, seed: int = 0,
                         desc: str = "", **settings):
    """WaDER trained to convergence on one actor-disjoint fold.

    The autoencoder (``encoder=True``) is first trained on random ``frame_steps``-long crops of the
    training clips and frozen, then the 1-D CNN + LSTM classifier is trained by
    :func:`ser_lib.models.croptrain.train_on_crops` (Adam by default). ``encoder=False`` feeds the
    (normalised log) CWT to the same classifier directly (the ablation).

    Parameters
    ----------
    X : ndarray (rows, T, scales)
        Normalised coefficients, zero-padded (rows as in ``split``).
    lengths : ndarray of int
    y : array of str, one per row
    split : Split
    labels : sequence of str
    seed : int
    **settings
        Overrides of :data:`CONVERGED`.

    Returns
    -------
    FoldResult (``history`` as :func:`ser_lib.models.croptrain.fit_on_crops`; ``extra``: ``frame`` test
    scores over windows, ``n_windows``, the autoencoder's ``ae_history`` and seconds ``ae_s``)
    """
    from tqdm import tqdm

    from ser_lib.features import melspec
    from ser_lib.models.croptrain import seed_everything, train_on_crops
    from ser_lib.models.training import merge_settings
    from ser_lib.models.wader import autoencoder, classifier, release_memory

    s = merge_settings(settings, CONVERGED, what="WaDER")
    T, n_scales = int(s["frame_steps"]), X.shape[2]
    rng = seed_everything(seed)
    encoder, ae_history, ae_s = None, [], 0.0
    if s["encoder"]:
        ae, encoder = autoencoder(T, n_scales, learning_rate=s["ae_lr"])
        train_rows = np.repeat(np.asarray(split.train), int(s["crops_per_clip"]))
        t0 = time.time()
        for _ in tqdm(range(int(s["ae_epochs"])), desc=f"{desc} autoencoder", unit="epoch", mininterval=5.0):
            crops = melspec.crops(X, lengths, train_rows, length=T, rng=rng)
            h = ae.fit(crops, crops, batch_size=int(s["ae_batch"]), epochs=1, verbose=0, shuffle=True).history
            ae_history.append({"loss": h["loss"][-1], "r2": h["r2_score"][-1]})
        ae_s = time.time() - t0
    model = classifier(encoder, len(labels), learning_rate=s["learning_rate"], optimizer=s["optimizer"],
                       input_shape=(T, n_scales))
    result = train_on_crops(model, X, lengths, y, split, labels=labels, crop=T, rng=rng, epochs=s["epochs"],
                            patience=s["patience"], batch_size=s["batch_size"],
                            crops_per_clip=s["crops_per_clip"], desc=f"{desc} classifier")
    result.extra.update({"ae_history": ae_history, "ae_s": ae_s})
    del model, encoder
    release_memory()
    return result


def ablation_row(summary: dict, *, encoder: bool, time_pool: int, frame_seconds: float) -> dict:
    """The report's ablation row (:data:`ser_lib.reporting.record.ABLATION_KEYS`) of a multi-seed
    :func:`ser_lib.models.training.summarize` summary."""
    return {"feature_set": f"log-CWT ×{time_pool}, {frame_seconds} s" + (" → autoencoder latent" if encoder else ""),
            "classifier": "1-D CNN + LSTM (WaDER)", "normalisation": "global", "encoder": bool(encoder),
            "time_pool": time_pool, "frame_s": frame_seconds, "seeds": len(summary["per_seed"]),
            **{k: summary[k] for k in ("ua", "ua_std", "ua_seed_std", "wa", "wa_std", "macro_f1", "macro_f1_std")},
            "frame_ua": summary["frame"]["ua"],
            "epochs_run": float(np.mean([f["epochs_run"] for f in summary["folds"]])),
            "fit_s": round(sum(f["train_s"] for f in summary["folds"]), 1)}
