"""Pickle-free model bundles for the linear openSMILE models (the shipped default model).

A bundle is two files side by side:

``<name>.npz``
    Plain numeric arrays only, read with ``np.load(..., allow_pickle=False)``, so loading a
    bundle can never execute code. Per normalisation mode ``m`` (``global``, ``speaker``):
    ``m/center``, ``m/scale`` (the fitted scaler), ``m/coef`` and ``m/intercept`` — one row per
    class for ``logreg``, one per class pair (libsvm's one-vs-one order) for ``svm``.
``<name>.json``
    What is needed to use and to trust it: format version, classifier, labels, feature set and
    its size, sample rate, the data it was trained on (corpus, real or synthetic, clips,
    actors), the hyperparameters chosen by inner actor-disjoint CV, its actor-disjoint scores,
    and the SHA-256 of the ``.npz``.

:func:`load_bundle` refuses, with a one-line :class:`BundleError`, a missing, truncated or
tampered file (checksum), a sidecar of another format, and arrays whose shapes do not match the
labels or the feature set.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = "ser-linear-bundle/1"
MODES = ("global", "speaker")
ARRAYS = ("center", "scale", "coef", "intercept")


class BundleError(ValueError):
    """A model bundle that cannot be used (the message is one line)."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def n_rows(classifier: str, n_labels: int) -> int:
    """Rows of ``coef``: one per class (``logreg``) or per class pair (``svm``, one-vs-one)."""
    return n_labels * (n_labels - 1) // 2 if classifier == "svm" else n_labels


def ovr_scores(decisions: np.ndarray, n_classes: int) -> np.ndarray:
    """One-vs-rest scores from one-vs-one decisions (pair order (0, 1), (0, 2), …; > 0 votes for
    the first class): votes plus summed confidences squashed into (−1/3, 1/3), the transform
    scikit-learn's ``SVC.decision_function`` documents, so the votes decide and confidence breaks
    ties.

    Examples
    --------
    >>> ovr_scores(np.array([[1.0, 1.0, -1.0]]), 3).argmax()  # 0 beats 1 and 2; 2 beats 1
    0
    """
    n = decisions.shape[0]
    votes, conf = np.zeros((n, n_classes)), np.zeros((n, n_classes))
    k = 0
    for i in range(n_classes):
        for j in range(i + 1, n_classes):
            d = decisions[:, k]
            votes[:, i] += d > 0
            votes[:, j] += d <= 0
            conf[:, i] += d
            conf[:, j] -= d
            k += 1
    return votes + conf / (3 * (np.abs(conf) + 1))


def pipeline_arrays(pipeline) -> dict[str, np.ndarray]:
    """``center``, ``scale``, ``coef``, ``intercept`` of a fitted scaler → linear-model pipeline
    (:func:`ser_lib.linear.make_pipeline`); classes follow ``pipeline.classes_``."""
    scaler, model = pipeline[0], pipeline[-1]
    if hasattr(scaler, "mean_"):
        center, scale = scaler.mean_, scaler.scale_
    else:  # RobustScaler
        center, scale = scaler.center_, scaler.scale_
    if hasattr(model, "pairwise"):
        coef, intercept = model.pairwise()
    else:
        coef, intercept = np.atleast_2d(model.coef_), np.atleast_1d(model.intercept_)
    return {"center": np.asarray(center, np.float64), "scale": np.asarray(scale, np.float64),
            "coef": np.asarray(coef, np.float64), "intercept": np.asarray(intercept, np.float64)}


def save_bundle(path: str | os.PathLike, pipelines: dict, *, meta: dict) -> Path:
    """Write ``<path>.npz`` and ``<path>.json``; returns the ``.json`` path.

    Parameters
    ----------
    pipelines : dict
        Mode (``global`` and/or ``speaker``) → fitted pipeline; all must share ``classes_``.
    meta : dict
        Must hold ``classifier``, ``feature_set``, ``n_features``, ``sr`` and ``trained_on``;
        ``labels`` are taken from the pipelines.
    """
    path = Path(path)
    unknown = set(pipelines) - set(MODES)
    if unknown or not pipelines:
        raise ValueError(f"pipelines must be keyed by some of {MODES}, got {sorted(pipelines)}")
    classes = [list(map(str, p.classes_)) for p in pipelines.values()]
    if any(c != classes[0] for c in classes):
        raise ValueError("the pipelines of a bundle must share their classes")
    missing = {"classifier", "feature_set", "n_features", "sr", "trained_on"} - set(meta)
    if missing:
        raise ValueError(f"bundle metadata lacks {sorted(missing)}")
    arrays = {f"{mode}/{k}": v for mode, p in pipelines.items() for k, v in pipeline_arrays(p).items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    npz = path.with_suffix(".npz")
    tmp = npz.with_name(npz.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    os.replace(tmp, npz)
    sidecar = {"format": FORMAT, **meta, "labels": classes[0], "modes": sorted(pipelines),
               "arrays": npz.name, "sha256": _sha256(npz)}
    out = path.with_suffix(".json")
    out.write_text(json.dumps(sidecar, indent=1, default=str) + "\n")
    return out


@dataclass
class Bundle:
    """A loaded bundle: its sidecar and, per mode, its arrays."""

    meta: dict
    arrays: dict
    path: Path

    @property
    def labels(self) -> list[str]:
        return list(self.meta["labels"])

    def scores(self, X: np.ndarray, *, mode: str = "global") -> np.ndarray:
        """Class scores of feature rows ``X`` (already normalised for ``speaker`` mode):
        probabilities for ``logreg`` (softmax), one-vs-rest scores for ``svm`` (:func:`ovr_scores`)."""
        if mode not in self.arrays:
            raise BundleError(f"{self.path.name}: has no {mode!r} model (has {sorted(self.arrays)})")
        a = self.arrays[mode]
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != a["center"].size:
            raise BundleError(f"{self.path.name}: expects {a['center'].size} features per clip, got shape {X.shape}")
        z = (X - a["center"]) / np.where(a["scale"] == 0, 1.0, a["scale"])
        s = z @ a["coef"].T + a["intercept"]
        if self.meta["classifier"] == "svm":
            return ovr_scores(s, len(self.labels))
        s = np.exp(s - s.max(axis=1, keepdims=True))
        return s / s.sum(axis=1, keepdims=True)


def load_bundle(path: str | os.PathLike) -> Bundle:
    """Load and check a bundle (``.json`` or ``.npz`` path, or the common stem).

    Raises
    ------
    BundleError
        Missing file, unreadable sidecar, other format, checksum mismatch (truncated or tampered
        arrays), or arrays that do not fit the labels and feature set. One line.
    """
    path = Path(path)
    sidecar, npz = path.with_suffix(".json"), path.with_suffix(".npz")
    if not sidecar.is_file() or not npz.is_file():
        raise BundleError(f"model bundle {path.with_suffix('')} not found (needs {sidecar.name} and {npz.name})")
    try:
        meta = json.loads(sidecar.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{sidecar.name}: not a valid JSON sidecar ({exc.__class__.__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise BundleError(f"{sidecar.name}: not a {FORMAT} sidecar (format {meta.get('format') if isinstance(meta, dict) else None!r})")
    if _sha256(npz) != meta.get("sha256"):
        raise BundleError(f"{npz.name}: checksum does not match its sidecar (truncated, tampered with, or from another model)")
    try:
        with np.load(npz, allow_pickle=False) as z:
            raw = {k: z[k] for k in z.files}
    except Exception as exc:  # zipfile/ValueError on corrupt data
        raise BundleError(f"{npz.name}: unreadable arrays ({exc.__class__.__name__})") from None
    if meta.get("classifier") not in ("svm", "logreg"):
        raise BundleError(f"{sidecar.name}: unknown classifier {meta.get('classifier')!r}")
    n_labels, n_features = len(meta.get("labels", [])), int(meta.get("n_features", -1))
    rows = n_rows(meta["classifier"], n_labels)
    arrays = {}
    for mode in meta.get("modes", []):
        try:
            a = {k: raw[f"{mode}/{k}"] for k in ARRAYS}
        except KeyError as exc:
            raise BundleError(f"{npz.name}: lacks the array {exc.args[0]}") from None
        if (a["center"].shape != (n_features,) or a["scale"].shape != (n_features,)
                or a["coef"].shape != (rows, n_features) or a["intercept"].shape != (rows,)):
            raise BundleError(f"{npz.name}: arrays of mode {mode!r} do not fit {n_labels} labels × {n_features} features")
        arrays[mode] = a
    if not arrays:
        raise BundleError(f"{sidecar.name}: names no model mode")
    return Bundle(meta, arrays, sidecar)


def install(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Copy a bundle (both files) to ``target``'s stem, checked first and written atomically."""
    import shutil

    load_bundle(source)
    source, target = Path(source), Path(target)
    if source.stem != target.stem:
        raise ValueError(f"a bundle keeps its name: {source.stem!r} cannot be installed as {target.stem!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in (".npz", ".json"):  # arrays first: a sidecar never points at arrays not yet there
        tmp = target.with_suffix(suffix + ".tmp")
        shutil.copyfile(source.with_suffix(suffix), tmp)
        os.replace(tmp, target.with_suffix(suffix))
    return target.with_suffix(".json")


def compare(a: str | os.PathLike, b: str | os.PathLike) -> dict:
    """How two bundles differ: ``same_labels``, ``same_modes`` and the largest absolute
    difference of any array (``max_abs_diff``; None when the shapes differ). The ``.npz`` files
    themselves differ whenever they are rewritten (zip time stamps), so arrays are compared."""
    A, B = load_bundle(a), load_bundle(b)
    out = {"same_labels": A.labels == B.labels, "same_modes": sorted(A.arrays) == sorted(B.arrays),
           "max_abs_diff": None}
    if out["same_labels"] and out["same_modes"]:
        diffs = [float(np.max(np.abs(A.arrays[m][k] - B.arrays[m][k]))) if A.arrays[m][k].shape == B.arrays[m][k].shape
                 else None for m in A.arrays for k in ARRAYS]
        out["max_abs_diff"] = None if None in diffs else max(diffs)
    return out
