import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from ser_lib.features import wavelet

SR = 16000


def test_band_scales_match_the_original_selection():
    scales, freqs = wavelet.band_scales()
    assert len(scales) == 125 and scales[0] == 6 and scales[-1] == 130  # the original listing's 125 scales
    assert freqs.min() >= 100 and 2000 < freqs.max() < 2200
    strict, sfreqs = wavelet.band_scales(scale_rule="strict")
    assert len(strict) == 124 and strict[0] == 7 and sfreqs.max() <= 2000
    with pytest.raises(ValueError):
        wavelet.band_scales(fmin=3000, fmax=2000)
    with pytest.raises(ValueError, match="scale_rule"):
        wavelet.band_scales(scale_rule="loose")


def test_original_reshape_is_a_reshape_not_a_transpose():
    frames = np.arange(2 * 6 * 3, dtype=np.float32).reshape(2, 6, 3)  # (frames, time, scales)
    np.testing.assert_array_equal(wavelet.arrange_frames(frames, "transpose"), frames)
    odd = wavelet.arrange_frames(frames, "original-reshape")
    assert odd.shape == frames.shape
    # the original's frame is (scales, time); reshaped to (time, scales), a row holds consecutive
    # samples of one scale: row 0 = time steps 0, 1, 2 of scale 0
    np.testing.assert_array_equal(odd[0, 0], frames[0, :3, 0])
    np.testing.assert_array_equal(odd[0, 2], frames[0, :3, 1])
    np.testing.assert_array_equal(odd[1], frames[1].T.reshape(6, 3))
    with pytest.raises(ValueError, match="frame_layout"):
        wavelet.arrange_frames(frames, "swap")


def test_band_cwt_equals_full_cwt_restricted_to_the_band():
    import pywt

    y = np.random.default_rng(0).standard_normal(3000).astype(np.float32)
    full, _ = pywt.cwt(y, np.arange(1, 256), "morl", sampling_period=1 / SR, method="fft")
    scales, _ = wavelet.band_scales()
    band = wavelet.cwt_band(y)
    assert band.shape == (3000, 125)
    np.testing.assert_allclose(band, full[scales - 1].T, rtol=1e-5, atol=1e-5)


def test_pool_time():
    x = np.arange(12, dtype=np.float32).reshape(1, 12)
    np.testing.assert_allclose(wavelet.pool_time(x, 4, "mean"), [[1.5, 5.5, 9.5]])
    np.testing.assert_allclose(wavelet.pool_time(x, 4, "decimate"), [[0, 4, 8]])
    np.testing.assert_allclose(wavelet.pool_time(x, 4, "rms"), [[np.sqrt(np.mean(np.arange(4) ** 2)),
                                                               np.sqrt(np.mean(np.arange(4, 8) ** 2)),
                                                               np.sqrt(np.mean(np.arange(8, 12) ** 2))]])
    assert wavelet.pool_time(np.zeros((2, 10)), 3).shape == (2, 3)
    with pytest.raises(ValueError):
        wavelet.pool_time(x, 2, "median")


def test_preprocess_and_awgn():
    rng = np.random.default_rng(0)
    y = np.concatenate([np.zeros(4000), 0.5 * np.sin(np.arange(8000) / 5), np.zeros(4000)]).astype(np.float32)
    z = wavelet.preprocess(y)
    assert z.size < y.size and abs(z.mean()) < 1e-5 and abs(z.std() - 1) < 1e-4  # trimmed, z-normalised
    noisy = wavelet.add_awgn(z, snr_db=20, rng=rng)
    snr = 10 * np.log10(np.mean(z ** 2) / np.mean((noisy - z) ** 2))
    assert abs(snr - 20) < 0.5
    with pytest.raises(ValueError, match="silent"):
        wavelet.preprocess(np.zeros(100, dtype=np.float32))


@pytest.fixture(scope="module")
def store(tiny_ravdess, tmp_path_factory):
    from ser_lib.data.corpus import ravdess_table

    clips, _ = ravdess_table(tiny_ravdess)
    clips = clips.head(10).copy()
    silent = tmp_path_factory.mktemp("w") / "03-01-01-01-01-01-09.wav"
    sf.write(silent, np.zeros(SR, dtype=np.float32), SR)
    clips = pd.concat([clips, pd.DataFrame([{"clip": silent.stem, "path": str(silent), "emotion": "NEU", "actor": 9}])],
                      ignore_index=True)
    cache = tmp_path_factory.mktemp("cwtcache")
    return wavelet.build_store(clips, cache=cache, n_jobs=1, progress=False, time_pool=16), clips, cache


def test_store_layout_caching_and_skips(store):
    s, clips, cache = store
    assert len(s.clips) == 10 and s.skipped["clip"].tolist() == ["03-01-01-01-01-01-09"]
    assert s.n_scales == 125 and s.coefficients(0).shape[1] == 125
    assert not np.allclose(s.coefficients(0), s.coefficients(0, noisy=True))  # the noisy copy differs
    again = wavelet.build_store(clips, cache=cache, n_jobs=1, progress=False, time_pool=16)
    np.testing.assert_array_equal(again.coefficients(3, noisy=True), s.coefficients(3, noisy=True))  # same cache, same noise
    assert s.nbytes == 2 * s.clips["length"].sum() * 125 * 2
    assert wavelet.full_resolution_gib(s) == pytest.approx(2 * s.clips["length"].sum() * 16 * 125 * 4 / 2**30)
    X, lengths = s.padded(log=True)
    assert X.shape == (10, lengths.max(), 125) and X.dtype == np.float16
    np.testing.assert_allclose(X[2, : lengths[2]], np.log(np.abs(s.coefficients(2)) + 1e-3), rtol=2e-3, atol=2e-3)
    assert not X[np.argmin(lengths), lengths.min():].any()  # zero padding after the clip
    with pytest.raises(ValueError, match="unknown CWT settings"):
        wavelet.build_store(clips, cache=cache, pooling=3)


def test_frames_never_mix_clips(store):
    s, _, _ = store
    X, owner = wavelet.frame_dataset(s, [0, 1, 2], noisy="also", frame_samples=4000, max_frames=3)
    assert X.shape[1:] == (250, 125)
    for i in (0, 1, 2):
        n_i = min(3, max(1, s.clips["length"][i] // 250))
        assert (owner == i).sum() == 2 * n_i  # clean + noisy frames of clip i only
    X1, _ = wavelet.frame_dataset(s, [0], noisy="no", frame_samples=4000, max_frames=None)
    np.testing.assert_array_equal(X1[0], s.coefficients(0)[:250])
    Xr, _ = wavelet.frame_dataset(s, [0], noisy="no", frame_samples=4000, max_frames=None, layout="original-reshape")
    np.testing.assert_array_equal(Xr[0], s.coefficients(0)[:250].T.reshape(250, 125))
    with pytest.raises(ValueError):
        wavelet.frame_dataset(s, [0], noisy="sometimes")


def test_clip_probabilities_mean_of_frames():
    proba = np.array([[1.0, 0.0], [0.0, 1.0], [0.2, 0.8], [0.6, 0.4]])
    clips, p = wavelet.clip_probabilities(proba, np.array([5, 5, 2, 2]))
    assert clips.tolist() == [2, 5]
    np.testing.assert_allclose(p, [[0.4, 0.6], [0.5, 0.5]])
