"""Clip identity and cache keys: the one place that decides when two inputs are "the same".

* :func:`clip_key` — a clip file (name, size, digest of its bytes): the per-clip caches (features,
  audit) recompute a clip whose content changed, and survive a copy of the corpus;
* :func:`settings_key` — a digest of JSON-plain settings (the feature-store and CWT-store names,
  the run records' keys);
* :func:`data_identity` — a run's input data, portable across machines (clip names, sizes,
  feature lengths, settings; no file times);
* :func:`corpus_identity` — a corpus folder as the run record's provenance names it;
* :func:`plain` — the JSON-ready copy of a value, used for every file the project writes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np


def plain(value, *, arrays: bool = False, finite: bool = True):
    """A JSON-ready copy of ``value``: dict keys as strings, tuples as lists, NumPy scalars as
    Python numbers, paths as strings.

    Parameters
    ----------
    arrays : bool
        Keep arrays restorable as ``{"__ndarray__": list, "dtype": str}`` (run records); else
        arrays become lists.
    finite : bool
        Non-finite floats become ``None`` (strict JSON has no NaN).

    >>> plain({"a": (np.float32(0.5), float("nan")), 1: Path("x")})
    {'a': [0.5, None], '1': 'x'}
    """
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype)} if arrays else plain(value.tolist())
    if isinstance(value, dict):
        return {str(k): plain(v, arrays=arrays, finite=finite) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, arrays=arrays, finite=finite) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and finite and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def restore(value):
    """Inverse of :func:`plain` with ``arrays=True``: ``{"__ndarray__": ...}`` back to arrays."""
    if isinstance(value, dict):
        if set(value) == {"__ndarray__", "dtype"}:
            return np.array(value["__ndarray__"], dtype=np.dtype(value["dtype"]))
        return {k: restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [restore(v) for v in value]
    return value


def settings_key(value, *, length: int = 32, algorithm: str = "sha256") -> str:
    """Hex digest (first ``length`` characters) of the canonical JSON of ``value``.

    >>> settings_key({"b": 1, "a": [1, 2]}) == settings_key({"a": [1, 2], "b": 1})
    True
    """
    blob = json.dumps(value, sort_keys=True, default=str)
    return hashlib.new(algorithm, blob.encode()).hexdigest()[:length]


def clip_key(path: str | os.PathLike) -> str:
    """Cache key of a clip file: ``"<name>|<size>|<content digest>"``.

    The digest is of the file's bytes (BLAKE2b, 8 bytes), so a corpus copied, re-downloaded or
    restored from a backup keeps its caches (a key from the modification time would not), and a file
    whose content changed is processed again. Digests are remembered per process by (path, size,
    modification time), so a file is read once however many caches ask.
    """
    st = Path(path).stat()
    return f"{Path(path).name}|{st.st_size}|{_digest(str(path), st.st_size, st.st_mtime_ns)}"


@functools.lru_cache(maxsize=1 << 16)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.blake2b(digest_size=8)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_key(path: str | os.PathLike, *, sr: int) -> str:
    """Cache key of a clip file read at sample rate ``sr`` (a missing file has its own key)."""
    raw = f"{path}|{clip_key(path) if Path(path).exists() else -1}|{sr}"
    return hashlib.sha1(raw.encode()).hexdigest()


def data_identity(clips, settings: dict, **extra) -> str:
    """Identity of a run's input data that survives copying the corpus to another machine: the clip
    names, their file sizes (where the file exists) and their feature lengths (``length`` column,
    where present), the feature settings and any ``extra`` values (e.g. the noise seed). File times
    are left out on purpose: a fresh copy of the same corpus gives the same identity.

    Parameters
    ----------
    clips : DataFrame
        ``clip`` and optionally ``path`` and ``length`` columns (e.g. a feature store's clip table).
    settings : dict
        Feature settings (JSON-serialisable).
    """
    rows = []
    for row in clips.itertuples(index=False):
        path = Path(getattr(row, "path", "") or "")
        size = path.stat().st_size if str(path) and path.is_file() else None
        length = getattr(row, "length", None)
        rows.append([str(row.clip), size, None if length is None else int(length)])
    blob = {"clips": sorted(rows), "settings": plain(settings, arrays=True, finite=False),
            "extra": plain(extra, arrays=True, finite=False)}
    return "data-" + settings_key(blob, length=24)


def corpus_identity(corpus_dir: str | os.PathLike | None) -> str | None:
    """SHA-256 over the relative path and size of every file of a corpus folder (cheap: no audio
    is read), or None when the folder does not exist."""
    if corpus_dir is None or not Path(corpus_dir).is_dir():
        return None
    root = Path(corpus_dir)
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(f"{path.relative_to(root).as_posix()}\0{path.stat().st_size}\n".encode())
    return h.hexdigest()
