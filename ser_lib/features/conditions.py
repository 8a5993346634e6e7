"""Recording conditions: the test degradations of the robustness table, the training-time
simulation of other conditions, and the level-robust front end.

=============  ==============================================================================
condition      what a clean clip goes through (:func:`degrade`, the robustness table)
=============  ==============================================================================
``clean``      nothing
``telephone``  band-pass 300–3400 Hz (audiomentations filters, 24 dB/octave), down to 8 kHz and back (soxr)
``reverb``     convolved with the impulse response of a simulated 6 × 4.5 × 3 m room with
               RT60 = 0.5 s (pyroomacoustics image-source model)
``noise``      pink noise at 10 dB SNR (audiomentations ``AddColorNoise``)
``codec``      Opus at the encoder's lowest bitrate (about 8 kbit/s; libsndfile via soundfile)
``quiet``      −20 dB gain
=============  ==============================================================================

:func:`augment` is the *training-time* simulation: each call draws, with its own probability,
speed perturbation (±10 %), reverberation from one of :data:`N_TRAIN_ROOMS` other simulated rooms
(RT60 0.2–0.9 s, other sizes and positions than the test room), additive noise of a random colour
at 5–30 dB SNR, telephone-like band limiting with random cut-offs, a 7-band parametric EQ, an
Opus pass at a random bitrate and a random gain. Test conditions are therefore *matched in kind*
(the table says how much multi-condition training protects against the conditions it saw), but not
in their exact values; what the model does on conditions it never saw is the cross-corpus table's
question.

:func:`level` is the front end: every clip is scaled to the same RMS level before features are
computed, so that no feature moves with the gain of the microphone chain.

Every random draw comes from a seed derived from the clip's file name (:func:`clip_seed`), so a
degraded clip is the same on every run and machine.
"""

from __future__ import annotations

import io
import zlib
from functools import lru_cache

import numpy as np

#: Test conditions of the robustness table, in table order.
CONDITIONS = ("clean", "telephone", "reverb", "noise", "codec", "quiet")

#: Front ends: ``none`` (the clip as recorded) or ``level`` (:func:`level`).
FRONT_ENDS = ("none", "level")

#: RMS level (dBFS) every clip is scaled to by :func:`level`.
TARGET_RMS_DB = -26.0

#: Simulated rooms the training-time augmentation draws from (never the test room).
N_TRAIN_ROOMS = 24

#: Bumped whenever a condition or the augmentation changes, so that caches keyed on it start anew.
VERSION = 1


def _check(name: str, allowed: tuple, what: str) -> str:
    if name not in allowed:
        raise ValueError(f"unknown {what} {name!r}; expected one of {list(allowed)}")
    return name


def check_condition(name: str) -> str:
    """Validate a condition name and return it."""
    return _check(name, CONDITIONS, "condition")


def check_front_end(name: str) -> str:
    """Validate a front-end name and return it."""
    return _check(name, FRONT_ENDS, "front end")


def clip_seed(name: str, *salt) -> int:
    """A stable 32-bit seed from a clip name and any salt (condition, copy number).

    >>> clip_seed("1001_DFA_ANG_XX.opus", "noise") == clip_seed("1001_DFA_ANG_XX.opus", "noise")
    True
    """
    return zlib.crc32("|".join(map(str, (name, *salt))).encode())


def level(y: np.ndarray, *, target_db: float = TARGET_RMS_DB) -> np.ndarray:
    """Scale a signal to ``target_db`` dBFS RMS (a silent signal is returned unchanged).

    >>> y = np.full(100, 0.5, np.float32)
    >>> round(float(20 * np.log10(np.sqrt(np.mean(level(y) ** 2)))), 3)
    -26.0
    """
    y = np.asarray(y, dtype=np.float32)
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if y.size else 0.0
    if rms <= 1e-9:
        return y
    return (y * (10.0 ** (target_db / 20.0) / rms)).astype(np.float32)


def front_end(y: np.ndarray, name: str) -> np.ndarray:
    """Apply a named front end (:data:`FRONT_ENDS`)."""
    return level(y) if check_front_end(name) == "level" else np.asarray(y, dtype=np.float32)


@lru_cache(maxsize=64)
def room_impulse_response(sr: int, rt60: float, room: tuple, source: tuple, mic: tuple) -> np.ndarray:
    """Impulse response of a shoebox room (pyroomacoustics image-source model), peak-normalised."""
    import pyroomacoustics as pra

    absorption, max_order = pra.inverse_sabine(rt60, list(room))
    shoebox = pra.ShoeBox(list(room), fs=sr, materials=pra.Material(absorption), max_order=min(max_order, 40))
    shoebox.add_source(list(source))
    shoebox.add_microphone(np.array(mic, dtype=float).reshape(3, 1))
    shoebox.compute_rir()
    rir = np.asarray(shoebox.rir[0][0], dtype=np.float64)
    return (rir / np.max(np.abs(rir))).astype(np.float32)


#: The test room of the ``reverb`` condition.
TEST_ROOM = {"rt60": 0.5, "room": (6.0, 4.5, 3.0), "source": (2.0, 2.0, 1.6), "mic": (4.2, 2.6, 1.2)}


def train_room(k: int) -> dict:
    """The ``k``-th simulated training room (k < :data:`N_TRAIN_ROOMS`); sizes, positions and RT60
    drawn from a fixed seed, never equal to :data:`TEST_ROOM`."""
    rng = np.random.default_rng(10_000 + int(k))
    room = np.round(rng.uniform([3.0, 3.0, 2.4], [10.0, 8.0, 4.0]), 2)
    source = np.round(rng.uniform(0.5, room - 0.5), 2)
    mic = np.round(rng.uniform(0.5, room - 0.5), 2)
    return {"rt60": float(np.round(rng.uniform(0.2, 0.9), 2)), "room": tuple(map(float, room)),
            "source": tuple(map(float, source)), "mic": tuple(map(float, mic))}


def subset(clips, fraction: float, *, salt: str = "robustness"):
    """A fixed pseudo-random ``fraction`` of a clip table's rows, chosen by a hash of each clip name:
    the same rows on every run and machine. Not stratified: each actor and emotion keeps about
    ``fraction`` of its clips, by chance."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if fraction == 1:
        return clips.reset_index(drop=True)
    keep = [clip_seed(str(c), salt) % 10_000 < fraction * 10_000 for c in clips["clip"]]
    return clips[np.array(keep, dtype=bool)].reset_index(drop=True)


def reverberate(y: np.ndarray, sr: int, rir: np.ndarray) -> np.ndarray:
    """Convolve with an impulse response, keep the clip's length and RMS level."""
    from scipy.signal import fftconvolve

    wet = fftconvolve(y, rir)[: y.size]
    gain = np.sqrt(np.mean(y.astype(np.float64) ** 2) / max(np.mean(wet.astype(np.float64) ** 2), 1e-20))
    return (wet * gain).astype(np.float32)


def opus(y: np.ndarray, sr: int, *, compression: float = 1.0) -> np.ndarray:
    """Encode to Ogg Opus in memory and decode again (``compression`` 1.0 = lowest bitrate)."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(y, -1, 1), sr, format="OGG", subtype="OPUS", compression_level=float(compression))
    buf.seek(0)
    out, _ = sf.read(buf, dtype="float32")
    out = out if out.ndim == 1 else out.mean(axis=1)
    return np.pad(out, (0, max(0, y.size - out.size)))[: y.size].astype(np.float32)


def band_limit(y: np.ndarray, sr: int, *, low: float, high: float, narrow_sr: int | None = None) -> np.ndarray:
    """High-pass at ``low``, low-pass at ``high`` (audiomentations), optionally through ``narrow_sr``."""
    import audiomentations as A
    import soxr

    steep = {"min_rolloff": 24, "max_rolloff": 24}  # dB per octave, as a telephone channel's edges
    chain = A.Compose([A.HighPassFilter(min_cutoff_freq=low, max_cutoff_freq=low, p=1.0, **steep),
                       A.LowPassFilter(min_cutoff_freq=high, max_cutoff_freq=high, p=1.0, **steep)])
    out = chain(samples=np.asarray(y, dtype=np.float32), sample_rate=sr)
    if narrow_sr:
        out = soxr.resample(soxr.resample(out, sr, narrow_sr), narrow_sr, sr)
        out = np.pad(out, (0, max(0, y.size - out.size)))[: y.size]
    return np.asarray(out, dtype=np.float32)


def seed_audiomentations(seed: int) -> None:
    """audiomentations draws its parameters from Python's ``random`` and its signals from numpy's
    global generator: seed both, so that a clip's draw is the same on every run."""
    import random

    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)


def degrade(y: np.ndarray, sr: int, condition: str, *, seed: int = 0) -> np.ndarray:
    """A clip under one test condition of :data:`CONDITIONS` (see the module table)."""
    import audiomentations as A

    condition = check_condition(condition)
    y = np.asarray(y, dtype=np.float32)
    if condition == "clean":
        return y
    if condition == "telephone":
        return band_limit(y, sr, low=300.0, high=3400.0, narrow_sr=8000)
    if condition == "reverb":
        return reverberate(y, sr, room_impulse_response(sr, **TEST_ROOM))
    if condition == "noise":
        seed_audiomentations(seed)
        noise = A.AddColorNoise(min_snr_db=10.0, max_snr_db=10.0, min_f_decay=-3.01, max_f_decay=-3.01, p=1.0)
        return noise(samples=y, sample_rate=sr).astype(np.float32)
    if condition == "codec":
        return opus(y, sr, compression=1.0)
    return (y * 10.0 ** (-20.0 / 20.0)).astype(np.float32)  # quiet


def augment(y: np.ndarray, sr: int, *, seed: int) -> tuple[np.ndarray, list[str]]:
    """One random training-time simulation of another recording condition (see the module note).

    Returns the augmented signal (same rate, length may change with speed) and the names of the
    steps applied.
    """
    import audiomentations as A
    import soxr

    rng = np.random.default_rng(seed)
    seed_audiomentations(seed)
    y = np.asarray(y, dtype=np.float32)
    applied = []
    if rng.random() < 0.4:
        speed = float(rng.choice([0.9, 1.1]))
        y = soxr.resample(y, sr, int(round(sr / speed))).astype(np.float32)  # played back at sr: speed × pitch
        applied.append(f"speed×{speed}")
    if rng.random() < 0.5:
        k = int(rng.integers(N_TRAIN_ROOMS))
        y = reverberate(y, sr, room_impulse_response(sr, **train_room(k)))
        applied.append(f"room{k}")
    if rng.random() < 0.3:
        low, high = float(rng.uniform(150, 500)), float(rng.uniform(2800, 4500))
        y = band_limit(y, sr, low=low, high=high, narrow_sr=8000 if rng.random() < 0.5 else None)
        applied.append(f"band{low:.0f}-{high:.0f}")
    if rng.random() < 0.3:
        y = A.SevenBandParametricEQ(min_gain_db=-9.0, max_gain_db=9.0, p=1.0)(samples=y, sample_rate=sr)
        applied.append("eq")
    if rng.random() < 0.5:
        y = A.AddColorNoise(min_snr_db=5.0, max_snr_db=30.0, p=1.0)(samples=y, sample_rate=sr)
        applied.append("noise")
    if rng.random() < 0.25:
        y = opus(y, sr, compression=float(rng.uniform(0.6, 1.0)))
        applied.append("opus")
    gain = float(rng.uniform(-25.0, 6.0))
    y = np.clip(y * 10.0 ** (gain / 20.0), -1.0, 1.0)
    applied.append(f"gain{gain:+.0f}dB")
    return np.asarray(y, dtype=np.float32), applied
