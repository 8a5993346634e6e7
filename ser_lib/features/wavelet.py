"""WaDER features: Morlet continuous wavelet transform in the 100–2000 Hz band, cut into frames.

Recipe of the original work (Dutt & Gader, IEEE/ACM TASLP 31, 2023, as replicated on RAVDESS):
load at 16 kHz → ``librosa.effects.trim`` → z-normalise → (a second copy with white Gaussian
noise at an SNR drawn from 15–30 dB) → ``pywt.cwt`` with the ``morl`` wavelet, scales 1…255,
sampling period 1/16000 → keep the scales of the 100–2000 Hz band: **125 scales, 6…130**, as the
original listing does (scale 6 is centred at 2167 Hz, just above 2 kHz; ``scale_rule="strict"``
keeps only the 124 scales 7…130 whose centre lies inside the band) → non-overlapping 4000-sample
frames, at most 100 random frames per clip.

**Frame layout.** The original builds each frame as ``(scales, 4000)`` and then calls
``frames.reshape((n, 4000, n_scales))``: a reshape, not a transpose, so each "time step" the
autoencoder sees is ``n_scales`` consecutive samples of *one* scale. ``frame_layout=
"original-reshape"`` reproduces that; ``"transpose"`` (the default) gives every time step the
``n_scales`` coefficients of one instant, which is what the method describes.

Only the in-band scales are computed (each scale of a CWT is independent, so this gives the
same coefficients for half the work; a test checks it).

**Memory.** At full resolution the float32 coefficients of all 1440 RAVDESS clips (trimmed) and
their noisy copies take 65.4 GiB with the 125 scales (:func:`full_resolution_gib` on the
trimmed lengths of the store; every WaDER report prints it). ``time_pool`` reduces the time axis by an integer factor
before anything is stored — ``rms`` (root-mean-square over each window: the envelope),
``mean`` or ``decimate`` (keep every k-th sample) — and the pooled coefficients are cached on
disk as float16 in one memory-mapped file per setting, read back frame by frame.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ser_lib.data.audio import BadClipError, load_clip
from ser_lib.config import DEFAULT_SR, cache_dir
from ser_lib.data.identity import clip_key, settings_key
from ser_lib.pipeline.parallel import parallel_map

DEFAULTS = {"sr": DEFAULT_SR, "wavelet": "morl", "max_scale": 255, "fmin": 100.0, "fmax": 2000.0,
            "scale_rule": "original", "top_db": 60, "time_pool": 32, "pool_mode": "rms", "snr_db": (15.0, 30.0)}
POOL_MODES = ("rms", "mean", "decimate")
SCALE_RULES = ("original", "strict")
FRAME_LAYOUTS = ("transpose", "original-reshape")


def band_scales(*, wavelet: str = "morl", sr: int = DEFAULT_SR, max_scale: int = 255,
                fmin: float = 100.0, fmax: float = 2000.0, scale_rule: str = "original") -> tuple[np.ndarray, np.ndarray]:
    """Scales among 1…``max_scale`` for the band [fmin, fmax] Hz.

    Parameters
    ----------
    scale_rule : {"original", "strict"}
        ``strict``: the scales whose centre frequency lies in the band (124 scales, 7…130, for the
        defaults). ``original``: those and the next smaller scale, whose centre is just above
        ``fmax`` (125 scales, 6…130), which is what the original listing keeps.

    Returns
    -------
    scales : ndarray of int
    freqs : ndarray of float (Hz), in the same (descending) order.
    """
    import pywt

    if not 0 < fmin < fmax <= sr / 2:
        raise ValueError(f"need 0 < fmin < fmax <= sr/2, got fmin={fmin}, fmax={fmax}, sr={sr}")
    if scale_rule not in SCALE_RULES:
        raise ValueError(f"unknown scale_rule {scale_rule!r}; expected one of {SCALE_RULES}")
    scales = np.arange(1, max_scale + 1)
    freqs = pywt.scale2frequency(wavelet, scales) * sr
    keep = (freqs >= fmin) & (freqs <= fmax)
    if not keep.any():
        raise ValueError("no scale falls in the requested band")
    if scale_rule == "original":
        first = int(np.flatnonzero(keep)[0])
        keep[max(first - 1, 0)] = True
    return scales[keep], freqs[keep]


def preprocess(y: np.ndarray, *, top_db: float = 60) -> np.ndarray:
    """``librosa.effects.trim`` then z-normalisation ``(y - mean) / std``."""
    import librosa

    y, _ = librosa.effects.trim(np.asarray(y, dtype=np.float32), top_db=top_db)
    std = float(y.std())
    if y.size == 0 or std == 0:
        raise ValueError("nothing left after trimming (silent clip)")
    return ((y - y.mean()) / std).astype(np.float32)


def add_awgn(y: np.ndarray, *, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """White Gaussian noise at ``snr_db`` relative to the signal's mean power."""
    power = float(np.mean(np.asarray(y, dtype=np.float64) ** 2))
    noise = rng.standard_normal(y.size) * np.sqrt(power / 10 ** (snr_db / 10))
    return (y + noise).astype(np.float32)


def pool_time(coefs: np.ndarray, factor: int, mode: str = "rms") -> np.ndarray:
    """Reduce the last axis by ``factor`` (``rms``, ``mean`` or ``decimate``); a partial window is dropped."""
    if mode not in POOL_MODES:
        raise ValueError(f"unknown pool_mode {mode!r}; expected one of {POOL_MODES}")
    if factor < 1:
        raise ValueError("time_pool must be >= 1")
    if factor == 1:
        return coefs
    if mode == "decimate":
        return coefs[..., ::factor][..., : coefs.shape[-1] // factor]
    n = coefs.shape[-1] // factor
    windows = coefs[..., : n * factor].reshape(*coefs.shape[:-1], n, factor)
    if mode == "mean":
        return windows.mean(axis=-1)
    return np.sqrt((windows.astype(np.float32) ** 2).mean(axis=-1))


def cwt_band(y: np.ndarray, *, sr: int = DEFAULT_SR, wavelet: str = "morl", max_scale: int = 255,
             fmin: float = 100.0, fmax: float = 2000.0, scale_rule: str = "original", time_pool: int = 1,
             pool_mode: str = "rms") -> np.ndarray:
    """Band-limited CWT of one signal, time-pooled.

    Returns
    -------
    ndarray, shape (n_samples // time_pool, n_scales), float32
        Time along the first axis (the layout the models read).
    """
    import pywt

    scales, _ = band_scales(wavelet=wavelet, sr=sr, max_scale=max_scale, fmin=fmin, fmax=fmax, scale_rule=scale_rule)
    coefs, _ = pywt.cwt(np.asarray(y, dtype=np.float32), scales, wavelet, sampling_period=1.0 / sr, method="fft")
    return np.ascontiguousarray(pool_time(coefs.astype(np.float32), time_pool, pool_mode).T)


def _clip_cwt(path: str, settings: dict, noise_seed) -> tuple[np.ndarray, np.ndarray] | str:
    """Clean and noisy band CWT of one clip, or the reason it cannot be used."""
    try:
        y, _ = load_clip(path, sr=settings["sr"])
        y = preprocess(y, top_db=settings["top_db"])
    except (BadClipError, ValueError) as exc:
        return getattr(exc, "reason", str(exc))
    rng = np.random.default_rng(noise_seed)
    noisy = add_awgn(y, snr_db=rng.uniform(*settings["snr_db"]), rng=rng)
    kw = {k: settings[k] for k in ("sr", "wavelet", "max_scale", "fmin", "fmax", "scale_rule", "time_pool", "pool_mode")}
    return cwt_band(y, **kw).astype(np.float16), cwt_band(noisy, **kw).astype(np.float16)


class CWTStore:
    """Pooled band CWT of every clip (clean and noisy), in one memory-mapped float16 file.

    Attributes
    ----------
    clips : DataFrame
        The usable clips, with ``offset`` and ``length`` (time steps) into the store.
    skipped : DataFrame
        ``clip``, ``reason`` of the clips that could not be used.
    n_scales : int
    settings : dict
    """

    def __init__(self, path: Path, clips: pd.DataFrame, skipped: pd.DataFrame, settings: dict, n_scales: int):
        self.path, self.clips, self.skipped, self.settings, self.n_scales = path, clips, skipped, settings, n_scales
        total = int(clips["length"].sum()) if len(clips) else 0
        self._data = np.memmap(path, dtype=np.float16, mode="r", shape=(2, total, n_scales)) if total else None

    @property
    def nbytes(self) -> int:
        return 0 if self._data is None else int(self._data.nbytes)

    def coefficients(self, i: int, *, noisy: bool = False) -> np.ndarray:
        """(time, scales) coefficients of the ``i``-th usable clip (float32)."""
        row = self.clips.iloc[i]
        return np.asarray(self._data[int(noisy), row["offset"]: row["offset"] + row["length"]], dtype=np.float32)

    def frames(self, i: int, *, noisy: bool = False, frame_len: int, max_frames: int | None = 100,
               rng: np.random.Generator | None = None, layout: str = "transpose") -> np.ndarray:
        """Non-overlapping frames ``(n, frame_len, scales)`` of one clip; at most ``max_frames``,
        drawn at random (with ``rng``) when there are more. A clip shorter than one frame gives one
        zero-padded frame. ``layout`` is :func:`arrange_frames`'."""
        c = self.coefficients(i, noisy=noisy)
        n = c.shape[0] // frame_len
        if n == 0:
            out = np.zeros((1, frame_len, c.shape[1]), dtype=np.float32)
            out[0, : c.shape[0]] = c
            return arrange_frames(out, layout)
        f = c[: n * frame_len].reshape(n, frame_len, c.shape[1])
        if max_frames is not None and n > max_frames:
            pick = np.sort((rng or np.random.default_rng(0)).choice(n, max_frames, replace=False))
            f = f[pick]
        return arrange_frames(f, layout)

    def padded(self, *, noisy: bool = False, log: bool = False, eps: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
        """Every clip's coefficients in one zero-padded array.

        Parameters
        ----------
        noisy : bool
            The noisy copies instead of the clean ones.
        log : bool
            ``log(|c| + eps)`` (log-compressed magnitude; for pooled ``rms``/``mean`` stores).

        Returns
        -------
        X : ndarray (clips, longest, scales), float16
        lengths : ndarray of int (time steps of each clip)
        """
        lengths = self.clips["length"].to_numpy().astype(int)
        X = np.zeros((len(lengths), int(lengths.max()) if len(lengths) else 0, self.n_scales), dtype=np.float16)
        for i, n in enumerate(lengths):
            c = self.coefficients(i, noisy=noisy)
            X[i, :n] = np.log(np.abs(c) + eps) if log else c
        return X, lengths


def arrange_frames(frames: np.ndarray, layout: str = "transpose") -> np.ndarray:
    """Lay out frames ``(n, time, scales)`` as the models read them.

    ``transpose``: unchanged (each time step holds all scales at one instant). ``original-reshape``:
    what the original listing does: the frame as ``(scales, time)`` reshaped (not transposed) to
    ``(time, scales)``, so each row holds ``scales`` consecutive values of one scale's time series.
    """
    if layout not in FRAME_LAYOUTS:
        raise ValueError(f"unknown frame_layout {layout!r}; expected one of {FRAME_LAYOUTS}")
    if layout == "transpose":
        return frames
    n, t, s = frames.shape
    return np.ascontiguousarray(frames.transpose(0, 2, 1)).reshape(n, t, s)


def full_resolution_gib(store: "CWTStore") -> float:
    """GiB that the store's clips would take unpooled, as float32, clean and noisy copies."""
    return 2 * float(store.clips["length"].sum()) * int(store.settings["time_pool"]) * store.n_scales * 4 / 2**30


def build_store(clips: pd.DataFrame, *, cache: str | Path | None = None, n_jobs: int = -1, progress: bool = True,
                seed: int = 0, **settings) -> CWTStore:
    """Compute (or reuse) the pooled band CWT of every clip and its noisy copy.

    The store is keyed by the clip list (names, sizes, times) and all settings; the noisy copy of
    clip ``k`` uses the seed ``(seed, k)``, so it is reproducible.

    Parameters
    ----------
    clips : DataFrame
        Corpus table (``clip``, ``path``).
    cache : path, optional
    n_jobs : int
        Parallel workers (joblib).
    seed : int
        Noise seed.
    **settings
        Overrides of :data:`DEFAULTS`.
    """
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown CWT settings {sorted(unknown)}; expected some of {sorted(DEFAULTS)}")
    settings = {**DEFAULTS, **settings}
    settings["snr_db"] = tuple(settings["snr_db"])
    if settings["pool_mode"] not in POOL_MODES:
        raise ValueError(f"unknown pool_mode {settings['pool_mode']!r}; expected one of {POOL_MODES}")
    n_scales = len(band_scales(wavelet=settings["wavelet"], sr=settings["sr"], max_scale=settings["max_scale"],
                               fmin=settings["fmin"], fmax=settings["fmax"], scale_rule=settings["scale_rule"])[0])
    ident = [(c, clip_key(p)) for c, p in zip(clips["clip"], clips["path"])]
    key = settings_key([ident, settings, seed], length=16, algorithm="sha1")
    folder = cache_dir(cache) / "cwt"
    folder.mkdir(parents=True, exist_ok=True)
    data_path, index_path = folder / f"cwt-{key}.f16", folder / f"cwt-{key}.json"
    from ser_lib.features.clipcache import locked

    with locked(data_path):  # an experiment running beside this one may be filling the same store
        return _build_store_unlocked(clips, data_path=data_path, index_path=index_path, settings=settings,
                                     n_scales=n_scales, n_jobs=n_jobs, progress=progress, seed=seed)


def _build_store_unlocked(clips, *, data_path: Path, index_path: Path, settings: dict, n_scales: int, n_jobs: int,
                          progress: bool, seed: int) -> CWTStore:

    if data_path.is_file() and index_path.is_file():
        try:
            index = json.loads(index_path.read_text())
            kept = clips.set_index("clip").loc[[r["clip"] for r in index["clips"]]].reset_index()
            kept["offset"] = [r["offset"] for r in index["clips"]]
            kept["length"] = [r["length"] for r in index["clips"]]
            expected = 2 * int(sum(kept["length"])) * n_scales * 2  # two float16 planes
            if data_path.stat().st_size != expected:
                raise ValueError(f"{data_path.name} holds {data_path.stat().st_size} bytes, its index says {expected}")
            return CWTStore(data_path, kept, pd.DataFrame(index["skipped"], columns=["clip", "reason"]), settings, n_scales)
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
            from ser_lib.features.clipcache import discard_corrupt

            discard_corrupt(index_path, exc)
            data_path.unlink(missing_ok=True)

    paths = clips["path"].tolist()
    results: list = [None] * len(paths)
    outs = parallel_map(_clip_cwt, [(p, settings, [seed, k]) for k, p in enumerate(paths)], n_jobs=n_jobs,
                        desc="Wavelet transform", progress=progress, chunk=64, serial_below=9, star=True,
                        mininterval=5.0)
    for k, out in enumerate(outs):
        results[k] = out
    good = [k for k, r in enumerate(results) if not isinstance(r, str)]
    lengths = [results[k][0].shape[0] for k in good]
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int) if good else np.array([], dtype=int)
    total = int(sum(lengths))
    tmp = data_path.with_suffix(f".{os.getpid()}.tmp")
    if total:
        mm = np.memmap(tmp, dtype=np.float16, mode="w+", shape=(2, total, n_scales))
        for k, off, n in zip(good, offsets, lengths):
            mm[0, off: off + n] = results[k][0]
            mm[1, off: off + n] = results[k][1]
        mm.flush()
        del mm
    else:
        tmp.write_bytes(b"")
    tmp.replace(data_path)
    skipped = [{"clip": clips["clip"].iloc[k], "reason": r} for k, r in enumerate(results) if isinstance(r, str)]
    from ser_lib.reporting.report import write_atomic

    write_atomic(index_path, json.dumps({
        "clips": [{"clip": clips["clip"].iloc[k], "offset": int(o), "length": int(n)} for k, o, n in zip(good, offsets, lengths)],
        "skipped": skipped, "settings": {k: v for k, v in settings.items()}, "n_scales": n_scales}))
    kept = clips.iloc[good].reset_index(drop=True).copy()
    kept["offset"], kept["length"] = offsets, lengths
    return CWTStore(data_path, kept, pd.DataFrame(skipped, columns=["clip", "reason"]), settings, n_scales)


def frame_dataset(store: CWTStore, indices, *, noisy: str = "no", frame_samples: int = 4000,
                  max_frames: int | None = 100, seed: int = 0, layout: str = "transpose") -> tuple[np.ndarray, np.ndarray]:
    """Stack the frames of some clips.

    Parameters
    ----------
    store : CWTStore
    indices : array of int
        Rows of ``store.clips``.
    noisy : {"no", "also", "only"}
        Clean frames only, clean and noisy copies, or noisy only.
    frame_samples : int
        Frame length in *samples* at the original rate (divided by ``time_pool``).
    max_frames : int, optional
        At most this many random frames per clip (and per copy).
    layout : {"transpose", "original-reshape"}
        See :func:`arrange_frames`.

    Returns
    -------
    X : ndarray (n_frames, frame_len, scales), float32
    owner : ndarray of int
        For each frame, the row of ``store.clips`` it came from (frames never mix clips).
    """
    if noisy not in ("no", "also", "only"):
        raise ValueError("noisy must be 'no', 'also' or 'only'")
    frame_len = max(1, frame_samples // int(store.settings["time_pool"]))
    versions = {"no": (False,), "also": (False, True), "only": (True,)}[noisy]
    xs, owner = [], []
    for i in indices:
        for v in versions:
            f = store.frames(int(i), noisy=v, frame_len=frame_len, max_frames=max_frames,
                             rng=np.random.default_rng([seed, int(i), int(v)]), layout=layout)
            xs.append(f)
            owner.append(np.full(len(f), int(i)))
    if not xs:
        return np.zeros((0, frame_len, store.n_scales), dtype=np.float32), np.zeros(0, dtype=int)
    return np.concatenate(xs), np.concatenate(owner)


def clip_probabilities(frame_proba: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frame → clip aggregation: the mean of each clip's frame probabilities.

    Returns
    -------
    clips : ndarray of int (sorted unique owners)
    proba : ndarray (n_clips, n_classes)
    """
    clips, inverse = np.unique(owner, return_inverse=True)
    sums = np.zeros((clips.size, frame_proba.shape[1]))
    np.add.at(sums, inverse, frame_proba)
    counts = np.bincount(inverse, minlength=clips.size)[:, None]
    return clips, sums / counts
