import hashlib

import librosa
import numpy as np
import pytest

from ser_lib.data import synthetic
from ser_lib.data.corpus import crema_d_table


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.wav")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def test_deterministic(tmp_path):
    a = synthetic.make_demo_corpus("crema-d", tmp_path / "a", size="tiny", progress=False)
    b = synthetic.make_demo_corpus("crema-d", tmp_path / "b", size="tiny", progress=False)
    assert _digest(a) == _digest(b)
    c = synthetic.make_demo_corpus("crema-d", tmp_path / "c", size="tiny", seed=1, progress=False)
    assert _digest(a) != _digest(c)


def test_idempotent(tiny_crema):
    before = {p: p.stat().st_mtime_ns for p in tiny_crema.rglob("*.wav")}
    synthetic.make_demo_corpus("crema-d", tiny_crema, size="tiny", progress=False)
    assert before == {p: p.stat().st_mtime_ns for p in tiny_crema.rglob("*.wav")}


def _f0_and_level(emotion, actor, seeds):
    f0s, levels = [], []
    for s in seeds:
        y = synthetic.synthesize_clip(emotion, actor, rng=np.random.default_rng(s))
        f0, voiced, _ = librosa.pyin(y, fmin=60, fmax=600, sr=16000, frame_length=1024)
        f0s.append(np.nanmedian(f0[voiced]))
        levels.append(20 * np.log10(np.sqrt(np.mean(y ** 2))))
    return np.mean(f0s), np.mean(levels)


def test_emotion_dependent_prosody():
    actor = synthetic.make_actor(1, "female", np.random.default_rng(0))
    f0_ang, lvl_ang = _f0_and_level("ANG", actor, range(4))
    f0_sad, lvl_sad = _f0_and_level("SAD", actor, range(4))
    f0_neu, _ = _f0_and_level("NEU", actor, range(4))
    assert f0_ang > f0_neu > f0_sad          # F0 level follows arousal
    assert lvl_ang - lvl_sad > 6             # louder when angry
    assert 150 < f0_neu < 260                # a plausible female F0


def test_speech_like_duration_and_range():
    actor = synthetic.make_actor(2, "male", np.random.default_rng(0))
    y = synthetic.synthesize_clip("NEU", actor, rng=np.random.default_rng(3))
    assert 0.8 < y.size / 16000 < 4.0 and np.abs(y).max() < 1 and y.dtype == np.float32
    with pytest.raises(ValueError, match="unknown emotion"):
        synthetic.synthesize_clip("XXX", actor, rng=np.random.default_rng(0))


def test_layouts_parse(tiny_crema, tiny_ravdess):
    clips, skipped = crema_d_table(tiny_crema)
    assert skipped.empty and clips["clip"].is_unique
    names = [p.stem for p in tiny_ravdess.rglob("*.wav")]
    assert len(names) == len(set(names)) == 4 * 8 * 2


def test_bad_size(tmp_path):
    with pytest.raises(ValueError, match="unknown size"):
        synthetic.make_demo_corpus("crema-d", tmp_path, size="huge")


def test_a_changed_size_rebuilds_the_folder_without_stale_clips(tmp_path, monkeypatch):
    root = tmp_path / "crema-d"
    synthetic.make_demo_corpus("crema-d", root, size="tiny", progress=False)
    n_tiny = len(list(root.rglob("*.wav")))
    monkeypatch.setitem(synthetic.SIZES, "tiny", (2, 1))  # e.g. the demo size shrunk in a new release
    synthetic.make_demo_corpus("crema-d", root, size="tiny", progress=False)
    n_new = len(list(root.rglob("*.wav")))
    assert n_new < n_tiny and n_new == 2 * 6 * 1  # 2 actors × 6 emotions × 1 clip, none left over
