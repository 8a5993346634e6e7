"""Evaluation protocols: how clips are split into training, validation and test sets.

* ``seed`` — the original CREMA-D work: a stratified random 70/30 split
  (``random_state=42``), then 5 % of the 70 % as validation. Speakers are shared between the
  sets (leaky): a model can recognise the voice, not the emotion.
* ``actor`` — actor-disjoint stratified k-fold: each fold's test actors are unseen in
  training, and the validation actors are drawn from the training actors only.

Every split is a list of :class:`Split` (indices into the corpus table).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, train_test_split


@dataclass(frozen=True)
class Split:
    """Index arrays of one fold."""

    fold: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def seed_split(labels, *, test_size: float = 0.3, val_size: float = 0.05, random_state: int = 42) -> list[Split]:
    """The original work's split: ``train_test_split(test_size=0.3, random_state=42, stratify=y)``
    then the remainder again with ``test_size=0.05`` for validation."""
    labels = np.asarray(labels)
    idx = np.arange(labels.size)
    rest, test = train_test_split(idx, test_size=test_size, random_state=random_state, stratify=labels)
    # A stratified validation set needs one clip per class at least (only matters for tiny corpora).
    n_classes = len(np.unique(labels))
    if val_size * rest.size < n_classes:
        val_size = n_classes
    train, val = train_test_split(rest, test_size=val_size, random_state=random_state, stratify=labels[rest])
    return [Split(0, train, val, test)]


def actor_folds(labels, actors, *, n_folds: int = 5, val_folds: int = 8, random_state: int = 0) -> list[Split]:
    """Actor-disjoint stratified k-fold.

    Parameters
    ----------
    labels, actors : array-like
        Emotion and actor of each clip.
    n_folds : int
        Number of test folds (each actor is in exactly one test fold).
    val_folds : int
        The training actors of each fold are split this many ways (stratified, grouped by
        actor) and one part becomes the validation set (≈ 1/val_folds of them).
    random_state : int

    Returns
    -------
    list of Split
    """
    labels, actors = np.asarray(labels), np.asarray(actors)
    if labels.shape != actors.shape:
        raise ValueError("labels and actors must have the same length")
    n_actors = len(np.unique(actors))
    if n_actors < n_folds + 1:
        raise ValueError(f"{n_actors} actors cannot make {n_folds} actor-disjoint folds with validation")
    outer = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=random_state)
    splits = []
    for fold, (train_all, test) in enumerate(outer.split(np.zeros(labels.size), labels, actors)):
        k = min(val_folds, len(np.unique(actors[train_all])))
        inner = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state + fold)
        tr, va = next(inner.split(np.zeros(train_all.size), labels[train_all], actors[train_all]))
        splits.append(Split(fold, train_all[tr], train_all[va], test))
    return splits


def make_splits(protocol: str, table: pd.DataFrame, *, n_folds: int = 5, random_state: int | None = None) -> list[Split]:
    """Splits of a corpus table (``emotion``, ``actor``) under ``protocol`` (``seed`` or ``actor``)."""
    if protocol == "seed":
        return seed_split(table["emotion"], random_state=42 if random_state is None else random_state)
    if protocol == "actor":
        return actor_folds(table["emotion"], table["actor"], n_folds=n_folds,
                           random_state=0 if random_state is None else random_state)
    raise ValueError(f"unknown protocol {protocol!r}; expected 'seed' or 'actor'")


def describe(splits: list[Split], table: pd.DataFrame) -> pd.DataFrame:
    """Clips and actors per fold and part, and how many actors the parts share."""
    rows = []
    actors = table["actor"].to_numpy()
    for s in splits:
        a = {part: set(actors[getattr(s, part)]) for part in ("train", "val", "test")}
        rows.append({"fold": s.fold, "train clips": len(s.train), "val clips": len(s.val),
                     "test clips": len(s.test), "train actors": len(a["train"]), "val actors": len(a["val"]),
                     "test actors": len(a["test"]),
                     "actors shared train/test": len(a["train"] & a["test"]),
                     "actors shared train/val": len(a["train"] & a["val"])})
    return pd.DataFrame(rows)
