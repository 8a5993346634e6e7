"""Linear classifiers on utterance-level features, with every choice made on training actors.

The field's standard baseline (openSMILE functionals + a linear SVM) done properly: for each
outer fold, every hyperparameter — ``C``, the feature scaler, the class weights — is chosen by
an *inner* actor-disjoint cross-validation over the fold's training actors only (validation
actors included, test actors never), scored by UA (balanced accuracy); the chosen setting is then
refitted on all training actors and scored once on the test actors.

=============  ================================================================================
classifier     scikit-learn estimator
=============  ================================================================================
``svm``        linear-kernel SVM: libsvm's ``SVC`` (hinge loss, one-vs-one voting) on the
               precomputed linear kernel :class:`LinearKernelSVC`; scores are sklearn's
               one-vs-rest transform of the pairwise decisions (votes + confidence)
``logreg``     ``LogisticRegression`` (multinomial, lbfgs); scores are probabilities
=============  ================================================================================

Why a precomputed kernel: on ComParE_2016 (6373 features) and 4000 CREMA-D clips, liblinear's
``LinearSVC`` took 33 s (dual) or 35 s (primal) for one fit at C = 1e-4, libsvm on the Gram
matrix 0.7 s (plus 0.5 s for the matrix) for the same UA (measured on this project's 2-core
machine), which is what makes inner cross-validation affordable.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from ser_lib.evaluation import metrics as M
from ser_lib.data.protocols import Split

CLASSIFIERS = ("svm", "logreg")
SCALERS = ("standard", "robust")

#: The hyperparameter grid searched by default (by inner actor-disjoint CV).
DEFAULT_GRID = {"C": [1e-4, 1e-3, 1e-2, 1e-1], "class_weight": [None, "balanced"], "scaler": ["standard"]}


class LinearKernelSVC(ClassifierMixin, BaseEstimator):
    """A linear SVM trained by libsvm on the precomputed linear kernel ``X @ X.T``.

    The same model as ``SVC(kernel="linear")``; scikit-learn estimator API (``fit``, ``predict``,
    ``decision_function``, ``get_params``/``set_params``), so it works in pipelines and grid
    searches. It keeps the training rows (the kernel of a new clip needs them); :meth:`pairwise`
    turns the dual solution into primal weights for a compact, pickle-free saved model.
    """

    def __init__(self, C: float = 1.0, class_weight=None):
        self.C = C
        self.class_weight = class_weight

    def fit(self, X, y):
        from sklearn.svm import SVC

        self.X_ = np.asarray(X, dtype=np.float32)
        self.svc_ = SVC(kernel="precomputed", C=self.C, class_weight=self.class_weight,
                        decision_function_shape="ovr").fit(self.X_ @ self.X_.T, y)
        self.classes_ = self.svc_.classes_
        return self

    def _kernel(self, X):
        return np.asarray(X, dtype=np.float32) @ self.X_.T

    def decision_function(self, X):
        return self.svc_.decision_function(self._kernel(X))

    def predict(self, X):
        return self.svc_.predict(self._kernel(X))

    def pairwise(self) -> tuple[np.ndarray, np.ndarray]:
        """Primal weights and intercepts of the one-vs-one classifiers, in libsvm's pair order
        ((0, 1), (0, 2), …, (1, 2), …): decision ``X @ W.T + b`` > 0 votes for the first class."""
        svc = self.svc_
        sv = self.X_[svc.support_].astype(np.float64)
        starts = np.concatenate([[0], np.cumsum(svc.n_support_)])
        n = len(self.classes_)
        W = []
        for i in range(n):
            for j in range(i + 1, n):
                a_i = svc.dual_coef_[j - 1, starts[i]:starts[i + 1]]
                a_j = svc.dual_coef_[i, starts[j]:starts[j + 1]]
                W.append(a_i @ sv[starts[i]:starts[i + 1]] + a_j @ sv[starts[j]:starts[j + 1]])
        return np.array(W), np.asarray(svc.intercept_, dtype=np.float64)


def make_pipeline(classifier: str = "svm", *, C: float = 1.0, class_weight=None, scaler: str = "standard"):
    """A scikit-learn pipeline: feature scaler → linear classifier.

    Parameters
    ----------
    classifier : {"svm", "logreg"}
    C : float
        Inverse regularisation strength.
    class_weight : None or "balanced"
    scaler : {"standard", "robust"}
        ``StandardScaler`` (mean / std) or ``RobustScaler`` (median / IQR), fitted on the
        training clips only.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import RobustScaler, StandardScaler

    if classifier not in CLASSIFIERS:
        raise ValueError(f"unknown classifier {classifier!r}; expected one of {CLASSIFIERS}")
    if scaler not in SCALERS:
        raise ValueError(f"unknown scaler {scaler!r}; expected one of {SCALERS}")
    if not C > 0:
        raise ValueError(f"C must be positive, got {C}")
    if classifier == "svm":
        model = LinearKernelSVC(C=C, class_weight=class_weight)
    else:
        model = LogisticRegression(C=C, class_weight=class_weight, max_iter=2000)
    return Pipeline([("scaler", StandardScaler() if scaler == "standard" else RobustScaler()), ("model", model)])


def _grid(grid: dict | None) -> dict:
    grid = {**DEFAULT_GRID, **(grid or {})}
    unknown = set(grid) - set(DEFAULT_GRID)
    if unknown:
        raise ValueError(f"unknown grid keys {sorted(unknown)}; expected some of {sorted(DEFAULT_GRID)}")
    for key, values in grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"grid[{key!r}] must be a non-empty list, got {values!r}")
    return {k: list(v) for k, v in grid.items()}


def select(X: np.ndarray, y, groups, *, classifier: str = "svm", grid: dict | None = None, n_inner: int = 3,
           n_jobs: int = -1, random_state: int = 0):
    """Choose hyperparameters by actor-disjoint inner cross-validation and refit on all of ``X``.

    Only the clips passed in are seen: give it the training actors of an outer fold.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    y : array-like of str
    groups : array-like
        Actor of each clip (the inner folds are actor-disjoint).
    classifier : {"svm", "logreg"}
    grid : dict, optional
        Lists of values for ``C``, ``class_weight``, ``scaler`` (defaults: :data:`DEFAULT_GRID`).
    n_inner : int
        Inner folds (``StratifiedGroupKFold``).
    n_jobs : int
        Parallel fits.

    With a single training actor (toy corpora only) there is nothing to cross-validate: the grid's
    first setting is taken and the table's scores are NaN.

    Returns
    -------
    model : fitted Pipeline (the chosen setting, refitted on all the clips given)
    chosen : dict
        The chosen ``C``, ``class_weight``, ``scaler``.
    table : DataFrame
        Inner-CV UA of every setting (mean and std over inner folds), best first.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold
    from sklearn.preprocessing import RobustScaler, StandardScaler

    grid = _grid(grid)
    y, groups = np.asarray(y), np.asarray(groups)
    n_groups = len(np.unique(groups))
    if n_groups < 2:  # only on toy corpora: nothing to cross-validate, take the grid's first setting
        chosen = {"C": float(grid["C"][0]), "class_weight": grid["class_weight"][0], "scaler": grid["scaler"][0]}
        table = pd.DataFrame([{**chosen, "class_weight": chosen["class_weight"] or "none", "inner_ua": np.nan,
                               "inner_ua_std": np.nan}])
        return make_pipeline(classifier, **chosen).fit(X, y), chosen, table
    cv = StratifiedGroupKFold(n_splits=min(n_inner, n_groups), shuffle=True, random_state=random_state)
    # The scaler is a pipeline step, so it is searched by swapping the step itself.
    scalers = {"standard": StandardScaler(), "robust": RobustScaler()}
    param_grid = {**{f"model__{k}": v for k, v in grid.items() if k != "scaler"},
                  "scaler": [scalers[s] for s in grid["scaler"]]}
    search = GridSearchCV(make_pipeline(classifier), param_grid,
                          scoring="balanced_accuracy", cv=cv, n_jobs=n_jobs, refit=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y, groups=groups)
        res = pd.DataFrame(search.cv_results_)
        table = pd.DataFrame({
            "C": res["param_model__C"].astype(float),
            "class_weight": res["param_model__class_weight"].map(lambda v: "balanced" if v == "balanced" else "none"),
            "scaler": res["param_scaler"].map(lambda s: "robust" if type(s).__name__ == "RobustScaler" else "standard"),
            "inner_ua": res["mean_test_score"], "inner_ua_std": res["std_test_score"],
        }).sort_values("inner_ua", ascending=False, kind="stable").reset_index(drop=True)
        best = table.iloc[0]
        chosen = {"C": float(best["C"]), "class_weight": None if best["class_weight"] == "none" else "balanced",
                  "scaler": str(best["scaler"])}
        model = make_pipeline(classifier, **chosen).fit(X, y)
    return model, chosen, table


def scores_of(model, X: np.ndarray) -> np.ndarray:
    """Class scores of a fitted pipeline: probabilities (``logreg``) or one-vs-rest decision values
    (``svm``), columns in ``model.classes_`` order."""
    if hasattr(model[-1], "predict_proba"):
        return model.predict_proba(X)
    return model.decision_function(X)


def run_fold(X: np.ndarray, y, actors, split: Split, *, labels, classifier: str = "svm", grid: dict | None = None,
             n_inner: int = 3, n_jobs: int = -1, random_state: int = 0):
    """One outer fold: choose on the training actors (``split.train`` ∪ ``split.val``), test once.

    Returns
    -------
    FoldResult
        As :func:`ser_lib.models.training.train_fold` returns (``history`` holds the inner-CV table,
        ``extra`` the chosen setting); ``proba`` holds the class scores in ``labels`` order.
    model : fitted Pipeline
    """
    from ser_lib.models.training import FoldResult

    labels = list(labels)
    y, actors = np.asarray(y, dtype=object), np.asarray(actors)
    train = np.concatenate([split.train, split.val])
    if set(actors[train]) & set(actors[split.test]):
        raise ValueError(f"fold {split.fold}: training and test actors overlap")
    t0 = time.time()
    model, chosen, table = select(X[train], y[train].astype(str), actors[train], classifier=classifier, grid=grid,
                                  n_inner=n_inner, n_jobs=n_jobs, random_state=random_state + split.fold)
    fit_s = time.time() - t0
    raw = scores_of(model, X[split.test])
    order = [list(model.classes_).index(lab) for lab in labels]
    proba = raw[:, order]
    y_true = y[split.test]
    y_pred = np.array(labels, dtype=object)[proba.argmax(axis=1)]
    scores = M.evaluate(y_true, y_pred, labels)
    return FoldResult(split.fold, scores, table, y_true, y_pred, proba, 0, 0, fit_s,
                      extra={"chosen": chosen}), model


def run_configs(features: dict, clips: pd.DataFrame, splits: list[Split], *, labels, configs,
                normalisation: str = "global", grids: dict | None = None, n_inner: int = 3, n_jobs: int = -1,
                progress: bool = True) -> tuple[pd.DataFrame, dict]:
    """Several feature set × classifier configurations under one normalisation, same outer folds.

    Parameters
    ----------
    features : dict
        Feature-set name → matrix (rows = ``clips``).
    clips : DataFrame
        Corpus table (``emotion``, ``actor`` and the normalisation's group column).
    splits : list of Split
    labels : sequence of str
    configs : sequence of (feature_set, classifier)
    normalisation : {"global", "speaker"}
        See :mod:`ser_lib.features.normalise`.
    grids : dict, optional
        Feature set → hyperparameter grid (see :func:`select`); default :data:`DEFAULT_GRID`.
    n_inner, n_jobs
        As :func:`select`.

    Returns
    -------
    table : DataFrame
        One row per configuration: ``feature_set``, ``classifier``, ``normalisation``, UA, WA and
        macro F1 (mean and std over folds), the settings chosen per fold, fit time.
    runs : dict
        ``(feature_set, classifier)`` → list of :class:`~ser_lib.models.training.FoldResult`.
    """
    from tqdm import tqdm

    from ser_lib.features.normalise import normalise

    configs = [tuple(c) for c in configs]
    missing = sorted({fs for fs, _ in configs} - set(features))
    if missing:
        raise ValueError(f"configurations name feature sets {missing} that were not extracted")
    y, actors = clips["emotion"].to_numpy(), clips["actor"].to_numpy()
    rows, runs, normalised = [], {}, {}
    bar = tqdm(total=len(configs) * len(splits), desc=f"linear models ({normalisation})", unit="fold",
               disable=not progress, mininterval=2.0)
    for name, clf in configs:
        if name not in normalised:
            if len(features[name]) != len(clips):
                raise ValueError(f"feature set {name!r} has {len(features[name])} rows for {len(clips)} clips")
            normalised[name] = normalise(features[name], clips, normalisation)
        results = []
        for split in splits:
            result, _ = run_fold(normalised[name], y, actors, split, labels=labels, classifier=clf,
                                 grid=(grids or {}).get(name), n_inner=n_inner, n_jobs=n_jobs)
            results.append(result)
            bar.update(1)
        runs[(name, clf)] = results
        s = M.summarize_folds([r.scores for r in results])
        chosen = [r.extra["chosen"] for r in results]
        rows.append({"feature_set": name, "classifier": clf, "normalisation": normalisation,
                     "ua": s["ua"], "ua_std": s["ua_std"], "wa": s["wa"], "wa_std": s["wa_std"],
                     "macro_f1": s["macro_f1"], "macro_f1_std": s["macro_f1_std"],
                     "chosen_C": ", ".join(f"{c['C']:g}" for c in chosen),
                     "chosen_class_weight": ", ".join(str(c["class_weight"] or "none") for c in chosen),
                     "chosen_scaler": ", ".join(c["scaler"] for c in chosen),
                     "fit_s": round(sum(r.train_s for r in results), 1)})
    bar.close()
    return pd.DataFrame(rows), runs


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The :func:`run_configs` table for a report page: percent, "mean ± std"."""
    out = table[["feature_set", "classifier", "normalisation"]].copy()
    for key, name in (("ua", "UA %"), ("wa", "WA %"), ("macro_f1", "macro F1 %")):
        out[name] = [M.format_score(m, s) for m, s in zip(table[key], table[key + "_std"])]
    out["C chosen per fold"] = table["chosen_C"]
    out["class weight"] = table["chosen_class_weight"]
    out["scaler"] = table["chosen_scaler"]
    out["fit s"] = table["fit_s"]
    return out


def fit_bundle(features: np.ndarray, clips: pd.DataFrame, path, *, classifier: str, feature_set: str,
               corpus: str, synthetic: bool, scores: dict, grid: dict | None = None, n_inner: int = 3,
               n_jobs: int = -1, sr: int = 16000):
    """Fit the final model on *all* actors of a corpus, both normalisations, and save it as a
    pickle-free bundle (:func:`ser_lib.models.bundle.save_bundle`).

    Hyperparameters are chosen, as in every fold, by inner actor-disjoint CV, here over all actors.

    Parameters
    ----------
    features : ndarray
        Raw (un-normalised) feature rows of ``clips``.
    scores : dict
        The actor-disjoint scores to record in the sidecar (mode → figures).

    Returns
    -------
    path : Path of the ``.json`` sidecar
    chosen : dict
        mode → chosen hyperparameters.
    """
    from ser_lib.models.bundle import save_bundle
    from ser_lib.features.normalise import normalise

    y, actors = clips["emotion"].to_numpy().astype(str), clips["actor"].to_numpy()
    pipelines, chosen = {}, {}
    for mode in ("global", "speaker"):
        pipelines[mode], chosen[mode], _ = select(normalise(features, clips, mode), y, actors, classifier=classifier,
                                                  grid=grid, n_inner=n_inner, n_jobs=n_jobs)
    meta = {"classifier": classifier, "feature_set": feature_set, "n_features": int(features.shape[1]), "sr": int(sr),
            "trained_on": {"corpus": corpus, "data": "synthetic" if synthetic else "real", "n_clips": int(len(clips)),
                           "n_actors": int(clips["actor"].nunique())},
            "chosen": chosen, "scores": scores,
            "normalisation": {"global": "each recording alone; z-scored with the training clips' statistics",
                              "speaker": "a batch of one speaker's recordings z-scored together first"}}
    import opensmile

    meta["opensmile"] = opensmile.__version__
    return save_bundle(path, pipelines, meta=meta), chosen


def fit_and_score(X: np.ndarray, y, actors, fit_rows, score_rows: dict, *, labels, classifier: str = "svm",
                  grid: dict | None = None, n_inner: int = 3, n_jobs: int = -1) -> tuple[dict, dict]:
    """Choose (inner actor-disjoint CV) and fit on ``fit_rows`` only, then score other rows.

    Used for fusion: fitted on a fold's training actors, scored on its validation actors (to choose
    the fusion weight) and its test actors.

    Returns
    -------
    scores : dict
        name → class scores of ``score_rows[name]`` in ``labels`` order.
    chosen : dict
        The chosen hyperparameters.
    """
    y, actors, fit_rows = np.asarray(y).astype(str), np.asarray(actors), np.asarray(fit_rows)
    model, chosen, _ = select(X[fit_rows], y[fit_rows], actors[fit_rows], classifier=classifier, grid=grid,
                              n_inner=n_inner, n_jobs=n_jobs)
    order = [list(model.classes_).index(lab) for lab in labels]
    return {name: scores_of(model, X[np.asarray(rows)])[:, order] for name, rows in score_rows.items()}, chosen


