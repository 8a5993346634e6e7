"""Finished runs kept on disk, so that an experiment of many long runs (seeds × folds) can be
completed over several sittings.

A run (one seed on one fold) of the full-resolution WaDER takes hours on a 2-core machine; an
experiment of two seeds does not fit one working session. :func:`cached_run` stores each
finished run's results as one JSON file in the cache folder (``<cache>/runs/<key>.json``), so
the next ``make report`` recomputes only the runs still missing, and the report then shows all
of them together. A run is identified by :func:`run_key`: the run's settings, its seed and fold,
its data (:func:`ser_lib.data.identity.data_identity`: clip names, file sizes, feature lengths and settings, but not
file times, so that a fresh copy of the corpus on another machine is the same data) and the
fingerprint of the ``ser_lib`` code that computes it (:func:`ser_lib.pipeline.sources.source_fingerprint`),
so that changing any of these computes the run again instead of reusing a stale one. Real-data
records are also written to an archive folder committed with the metrics (``reports/runs/``).

The files are plain JSON (arrays as lists with their dtype), read without any code execution,
and carry a SHA-256 of their content: a file that was edited, truncated or renamed is refused
with a one-line :class:`RunCacheError` naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np

from ser_lib.config import cache_dir
from ser_lib.data.identity import plain, restore, settings_key

FORMAT = "ser-lib run record 1"


class RunCacheError(ValueError):
    """A run record that cannot be used (tampered, truncated, renamed or of another format)."""


def _check_types(value) -> None:
    if isinstance(value, dict):
        for v in value.values():
            _check_types(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _check_types(v)
    elif value is not None and not isinstance(value, (bool, int, float, str, np.ndarray, np.generic)):
        raise TypeError(f"a run record holds numbers, strings, arrays, lists and dicts, not {type(value).__name__}")


def _plain(value):
    """JSON-ready copy of a run's results: arrays become ``{"__ndarray__": list, "dtype": str}``."""
    _check_types(value)
    return plain(value, arrays=True, finite=False)


_restore = restore


def _digest(key: str, results) -> str:
    return hashlib.sha256(json.dumps([FORMAT, key, results], sort_keys=True).encode()).hexdigest()


def run_key(settings: dict, *, seed: int, fold: int, data: str, code: str) -> str:
    """Key of one run: SHA-256 (hex, first 32 characters) of its settings, seed, fold, data
    identity and code fingerprint. ``settings`` must be JSON-serialisable (arrays allowed)."""
    return settings_key({"settings": _plain(settings), "seed": int(seed), "fold": int(fold), "data": str(data),
                         "code": str(code)}, length=32)


def record_path(key: str, *, cache: str | os.PathLike | None = None) -> Path:
    """Where the run record of ``key`` lives: ``<cache>/runs/<key>.json``."""
    return cache_dir(cache) / "runs" / f"{key}.json"


def save_run(path: str | os.PathLike, key: str, results: dict) -> Path:
    """Write a run record (atomically: a temporary file renamed into place)."""
    path = Path(path)
    plain = _plain(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"format": FORMAT, "key": key, "sha256": _digest(key, plain), "results": plain}))
    os.replace(tmp, path)
    return path


def load_run(path: str | os.PathLike, key: str) -> dict:
    """Read a run record written by :func:`save_run` for ``key``.

    Raises
    ------
    RunCacheError
        If the file is not valid JSON, not a run record, written for another key, or its content
        does not match its checksum.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunCacheError(f"{path}: not a readable run record ({type(exc).__name__}); delete it to recompute the run") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not {"key", "sha256", "results"} <= set(doc):
        raise RunCacheError(f"{path}: not a run record of format {FORMAT!r}; delete it to recompute the run")
    if doc["key"] != key:
        raise RunCacheError(f"{path}: written for run {doc['key']}, not {key} (renamed?); delete it to recompute the run")
    if _digest(key, doc["results"]) != doc["sha256"]:
        raise RunCacheError(f"{path}: content does not match its checksum (edited or damaged); delete it to recompute the run")
    return _restore(doc["results"])


def cached_run(compute, *, settings: dict, seed: int, fold: int, data: str, modules=(), cache=None,
               code: str | None = None, archive: str | os.PathLike | None = None) -> dict:
    """The results of one run: read from its record when a finished run with the same key exists,
    otherwise ``compute()`` (a callable returning a dict of numbers, strings, arrays, lists and
    dicts), saved, and returned.

    Parameters
    ----------
    compute : callable
    settings : dict
        Everything the run's results depend on besides seed, fold, data and code.
    seed, fold : int
    data : str
        Identity of the run's input data (:func:`ser_lib.data.identity.data_identity`).
    modules : iterable of str
        ``ser_lib`` modules that compute the run; the fingerprint of their sources and of the
        modules they import (:func:`ser_lib.pipeline.sources.source_fingerprint`) is part of the key.
    cache : path, optional
        Cache folder (default ``$SER_CACHE`` or ``.cache/``).
    code : str, optional
        A code fingerprint to use instead of ``modules``'.
    archive : path, optional
        A second folder of run records, read when the cache has none and written beside it (the
        real-data runs keep theirs in ``reports/runs/``, committed with the metrics, so that a fresh
        machine completes an experiment instead of starting it again).

    Returns
    -------
    dict
        The run's results, with ``"from_cache"`` set to whether they were read from a record.
    """
    from ser_lib.pipeline.sources import source_fingerprint

    if code is None:
        if not modules:
            raise ValueError("give the modules that compute the run (or a code fingerprint)")
        code = source_fingerprint(modules)
    key = run_key(settings, seed=seed, fold=fold, data=data, code=code)
    paths = [record_path(key, cache=cache)] + ([Path(archive) / f"{key}.json"] if archive is not None else [])
    for path in paths:
        if path.is_file():
            return {**load_run(path, key), "from_cache": True}
    results = compute()
    for path in paths:
        try:
            save_run(path, key, results)
        except (OSError, TypeError, ValueError) as exc:  # never lose hours of computing to a full disk
            warnings.warn(f"run record not saved to {path}: {exc}", stacklevel=2)
    return {**results, "from_cache": False}
