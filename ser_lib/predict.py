"""Emotion prediction for a user's audio files with a saved model.

A saved model is a pair: ``<name>.keras`` (the Keras model) and ``<name>.json`` (what is needed to
use it: the corpus, class labels, feature set and feature settings, the window length, and the
experiment's test scores). Experiments save one when their ``save_model`` parameter is set.

Any sample rate, mono or stereo, any format soundfile reads. A clip longer than the model's
window (80080 samples = 5.005 s at 16 kHz) is scored over windows with 50 % overlap and the
window probabilities are averaged; a shorter one is zero-padded, as in training.

Command line::

    python -m ser_lib predict AUDIO [AUDIO ...] [--model PATH] [--json]
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .audio import BadClipError, load_clip
from .config import EMOTION_NAMES, PROJECT_ROOT
from .features import feature_set, pad_or_trim, seed_features

DEFAULT_MODEL = PROJECT_ROOT / "reports" / "models" / "crema-d.keras"


class ModelNotFoundError(FileNotFoundError):
    """No saved model where one was expected."""


def save_model(model, path: str | Path, *, corpus: str, labels, features, feature_settings: dict,
               experiment: str = "", scores: dict | None = None) -> Path:
    """Save ``model`` as ``path`` (``.keras``) with its JSON sidecar; returns the ``.keras`` path."""
    path = Path(path).with_suffix(".keras")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    meta = {"experiment": experiment, "corpus": corpus, "labels": list(labels),
            "features": [features] if isinstance(features, str) else list(features),
            "feature_settings": dict(feature_settings), "window_samples": int(feature_settings["length"]),
            "scores": scores or {}}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
    return path


def load_model(path: str | Path | None = None):
    """Load a saved model and its sidecar. Default: ``$SER_MODEL`` or ``reports/models/crema-d.keras``.

    Returns
    -------
    model : keras.Model
    meta : dict
    """
    from .report import quiet_tensorflow

    quiet_tensorflow()
    import keras

    path = Path(path or os.environ.get("SER_MODEL") or DEFAULT_MODEL).with_suffix(".keras")
    sidecar = path.with_suffix(".json")
    if not path.is_file() or not sidecar.is_file():
        raise ModelNotFoundError(f"no saved model at {path} (with {sidecar.name}); run `make report`, which saves "
                                 "the best experiments' models under reports/models/, or pass --model PATH")
    return keras.models.load_model(path, compile=False), json.loads(sidecar.read_text())


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


def predict(paths, *, model=None, meta: dict | None = None, model_path: str | Path | None = None) -> list[dict]:
    """Predict the emotion of each audio file.

    Parameters
    ----------
    paths : str or sequence of str
        Audio files.
    model, meta : optional
        A loaded model and its sidecar (from :func:`load_model`); otherwise ``model_path`` is loaded.
    model_path : path, optional

    Returns
    -------
    list of dict
        Per file: ``file``, ``emotion`` (code), ``emotion_name``, ``probabilities`` (code → p),
        ``windows`` — or ``file`` and ``error`` (a one-line reason) when the file cannot be used.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if model is None or meta is None:
        model, meta = load_model(model_path)
    labels = meta["labels"]
    out = []
    for p in paths:
        try:
            y, _ = load_clip(p, sr=int(meta["feature_settings"]["sr"]))
        except BadClipError as exc:
            out.append({"file": str(p), "error": exc.reason})
            continue
        X = model_inputs(y, meta)
        proba = model.predict(X, verbose=0).mean(axis=0)
        best = labels[int(np.argmax(proba))]
        out.append({"file": str(p), "emotion": best, "emotion_name": EMOTION_NAMES.get(best, best),
                    "probabilities": {lab: float(v) for lab, v in zip(labels, proba)}, "windows": int(len(X))})
    return out


def format_table(results: list[dict]) -> str:
    """Plain-text table of :func:`predict` results."""
    labels = next((list(r["probabilities"]) for r in results if "probabilities" in r), [])
    head = f"{'file':40s} {'emotion':10s} " + " ".join(f"{lab:>6s}" for lab in labels)
    lines = [head, "-" * len(head)]
    for r in results:
        name = Path(r["file"]).name[:40]
        if "error" in r:
            lines.append(f"{name:40s} error: {r['error']}")
        else:
            lines.append(f"{name:40s} {r['emotion_name']:10s} " + " ".join(f"{r['probabilities'][lab]:6.2f}" for lab in labels))
    return "\n".join(lines)
