import numpy as np
import pandas as pd
import pytest

from ser_lib.models import crosscorpus


def test_shared_clips_drops_calm_and_surprised():
    clips = pd.DataFrame({"emotion": ["NEU", "CAL", "HAP", "SUR", "ANG"], "actor": [1, 1, 2, 2, 3]})
    out = crosscorpus.shared_clips(clips)
    assert list(out["emotion"]) == ["NEU", "HAP", "ANG"] and list(out.index) == [0, 1, 2]
    with pytest.raises(ValueError, match="no clip"):
        crosscorpus.shared_clips(clips[clips["emotion"].isin(["CAL", "SUR"])])


def test_cross_split_keeps_target_out_of_training():
    rng = np.random.default_rng(0)
    actors = np.repeat(np.arange(16), 12)
    labels = np.tile(np.array(list(crosscorpus.SHARED_EMOTIONS)), 32)
    split = crosscorpus.cross_split(labels, actors, 50, random_state=1)
    n = labels.size
    assert set(split.test) == set(range(n, n + 50))
    assert max(split.train.max(), split.val.max()) < n
    assert not set(actors[split.train]) & set(actors[split.val])       # validation actors are unseen
    assert len(split.train) + len(split.val) == n
    assert rng is not None
    with pytest.raises(ValueError, match="two actors"):
        crosscorpus.cross_split(labels[:12], actors[:12], 5)


def test_corpus_zscore_uses_each_corpus_statistics():
    feats = {"rms": np.array([[1.0, 3.0], [5.0, 7.0]]), "zcr": np.zeros((2, 2))}
    z = crosscorpus.corpus_zscore(feats)
    assert z["rms"].mean() == pytest.approx(0) and z["rms"].std() == pytest.approx(1)
    assert np.all(z["zcr"] == 0)                       # a constant feature stays finite
    assert crosscorpus.corpus_zscore(feats, mode="none")["rms"] is feats["rms"]
    with pytest.raises(ValueError, match="normalisation"):
        crosscorpus.corpus_zscore(feats, mode="minmax")
