"""The Keras side of ``predict``: saving a Keras model with its JSON sidecar, cutting a recording
into the model's windows and averaging the window probabilities."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ser_lib.config import EMOTION_NAMES
from ser_lib.features.features import feature_set, pad_or_trim, seed_features


def save_model(model, path: str | Path, *, corpus: str, labels, features, feature_settings: dict,
               experiment: str = "", scores: dict | None = None, data: str = "real") -> Path:
    """Save ``model`` as ``path`` (``.keras``) with its JSON sidecar; returns the ``.keras`` path.

    ``data`` (``"real"`` or ``"synthetic"``) records what the model was trained on."""
    if data not in ("real", "synthetic"):
        raise ValueError(f"data must be 'real' or 'synthetic', got {data!r}")
    path = Path(path).with_suffix(".keras")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    meta = {"experiment": experiment, "corpus": corpus, "labels": list(labels),
            "features": [features] if isinstance(features, str) else list(features),
            "feature_settings": dict(feature_settings), "window_samples": int(feature_settings["length"]),
            "scores": scores or {}, "trained_on": {"corpus": corpus, "data": data}}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
    return path


def windows(y: np.ndarray, length: int, *, overlap: float = 0.5) -> np.ndarray:
    """Cut a signal into windows of ``length`` samples (``overlap`` fraction), the last one aligned
    to the end; a signal shorter than one window gives one zero-padded window."""
    if y.size <= length:
        return pad_or_trim(y, length)[None]
    hop = max(1, int(length * (1 - overlap)))
    starts = list(range(0, y.size - length + 1, hop))
    if starts[-1] != y.size - length:
        starts.append(y.size - length)
    return np.stack([y[s: s + length] for s in starts])


def model_inputs(y: np.ndarray, meta: dict) -> np.ndarray:
    """Model inputs (one per window) for a mono signal at the model's sample rate."""
    s = meta["feature_settings"]
    names = tuple(dict.fromkeys(meta["features"]))
    kw = {k: s[k] for k in ("sr", "n_fft", "hop_length", "n_mels", "mfcc_sr", "n_mfcc")}
    per_window = [seed_features(w, names=names, **kw) for w in windows(y, int(meta["window_samples"]))]
    stacked = {n: np.stack([f[n] for f in per_window]) for n in names}
    return feature_set(stacked, meta["features"])


def predict_keras(paths, model, meta: dict, out: list[dict]) -> list[dict]:
    """Probabilities of a Keras model for the usable signals ``out`` (``y`` consumed), averaged over
    :func:`windows` of its window length."""
    labels = meta["labels"]
    for r in out:
        if "y" not in r:
            continue
        X = model_inputs(r.pop("y"), meta)
        proba = model.predict(X, verbose=0).mean(axis=0)
        if not np.isfinite(proba).all():
            r["error"] = "the model gave non-finite probabilities"
            continue
        best = labels[int(np.argmax(proba))]
        r.update({"emotion": best, "emotion_name": EMOTION_NAMES.get(best, best),
                  "probabilities": {lab: float(v) for lab, v in zip(labels, proba)}, "windows": int(len(X))})
    return out
