import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from ser_lib.features import features as F


@pytest.fixture(scope="module")
def clip():
    rng = np.random.default_rng(0)
    t = np.arange(40000) / 16000
    y = (0.3 * np.sin(2 * np.pi * 180 * t * (1 + 0.1 * t)) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    return F.pad_or_trim(y, 80080)


def test_pad_or_trim():
    assert F.pad_or_trim(np.ones(10), 15).tolist() == [1] * 10 + [0] * 5
    assert F.pad_or_trim(np.ones(20), 15).size == 15
    with pytest.raises(ValueError):
        F.pad_or_trim(np.ones((2, 3)), 5)
    with pytest.raises(ValueError):
        F.pad_or_trim(np.ones(3), 0)


def test_seed_features_equal_the_original_recipes(clip):
    """The shared-STFT implementation gives what the original librosa calls give."""
    f = F.seed_features(clip, sr=16000)
    ref = {
        "mfcc": np.mean(librosa.feature.mfcc(y=clip), axis=0),  # the original passed no sr
        "rolloff": librosa.feature.spectral_rolloff(y=clip, sr=16000)[0],
        "rms": librosa.feature.rms(y=clip)[0],
        "zcr": librosa.feature.zero_crossing_rate(clip)[0],
        "mel": librosa.power_to_db(librosa.feature.melspectrogram(y=clip, sr=16000), ref=np.max),
    }
    assert F.n_frames(80080) == 157
    for name, expected in ref.items():
        assert f[name].shape == expected.shape, name
        np.testing.assert_allclose(f[name], expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max(), err_msg=name)
    assert f["mfcc"].shape == (157,) and f["mel"].shape == (128, 157)


def test_unknown_feature(clip):
    with pytest.raises(ValueError, match="unknown features"):
        F.seed_features(clip, names=["chroma"])


def test_feature_set_shapes():
    feats = {"rms": np.zeros((4, 157)), "zcr": np.ones((4, 157)), "mfcc": np.zeros((4, 157)), "mel": np.zeros((4, 128, 157))}
    assert F.feature_set(feats, ["rms"]).shape == (4, 157, 1)
    x = F.feature_set(feats, ["rms", "zcr"])
    assert x.shape == (4, 314, 1) and x[0, 157, 0] == 1 and x[0, 156, 0] == 0  # concatenated along time
    assert F.feature_set(feats, ["rms", "zcr", "mfcc"]).shape == (4, 471, 1)
    assert F.feature_set(feats, "mel").shape == (4, 128, 157, 1)
    with pytest.raises(ValueError, match="cannot be combined"):
        F.feature_set(feats, ["mel", "rms"])
    with pytest.raises(ValueError, match="not extracted"):
        F.feature_set(feats, ["rolloff"])


def test_extract_features_cache_and_bad_clips(tmp_path, tiny_crema):
    from ser_lib.data.corpus import crema_d_table

    clips, _ = crema_d_table(tiny_crema)
    clips = clips.head(6).copy()
    bad = tmp_path / "9099_IEO_SAD_XX.wav"
    sf.write(bad, np.zeros(16000, dtype=np.float32), 16000)  # silent: skipped, listed
    clips = pd.concat([clips, pd.DataFrame([{"clip": bad.stem, "path": str(bad), "emotion": "SAD", "actor": 9099}])],
                      ignore_index=True)
    feats, kept, skipped = F.extract_features(clips, cache=tmp_path / "c", n_jobs=1, progress=False)
    assert len(kept) == 6 and feats["mel"].shape == (6, 128, 157) and feats["rms"].shape == (6, 157)
    assert skipped.to_dict("records") == [{"clip": bad.stem, "reason": "all-silent audio (peak -inf dBFS)"}]
    store = next((tmp_path / "c" / "features").glob("seed-*.npz"))
    mtime = store.stat().st_mtime_ns
    feats2, _, _ = F.extract_features(clips, cache=tmp_path / "c", n_jobs=1, progress=False)
    assert store.stat().st_mtime_ns == mtime  # served from the cache
    np.testing.assert_array_equal(feats2["mfcc"], feats["mfcc"])
    F.extract_features(clips.head(2), cache=tmp_path / "c", n_jobs=1, progress=False, n_mels=64)
    assert len(list((tmp_path / "c" / "features").glob("seed-*.npz"))) == 2  # other settings, other cache
    with pytest.raises(ValueError, match="unknown feature settings"):
        F.extract_features(clips, cache=tmp_path / "c", hop=3)


@pytest.mark.parametrize("kind", ["speechlike", "zeros", "negative_zeros", "below_threshold", "square"])
def test_fast_zcr_and_rolloff_are_exactly_librosa(clip, kind):
    y = {"speechlike": clip, "zeros": np.zeros(80080, np.float32), "negative_zeros": np.full(80080, -0.0, np.float32),
         "below_threshold": (np.random.default_rng(1).standard_normal(80080) * 1e-11).astype(np.float32),
         "square": np.sign(np.sin(np.arange(80080) / 7.0)).astype(np.float32)}[kind]
    np.testing.assert_array_equal(F.zero_crossing_rate(y), librosa.feature.zero_crossing_rate(y)[0])
    S = np.abs(librosa.stft(y))
    np.testing.assert_array_equal(F.spectral_rolloff(S, sr=16000, n_fft=2048),
                                  librosa.feature.spectral_rolloff(S=S, sr=16000)[0])
    with pytest.raises(ValueError, match="1-D"):
        F.zero_crossing_rate(np.zeros((2, 100)))
