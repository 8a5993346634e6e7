import re

import numpy as np
import pytest

from ser_lib.features import augment

SR = 16000


def voiced(seconds=1.0, f0=200.0):
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * f0 * t)).astype(np.float32)


def dominant_hz(y):
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    return np.argmax(spec) * SR / y.size


def test_p0_is_identity_and_p1_applies_all():
    y = voiced()
    same, applied = augment.augment_waveform(y, sr=SR, rng=np.random.default_rng(0), p=0.0)
    np.testing.assert_array_equal(same, y)
    assert applied == []
    out, applied = augment.augment_waveform(y, sr=SR, rng=np.random.default_rng(0), p=1.0, length=20000)
    assert out.size == 20000 and out.dtype == np.float32
    assert [re.match("[a-z]+", a).group() for a in applied] == ["stretch", "pitch", "noise", "shift"]


def test_pitch_shift_moves_the_pitch():
    y = voiced(f0=200)
    out, applied = augment.augment_waveform(y, sr=SR, rng=np.random.default_rng(1), p=1.0, pitch_semitones=(12, 12),
                                            stretch_rate=(1, 1), noise_amplitude=(0, 0), shift_fraction=(0, 0))
    assert abs(dominant_hz(out[2000:-2000]) - 400) < 15


def test_deterministic_given_seed():
    y = voiced()
    a, _ = augment.augment_waveform(y, sr=SR, rng=np.random.default_rng(5))
    b, _ = augment.augment_waveform(y, sr=SR, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="unknown augmentation settings"):
        augment.augment_waveform(y, sr=SR, rng=np.random.default_rng(0), reverb=1)


def test_batches_have_model_shape_and_change_every_epoch(tiny_crema):
    paths = sorted(str(p) for p in (tiny_crema / "AudioWAV").glob("*.wav"))[:5]
    onehot = np.eye(5, dtype="float32")
    ds = augment.augmented_mel_batches(paths, onehot, batch_size=2, sr=SR, length=80080, seed=0)
    assert len(ds) == 3
    X0, y0 = ds[0]
    assert X0.shape == (2, 128, 157, 1) and y0.shape == (2, 5) and np.isfinite(X0).all()
    again, _ = ds[0]
    np.testing.assert_array_equal(X0, again)  # same epoch, same batch → same augmentation
    ds.on_epoch_end()
    X1, y1 = ds[0]
    assert not np.array_equal(X0, X1)  # fresh augmentation (and order) each epoch
    with pytest.raises(ValueError):
        augment.augmented_mel_batches(paths, onehot[:2], batch_size=2, sr=SR, length=80080)
