"""Audio loading and clip auditing.

:func:`load_clip` reads any format soundfile reads (WAV, FLAC, Ogg Vorbis/Opus, AIFF), down-
mixes to mono and resamples. Problems are of two kinds:

* **fatal** — missing, unreadable or corrupt file, zero length, non-finite samples, all
  silent: :class:`BadClipError` is raised with a one-line reason; callers skip the clip
  and list it.
* **recoverable** — stereo, an unusual sample rate, content whose container does not match
  its extension (e.g. AIFF named ``.wav``): the clip is converted, and a note explains what
  was done. Nothing is lost, and the notes are listed in the report.

:func:`audit_clips` runs :func:`load_clip` over a corpus table once (cached on disk, in
parallel) and returns per-clip status, reason, notes, duration and level.
"""

from __future__ import annotations

import json
from functools import partial
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from ser_lib.config import DEFAULT_SR, cache_dir
from ser_lib.data.identity import file_key
from ser_lib.pipeline.parallel import parallel_map

#: Sample rates that are normal for speech recordings; anything else gets a note.
COMMON_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)
#: Peak amplitude below which a clip counts as all-silent (-80 dBFS).
SILENCE_PEAK = 1e-4
#: soundfile container name expected for each extension.
EXPECTED_FORMAT = {
    ".wav": "WAV",
    ".flac": "FLAC",
    ".ogg": "OGG",
    ".opus": "OGG",
    ".aif": "AIFF",
    ".aiff": "AIFF",
    ".mp3": "MP3",
}


class BadClipError(ValueError):
    """A clip that cannot be used; ``reason`` is a short, human-readable explanation."""

    def __init__(self, path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


class BadClipWarning(UserWarning):
    """Warning issued when a clip is skipped or converted."""


def load_clip(
    path: str | Path,
    *,
    sr: int | None = DEFAULT_SR,
    mono: bool = True,
    silence_peak: float = SILENCE_PEAK,
    return_notes: bool = False,
):
    """Load one clip as float32, mono, at ``sr``.

    Parameters
    ----------
    path : path
        Audio file in any format soundfile reads.
    sr : int or None
        Target sample rate (``None`` keeps the file's rate).
    mono : bool
        Down-mix multi-channel audio by averaging the channels.
    silence_peak : float
        A clip whose absolute peak is below this is rejected as all-silent.
    return_notes : bool
        Also return the list of recoverable problems found (stereo, unusual rate, ...).

    Returns
    -------
    y : ndarray, shape (n,) or (channels, n)
    sr : int
        The sample rate of ``y``.
    notes : list of str
        Only when ``return_notes`` is true.

    Raises
    ------
    BadClipError
        Missing, unreadable, corrupt, empty, non-finite or all-silent audio.
    """
    path = Path(path)
    notes: list[str] = []
    if not path.is_file():
        raise BadClipError(path, "file not found")
    if path.stat().st_size == 0:
        raise BadClipError(path, "empty file (0 bytes)")
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError
        raise BadClipError(path, f"unreadable or corrupt audio ({_short(exc)})") from None
    expected = EXPECTED_FORMAT.get(path.suffix.lower())
    if expected and info.format != expected:
        notes.append(f"{info.format} content named {path.suffix} (read by content)")
    if info.frames == 0:
        raise BadClipError(path, "zero-length audio (no samples)")
    try:
        y, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise BadClipError(path, f"corrupt audio data ({_short(exc)})") from None
    if y.shape[0] == 0:
        raise BadClipError(path, "zero-length audio (no samples decoded)")
    if not np.all(np.isfinite(y)):
        raise BadClipError(path, "non-finite samples (NaN or Inf)")
    y = y.T  # (channels, n)
    if y.shape[0] > 1:
        if mono:
            notes.append(f"{y.shape[0]} channels: down-mixed to mono")
            y = y.mean(axis=0, keepdims=True)
    if file_sr not in COMMON_RATES:
        notes.append(f"unusual sample rate {file_sr} Hz" + (f": resampled to {sr} Hz" if sr else ""))
    if sr is not None and file_sr != sr:
        import librosa

        y = librosa.resample(y, orig_sr=file_sr, target_sr=sr, res_type="soxr_hq", axis=-1)
        file_sr = sr
    y = np.ascontiguousarray(y[0] if y.shape[0] == 1 else y, dtype=np.float32)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak < silence_peak:
        level = "-inf" if peak == 0 else f"{20 * np.log10(peak):.0f}"
        raise BadClipError(path, f"all-silent audio (peak {level} dBFS)")
    return (y, file_sr, notes) if return_notes else (y, file_sr)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


AUDIT_COLUMNS = ["clip", "status", "reason", "notes", "duration_s", "n_samples", "source_sr",
                 "channels", "format", "peak_dbfs", "rms_dbfs"]


def audit_clip(path: str | Path, *, sr: int = DEFAULT_SR) -> dict:
    """Load one clip and describe it (never raises for bad audio).

    Returns
    -------
    dict
        ``status`` (``"ok"`` or ``"skipped"``), ``reason`` (why skipped), ``notes``
        (recoverable problems, ``"; "``-joined), ``duration_s`` and ``n_samples`` at ``sr``,
        ``source_sr``, ``channels``, ``format``, ``peak_dbfs``, ``rms_dbfs``.
    """
    out = dict.fromkeys(AUDIT_COLUMNS[1:], np.nan)
    out.update(status="ok", reason="", notes="")
    try:
        info = sf.info(str(path))
        out.update(source_sr=info.samplerate, channels=info.channels, format=info.format)
    except Exception:
        pass
    try:
        y, _, notes = load_clip(path, sr=sr, return_notes=True)
    except BadClipError as exc:
        out.update(status="skipped", reason=exc.reason)
        return out
    rms = float(np.sqrt(np.mean(y.astype(np.float64) ** 2)))
    out.update(
        notes="; ".join(notes),
        n_samples=int(y.shape[-1]),
        duration_s=y.shape[-1] / sr,
        peak_dbfs=float(20 * np.log10(np.max(np.abs(y)))),
        rms_dbfs=float(20 * np.log10(max(rms, 1e-12))),
    )
    return out


def audit_clips(
    clips: pd.DataFrame,
    *,
    sr: int = DEFAULT_SR,
    cache: str | Path | None = None,
    n_jobs: int = -1,
    progress: bool = True,
    warn: bool = True,
) -> pd.DataFrame:
    """Audit every clip of a corpus table; results are cached per file.

    Parameters
    ----------
    clips : DataFrame
        A corpus table with ``clip`` and ``path`` columns.
    sr : int
        Sample rate used for durations.
    cache : path, optional
        Cache folder (default :func:`ser_lib.config.cache_dir`). A clip is re-audited only
        when its path, size or content changes.
    n_jobs : int
        Parallel workers (joblib; -1 = all cores).
    progress : bool
        Show a progress bar.
    warn : bool
        Issue a :class:`BadClipWarning` for every skipped or converted clip.

    Returns
    -------
    DataFrame
        ``clips`` joined with the columns of :func:`audit_clip`.
    """

    if not {"clip", "path"} <= set(clips.columns):
        raise ValueError("clips must have 'clip' and 'path' columns (see ser_lib.data.corpus)")
    store = cache_dir(cache) / "audit"
    store.mkdir(parents=True, exist_ok=True)
    keys = [file_key(p, sr=sr) for p in clips["path"]]
    results: dict[str, dict] = {}
    todo = []
    for key, path in zip(keys, clips["path"]):
        f = store / f"{key}.json"
        if f.is_file():
            try:
                results[key] = json.loads(f.read_text())
                continue
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                from ser_lib.features.clipcache import discard_corrupt

                discard_corrupt(f, exc)
        todo.append((key, path))
    from ser_lib.reporting.report import write_atomic

    outs = parallel_map(partial(audit_clip, sr=sr), [p for _, p in todo], n_jobs=n_jobs, desc="Auditing clips",
                        progress=progress, chunk=256, serial_below=65)
    for (key, _), res in zip(todo, outs):
        res = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in res.items()}
        write_atomic(store / f"{key}.json", json.dumps(res))
        results[key] = res
    audit = pd.DataFrame([results[k] for k in keys], columns=AUDIT_COLUMNS[1:])
    out = pd.concat([clips.reset_index(drop=True), audit], axis=1)
    if warn:
        for row in out.itertuples():
            if row.status != "ok":
                warnings.warn(f"{row.clip}: skipped: {row.reason}", BadClipWarning, stacklevel=2)
            elif row.notes:
                warnings.warn(f"{row.clip}: {row.notes}", BadClipWarning, stacklevel=2)
    return out


def problem_list(audited: pd.DataFrame, skipped_names: pd.DataFrame | None = None) -> pd.DataFrame:
    """One table of every problem input: skipped clips and converted clips.

    Parameters
    ----------
    audited : DataFrame
        Output of :func:`audit_clips`.
    skipped_names : DataFrame, optional
        The ``skipped`` table of :func:`ser_lib.data.corpus.corpus_table` (names that do not parse).

    Returns
    -------
    DataFrame
        ``clip``, ``file``, ``action`` (``skipped`` or ``converted``), ``reason``.
    """
    rows = []
    if skipped_names is not None:
        for r in skipped_names.itertuples():
            rows.append({"clip": r.clip, "file": Path(r.path).name, "action": "skipped", "reason": r.reason})
    for r in audited.itertuples():
        if r.status != "ok":
            rows.append({"clip": r.clip, "file": Path(r.path).name, "action": "skipped", "reason": r.reason})
        elif r.notes:
            rows.append({"clip": r.clip, "file": Path(r.path).name, "action": "converted", "reason": r.notes})
    return pd.DataFrame(rows, columns=["clip", "file", "action", "reason"])
