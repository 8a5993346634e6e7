import pandas as pd
import pytest

from ser_lib.data import corpus
from ser_lib.data.human import human_scores
from conftest import real_corpus


def test_human_scores_tie_counts_as_wrong():
    clips = pd.DataFrame({"emotion": ["ANG", "ANG", "SAD", "NEU", "HAP"],
                          "human_vote": ["ANG", "tie", "SAD", "SAD", None]})
    scores, matrix = human_scores(clips)
    assert scores["n"] == 4 and scores["n_ties"] == 1 and scores["n_without_vote"] == 1
    assert scores["wa"] == pytest.approx(2 / 4)
    assert matrix.loc["ANG", "tie"] == 1 and matrix.loc["NEU", "SAD"] == 1


def test_human_scores_needs_votes():
    with pytest.raises(ValueError, match="no clip has a human vote"):
        human_scores(pd.DataFrame({"emotion": ["ANG"], "human_vote": [None]}))


@pytest.mark.realdata
def test_human_accuracy_on_real_crema_d():
    clips, skipped = corpus.crema_d_table(real_corpus("crema-d"))
    assert len(clips) == 7442 and skipped.empty
    scores, _ = human_scores(clips)
    assert round(100 * scores["wa"], 1) == 41.6
    assert round(100 * scores["ua"], 1) == 42.9
