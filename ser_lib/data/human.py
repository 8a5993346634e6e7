"""Human listeners on CREMA-D: the crowd's voice-only majority vote against the intended emotion."""

from __future__ import annotations

import pandas as pd

from ser_lib.config import CREMA_D_EMOTIONS
from ser_lib.evaluation.metrics import confusion, evaluate


def human_scores(clips: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """Score the voice-only majority vote of ``summaryTable.csv`` as if it were a classifier.

    A tied vote (several emotions with the same count) is counted as wrong; clips without a
    vote are left out and counted in ``n_without_vote``.

    Parameters
    ----------
    clips : DataFrame
        CREMA-D table from :func:`ser_lib.data.corpus.crema_d_table` (``emotion``, ``human_vote``).

    Returns
    -------
    scores : dict
        :func:`ser_lib.evaluation.metrics.evaluate` output plus ``n_ties`` and ``n_without_vote``.
    matrix : DataFrame
        Confusion matrix, intended emotion × voted emotion, with a ``tie`` column.
    """
    if not {"emotion", "human_vote"} <= set(clips.columns):
        raise ValueError("clips must have 'emotion' and 'human_vote' columns (CREMA-D table)")
    voted = clips[clips["human_vote"].notna()]
    if voted.empty:
        raise ValueError("no clip has a human vote (is summaryTable.csv missing?)")
    labels = list(CREMA_D_EMOTIONS)
    scores = evaluate(voted["emotion"], voted["human_vote"], labels)
    scores["n_ties"] = int((voted["human_vote"] == "tie").sum())
    scores["n_without_vote"] = int(len(clips) - len(voted))
    matrix = confusion(voted["emotion"], voted["human_vote"], labels, extra=["tie"])
    return scores, matrix
