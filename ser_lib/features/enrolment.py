"""Speaker enrolment: normalising a speaker's features with a few of that speaker's *neutral*
recordings, and the skewed batches that show why a mixed batch is not enough.

``speaker`` normalisation (:mod:`ser_lib.features.normalise`) z-scores a speaker's clips with the
statistics of the batch itself. That removes the speaker, but when the batch is not balanced over
emotions (a user's eight angry clips and eight neutral ones) it also removes part of the emotion:
the batch mean *is* mostly anger. :func:`neutral_reference` instead subtracts the mean of ``k``
neutral clips of the same speaker, which says nothing about the emotions of the other clips; the
classifier's scaler (fitted on training clips) then scales every feature as usual. The enrolment
clips are used only for statistics and are never scored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The label of the enrolment recordings.
NEUTRAL = "NEU"


def enrolment_rows(table: pd.DataFrame, *, k: int, seed: int = 0, neutral: str = NEUTRAL) -> np.ndarray:
    """A boolean mask of ``k`` neutral clips per actor, drawn with ``seed`` (fewer when an actor has
    fewer than ``k + 1`` neutral clips: one is always left to score)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    for column in ("actor", "emotion"):
        if column not in table:
            raise ValueError(f"the clip table needs an {column!r} column")
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(table), dtype=bool)
    actors, emotions = table["actor"].to_numpy(), table["emotion"].to_numpy()
    for actor in pd.unique(actors):
        rows = np.flatnonzero((actors == actor) & (emotions == neutral))
        if rows.size < 2:
            raise ValueError(f"actor {actor!r} has {rows.size} neutral clip(s); enrolment needs at least 2")
        mask[rng.choice(rows, size=min(k, rows.size - 1), replace=False)] = True
    return mask


def neutral_reference(X: np.ndarray, table: pd.DataFrame, enrol: np.ndarray) -> np.ndarray:
    """Subtract from every clip the mean of its actor's enrolment clips (``enrol`` rows).

    >>> t = pd.DataFrame({"actor": [1, 1, 2, 2], "emotion": ["NEU", "ANG", "NEU", "ANG"]})
    >>> neutral_reference(np.array([[1.0], [3.0], [10.0], [13.0]]), t, np.array([1, 0, 1, 0], bool)).ravel().tolist()
    [0.0, 2.0, 0.0, 3.0]
    """
    X = np.asarray(X, dtype=np.float64)
    enrol = np.asarray(enrol, dtype=bool)
    if X.ndim != 2 or enrol.shape != (len(table),) or X.shape[0] != len(table):
        raise ValueError(f"need X of shape (n, d) and one table row and mask entry per clip; got {X.shape}, "
                         f"{len(table)} rows, mask {enrol.shape}")
    out = np.empty_like(X)
    actors = table["actor"].to_numpy()
    for actor in pd.unique(actors):
        rows = actors == actor
        if not (rows & enrol).any():
            raise ValueError(f"actor {actor!r} has no enrolment clip")
        out[rows] = X[rows] - X[rows & enrol].mean(axis=0)
    return out.astype(np.float32)


def skewed_batches(table: pd.DataFrame, *, n_emotion: int = 8, n_neutral: int = 8, seed: int = 0,
                   neutral: str = NEUTRAL) -> list[np.ndarray]:
    """Row indices of realistic, unbalanced batches: for every actor and every non-neutral emotion,
    ``n_emotion`` clips of that emotion plus ``n_neutral`` neutral clips of the same actor (fewer when
    the actor has fewer)."""
    rng = np.random.default_rng(seed)
    actors, emotions = table["actor"].to_numpy(), table["emotion"].to_numpy()
    batches = []
    for actor in pd.unique(actors):
        own = actors == actor
        neutral_rows = np.flatnonzero(own & (emotions == neutral))
        for emotion in sorted(set(emotions[own]) - {neutral}):
            rows = np.flatnonzero(own & (emotions == emotion))
            pick = [rng.choice(rows, size=min(n_emotion, rows.size), replace=False),
                    rng.choice(neutral_rows, size=min(n_neutral, neutral_rows.size), replace=False)]
            batches.append(np.sort(np.concatenate(pick)))
    return batches


def batch_zscore(X: np.ndarray, batch: np.ndarray) -> np.ndarray:
    """The rows of one batch z-scored with that batch's own mean and std (``speaker`` normalisation
    as ``predict --same-speaker`` applies it to a user's batch)."""
    from ser_lib.features.normalise import group_zscore

    batch = np.asarray(batch)
    return group_zscore(np.asarray(X)[batch], np.zeros(batch.size))
