"""openSMILE functionals: the field's standard utterance-level feature sets.

=================  ========  ==============================================================
feature set        size      what it is
=================  ========  ==============================================================
``eGeMAPSv02``     88        the extended Geneva Minimalistic Acoustic Parameter Set (Eyben et
                             al., IEEE Trans. Affective Computing 7(2), 2016): pitch, jitter,
                             shimmer, loudness, formants, spectral slope … and their statistics
``ComParE_2016``   6373      the INTERSPEECH Computational Paralinguistics challenge set
                             (Schuller et al., 2016): 65 low-level descriptors × functionals
=================  ========  ==============================================================

Computed with audEERING's ``opensmile`` Python package (native openSMILE in the wheel). Its
licence is audEERING's research licence (non-commercial use); only the experiments that use
these features need it, and it is imported lazily so the rest of the report runs without it.

Each clip is loaded with :func:`ser_lib.data.audio.load_clip` (so bad input is skipped with the same
one-line reasons as everywhere else), then processed whole at 16 kHz. One vector per clip,
cached on disk by :mod:`ser_lib.features.clipcache`.

**Always in worker processes.** openSMILE's native library corrupts the heap (``malloc():
invalid size``, the process aborts) when it runs in a process that imported TensorFlow first
(opensmile 2.6.0, TensorFlow 2.21, seen on this project's machine; the other order works). So
:func:`extract_functionals` and :func:`functionals_of_files` run it in loky worker processes,
which never import TensorFlow, even for one clip.
"""

from __future__ import annotations

import os
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import pandas as pd

from ser_lib.data.audio import BadClipError, load_clip
from ser_lib.config import DEFAULT_SR

#: openSMILE functional sets this library extracts, and their sizes.
FEATURE_SETS = {"eGeMAPSv02": 88, "ComParE_2016": 6373}


def check_feature_set(feature_set: str) -> str:
    """Validate an openSMILE feature-set name and return it."""
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"unknown openSMILE feature set {feature_set!r}; expected one of {sorted(FEATURE_SETS)}")
    return feature_set


@lru_cache(maxsize=4)
def extractor(feature_set: str):
    """An ``opensmile.Smile`` for the functionals of ``feature_set`` (one per process)."""
    check_feature_set(feature_set)
    try:
        import opensmile
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the openSMILE experiments need the 'opensmile' package "
                          "(pip install -r requirements.txt)") from exc
    return opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, feature_set),
                           feature_level=opensmile.FeatureLevel.Functionals)


def feature_names(feature_set: str) -> list[str]:
    """Names of the functionals of ``feature_set``, in vector order."""
    return list(extractor(feature_set).feature_names)


def functionals(y: np.ndarray, *, sr: int = DEFAULT_SR, feature_set: str = "ComParE_2016") -> np.ndarray:
    """The openSMILE functionals of one mono signal.

    Parameters
    ----------
    y : ndarray, shape (n,)
        Mono signal.
    sr : int
        Its sample rate.
    feature_set : str
        One of :data:`FEATURE_SETS`.

    Returns
    -------
    ndarray of float32, shape (FEATURE_SETS[feature_set],)

    Raises
    ------
    ValueError
        For a signal that is not 1-D or is empty.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"expected a non-empty 1-D signal, got shape {y.shape}")
    values = extractor(feature_set).process_signal(y, sr).to_numpy(dtype=np.float32)
    return values.reshape(-1)


def _mapper(fn, items, *, n_jobs: int):
    return in_workers(fn, items, n_jobs=n_jobs)


def check_view(view: dict | None) -> dict | None:
    """Validate a view of the clips: ``{"front_end": …, "condition": …}`` or ``{"front_end": …,
    "augment": k}`` (:mod:`ser_lib.features.conditions`); ``None`` is the clip as recorded."""
    from ser_lib.features import conditions

    if view is None:
        return None
    unknown = set(view) - {"front_end", "condition", "augment"}
    if unknown or ("condition" in view and "augment" in view):
        raise ValueError(f"a view has front_end and one of condition / augment; got {sorted(view)}")
    out = {"front_end": conditions.check_front_end(view.get("front_end", "none"))}
    if "condition" in view:
        out["condition"] = conditions.check_condition(view["condition"])
    if "augment" in view:
        if not isinstance(view["augment"], int) or view["augment"] < 0:
            raise ValueError(f"view['augment'] is a copy number >= 0, got {view['augment']!r}")
        out["augment"] = view["augment"]
    return out


def apply_view(y: np.ndarray, sr: int, view: dict | None, *, name: str) -> np.ndarray:
    """A loaded clip as ``view`` sees it: degraded or augmented (seeded by the clip's ``name``), then
    through the front end."""
    from ser_lib.features import conditions as C

    if not view:
        return y
    if "condition" in view:
        y = C.degrade(y, sr, view["condition"], seed=C.clip_seed(name, view["condition"]))
    if "augment" in view:
        y, _ = C.augment(y, sr, seed=C.clip_seed(name, "augment", view["augment"]))
    return C.front_end(y, view["front_end"])


def _clip_functionals(path: str, *, feature_set: str, sr: int, view: dict | None = None) -> dict | str:
    """Load one clip and compute its functionals; a bad clip's reason is returned as a string."""
    try:
        y, _ = load_clip(path, sr=sr)
    except BadClipError as exc:
        return exc.reason
    y = apply_view(y, sr, view, name=Path(path).name)
    x = functionals(y, sr=sr, feature_set=feature_set)
    if not np.all(np.isfinite(x)):
        return f"openSMILE returned non-finite {feature_set} functionals"
    return {"x": x}


def in_workers(fn, items, *, n_jobs: int = -1) -> list:
    """``[fn(x) for x in items]`` computed in loky worker processes (reused between calls), never in
    this process (see the module note on TensorFlow)."""
    from joblib import Parallel, delayed

    items = list(items)
    if not items:
        return []
    cores = os.cpu_count() or 1
    workers = min(len(items), cores if n_jobs is None or n_jobs < 1 else n_jobs)
    # joblib runs everything in this process when n_jobs == 1; with 2 or more its loky backend sends
    # every task to a worker process (started by fork + exec, so TensorFlow is never in it).
    return Parallel(n_jobs=max(2, workers), backend="loky")(delayed(fn)(x) for x in items)


def _signal_functionals(args) -> np.ndarray:
    y, sr, feature_set = args
    return functionals(y, sr=sr, feature_set=feature_set)


def functionals_of_signals(signals, *, sr: int = DEFAULT_SR, feature_set: str = "ComParE_2016",
                           n_jobs: int = -1) -> np.ndarray:
    """:func:`functionals` of several mono signals, computed in worker processes; shape (n, features)."""
    check_feature_set(feature_set)
    rows = in_workers(_signal_functionals, [(np.asarray(y, dtype=np.float32), int(sr), feature_set) for y in signals],
                      n_jobs=n_jobs)
    return np.stack(rows) if rows else np.zeros((0, FEATURE_SETS[feature_set]), np.float32)


def extract_functionals(clips: pd.DataFrame, *, feature_set: str = "ComParE_2016", sr: int = DEFAULT_SR,
                        cache: str | Path | None = None, n_jobs: int = -1, progress: bool = True,
                        view: dict | None = None) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """openSMILE functionals of every clip of a corpus table, from the on-disk cache where possible.

    Parameters
    ----------
    clips : DataFrame
        Corpus table (``clip``, ``path``).
    feature_set : str
        One of :data:`FEATURE_SETS`.
    sr : int
        Sample rate the clips are loaded at.
    cache : path, optional
        Cache folder; the cache file is ``features/smile-<set>-<settings hash>.npz``.
    n_jobs : int
        joblib workers (-1 = all cores).
    progress : bool
        Progress bar.
    view : dict, optional
        The clips under a test condition or a training-time augmentation, through a front end
        (:func:`check_view`); ``None``: as recorded. Each view has its own cache file.

    Returns
    -------
    X : ndarray, shape (n_kept, n_features), float32
    kept : DataFrame
        Rows of ``clips`` with features, in table order.
    skipped : DataFrame
        ``clip``, ``reason``.
    """
    from ser_lib.features.clipcache import cached_map, split_results, store_path

    check_feature_set(feature_set)
    import opensmile

    from ser_lib.features import conditions

    view = check_view(view)
    settings = {"feature_set": feature_set, "sr": int(sr), "opensmile": opensmile.__version__}
    if view:  # the clips as recorded keep the cache they always had
        settings = {**settings, "view": view, "conditions": conditions.VERSION}
    store = store_path(cache, f"smile-{feature_set}", settings)
    desc = f"openSMILE {feature_set}" + (f" ({', '.join(f'{k} {v}' for k, v in view.items())})" if view else "")
    keys, cached = cached_map(list(clips["path"]),
                              partial(_clip_functionals, feature_set=feature_set, sr=int(sr), view=view),
                              store=store, names=("x",), n_jobs=n_jobs, progress=progress,
                              desc=desc, mapper=partial(_mapper, n_jobs=n_jobs))
    ok, kept, skipped = split_results(clips, keys, cached)
    n = FEATURE_SETS[feature_set]
    X = np.stack([cached[k]["x"] for k, good in zip(keys, ok) if good]) if ok.any() else np.zeros((0, n), np.float32)
    return X.astype(np.float32), kept, skipped
