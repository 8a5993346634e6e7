"""Smoke tests on a handful of real clips of each corpus (skipped when DATA_ROOT has no corpora)."""

import numpy as np
import pytest

from ser_lib.data import audio, corpus
from ser_lib.config import CORPUS_EMOTIONS
from conftest import real_corpus

pytestmark = pytest.mark.realdata


def _handful(clips, n_per_emotion=2):
    return clips.groupby("emotion", group_keys=False).head(n_per_emotion).reset_index(drop=True)


def test_crema_d_handful(tmp_path):
    clips, skipped = corpus.crema_d_table(real_corpus("crema-d"))
    assert len(clips) == 7442 and skipped.empty and clips["actor"].nunique() == 91
    assert clips["sex"].notna().all() and clips["human_vote"].notna().all()
    audited = audio.audit_clips(_handful(clips), cache=tmp_path, n_jobs=1, progress=False)
    assert (audited["status"] == "ok").all()
    assert audited["duration_s"].between(1.0, 5.1).all()
    assert set(audited["emotion"]) == set(CORPUS_EMOTIONS["crema-d"])


def test_crema_d_known_silent_clip_is_skipped(tmp_path):
    clips, _ = corpus.crema_d_table(real_corpus("crema-d"))
    one = clips[clips["clip"] == "1076_MTI_SAD_XX"]
    audited = audio.audit_clips(one, cache=tmp_path, n_jobs=1, progress=False, warn=False)
    assert audited.loc[0, "status"] == "skipped" and "all-silent" in audited.loc[0, "reason"]


def test_ravdess_handful(tmp_path):
    clips, skipped = corpus.ravdess_table(real_corpus("ravdess"))
    assert len(clips) == 1440 and skipped.empty and clips["actor"].nunique() == 24
    assert (clips.groupby("actor").size() == 60).all()
    audited = audio.audit_clips(_handful(clips), cache=tmp_path, n_jobs=1, progress=False)
    assert (audited["status"] == "ok").all() and audited["duration_s"].between(2.5, 6.0).all()
    y, sr = audio.load_clip(clips.loc[0, "path"])
    assert sr == 16000 and y.ndim == 1 and np.abs(y).max() > 0.01
