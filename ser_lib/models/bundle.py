"""Pickle-free model bundles for the linear openSMILE models (the shipped default model).

A bundle is two files side by side:

``<name>.npz``
    Plain numeric arrays only, read with ``np.load(..., allow_pickle=False)``, so loading a
    bundle can never execute code. Per normalisation mode ``m`` (``global``, ``speaker``, ``neutral``):
    ``m/center``, ``m/scale`` (the fitted scaler), ``m/coef`` and ``m/intercept`` — one row per
    class for ``logreg``, one per class pair (libsvm's one-vs-one order) for ``svm``.
``<name>.json``
    What is needed to use and to trust it: format version, classifier, labels, feature set and
    its size, sample rate, the data it was trained on (corpus, real or synthetic, clips,
    actors), the hyperparameters chosen by inner actor-disjoint CV, its actor-disjoint scores,
    the SHA-256 of the ``.npz`` (``sha256``) and the SHA-256 of every sidecar field that changes a
    prediction (``meta_sha256`` over :data:`SIGNED_FIELDS`: labels and their order, classifier,
    modes, sample rate, feature set and size, the data it was trained on, the calibration, the front
    end applied to a recording before its features: ``level``, scaled to −26 dBFS RMS, or ``none``).

``calibration`` (optional, mode → ``temperature``, ``threshold``): the softmax temperature that turns
an SVM's scores into probabilities and the confidence below which an answer is marked uncertain,
both fitted on validation actors (:mod:`ser_lib.evaluation.calibration`). A bundle without it gives
scores, not probabilities.

:func:`load_bundle` refuses, with a one-line :class:`BundleError`, a missing, truncated or
tampered file (either checksum), a sidecar of another format, a malformed field (labels that are
not distinct strings, a feature count that is not a positive integer, ...), non-finite
coefficients, and arrays whose shapes do not match the labels or the feature set.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = "ser-linear-bundle/3"
#: Sidecar fields covered by ``meta_sha256``: everything that changes what a prediction says.
SIGNED_FIELDS = ("format", "classifier", "labels", "modes", "sr", "feature_set", "n_features", "arrays", "trained_on",
                 "calibration", "front_end")
#: Normalisation modes: each recording alone; a speaker's batch z-scored together; minus the mean of
#: the speaker's neutral recordings (:mod:`ser_lib.features.enrolment`).
MODES = ("global", "speaker", "neutral")
ARRAYS = ("center", "scale", "coef", "intercept")


class BundleError(ValueError):
    """A model bundle that cannot be used (the message is one line)."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def meta_digest(meta: dict) -> str:
    """SHA-256 of the sidecar's :data:`SIGNED_FIELDS` (canonical JSON: sorted keys, no spaces)."""
    signed = {k: meta.get(k) for k in SIGNED_FIELDS}
    return hashlib.sha256(json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def check_fields(meta: dict, name: str) -> None:
    """Refuse (one line) a sidecar whose prediction fields are malformed."""
    from ser_lib.features.smile import FEATURE_SETS

    labels = meta.get("labels")
    if (not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) and x for x in labels)
            or len(set(labels)) != len(labels)):
        raise BundleError(f"{name}: 'labels' must be a list of at least 2 distinct non-empty strings, got {labels!r}")
    if meta.get("classifier") not in ("svm", "logreg"):
        raise BundleError(f"{name}: unknown classifier {meta.get('classifier')!r} (expected 'svm' or 'logreg')")
    for key in ("n_features", "sr"):
        v = meta.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise BundleError(f"{name}: {key!r} must be a positive integer, got {v!r}")
    if meta.get("feature_set") not in FEATURE_SETS:
        raise BundleError(f"{name}: unknown feature set {meta.get('feature_set')!r} (known: {', '.join(FEATURE_SETS)})")
    if FEATURE_SETS[meta["feature_set"]] != meta["n_features"]:
        raise BundleError(f"{name}: {meta['feature_set']} has {FEATURE_SETS[meta['feature_set']]} features, "
                          f"the sidecar says {meta['n_features']}")
    modes = meta.get("modes")
    if not isinstance(modes, list) or not modes or not set(modes) <= set(MODES):
        raise BundleError(f"{name}: 'modes' must be a non-empty list of {MODES}, got {modes!r}")
    trained = meta.get("trained_on")
    if not isinstance(trained, dict) or trained.get("data") not in ("real", "synthetic"):
        raise BundleError(f"{name}: 'trained_on' must say whether the data was real or synthetic, got {trained!r}")
    if meta.get("front_end", "none") not in ("none", "level"):
        raise BundleError(f"{name}: unknown front end {meta.get('front_end')!r} (expected 'none' or 'level')")
    calibration = meta.get("calibration")
    if calibration is None:
        return
    if not isinstance(calibration, dict) or not set(calibration) <= set(modes):
        raise BundleError(f"{name}: 'calibration' must map some of the modes {modes} to a temperature and a threshold")
    for mode, c in calibration.items():
        t, th = (c.get("temperature"), c.get("threshold")) if isinstance(c, dict) else (None, None)
        if (not isinstance(t, (int, float)) or isinstance(t, bool) or not np.isfinite(t) or t <= 0
                or not isinstance(th, (int, float)) or isinstance(th, bool) or not 0 <= th <= 1):
            raise BundleError(f"{name}: calibration of {mode!r} needs a positive finite temperature and a threshold "
                              f"in [0, 1], got {c!r}")


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
    >>> int(ovr_scores(np.array([[1.0, 1.0, -1.0]]), 3).argmax())  # 0 beats 1 and 2; 2 beats 1
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
    (:func:`ser_lib.models.linear.make_pipeline`); classes follow ``pipeline.classes_``."""
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
        ``labels`` are taken from the pipelines. ``calibration`` (mode → ``temperature``,
        ``threshold``) makes :meth:`Bundle.probabilities` available.
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
    sidecar = json.loads(json.dumps(sidecar, default=str))  # plain JSON values, as they will be read
    check_fields(sidecar, path.with_suffix(".json").name)
    sidecar["meta_sha256"] = meta_digest(sidecar)
    from ser_lib.reporting.report import write_atomic

    return write_atomic(path.with_suffix(".json"), json.dumps(sidecar, indent=1) + "\n")


def resign(path: str | os.PathLike) -> Path:
    """Rewrite an older sidecar in the current :data:`FORMAT` (re-signs ``meta_sha256``) after
    checking its arrays' checksum; the arrays are not touched."""
    sidecar = Path(path).with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    if _sha256(sidecar.with_suffix(".npz")) != meta.get("sha256"):
        raise BundleError(f"{sidecar.name}: arrays do not match their checksum; not re-signed")
    meta["format"] = FORMAT
    meta["meta_sha256"] = meta_digest(meta)
    from ser_lib.reporting.report import write_atomic

    write_atomic(sidecar, json.dumps(meta, indent=1) + "\n")
    load_bundle(sidecar)
    return sidecar


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

    @property
    def calibrated(self) -> bool:
        """Whether the bundle gives probabilities (a ``logreg`` or a calibrated ``svm``)."""
        return self.meta["classifier"] == "logreg" or bool(self.meta.get("calibration"))

    def probabilities(self, X: np.ndarray, *, mode: str = "global") -> tuple[np.ndarray, float | None]:
        """Class probabilities (rows sum to 1) of feature rows ``X`` and the mode's confidence
        threshold (None when the sidecar states none): the softmax of the SVM's scores at the
        mode's temperature, or a ``logreg``'s own probabilities."""
        from ser_lib.evaluation.calibration import softmax

        cal = (self.meta.get("calibration") or {}).get(mode)
        if self.meta["classifier"] == "logreg":
            return self.scores(X, mode=mode), (cal or {}).get("threshold")
        if cal is None:
            raise BundleError(f"{self.path.name}: mode {mode!r} has no calibration, so no probabilities (scores only)")
        return softmax(self.scores(X, mode=mode), temperature=float(cal["temperature"])), float(cal["threshold"])


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
    if meta.get("meta_sha256") != meta_digest(meta):
        raise BundleError(f"{sidecar.name}: the fields that change a prediction ({', '.join(SIGNED_FIELDS)}) do not "
                          "match their checksum (edited or tampered with)")
    check_fields(meta, sidecar.name)
    if _sha256(npz) != meta.get("sha256"):
        raise BundleError(f"{npz.name}: checksum does not match its sidecar (truncated, tampered with, or from another model)")
    try:
        with np.load(npz, allow_pickle=False) as z:
            raw = {k: z[k] for k in z.files}
    except Exception as exc:  # zipfile/ValueError on corrupt data
        raise BundleError(f"{npz.name}: unreadable arrays ({exc.__class__.__name__})") from None
    n_labels, n_features = len(meta["labels"]), meta["n_features"]
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
        bad = [k for k in ARRAYS if a[k].dtype.kind != "f" or not np.isfinite(a[k]).all()]
        if bad:
            raise BundleError(f"{npz.name}: arrays {bad} of mode {mode!r} hold non-finite or non-float values")
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
