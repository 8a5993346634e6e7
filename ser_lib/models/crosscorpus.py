"""Cross-corpus protocol: train on one corpus, test on the other, on the emotions both share.

CREMA-D has six emotions; RAVDESS has the same six plus *calm* and *surprised*, which are left
out. A cross-corpus run trains on every actor of the source corpus (validation actors carved
from the source only) and tests on every clip of the target corpus; repeating it with other
seeds and validation actors gives a spread. The within-corpus yardstick is the actor-disjoint
protocol on the target's shared emotions.

Recording conditions differ between corpora (microphone, level, room), so raw energy-based
features shift. :func:`corpus_zscore` standardises each corpus with its *own* statistics —
the usual per-corpus normalisation of cross-corpus SER, which uses no target labels.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from ser_lib.config import CREMA_D_EMOTIONS
from ser_lib.data.protocols import Split
from ser_lib.evaluation import metrics as M
from ser_lib.models.linear import scores_of, select

#: Emotions of both corpora (codes), in label order.
SHARED_EMOTIONS = CREMA_D_EMOTIONS

NORMALISATIONS = ("none", "corpus")


def shared_clips(clips: pd.DataFrame, emotions=SHARED_EMOTIONS) -> pd.DataFrame:
    """The rows of a corpus table whose emotion is among ``emotions`` (index reset)."""
    if "emotion" not in clips.columns:
        raise ValueError("clips must have an 'emotion' column (a corpus table)")
    keep = clips["emotion"].isin(list(emotions))
    if not keep.any():
        raise ValueError(f"no clip has one of the emotions {list(emotions)}")
    return clips[keep].reset_index(drop=True)


def corpus_zscore(features: dict[str, np.ndarray], *, mode: str = "corpus") -> dict[str, np.ndarray]:
    """Standardise each feature of one corpus with that corpus's mean and standard deviation.

    Parameters
    ----------
    features : dict
        name → array over the corpus's clips (as from :func:`ser_lib.features.features.extract_features`).
    mode : {"corpus", "none"}
        ``none`` returns the features unchanged.

    Returns
    -------
    dict of float32 arrays, same shapes.
    """
    if mode not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {mode!r}; expected one of {NORMALISATIONS}")
    if mode == "none":
        return dict(features)
    out = {}
    for name, x in features.items():
        x = np.asarray(x, dtype=np.float32)
        std = float(x.std())
        out[name] = ((x - float(x.mean())) / (std if std > 0 else 1.0)).astype(np.float32)
    return out


def cross_split(source_labels, source_actors, n_target: int, *, val_folds: int = 8,
                random_state: int = 0) -> Split:
    """Train / validation on the source corpus, test on the whole target corpus.

    Indices refer to the source rows followed by the target rows (``np.concatenate([X_source,
    X_target])``): the test set is ``len(source) … len(source) + n_target - 1``. About
    ``1/val_folds`` of the source actors (stratified, grouped by actor) become validation.
    """
    labels, actors = np.asarray(source_labels), np.asarray(source_actors)
    if labels.shape != actors.shape or labels.ndim != 1:
        raise ValueError("source_labels and source_actors must be 1-D and of the same length")
    if n_target < 1:
        raise ValueError("the target corpus has no clip")
    k = min(val_folds, len(np.unique(actors)))
    if k < 2:
        raise ValueError("the source corpus needs at least two actors (one for validation)")
    inner = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
    train, val = next(inner.split(np.zeros(labels.size), labels, actors))
    return Split(0, np.sort(train), np.sort(val), labels.size + np.arange(n_target))


HEADLINE_KEYS = ("wa", "ua", "macro_f1", "wa_std", "ua_std", "macro_f1_std")


def run_variant(feats_source: dict, feats_target: dict, source: pd.DataFrame, target: pd.DataFrame, *,
                features, normalisation: str, n_repeats: int, n_folds: int, labels=SHARED_EMOTIONS,
                seed: int = 0, names: tuple[str, str] = ("source", "target"), **train_kw) -> dict:
    """One input normalisation: ``n_repeats`` cross-corpus runs and the within-target yardstick.

    Parameters
    ----------
    feats_source, feats_target : dict
        Features of the shared-emotion clips of each corpus (:func:`ser_lib.features.features.extract_features`).
    source, target : DataFrame
        Their clip tables (``emotion``, ``actor``), in the same order.
    features : list of str
        Feature set (:func:`ser_lib.features.features.feature_set`).
    normalisation : {"corpus", "none"}
        See :func:`corpus_zscore`.
    n_repeats : int
        Cross-corpus runs; repeat ``r`` uses seed ``seed + r`` for weights and validation actors.
    n_folds : int
        Actor-disjoint folds of the within-target yardstick.
    names : (str, str)
        Corpus names for the progress bars.
    **train_kw
        ``architecture``, ``epochs``, ``batch_size``, ``learning_rate``, ``patience`` of
        :func:`ser_lib.models.training.train_fold`.

    Returns
    -------
    dict: ``cross`` and ``within`` (:func:`ser_lib.models.training.summarize` outputs) and the fold
    results ``cross_results`` / ``within_results``.
    """
    from ser_lib.models import training
    from ser_lib.features.features import feature_set
    from ser_lib.data.protocols import actor_folds

    labels = list(labels)
    X_t = feature_set(corpus_zscore(feats_target, mode=normalisation), features)
    X = np.concatenate([feature_set(corpus_zscore(feats_source, mode=normalisation), features), X_t])
    y_t = target["emotion"].to_numpy()
    y = np.concatenate([source["emotion"].to_numpy(), y_t])
    cross = [training.train_fold(X, y, cross_split(source["emotion"], source["actor"], len(target), random_state=seed + r),
                                 labels=labels, seed=seed + r, **train_kw,
                                 desc=f"{normalisation}: {names[0]} → {names[1]}, repeat {r + 1}/{n_repeats}")[0]
             for r in range(n_repeats)]
    within = [training.train_fold(X_t, y_t, s, labels=labels, seed=seed + s.fold, **train_kw,
                                  desc=f"{normalisation}: within {names[1]}, fold {s.fold + 1}/{n_folds}")[0]
              for s in actor_folds(target["emotion"], target["actor"], n_folds=n_folds)]
    return {"cross": training.summarize(cross, labels), "within": training.summarize(within, labels),
            "cross_results": cross, "within_results": within}


def variants_table(runs: dict, *, source_name: str, target_name: str) -> pd.DataFrame:
    """Cross-corpus and within-target scores of every normalisation (percent strings)."""
    from ser_lib.evaluation.metrics import format_score

    rows = []
    for norm, r in runs.items():
        for setting, key, trained_on in (("cross-corpus", "cross", source_name), ("within-corpus", "within", target_name)):
            s = r[key]
            rows.append({"normalisation": norm, "setting": setting, "trained on": trained_on, "tested on": target_name,
                         # every cross repeat tests all target clips; the folds split them
                         "test clips": len(r["cross_results"][0].y_true) if key == "cross" else s["n_test_clips"],
                         **{name: format_score(s[k], s.get(k + "_std")) for k, name in
                            (("wa", "WA %"), ("ua", "UA %"), ("macro_f1", "macro F1 %"))},
                         "chance UA %": format_score(s["chance"]["ua"])})
    return pd.DataFrame(rows).set_index(["normalisation", "setting"])


def variant_scores(runs: dict) -> dict:
    """``normalisation → {"cross": …, "within": …}`` headline scores, for the metrics file."""
    return {norm: {key: {k: r[key].get(k) for k in HEADLINE_KEYS} for key in ("cross", "within")}
            for norm, r in runs.items()}


def cross_corpus(X_source: np.ndarray, source: pd.DataFrame, X_target: np.ndarray, target: pd.DataFrame, *,
                 labels, normalisation: str = "global", classifier: str = "svm", grid: dict | None = None,
                 n_inner: int = 3, n_jobs: int = -1) -> dict:
    """Train on every actor of the source corpus, test on every clip of the target corpus.

    Hyperparameters are chosen by inner actor-disjoint CV on the *source* actors; no target label
    is used for anything but the final score.

    Parameters
    ----------
    normalisation : {"global", "corpus", "speaker"}
        ``global``: the scaler fitted on the source clips is applied to the target as it is;
        ``corpus``: each corpus z-scored with its own clips' statistics; ``speaker``: each actor of
        either corpus with its own clips' statistics (no labels used).

    Returns
    -------
    dict
        :func:`ser_lib.evaluation.metrics.evaluate` of the target clips, plus ``chosen`` and ``fit_s``.
    """
    from ser_lib.features.normalise import check_normalisation, group_zscore

    check_normalisation(normalisation)
    labels = list(labels)
    if normalisation == "corpus":
        X_source, X_target = (group_zscore(X_source, np.zeros(len(X_source))),
                              group_zscore(X_target, np.zeros(len(X_target))))
    elif normalisation == "speaker":
        X_source = group_zscore(X_source, source["actor"].to_numpy())
        X_target = group_zscore(X_target, target["actor"].to_numpy())
    t0 = time.time()
    model, chosen, _ = select(X_source, source["emotion"].to_numpy().astype(str), source["actor"].to_numpy(),
                              classifier=classifier, grid=grid, n_inner=n_inner, n_jobs=n_jobs)
    order = [list(model.classes_).index(lab) for lab in labels]
    scores = scores_of(model, X_target)[:, order]
    pred = np.array(labels, dtype=object)[scores.argmax(1)]
    out = M.evaluate(target["emotion"].to_numpy().astype(object), pred, labels)
    return {**out, "chosen": chosen, "fit_s": round(time.time() - t0, 1)}
