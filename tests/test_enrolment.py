"""Enrolment: neutral-reference normalisation removes the speaker and keeps the emotion, where a
skewed batch's own z-scoring removes part of the emotion."""

import numpy as np
import pandas as pd
import pytest

from ser_lib.features import enrolment as E


def speakers(n_actors=6, per_emotion=10, seed=0):
    """Feature = speaker offset + emotion offset + noise."""
    rng = np.random.default_rng(seed)
    rows, X = [], []
    shift = {"NEU": 0.0, "ANG": 3.0, "SAD": -3.0}
    for a in range(n_actors):
        offset = rng.normal(0, 10)
        for emo, s in shift.items():
            for _ in range(per_emotion):
                rows.append({"actor": a, "emotion": emo})
                X.append([offset + s + rng.normal(0, 0.3)])
    return np.array(X), pd.DataFrame(rows)


def test_enrolment_rows_pick_k_neutral_clips_per_actor_and_leave_one():
    X, t = speakers()
    mask = E.enrolment_rows(t, k=3, seed=1)
    assert (t[mask].groupby("actor").size() == 3).all() and (t[mask]["emotion"] == "NEU").all()
    assert np.array_equal(mask, E.enrolment_rows(t, k=3, seed=1))
    few = E.enrolment_rows(t.groupby(["actor", "emotion"]).head(2).reset_index(drop=True), k=5)
    assert few.sum() == 6  # 2 neutral clips per actor: one enrols, one is scored
    with pytest.raises(ValueError, match="at least 2"):
        E.enrolment_rows(t[t["emotion"] != "NEU"].reset_index(drop=True), k=3)


def test_neutral_reference_keeps_the_emotion_a_skewed_batch_loses():
    X, t = speakers()
    Z = E.neutral_reference(X, t, E.enrolment_rows(t, k=3))
    means = pd.Series(Z[:, 0]).groupby(t["emotion"]).mean()
    assert means["ANG"] == pytest.approx(3.0, abs=0.3) and means["SAD"] == pytest.approx(-3.0, abs=0.3)
    # the same anger clips z-scored inside an 8 angry + 8 neutral batch, and inside a balanced one
    batches = E.skewed_batches(t, n_emotion=8, n_neutral=8)
    assert len(batches) == 6 * 2 and all(b.size == 16 for b in batches)
    angry = [b for b in batches if set(t.loc[b, "emotion"]) == {"ANG", "NEU"}][0]
    z = E.batch_zscore(X, angry)
    gap_skewed = z[t.loc[angry, "emotion"].to_numpy() == "ANG"].mean() - z[t.loc[angry, "emotion"].to_numpy() == "NEU"].mean()
    assert gap_skewed > 0  # still ordered, but every clip of the batch moved by the anger in its mean
    assert z[t.loc[angry, "emotion"].to_numpy() == "NEU"].mean() < -0.5  # neutral no longer looks neutral
    zr = Z[angry]
    assert abs(zr[t.loc[angry, "emotion"].to_numpy() == "NEU"].mean()) < 0.3  # with the reference it does
