"""Voice activity: how much of a recording is speech (Silero VAD run by onnxruntime).

``predict`` judges a recording only when it holds speech: white noise, tones, music and DC offset
are refused as "no speech detected", and a clip with too little speech for openSMILE's
functionals as "too little speech". The detector is Silero VAD v6 (MIT): the ONNX model shipped in
the ``silero-vad`` wheel (installed without its PyTorch dependency, see the Makefile), run by
onnxruntime exactly as Silero's own ``OnnxWrapper`` runs it (512-sample windows at 16 kHz with
the previous 64 samples as context, recurrent state carried over). An ONNX file is a graph of
operators, not code; its SHA-256 is checked before loading (:data:`MODEL_SHA256`).

Measured on the real corpora (``ser_lib.features.vad_calibration``): Silero's usual decision threshold
(p > 0.5) calls *no* window of some high-intensity angry and fearful clips speech (their maximum
window probability is 0.2–0.5) while every non-speech test signal stays below
about 0.2; so the rule here counts the seconds of windows above a lower probability, with both
numbers taken from ``ser_lib/resources/vad_calibration.json`` (read by :func:`thresholds`), where
the measurements that chose them are stored.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

#: Silero's sample rate, window and context.
VAD_SR = 16000
WINDOW = 512
CONTEXT = 64
#: SHA-256 of ``silero_vad/data/silero_vad.onnx`` in silero-vad 6.2.3.
MODEL_SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"

CALIBRATION = Path(__file__).resolve().parents[1] / "resources" / "vad_calibration.json"


def model_path() -> Path:
    """The Silero ONNX model inside the installed ``silero-vad`` package (not imported: its
    ``__init__`` needs PyTorch)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("voice-activity detection needs the silero-vad package (make setup installs it with "
                          "`pip install --no-deps silero-vad==6.2.3`)")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "silero_vad.onnx"


@lru_cache(maxsize=1)
def _session():
    import onnxruntime as ort

    path = model_path()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != MODEL_SHA256:
        raise ValueError(f"{path}: not the Silero VAD model this code was calibrated with (SHA-256 {digest[:12]}…)")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


class NoSpeechError(ValueError):
    """A recording the model cannot judge (``reason`` is one line)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


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
    y = np.clip(np.nan_to_num(y), -1.0, 1.0).astype(np.float32)
    session = _session()
    state = np.zeros((2, 1, 128), np.float32)
    context = np.zeros((1, CONTEXT), np.float32)
    rate = np.array(VAD_SR, dtype=np.int64)
    out = np.empty(y.size // WINDOW)
    for i in range(out.size):
        x = np.concatenate([context, y[None, i * WINDOW:(i + 1) * WINDOW]], axis=1)
        p, state = session.run(None, {"input": x, "state": state, "sr": rate})
        out[i] = float(p[0, 0])
        context = x[:, -CONTEXT:]
    return out


#: Level below the clip's peak under which audio counts as silence for :func:`active_seconds`.
ACTIVE_TOP_DB = 40


def active_seconds(y: np.ndarray, *, sr: int = VAD_SR, top_db: float = ACTIVE_TOP_DB) -> float:
    """Seconds of ``y`` within ``top_db`` dB of its peak (``librosa.effects.split``): how much sound
    the features get, whatever a VAD thinks of it."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if not y.size or not np.any(y):
        return 0.0
    intervals = librosa.effects.split(y, top_db=top_db, frame_length=512, hop_length=128)
    return float(sum(int(b) - int(a) for a, b in intervals) / sr)


def speech_seconds(y: np.ndarray, *, sr: int = VAD_SR, probability: float | None = None) -> float:
    """Seconds of ``y`` in windows whose speech probability exceeds ``probability`` (default: the
    calibrated ``window_probability`` of :func:`thresholds`)."""
    if probability is None:
        probability = thresholds()["window_probability"]
    p = speech_probabilities(y, sr=sr)
    return float((p > probability).sum() * WINDOW / VAD_SR)


@lru_cache(maxsize=1)
def thresholds() -> dict:
    """The measured thresholds, from ``resources/vad_calibration.json``: ``window_probability`` (a
    window counts as speech above it), ``no_speech_s`` (fewer speech seconds: "no speech detected")
    and ``min_active_s`` (fewer seconds of sound, :func:`active_seconds`: "too little speech")."""
    data = json.loads(CALIBRATION.read_text())
    return {k: float(data[k]) for k in ("window_probability", "no_speech_s", "min_active_s")}


def check_speech(y: np.ndarray, *, sr: int = VAD_SR) -> float:
    """Return the speech seconds of ``y``, or raise :class:`NoSpeechError` with a one-line reason
    when it holds too little sound for the features, or no speech (:func:`thresholds`)."""
    limits = thresholds()
    if sr != VAD_SR:
        import librosa

        y, sr = librosa.resample(np.asarray(y, dtype=np.float64), orig_sr=sr, target_sr=VAD_SR), VAD_SR
    active = active_seconds(y, sr=sr)
    if active < limits["min_active_s"]:
        raise NoSpeechError(f"too little speech to judge ({active:.2f} s of sound; below "
                            f"{limits['min_active_s']:.1f} s the model answers at chance level)")
    seconds = speech_seconds(y, sr=sr)
    if seconds < limits["no_speech_s"]:
        raise NoSpeechError(f"no speech detected (Silero VAD: no 32-ms window above p = "
                            f"{limits['window_probability']:.1f}); noise, tones, music and silence are not judged")
    return seconds
