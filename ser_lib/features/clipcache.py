"""One on-disk cache for per-clip results (features of any family), with one clip-key scheme.

A cache is one ``.npz`` file (no pickle: plain arrays, read with ``allow_pickle=False``) holding,
for every clip already processed, either its named arrays or the one-line reason it could not be
used. A clip is identified by :func:`clip_key` (file name, size, digest of its bytes), so a changed
file is processed again and its stale entry dropped. New clips are processed in parallel
(joblib) with a progress bar; the file is written to a temporary name and renamed, so a reader
never sees half a file. While one process fills a cache file it holds a lock on it
(:func:`locked`), so experiments running side by side (``make report JOBS=N``) compute each
clip once: the second waits and then reads what the first wrote.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ser_lib.data.identity import clip_key, settings_key
from ser_lib.pipeline.parallel import parallel_map


@contextlib.contextmanager
def locked(path: str | os.PathLike):
    """Hold an exclusive lock on ``<path>.lock`` (a process waits here while another holds it).

    POSIX advisory lock (``fcntl.flock``), released when the block ends or the process dies, so a
    killed experiment never leaves a cache locked. Where ``fcntl`` does not exist (Windows) the
    block runs unlocked: run one experiment at a time there.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    lock = Path(f"{os.fspath(path)}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class CorruptCacheWarning(UserWarning):
    """A cache file that could not be read was removed and will be recomputed."""


def discard_corrupt(path: Path, exc: Exception) -> None:
    """Warn in one line that ``path`` is unreadable, and delete it so that it is recomputed."""
    import warnings

    warnings.warn(f"{path}: unreadable cache file ({type(exc).__name__}: {str(exc)[:80]}); deleted, recomputing it",
                  CorruptCacheWarning, stacklevel=3)
    try:
        path.unlink()
    except OSError:
        raise OSError(f"{path}: unreadable cache file that cannot be deleted; delete it by hand") from None


def _read(store: Path, names) -> dict:
    cached: dict[str, dict | str] = {}
    if not store.is_file():
        return cached
    try:
        with np.load(store, allow_pickle=False) as z:
            keys = list(z["keys"])
            reasons = dict(zip(z["bad_keys"], z["bad_reasons"])) if "bad_keys" in z else {}
            arrays = {name: z[name] for name in names}
        if any(len(a) != len(keys) for a in arrays.values()):
            raise ValueError("arrays and keys differ in length")
    except Exception as exc:  # truncated (BadZipFile, EOFError), foreign or damaged (KeyError, ValueError)
        discard_corrupt(store, exc)
        return cached
    for i, k in enumerate(keys):
        cached[k] = {name: arrays[name][i] for name in names}
    cached.update(reasons)
    return cached


def _write(store: Path, cached: dict, names) -> None:
    good = [k for k, v in cached.items() if isinstance(v, dict)]
    bad = [k for k, v in cached.items() if isinstance(v, str)]
    tmp = store.with_name(f"{store.stem}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, keys=np.array(good, dtype=str), bad_keys=np.array(bad, dtype=str),
                 bad_reasons=np.array([cached[k] for k in bad], dtype=str),
                 **{name: np.stack([cached[k][name] for k in good]) if good else np.zeros((0,))
                    for name in names})
    os.replace(tmp, store)


def cached_map(paths, compute, *, store: str | os.PathLike, names, n_jobs: int = -1, progress: bool = True,
               desc: str = "Processing clips", chunk: int = 512, mapper=None) -> tuple[list[str], dict]:
    """Results of ``compute(path)`` for every path, from ``store`` where possible.

    Parameters
    ----------
    paths : sequence of str
        Clip files.
    compute : callable
        A picklable function ``path -> dict`` (name → array, every name of ``names``) or
        ``path -> str`` (the reason the clip cannot be used).
    store : path
        The ``.npz`` cache file (its folder is created).
    names : sequence of str
        The arrays each result holds.
    n_jobs : int
        joblib workers (-1 = all cores); small batches run in this process.
    progress : bool
        tqdm progress bar over the clips still to process.
    desc : str
        Progress-bar label.
    mapper : callable, optional
        ``mapper(compute, paths) -> results`` replacing the default (joblib over ``n_jobs`` workers,
        or this process for small batches), e.g. to keep a native library out of this process.

    Returns
    -------
    keys : list of str
        :func:`clip_key` of each path, in order.
    results : dict
        key → dict of arrays, or key → reason (str).
    """
    store = Path(store)
    store.parent.mkdir(parents=True, exist_ok=True)
    names = tuple(names)
    with locked(store):  # another experiment filling the same cache finishes first
        return _cached_map_unlocked(paths, compute, store=store, names=names, n_jobs=n_jobs, progress=progress,
                                    desc=desc, chunk=chunk, mapper=mapper)


def _cached_map_unlocked(paths, compute, *, store: Path, names, n_jobs, progress, desc, chunk, mapper):

    cached = _read(store, names)
    keys = [clip_key(p) for p in paths]
    todo = [(k, str(p)) for k, p in zip(keys, paths) if k not in cached]
    if todo:
        outs = parallel_map(compute, [p for _, p in todo], n_jobs=n_jobs, desc=desc, progress=progress,
                            chunk=chunk, serial_below=33, mapper=mapper)
        for (k, _), res in zip(todo, outs):
            cached[k] = res
        # Forget stale versions of the clips just processed (same file name, other size or time).
        current, renewed = set(keys), {k.split("|")[0] for k, _ in todo}
        for k in [k for k in cached if k not in current and k.split("|")[0] in renewed]:
            del cached[k]
        _write(store, cached, names)
    return keys, cached


def store_path(cache, family: str, settings: dict) -> Path:
    """``<cache>/features/<family>-<hash of settings>.npz``: one cache file per feature family and
    settings, so changing a setting starts a new cache."""
    from ser_lib.config import cache_dir

    tag = settings_key(settings, length=12, algorithm="sha1")
    return cache_dir(cache) / "features" / f"{family}-{tag}.npz"


def split_results(clips: pd.DataFrame, keys: list[str], results: dict) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """The usable clips of a :func:`cached_map` run and the skipped ones with their reasons.

    Returns
    -------
    ok : ndarray of bool (one per row of ``clips``)
    kept : DataFrame (the usable rows, index reset)
    skipped : DataFrame (``clip``, ``reason``)
    """
    ok = np.array([isinstance(results[k], dict) for k in keys], dtype=bool)
    skipped = pd.DataFrame([{"clip": c, "reason": results[k]} for c, k, good in zip(clips["clip"], keys, ok)
                            if not good], columns=["clip", "reason"])
    return ok, clips[ok].reset_index(drop=True), skipped
