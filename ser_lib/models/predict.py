"""Emotion prediction for a user's audio files with a saved model.

Two kinds of saved model:

* **The shipped default** (:data:`DEFAULT_MODEL`, committed under ``ser_lib/resources/model/``,
  fitted by the experiment ``ship-generalise``, :mod:`ser_lib.models.ship`): a linear SVM on
  openSMILE ComParE_2016 functionals trained on every actor of CREMA-D and RAVDESS (six shared
  emotions, with simulated recording conditions), stored as a pickle-free bundle
  (:mod:`ser_lib.models.bundle`) with calibrated probabilities. It works on a fresh clone with no
  corpus. By default each recording is judged alone (``global``); with ``neutral=[...]``
  (``--neutral``) the mean features of 3 or more neutral recordings of the speaker are subtracted
  first (``neutral``); with ``same_speaker=True`` (``--same-speaker``) the recordings, all of one
  speaker and covering the emotions about evenly, are z-scored together first (``speaker``).
* **A Keras model** saved by an experiment with ``save_model``: ``<name>.keras`` plus a
  ``<name>.json`` sidecar (corpus, labels, feature set and settings, window length, scores, and
  the data it was trained on). A clip longer than its window (80080 samples = 5.005 s) is scored
  over windows with 50 % overlap and the window probabilities are averaged.

Any sample rate, mono or stereo, any format soundfile reads. A model whose sidecar says it was
trained on the synthetic demo corpus (or does not say) is used only with a loud warning on every
result.

A recording is judged only when it holds speech: Silero VAD (:mod:`ser_lib.features.vad`) refuses noise,
tones, music, DC offset and silence as "no speech detected", and clips with too little speech for
the features as "too little speech"; a clip whose features are still not finite is refused too.
No output is ever NaN. ``--same-speaker`` refuses degenerate batches: a duplicate recording is
dropped and named, and fewer than :data:`MIN_SAME_SPEAKER` distinct usable recordings, or a batch
whose features do not vary, is refused with the reason.

Command line::

    python -m ser_lib predict AUDIO [AUDIO ...] [--model PATH] [--same-speaker | --neutral REF ...] [--json]
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ser_lib.data.audio import BadClipError, load_clip
from ser_lib.config import EMOTION_NAMES
from ser_lib.models.predict_keras import model_inputs, predict_keras, save_model, windows  # noqa: F401 (re-exported)

#: The shipped default model (a pickle-free linear bundle, see :mod:`ser_lib.models.bundle`).
DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "resources" / "model" / "crema-d-ravdess-compare.json"

SYNTHETIC_WARNING = ("WARNING: this model was trained on the SYNTHETIC demo corpus; its emotions mean "
                     "nothing for real speech")
UNKNOWN_DATA_WARNING = ("WARNING: this model's sidecar does not say what data it was trained on (an old or "
                        "foreign model); treat its emotions with suspicion")


#: Fewest distinct recordings ``--same-speaker`` z-scores together. With n recordings a z-score is
#: bounded by (n - 1) / sqrt(n): with 2, every feature of both recordings is exactly -1 or +1, so the
#: batch says nothing about the speaker; 4 is the least that leaves the features room to vary.
MIN_SAME_SPEAKER = 4

#: Fewest neutral recordings ``--neutral`` averages into the speaker's reference (the shipped model's
#: neutral mode was trained and measured with references of 3 neutral clips per speaker).
MIN_NEUTRAL = 3


class ModelNotFoundError(FileNotFoundError):
    """No saved model where one was expected."""


def check_model_path(path: str | Path) -> Path:
    """Refuse, in one line and before TensorFlow is imported, a ``--model`` path that is plainly
    wrong: missing, a folder, an unknown kind of file, a ``.keras`` that is not a zip archive, or a
    model without its sidecar."""
    path = Path(path)
    if path.is_dir():
        raise ModelNotFoundError(f"{path} is a folder, not a model file (pass the .json of a bundle or a .keras file)")
    if path.suffix not in (".json", ".npz", ".keras"):
        raise ModelNotFoundError(f"{path}: unknown kind of model file {path.suffix or '(no extension)'!r} "
                                 "(expected a bundle .json/.npz or a .keras file)")
    if path.suffix == ".keras":
        if not path.is_file():
            raise ModelNotFoundError(f"{path}: no such file")
        with open(path, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                raise ModelNotFoundError(f"{path}: not a Keras model archive (a .keras file is a zip archive)")
        if not path.with_suffix(".json").is_file():
            raise ModelNotFoundError(f"{path}: its sidecar {path.with_suffix('.json').name} is missing")
    return path


def load_model(path: str | Path | None = None):
    """Load a saved model. Default: ``$SER_MODEL`` or the shipped :data:`DEFAULT_MODEL`.

    A ``.keras`` path loads a Keras model with its sidecar; a ``.json`` / ``.npz`` path loads a
    linear bundle (:func:`ser_lib.models.bundle.load_bundle`).

    Returns
    -------
    model : keras.Model or ser_lib.models.bundle.Bundle
    meta : dict
        The sidecar.

    Raises
    ------
    ModelNotFoundError
        No model at that path.
    ser_lib.models.bundle.BundleError
        A bundle that is truncated, tampered with or does not fit its sidecar.
    """
    path = check_model_path(path or os.environ.get("SER_MODEL") or DEFAULT_MODEL)
    if path.suffix in (".json", ".npz"):
        from ser_lib.models.bundle import load_bundle

        if not path.with_suffix(".json").is_file() or not path.with_suffix(".npz").is_file():
            raise ModelNotFoundError(f"no saved model at {path.with_suffix('')} (.json + .npz); pass --model PATH")
        bundle = load_bundle(path)
        return bundle, bundle.meta
    from ser_lib.models.tf_logging import quiet_tensorflow

    quiet_tensorflow()
    import keras

    path = path.with_suffix(".keras")
    sidecar = path.with_suffix(".json")
    if not path.is_file() or not sidecar.is_file():
        raise ModelNotFoundError(f"no saved model at {path} (with {sidecar.name}); run `make report`, which saves "
                                 "the best experiments' models under reports/models/, or pass --model PATH")
    try:
        meta = json.loads(sidecar.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelNotFoundError(f"{sidecar}: not a valid JSON sidecar ({type(exc).__name__})") from None
    missing = [k for k in ("labels", "features", "feature_settings", "window_samples") if k not in meta]
    if missing:
        raise ModelNotFoundError(f"{sidecar}: sidecar lacks {missing}")
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # a damaged archive, a foreign model, an unsafe lambda layer
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ModelNotFoundError(f"{path}: cannot be loaded as a Keras model ({first})") from None
    return model, meta


def data_warning(meta: dict) -> str | None:
    """The loud warning for a model trained on synthetic (or unknown) data, else None."""
    data = (meta.get("trained_on") or {}).get("data")
    if data == "real":
        return None
    return SYNTHETIC_WARNING if data == "synthetic" else UNKNOWN_DATA_WARNING


def _usable_signals(paths, sr: int, *, front_end: str = "none") -> list[dict]:
    """Load each file and check it holds enough speech (:func:`ser_lib.features.vad.check_speech`),
    then apply the model's front end (:func:`ser_lib.features.conditions.front_end`). Returns one
    dict per file: ``file`` and either ``y`` (and ``speech_s``) or ``error``."""
    from ser_lib.features.conditions import front_end as apply_front_end
    from ser_lib.features.vad import NoSpeechError, check_speech

    out = []
    for p in paths:
        try:
            y, _ = load_clip(p, sr=sr)
            seconds = check_speech(y, sr=sr)
        except BadClipError as exc:
            out.append({"file": str(p), "error": exc.reason})
            continue
        except NoSpeechError as exc:
            out.append({"file": str(p), "error": exc.reason})
            continue
        out.append({"file": str(p), "y": apply_front_end(y, front_end), "speech_s": round(seconds, 2)})
    return out


def _drop_duplicates(out: list[dict]) -> None:
    """Mark every recording identical to an earlier one of the batch as refused (named)."""
    import hashlib

    seen = {}
    for r in out:
        if "y" not in r:
            continue
        digest = hashlib.sha256(np.ascontiguousarray(r["y"]).tobytes()).hexdigest()
        if digest in seen:
            r.pop("y")
            r["error"] = (f"same audio as {Path(seen[digest]).name}: dropped from the speaker's batch "
                          "(a duplicate would weigh twice in the speaker's statistics)")
        else:
            seen[digest] = r["file"]


def _features(out: list[dict], sr: int, feature_set: str) -> tuple[np.ndarray, list[int]]:
    """openSMILE functionals of the usable recordings of ``out`` (their signals are consumed); a
    recording whose features are not finite is refused. Returns the features and their rows."""
    from ser_lib.features.smile import functionals_of_signals

    rows = [i for i, r in enumerate(out) if "y" in r]
    if not rows:
        return np.zeros((0, 0)), []
    X = functionals_of_signals([out[i].pop("y") for i in rows], sr=sr, feature_set=feature_set)
    finite = np.isfinite(X).all(axis=1)
    for i, ok in zip(rows, finite):
        if not ok:
            out[i]["error"] = ("the features could not be computed (openSMILE gave non-finite values: too little "
                               "voiced speech)")
    return X[finite], [i for i, ok in zip(rows, finite) if ok]


def _batch_refusal(n: int, X: np.ndarray, *, what: str, least: int) -> str | None:
    if n < least:
        return (f"{what} needs at least {least} distinct usable recordings of the speaker, got {n}; "
                "judge them one at a time without it")
    if not (X.std(axis=0) > 0).any():
        return f"{what}: the recordings' features do not vary (the same audio?); judge them one at a time"
    return None


def _predict_bundle(paths, bundle, *, same_speaker: bool, neutral=None) -> list[dict]:
    from ser_lib.features.normalise import group_zscore

    meta = bundle.meta
    sr, feature_set = int(meta["sr"]), meta["feature_set"]
    mode = "speaker" if same_speaker else "neutral" if neutral else "global"
    if mode not in bundle.arrays:
        raise ValueError(f"this model has no {mode!r} mode (it has {', '.join(sorted(bundle.arrays))})")
    out = _usable_signals(paths, sr, front_end=meta.get("front_end", "none"))
    if same_speaker:
        _drop_duplicates(out)
    X, rows = _features(out, sr, feature_set)
    if not rows:
        return out
    if neutral:
        ref = _usable_signals(neutral, sr, front_end=meta.get("front_end", "none"))
        _drop_duplicates(ref)
        R, ref_rows = _features(ref, sr, feature_set)
        reason = _batch_refusal(len(ref_rows), R, what="--neutral", least=MIN_NEUTRAL)
        refused = [f"{Path(r['file']).name} ({r['error']})" for r in ref if "error" in r]
        if reason:
            for i in rows:
                out[i]["error"] = reason + (f" (refused references: {'; '.join(refused)})" if refused else "")
            return out
        X = X - R.mean(axis=0)
        described = (f"neutral reference: the mean of {len(ref_rows)} neutral recordings of the speaker subtracted"
                     + (f" ({len(refused)} reference files refused: {'; '.join(refused)})" if refused else ""))
    elif same_speaker:
        reason = _batch_refusal(len(rows), X, what="--same-speaker", least=MIN_SAME_SPEAKER)
        if reason:
            for i in rows:
                out[i]["error"] = reason
            return out
        X, described = group_zscore(X, np.zeros(len(X))), f"same speaker: {len(rows)} recordings normalised together"
    else:
        described = ("single recording (global normalisation; on recordings unlike the training corpora this mode "
                     "is much weaker: give the speaker's neutral recordings with --neutral when you can, see README)")
    if bundle.calibrated:
        S, threshold = bundle.probabilities(X, mode=mode)
        key = "probabilities"
    else:
        S, threshold, key = bundle.scores(X, mode=mode), None, "scores"
    for i, s in zip(rows, S):
        if not np.isfinite(s).all():  # cannot happen with finite features and coefficients; never print NaN
            out[i]["error"] = "the model gave non-finite scores"
            continue
        best = bundle.labels[int(np.argmax(s))]
        out[i].update({"emotion": best, "emotion_name": EMOTION_NAMES.get(best, best),
                       key: {lab: float(v) for lab, v in zip(bundle.labels, s)}, "mode": described})
        if threshold is not None:
            out[i].update(confidence=float(s.max()), uncertain=bool(s.max() < threshold), threshold=float(threshold))
    return out


def predict(paths, *, model=None, meta: dict | None = None, model_path: str | Path | None = None,
            same_speaker: bool = False, neutral=None) -> list[dict]:
    """Predict the emotion of each audio file.

    Parameters
    ----------
    paths : str or sequence of str
        Audio files.
    model, meta : optional
        A loaded model and its sidecar (from :func:`load_model`); otherwise ``model_path`` is loaded.
    model_path : path, optional
        Default: ``$SER_MODEL`` or the shipped :data:`DEFAULT_MODEL`.
    same_speaker : bool
        The files are recordings of one speaker: normalise them together (linear bundles only).
    neutral : sequence of str, optional
        Neutral recordings of the same speaker (at least :data:`MIN_NEUTRAL`): their mean features
        are subtracted from each file's (``neutral`` mode; a bundle that has it). Not with
        ``same_speaker``.

    Returns
    -------
    list of dict
        Per file: ``file``, ``emotion`` (code), ``emotion_name``, ``probabilities`` (code → p, summing
        to 1; an uncalibrated linear SVM gives ``scores``, its decision values, instead), with a
        calibrated bundle ``confidence``, ``threshold`` and ``uncertain`` (the top probability below
        the threshold chosen on validation actors), ``mode`` or ``windows``, and
        ``warning`` for a model not trained on real data — or ``file`` and ``error`` (a one-line
        reason) when the file cannot be used.

    Raises
    ------
    ValueError
        ``same_speaker`` with a Keras model.
    """
    from ser_lib.models.bundle import Bundle

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if model is None or meta is None:
        model, meta = load_model(model_path)
    if same_speaker and neutral:
        raise ValueError("use either --same-speaker or --neutral, not both")
    if isinstance(neutral, (str, os.PathLike)):
        neutral = [neutral]
    if isinstance(model, Bundle):
        out = _predict_bundle(paths, model, same_speaker=same_speaker, neutral=neutral)
    else:
        if same_speaker or neutral:
            raise ValueError("--same-speaker and --neutral work with the openSMILE linear models only (not a Keras model)")
        out = predict_keras(paths, model, meta, _usable_signals(paths, int(meta["feature_settings"]["sr"])))
    warning = data_warning(meta)
    if warning:
        for r in out:
            if "error" not in r:
                r["warning"] = warning
    return out


def to_json(results: list[dict]) -> str:
    """Strict JSON of :func:`predict` results (a non-finite number, which cannot occur, raises)."""
    return json.dumps(results, indent=1, allow_nan=False)


def format_table(results: list[dict]) -> str:
    """Plain-text table of :func:`predict` results."""
    key = next((k for r in results for k in ("probabilities", "scores") if k in r), "probabilities")
    labels = next((list(r[key]) for r in results if key in r), [])
    head = f"{'file':40s} {'emotion':10s} " + " ".join(f"{lab:>6s}" for lab in labels)
    lines = [head, "-" * len(head)]
    for r in results:
        name = Path(r["file"]).name[:40]
        if "error" in r:
            lines.append(f"{name:40s} error: {r['error']}")
        else:
            mark = " (uncertain)" if r.get("uncertain") else ""
            lines.append(f"{name:40s} {r['emotion_name']:10s} " + " ".join(f"{r[key][lab]:6.2f}" for lab in labels) + mark)
    thresholds = sorted({r["threshold"] for r in results if "threshold" in r})
    if thresholds:
        lines.append(f"uncertain: top probability below {thresholds[0]:.2f} (the model's threshold, chosen on "
                     "validation actors; see its sidecar)")
    modes = sorted({r["mode"] for r in results if "mode" in r})
    if modes:
        lines.append(f"mode: {'; '.join(modes)}" + ("" if key == "probabilities" else
                                                    " (columns: linear-SVM decision values, not probabilities)"))
    warnings = sorted({r["warning"] for r in results if "warning" in r})
    return "\n".join(warnings + lines + warnings)
