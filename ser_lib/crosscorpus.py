"""Cross-corpus protocol: train on one corpus, test on the other, on the emotions both share.

CREMA-D has six emotions; RAVDESS has the same six plus *calm* and *surprised*, which are left
out. A cross-corpus run trains on every actor of the source corpus (validation actors carved
from the source only) and tests on every clip of the target corpus; repeating it with other
seeds and validation actors gives a spread. The within-corpus yardstick is the actor-disjoint
protocol on the target's shared emotions.

Recording conditions differ between corpora (microphone, level, room), so raw energy-based
features shift. :func:`corpus_zscore` standardises each corpus with its *own* statistics —
the usual per-corpus normalisation of cross-corpus SER, which uses no target labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from .config import CREMA_D_EMOTIONS
from .protocols import Split

#: Emotions of both corpora (codes), in label order.
SHARED_EMOTIONS = CREMA_D_EMOTIONS

NORMALIZATIONS = ("none", "corpus")


def shared_clips(clips: pd.DataFrame, emotions=SHARED_EMOTIONS) -> pd.DataFrame:
    """The rows of a corpus table whose emotion is among ``emotions`` (index reset)."""
    if "emotion" not in clips.columns:
        raise ValueError("clips must have an 'emotion' column (a corpus table)")
    keep = clips["emotion"].isin(list(emotions))
    if not keep.any():
        raise ValueError(f"no clip has one of the emotions {list(emotions)}")
    return clips[keep].reset_index(drop=True)


def corpus_zscore(features: dict[str, np.ndarray], *, mode: str = "corpus") -> dict[str, np.ndarray]:
    """Standardise each feature of one corpus with that corpus's mean and standard deviation.

    Parameters
    ----------
    features : dict
        name → array over the corpus's clips (as from :func:`ser_lib.features.extract_features`).
    mode : {"corpus", "none"}
        ``none`` returns the features unchanged.

    Returns
    -------
    dict of float32 arrays, same shapes.
    """
    if mode not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization {mode!r}; expected one of {NORMALIZATIONS}")
    if mode == "none":
        return dict(features)
    out = {}
    for name, x in features.items():
        x = np.asarray(x, dtype=np.float32)
        std = float(x.std())
        out[name] = ((x - float(x.mean())) / (std if std > 0 else 1.0)).astype(np.float32)
    return out


def cross_split(source_labels, source_actors, n_target: int, *, val_folds: int = 8,
                random_state: int = 0) -> Split:
    """Train / validation on the source corpus, test on the whole target corpus.

    Indices refer to the source rows followed by the target rows (``np.concatenate([X_source,
    X_target])``): the test set is ``len(source) … len(source) + n_target - 1``. About
    ``1/val_folds`` of the source actors (stratified, grouped by actor) become validation.
    """
    labels, actors = np.asarray(source_labels), np.asarray(source_actors)
    if labels.shape != actors.shape or labels.ndim != 1:
        raise ValueError("source_labels and source_actors must be 1-D and of the same length")
    if n_target < 1:
        raise ValueError("the target corpus has no clip")
    k = min(val_folds, len(np.unique(actors)))
    if k < 2:
        raise ValueError("the source corpus needs at least two actors (one for validation)")
    inner = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
    train, val = next(inner.split(np.zeros(labels.size), labels, actors))
    return Split(0, np.sort(train), np.sort(val), labels.size + np.arange(n_target))


def direction_name(source: str, target: str) -> str:
    """``crema-d → ravdess`` style label."""
    return f"{source} → {target}"
