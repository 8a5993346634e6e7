"""Variable-length log-mel spectrograms for the CRNN: no zero-padding to 5 s, the clip's own frames.

Unlike the seed features (every clip zero-padded to 80080 samples, dB relative to the clip's
maximum), these keep each clip's true length and absolute level: ``log(mel power + 1e-6)`` with
librosa (``n_fft=512``, ``hop_length=256`` = 16 ms, 64 mel bands, 16 kHz). Stored as float16,
padded to ``max_frames`` in the cache with the true frame count beside them; :func:`crops` and
:func:`windows` cut fixed-length pieces for training and scoring.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ser_lib.data.audio import BadClipError, load_clip
from ser_lib.config import DEFAULT_SR

DEFAULTS = {"sr": DEFAULT_SR, "n_fft": 512, "hop_length": 256, "n_mels": 64, "max_frames": 320}


def log_mel(y: np.ndarray, *, sr: int = DEFAULT_SR, n_fft: int = 512, hop_length: int = 256,
            n_mels: int = 64) -> np.ndarray:
    """``log(melspectrogram + 1e-6)``, shape ``(frames, n_mels)``, float32.

    Examples
    --------
    >>> log_mel(np.zeros(16000, dtype=np.float32)).shape
    (63, 64)
    """
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"expected a non-empty 1-D signal, got shape {y.shape}")
    S = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)
    return np.log(S + 1e-6).T.astype(np.float32)


def _clip_mel(path: str, *, settings: dict) -> dict | str:
    try:
        y, _ = load_clip(path, sr=settings["sr"])
    except BadClipError as exc:
        return exc.reason
    m = log_mel(y, **{k: settings[k] for k in ("sr", "n_fft", "hop_length", "n_mels")})[: settings["max_frames"]]
    out = np.full((settings["max_frames"], settings["n_mels"]), np.log(1e-6), dtype=np.float16)
    out[: len(m)] = m
    return {"mel": out, "n_frames": np.array(len(m), dtype=np.int32)}


def extract(clips: pd.DataFrame, *, cache: str | Path | None = None, n_jobs: int = -1, progress: bool = True,
            **settings) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, pd.DataFrame]:
    """Log-mel of every clip of a corpus table, from the on-disk cache where possible.

    Returns
    -------
    mel : ndarray, shape (n_kept, max_frames, n_mels), float16 (padding beyond ``n_frames``)
    n_frames : ndarray of int, shape (n_kept,)
    kept, skipped : DataFrame
    """
    from ser_lib.features.clipcache import cached_map, split_results, store_path
    from ser_lib.models.training import merge_settings

    settings = merge_settings(settings, DEFAULTS, what="log-mel")
    store = store_path(cache, "logmel", settings)
    keys, cached = cached_map(list(clips["path"]), partial(_clip_mel, settings=settings), store=store,
                              names=("mel", "n_frames"), n_jobs=n_jobs, progress=progress, desc="Log-mel")
    ok, kept, skipped = split_results(clips, keys, cached)
    mel = np.stack([cached[k]["mel"] for k, good in zip(keys, ok) if good])
    n_frames = np.array([int(cached[k]["n_frames"]) for k, good in zip(keys, ok) if good])
    return mel, n_frames, kept, skipped


def band_stats(mel: np.ndarray, n_frames: np.ndarray, rows) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of every mel band over the real (unpadded) frames of the given clips."""
    rows = np.asarray(rows)
    frames = np.concatenate([mel[i, : n_frames[i]].astype(np.float32) for i in rows])
    return frames.mean(axis=0), frames.std(axis=0) + 1e-5


def normalise(mel: np.ndarray, n_frames: np.ndarray, groups, *, fit_rows=None) -> np.ndarray:
    """Z-score the bands of every clip.

    ``groups`` given (e.g. actors): each group with its own clips' statistics (per-speaker
    normalisation, no labels used). ``groups=None``: one mean and std from the clips ``fit_rows``
    (the training clips: global normalisation). Returns float16.
    """
    out = np.empty_like(mel, dtype=np.float16)
    if groups is None:
        if fit_rows is None:
            raise ValueError("global normalisation needs the training rows (fit_rows)")
        mean, std = band_stats(mel, n_frames, fit_rows)
        for i in range(len(mel)):
            out[i] = (mel[i].astype(np.float32) - mean) / std
        return out
    groups = np.asarray(groups)
    for g in pd.unique(groups):
        rows = np.flatnonzero(groups == g)
        mean, std = band_stats(mel, n_frames, rows)
        for i in rows:
            out[i] = (mel[i].astype(np.float32) - mean) / std
    return out


def crops(mel: np.ndarray, n_frames: np.ndarray, rows, *, length: int, rng: np.random.Generator) -> np.ndarray:
    """One random ``length``-frame crop of each clip in ``rows`` (a shorter clip is placed at a random
    offset in zeros, i.e. at the normalised mean)."""
    out = np.zeros((len(rows), length, mel.shape[2]), dtype=np.float32)
    for j, i in enumerate(rows):
        n = int(n_frames[i])
        if n >= length:
            s = int(rng.integers(0, n - length + 1))
            out[j] = mel[i, s: s + length]
        else:
            s = int(rng.integers(0, length - n + 1))
            out[j, s: s + n] = mel[i, :n]
    return out


def windowed_predictions(model, X: np.ndarray, lengths: np.ndarray, rows, *, length: int):
    """Windowed scoring: every clip of ``rows`` cut into :func:`windows` (50 % overlap) and run
    through ``model``.

    Returns
    -------
    proba : ndarray (windows, classes)
    owner : ndarray of int (position in ``rows`` of each window's clip)
    clip_proba : ndarray (len(rows), classes), the mean of each clip's windows
    """
    W, owner = windows(X, lengths, rows, length=length, hop=max(1, length // 2))
    p = model.predict(W, batch_size=256, verbose=0)
    clip = np.zeros((len(rows), p.shape[1]))
    np.add.at(clip, owner, p)
    return p, owner, clip / np.bincount(owner, minlength=len(rows))[:, None]


def windows(mel: np.ndarray, n_frames: np.ndarray, rows, *, length: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Every clip of ``rows`` cut into ``length``-frame windows (``hop`` apart, the last aligned to
    the clip's end; a shorter clip gives one centred window). Returns the windows and, for each,
    the position in ``rows`` of its clip."""
    parts, owner = [], []
    for j, i in enumerate(rows):
        n = int(n_frames[i])
        if n <= length:
            w = np.zeros((1, length, mel.shape[2]), dtype=np.float32)
            s = (length - n) // 2
            w[0, s: s + n] = mel[i, :n]
        else:
            starts = list(range(0, n - length + 1, hop))
            if starts[-1] != n - length:
                starts.append(n - length)
            w = np.stack([mel[i, s: s + length] for s in starts]).astype(np.float32)
        parts.append(w)
        owner += [j] * len(w)
    return np.concatenate(parts), np.array(owner)
