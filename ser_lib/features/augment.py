"""Train-only, on-the-fly waveform augmentation for the 2-D (log-mel) experiments.

The original work planned Gaussian noise, time stretch, pitch shift and shift, each applied
with probability 0.5, but materialising augmented copies exhausted its RAM. Here each batch
of *training* clips is decoded from disk, augmented afresh and turned into log-mel inputs
inside a :class:`keras.utils.PyDataset`, so memory stays bounded by one batch per worker
whatever the corpus size. Validation and test inputs are never augmented.
"""

from __future__ import annotations

import numpy as np

from ser_lib.data.audio import load_clip
from ser_lib.features.features import pad_or_trim, seed_features

#: Default augmentation settings.
DEFAULTS = {
    "p": 0.5,                      # probability of each transform
    "noise_amplitude": (0.001, 0.015),
    "stretch_rate": (0.8, 1.25),
    "pitch_semitones": (-4.0, 4.0),
    "shift_fraction": (-0.2, 0.2),  # roll by up to 20 % of the window
}


def augment_waveform(y: np.ndarray, *, sr: int, rng: np.random.Generator, length: int | None = None,
                     **settings) -> tuple[np.ndarray, list[str]]:
    """Apply each transform with probability ``p``: Gaussian noise, time stretch, pitch shift, shift.

    Parameters
    ----------
    y : ndarray
        Mono signal.
    sr : int
    rng : numpy Generator
    length : int, optional
        Pad or trim the result to this many samples (default: ``len(y)``).
    **settings
        Overrides of :data:`DEFAULTS`.

    Returns
    -------
    y_aug : ndarray of float32
    applied : list of str
        Names of the transforms applied.
    """
    import librosa

    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown augmentation settings {sorted(unknown)}; expected some of {sorted(DEFAULTS)}")
    s = {**DEFAULTS, **settings}
    length = length or y.size
    y = np.asarray(y, dtype=np.float32)
    applied = []
    if rng.random() < s["p"]:
        rate = rng.uniform(*s["stretch_rate"])
        y = librosa.effects.time_stretch(y, rate=rate)
        applied.append(f"stretch×{rate:.2f}")
    if rng.random() < s["p"]:
        steps = rng.uniform(*s["pitch_semitones"])
        y = librosa.effects.pitch_shift(y, sr=sr, n_steps=steps, res_type="soxr_mq")
        applied.append(f"pitch{steps:+.1f}st")
    y = pad_or_trim(y, length)
    if rng.random() < s["p"]:
        y = y + rng.uniform(*s["noise_amplitude"]) * rng.standard_normal(y.size).astype(np.float32)
        applied.append("noise")
    if rng.random() < s["p"]:
        k = int(rng.uniform(*s["shift_fraction"]) * length)
        y = np.roll(y, k)
        applied.append(f"shift{k:+d}")
    return y.astype(np.float32), applied


def augmented_mel(path, *, sr: int, length: int, rng: np.random.Generator, **settings) -> np.ndarray:
    """Decode one clip, augment it (:func:`augment_waveform`) and return its log-mel input (128 × frames)."""
    y, _ = load_clip(path, sr=sr)
    y, _ = augment_waveform(y, sr=sr, rng=rng, length=length, **settings)
    return seed_features(y, sr=sr, names=("mel",))["mel"]


def augmented_mel_batches(paths, onehot, *, batch_size: int, sr: int, length: int, seed: int = 0,
                          workers: int = 1, **settings):
    """A :class:`keras.utils.PyDataset` of augmented log-mel training batches.

    Parameters
    ----------
    paths : sequence of str
        Audio files of the training clips.
    onehot : ndarray
        One-hot targets, same order.
    batch_size, sr, length : int
        Batch size, sample rate, padded window (samples).
    seed : int
        Base seed; every (epoch, batch) gets its own generator so runs are repeatable.
    workers : int
        Parallel workers of the dataset (threads).
    **settings
        Augmentation settings (see :data:`DEFAULTS`).
    """
    import keras

    paths = list(paths)
    if len(paths) != len(onehot):
        raise ValueError("paths and onehot must have the same length")

    class AugmentedMel(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=workers, use_multiprocessing=False)
            self.epoch = 0
            self.order = np.random.default_rng(seed).permutation(len(paths))

        def __len__(self):
            return int(np.ceil(len(paths) / batch_size))

        def __getitem__(self, i):
            idx = self.order[i * batch_size:(i + 1) * batch_size]
            rng = np.random.default_rng([seed, self.epoch, i])
            X = np.empty((idx.size, 128, 1 + length // 512, 1), dtype=np.float32)
            for j, k in enumerate(idx):
                X[j, ..., 0] = augmented_mel(paths[k], sr=sr, length=length, rng=rng, **settings)
            return X, onehot[idx]

        def on_epoch_end(self):
            self.epoch += 1
            self.order = np.random.default_rng([seed, self.epoch]).permutation(len(paths))

    return AugmentedMel()
