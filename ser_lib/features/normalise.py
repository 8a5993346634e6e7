"""Feature normalisation, named so that every figure can say which one it used.

==============  ===========================================================================
normalisation   what it does
==============  ===========================================================================
``global``      z-score every feature with the mean and std of the *training clips* of the
                fold (done by the classifier's scaler). Needs only the clip itself at test
                time: what a user with one recording of an unknown speaker gets.
``speaker``     z-score every feature with the mean and std of the *same actor's own clips*,
                in training and test alike, without looking at any label. Transductive: it
                assumes several recordings of the test speaker are available (a batch of one
                speaker's recordings, ``predict --same-speaker``). The classifier's scaler
                then runs on top, harmlessly.
``corpus``      the same per corpus (cross-corpus experiments): each corpus is z-scored with
                its own clips' statistics.
==============  ===========================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Normalisations and the corpus-table column that defines their groups (None: no grouping).
NORMALISATIONS = {"global": None, "speaker": "actor", "corpus": "corpus"}

#: Below this standard deviation a feature counts as constant within a group (set to 0).
MIN_STD = 1e-8


def check_normalisation(name: str) -> str:
    """Validate a normalisation name and return it."""
    if name not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {name!r}; expected one of {sorted(NORMALISATIONS)}")
    return name


def group_zscore(X: np.ndarray, groups) -> np.ndarray:
    """Z-score the rows of ``X`` group by group, each with its own mean and std.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    groups : array-like, shape (n,)
        Group of each row (e.g. actor). Labels are never used.

    Returns
    -------
    ndarray, shape (n, d), float32
        A feature that is constant within a group becomes 0 there.

    Examples
    --------
    >>> X = np.array([[1.0], [3.0], [10.0], [30.0]])
    >>> group_zscore(X, ["a", "a", "b", "b"]).ravel().tolist()
    [-1.0, 1.0, -1.0, 1.0]
    """
    X = np.asarray(X, dtype=np.float64)
    groups = np.asarray(groups)
    if X.ndim != 2 or groups.shape != (X.shape[0],):
        raise ValueError(f"need X of shape (n, d) and one group per row; got {X.shape} and {groups.shape}")
    out = np.empty_like(X)
    for g in pd.unique(groups):
        rows = groups == g
        mean = X[rows].mean(axis=0)
        std = X[rows].std(axis=0)
        out[rows] = np.where(std > MIN_STD, (X[rows] - mean) / np.where(std > MIN_STD, std, 1.0), 0.0)
    return out.astype(np.float32)


def normalise(X: np.ndarray, table: pd.DataFrame, normalisation: str) -> np.ndarray:
    """Apply a named normalisation (see the module table) to the features of a corpus table.

    ``global`` returns ``X`` unchanged: its z-scoring uses training-fold statistics and is done by
    the classifier's scaler, fitted on the training clips only.
    """
    column = NORMALISATIONS[check_normalisation(normalisation)]
    if column is None:
        return np.asarray(X, dtype=np.float32)
    if column not in table:
        raise ValueError(f"normalisation {normalisation!r} needs a {column!r} column in the corpus table")
    return group_zscore(X, table[column].to_numpy())
