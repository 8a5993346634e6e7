"""Recording conditions: each test degradation does what its name says, seeded draws repeat, the
level front end removes gain, and degraded features get their own cache."""

import re

import numpy as np
import pandas as pd
import pytest

from ser_lib.features import conditions as C

SR = 16000


def voiced(seconds=1.5, f0=150.0):
    t = np.arange(int(seconds * SR)) / SR
    y = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 30))
    return (0.1 * y * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def band_energy(y, low, high):
    spec = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(y.size, 1 / SR)
    return spec[(freqs >= low) & (freqs < high)].sum() / spec.sum()


def rms_db(y):
    return 20 * np.log10(np.sqrt(np.mean(np.square(y, dtype=np.float64))))


def test_every_condition_keeps_length_and_is_finite():
    y = voiced()
    for name in C.CONDITIONS:
        z = C.degrade(y, SR, name, seed=3)
        assert z.shape == y.shape and z.dtype == np.float32 and np.isfinite(z).all(), name
    assert np.array_equal(C.degrade(y, SR, "clean"), y)
    with pytest.raises(ValueError, match="unknown condition"):
        C.degrade(y, SR, "underwater")


def test_telephone_removes_what_is_outside_its_band():
    y = voiced()
    assert band_energy(y, 3800, 8000) > 1e-3
    z = C.degrade(y, SR, "telephone")
    assert band_energy(z, 3800, 8000) < 1e-4 and band_energy(z, 0, 220) < band_energy(y, 0, 220) / 30
    assert band_energy(z, 250, 3500) > 0.85


def test_noise_is_at_ten_db_snr_and_repeats_with_its_seed():
    y = voiced()
    z1, z2, z3 = (C.degrade(y, SR, "noise", seed=s) for s in (1, 1, 2))
    assert np.array_equal(z1, z2) and not np.array_equal(z1, z3)
    snr = 10 * np.log10(np.sum(y.astype(np.float64) ** 2) / np.sum((z1 - y).astype(np.float64) ** 2))
    assert abs(snr - 10.0) < 0.5


def test_reverb_has_the_rt60_it_claims():
    rir = C.room_impulse_response(SR, **C.TEST_ROOM)
    # Schroeder backward integration; the -5 to -25 dB slope extrapolated to -60 dB (T20)
    edc = np.cumsum(rir[::-1].astype(np.float64) ** 2)[::-1]
    edc_db = 10 * np.log10(edc / edc[0])
    t5, t25 = np.argmax(edc_db <= -5) / SR, np.argmax(edc_db <= -25) / SR
    rt60 = 3 * (t25 - t5)
    assert 0.3 < rt60 < 0.8, rt60
    rooms = [C.train_room(k) for k in range(C.N_TRAIN_ROOMS)]
    assert C.TEST_ROOM not in rooms and all(0.2 <= r["rt60"] <= 0.9 for r in rooms)


def test_quiet_and_the_level_front_end():
    y = voiced()
    z = C.degrade(y, SR, "quiet")
    assert rms_db(z) == pytest.approx(rms_db(y) - 20, abs=1e-3)
    assert rms_db(C.front_end(z, "level")) == pytest.approx(C.TARGET_RMS_DB, abs=1e-3)
    assert np.allclose(C.front_end(z, "level"), C.front_end(y, "level"), atol=1e-6)
    assert np.array_equal(C.level(np.zeros(10, np.float32)), np.zeros(10, np.float32))
    with pytest.raises(ValueError, match="unknown front end"):
        C.front_end(y, "agc")


def test_codec_is_lossy_but_keeps_the_voice():
    y = voiced()
    z = C.degrade(y, SR, "codec")
    err = np.mean((z - y) ** 2) / np.mean(y ** 2)
    assert 1e-4 < err < 1.5 and abs(rms_db(z) - rms_db(y)) < 6


def test_augment_is_seeded_and_varied():
    y = voiced()
    a1, s1 = C.augment(y, SR, seed=5)
    a2, s2 = C.augment(y, SR, seed=5)
    assert np.array_equal(a1, a2) and s1 == s2
    steps = {re.match("[a-z]+", step).group() for seed in range(40) for step in C.augment(y, SR, seed=seed)[1]}
    assert {"speed", "room", "band", "eq", "noise", "opus", "gain"} <= steps
    assert all(np.isfinite(C.augment(y, SR, seed=s)[0]).all() for s in range(10))


def test_subset_is_a_fixed_fraction():
    clips = pd.DataFrame({"clip": [f"c{i}" for i in range(3000)]})
    a, b = C.subset(clips, 1 / 3), C.subset(clips, 1 / 3)
    assert a.equals(b) and 850 < len(a) < 1150
    assert len(C.subset(clips, 1)) == 3000
    with pytest.raises(ValueError):
        C.subset(clips, 0)


def test_a_view_has_its_own_cache_and_changes_the_features(tiny_crema, tmp_path):
    from ser_lib.data import corpus
    from ser_lib.features import smile

    clips = corpus.corpus_table("crema-d", tiny_crema)[0].head(3)
    clean, _, _ = smile.extract_functionals(clips, feature_set="eGeMAPSv02", cache=tmp_path, progress=False)
    quiet, _, _ = smile.extract_functionals(clips, feature_set="eGeMAPSv02", cache=tmp_path, progress=False,
                                            view={"front_end": "none", "condition": "quiet"})
    levelled = [smile.extract_functionals(clips, feature_set="eGeMAPSv02", cache=tmp_path, progress=False,
                                          view={"front_end": "level", "condition": c})[0] for c in ("clean", "quiet")]
    assert len(list((tmp_path / "features").glob("smile-eGeMAPSv02-*.npz"))) == 4
    assert not np.allclose(clean, quiet)
    assert np.allclose(levelled[0], levelled[1], rtol=1e-3, atol=1e-3)  # the front end undoes the gain
    with pytest.raises(ValueError, match="front_end and one of"):
        smile.check_view({"front_end": "level", "condition": "noise", "augment": 0})
    with pytest.raises(ValueError, match="unknown condition"):
        smile.check_view({"condition": "underwater"})
