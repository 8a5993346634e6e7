"""Generalisation: one linear model over both corpora, a level-robust front end and training-time
simulation of other recording conditions, scored within a corpus, under degraded test conditions,
across corpora and with calibrated probabilities.

A **recipe** (:data:`RECIPES`) says what a model is trained on:

=========================  =====================================================================
recipe                     training clips of a fold
=========================  =====================================================================
``single``                 the target corpus's training actors, as recorded (today's model)
``joint``                  … plus every clip of the other corpus (six shared emotions)
``joint-level``            as ``joint``, every clip scaled to −26 dBFS RMS first (the front end)
``joint-augment``          as ``joint``, plus one simulated-condition copy of every training clip
``joint-level-augment``    both
=========================  =====================================================================

Everything is the field's baseline: openSMILE ComParE_2016 functionals and a linear-kernel SVM
(:mod:`ser_lib.models.linear`), class weights balanced. **Every choice is made on validation
actors**: in each fold, ``C`` is the value of :data:`C_GRID` with the best UA on the fold's
validation actors (drawn from its training actors; a model fitted without them), then the model is
refitted on all training actors; the softmax temperature that turns its decision values into
probabilities is fitted on the same validation actors' scores, and so is the confidence threshold
below which an answer is marked uncertain. Test actors are scored once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ser_lib.evaluation import calibration as CAL
from ser_lib.evaluation import metrics as M

#: The SVM's ``C`` values tried on each fold's validation actors.
C_GRID = (1e-4, 3e-4, 1e-3)

#: The accuracy an answer above the confidence threshold should reach on validation actors.
TARGET_ACCURACY = 0.8


@dataclass(frozen=True)
class Recipe:
    """What a model is trained on (see the module table)."""

    name: str
    joint: bool
    front_end: str
    augment: bool

    @property
    def label(self) -> str:
        parts = ["both corpora" if self.joint else "target corpus only"]
        parts += ["level front end"] if self.front_end == "level" else []
        parts += ["+ simulated conditions"] if self.augment else []
        return ", ".join(parts)


RECIPES = {r.name: r for r in (Recipe("single", False, "none", False), Recipe("joint", True, "none", False),
                               Recipe("joint-level", True, "level", False),
                               Recipe("joint-augment", True, "none", True),
                               Recipe("joint-level-augment", True, "level", True))}


def check_recipe(name: str) -> Recipe:
    """The recipe called ``name``."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; expected one of {list(RECIPES)}")
    return RECIPES[name]


def view_of(front_end: str, kind: str) -> dict | None:
    """The :func:`ser_lib.features.smile.check_view` of a front end and a kind (``clean``,
    ``augment`` or a test condition of :data:`ser_lib.features.conditions.CONDITIONS`)."""
    if kind == "clean":
        return None if front_end == "none" else {"front_end": front_end}
    if kind == "augment":
        return {"front_end": front_end, "augment": 0}
    return {"front_end": front_end, "condition": kind}


class FeatureBank:
    """Features of every clip of each corpus under each view, aligned to the corpus tables.

    Parameters
    ----------
    tables : dict
        corpus → clip table (the clips as recorded that have features; rows are the reference).
    extract : callable
        ``extract(table, view) -> (X, kept, skipped)``, as :func:`ser_lib.features.smile.extract_functionals`.
    """

    def __init__(self, tables: dict, extract):
        self.tables, self._extract, self._store, self.skipped = tables, extract, {}, []

    def get(self, corpus: str, front_end: str, kind: str, rows: np.ndarray | None = None):
        """``(X, rows)``: features of the table rows ``rows`` (all when None) under a view, for the
        rows whose clip could be read under it (a clip skipped there is listed in :attr:`skipped`)."""
        key = (corpus, front_end, kind)
        table = self.tables[corpus]
        want = np.arange(len(table)) if rows is None else np.asarray(rows)
        have = self._store.get(key)
        if have is None or not np.isin(want, have[1]).all():
            todo = want if have is None else np.union1d(want, have[1])
            X, kept, skipped = self._extract(table.iloc[todo], view_of(front_end, kind))
            where = pd.Index(table["clip"]).get_indexer(kept["clip"])
            self._store[key] = have = (X, where)
            self.skipped += [{"corpus": corpus, "view": f"{front_end}/{kind}", **r} for r in skipped.to_dict("records")]
        X, where = have
        pos = pd.Index(where).get_indexer(want)
        ok = pos >= 0
        return X[pos[ok]], want[ok]


def load_bank(corpora, *, feature_set: str, data_root=None, cache=None, demo_size: str = "demo",
              n_jobs: int = -1) -> tuple[FeatureBank, bool]:
    """A :class:`FeatureBank` of the clips of the six shared emotions of each corpus that have
    openSMILE ``feature_set`` functionals as recorded, and whether any corpus is the synthetic demo."""
    from functools import partial

    from ser_lib.data import corpus as C
    from ser_lib.features import smile
    from ser_lib.models.crosscorpus import shared_clips

    extract = partial(smile.extract_functionals, feature_set=feature_set, cache=cache, n_jobs=n_jobs)
    tables, synthetic = {}, False
    for name in corpora:
        root, syn = C.resolve_corpus(name, data_root_dir=data_root, cache=cache, demo_size=demo_size)
        clips, _ = C.corpus_table(name, root)
        _, kept, _ = extract(shared_clips(clips))
        tables[name], synthetic = kept.reset_index(drop=True), synthetic or syn
    return FeatureBank(tables, lambda table, view: extract(table, view=view)), synthetic


def training_rows(bank: FeatureBank, recipe: Recipe, *, target: str, other: str, train: np.ndarray,
                  val: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X, y, is_val``: a fold's training clips under ``recipe`` (the target's training and
    validation actors, the other corpus when joint, the simulated copies when augmenting);
    ``is_val`` marks every row of a validation actor, copies included."""
    blocks = [(target, np.asarray(train), False), (target, np.asarray(val), True)]
    if recipe.joint:
        blocks.append((other, np.arange(len(bank.tables[other])), False))
    X, y, is_val = [], [], []
    for kind in ("clean", "augment") if recipe.augment else ("clean",):
        for corpus, rows, v in blocks:
            Xb, kept = bank.get(corpus, recipe.front_end, kind, rows)
            X.append(Xb)
            y.append(bank.tables[corpus]["emotion"].to_numpy()[kept])
            is_val.append(np.full(len(kept), v))
    return np.concatenate(X), np.concatenate(y).astype(str), np.concatenate(is_val)


def choose_and_fit(X: np.ndarray, y, is_val, *, labels, X_val: np.ndarray, y_val, c_grid=C_GRID) -> dict:
    """Choose ``C`` on the validation actors, then refit on every training row.

    The model for each ``C`` is fitted on the rows that are not the validation actors' and scored on
    ``X_val`` (their clips as recorded). The temperature and the confidence threshold come from the
    validation scores of the chosen ``C``.

    Returns
    -------
    dict
        ``model`` (fitted on all rows), ``C``, ``val_ua`` (per C), ``temperature``, ``threshold``,
        ``fit_s``.
    """
    from ser_lib.models.linear import make_pipeline, scores_of

    labels = list(labels)
    y, is_val = np.asarray(y).astype(str), np.asarray(is_val, dtype=bool)
    if not is_val.any() or is_val.all():
        raise ValueError("the training rows need validation actors and other actors")
    t0 = time.time()
    tried = {}
    for C in c_grid:
        model = make_pipeline("svm", C=float(C), class_weight="balanced").fit(X[~is_val], y[~is_val])
        raw = scores_of(model, X_val)[:, [list(model.classes_).index(lab) for lab in labels]]
        pred = np.array(labels)[raw.argmax(axis=1)]
        tried[float(C)] = (M.evaluate(np.asarray(y_val), pred, labels)["ua"], raw)
    best = max(tried, key=lambda c: (tried[c][0], -c))  # ties: the stronger regularisation
    val_scores = tried[best][1]
    temperature = CAL.fit_temperature(val_scores, y_val, labels)
    proba = CAL.softmax(val_scores, temperature=temperature)
    threshold = CAL.uncertainty_threshold(proba, y_val, labels, target_accuracy=TARGET_ACCURACY)
    model = make_pipeline("svm", C=best, class_weight="balanced").fit(X, y)
    return {"model": model, "C": best, "val_ua": {c: v[0] for c, v in tried.items()}, "temperature": temperature,
            "threshold": threshold, "fit_s": time.time() - t0}


def class_scores(fitted: dict, X: np.ndarray, labels) -> np.ndarray:
    """Decision values of a :func:`choose_and_fit` model in ``labels`` order."""
    from ser_lib.models.linear import scores_of

    model = fitted["model"]
    return scores_of(model, X)[:, [list(model.classes_).index(lab) for lab in labels]]


def scored(y_true, scores: np.ndarray, labels, *, temperature: float) -> dict:
    """UA, WA, F1s, confusion (:func:`ser_lib.evaluation.metrics.evaluate`) and the calibrated
    probabilities of one set of clips."""
    labels = list(labels)
    pred = np.array(labels)[np.asarray(scores).argmax(axis=1)]
    out = M.evaluate(np.asarray(y_true).astype(str), pred, labels)
    out["proba"] = CAL.softmax(scores, temperature=temperature)
    out["y_true"] = np.asarray(y_true).astype(str)
    return out


def mean_std(values) -> tuple[float, float]:
    """Mean and std (ddof=1, as :func:`ser_lib.evaluation.metrics.summarize_folds`) of fold figures;
    None when there are none."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if not v.size:
        return None, None
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def calibration_summary(proba: np.ndarray, y_true, labels, *, thresholds: list[float], fold_of: np.ndarray) -> dict:
    """ECE pooled and per fold, the reliability bins, and how many answers the per-fold
    thresholds keep and how accurate those are."""
    y_true, fold_of = np.asarray(y_true).astype(str), np.asarray(fold_of)
    ece = [CAL.expected_calibration_error(proba[fold_of == f], y_true[fold_of == f], labels) for f in np.unique(fold_of)]
    kept = np.zeros(len(y_true), dtype=bool)
    for f, t in zip(np.unique(fold_of), thresholds):
        kept[fold_of == f] = proba[fold_of == f].max(axis=1) >= t
    correct = np.array(labels)[proba.argmax(axis=1)] == y_true
    m, s = mean_std(ece)
    return {"ece": CAL.expected_calibration_error(proba, y_true, labels), "ece_fold_mean": m, "ece_fold_std": s,
            "reliability": CAL.reliability(proba, y_true, labels),
            "answered": float(kept.mean()), "answered_accuracy": float(correct[kept].mean()) if kept.any() else None,
            "uncertain_accuracy": float(correct[~kept].mean()) if (~kept).any() else None,
            "thresholds": [float(t) for t in thresholds]}


def fit_fold(X: np.ndarray, y, is_val, *, X_val: np.ndarray, y_val, tests: dict, labels, c_grid=C_GRID) -> dict:
    """One fold: :func:`choose_and_fit`, then score each test set (``name → (X, y)``).

    Returns ``C``, ``val_ua``, ``temperature``, ``threshold``, ``fit_s`` and ``tests`` (name →
    :func:`scored`)."""
    fitted = choose_and_fit(X, y, is_val, labels=labels, X_val=X_val, y_val=y_val, c_grid=c_grid)
    out = {k: fitted[k] for k in ("C", "val_ua", "temperature", "threshold", "fit_s")}
    out["tests"] = {name: scored(yt, class_scores(fitted, Xt, labels), labels, temperature=fitted["temperature"])
                    for name, (Xt, yt) in tests.items() if len(yt)}
    return out


def recipe_fold(bank: FeatureBank, recipe: Recipe, split, *, target: str, other: str, labels,
                robust_rows: np.ndarray, conditions=(), c_grid=C_GRID) -> dict:
    """One within-corpus fold of a recipe: its clean test actors, and the test actors' clips of
    ``robust_rows`` under each of ``conditions`` (``clean`` first, the same clips)."""
    y_all = bank.tables[target]["emotion"].to_numpy().astype(str)
    X, y, is_val = training_rows(bank, recipe, target=target, other=other, train=split.train, val=split.val)
    X_val, val_rows = bank.get(target, recipe.front_end, "clean", split.val)
    tests = {}
    X_test, test_rows = bank.get(target, recipe.front_end, "clean", split.test)
    tests["test"] = (X_test, y_all[test_rows])
    sub = np.intersect1d(split.test, robust_rows)
    for condition in conditions:
        Xc, rows = bank.get(target, recipe.front_end, condition, sub)
        tests[condition] = (Xc, y_all[rows])
    return fit_fold(X, y, is_val, X_val=X_val, y_val=y_all[val_rows], tests=tests, labels=labels, c_grid=c_grid)


def summarise_recipe(folds: list[dict], *, labels, conditions=()) -> dict:
    """Fold figures of one recipe: UA / WA / F1s mean ± std, pooled confusion, the robustness
    row (UA per condition and its drop from clean on the same clips), calibration."""
    labels = list(labels)
    tests = [f["tests"]["test"] for f in folds]
    out = M.summarize_folds(tests)
    out["confusion"] = np.sum([t["confusion"] for t in tests], axis=0).tolist()
    out["chosen_C"] = [f["C"] for f in folds]
    out["temperature"] = [round(float(f["temperature"]), 4) for f in folds]
    out["fit_s"] = round(float(sum(f["fit_s"] for f in folds)), 1)
    robust = {}
    for condition in conditions:
        ua = [f["tests"][condition]["ua"] for f in folds if condition in f["tests"]]
        m, s = mean_std(ua)
        robust[condition] = {"ua": m, "ua_std": s, "n": int(sum(f["tests"][condition]["n"] for f in folds
                                                                if condition in f["tests"]))}
    if "clean" in robust:
        for condition, row in robust.items():
            drops = [f["tests"]["clean"]["ua"] - f["tests"][condition]["ua"] for f in folds if condition in f["tests"]]
            row["drop"], row["drop_std"] = mean_std(drops)
    out["robustness"] = robust
    proba = np.concatenate([t["proba"] for t in tests])
    y_true = np.concatenate([t["y_true"] for t in tests])
    fold_of = np.concatenate([np.full(len(t["y_true"]), i) for i, t in enumerate(tests)])
    out["calibration"] = calibration_summary(proba, y_true, labels, thresholds=[f["threshold"] for f in folds],
                                             fold_of=fold_of)
    return out


def cross_corpus(bank: FeatureBank, recipe: Recipe, *, source: str, target: str, labels, c_grid=C_GRID,
                 val_folds: int = 8) -> dict:
    """Train on every actor of ``source`` (the recipe without the other corpus; ``C``, temperature and
    threshold chosen on about 1/``val_folds`` of the source actors), test on every clip of
    ``target`` one recording at a time (``global``)."""
    from dataclasses import replace

    from ser_lib.models.crosscorpus import cross_split

    src = bank.tables[source]
    split = cross_split(src["emotion"].to_numpy(), src["actor"].to_numpy(), 1, val_folds=val_folds)
    alone = replace(recipe, joint=False)
    X, y, is_val = training_rows(bank, alone, target=source, other=target, train=split.train, val=split.val)
    X_val, val_rows = bank.get(source, recipe.front_end, "clean", split.val)
    X_test, test_rows = bank.get(target, recipe.front_end, "clean")
    y_test = bank.tables[target]["emotion"].to_numpy().astype(str)[test_rows]
    fold = fit_fold(X, y, is_val, X_val=X_val, y_val=src["emotion"].to_numpy().astype(str)[val_rows],
                    tests={"test": (X_test, y_test)}, labels=labels, c_grid=c_grid)
    t = fold["tests"]["test"]
    out = {k: t[k] for k in ("wa", "ua", "macro_f1", "weighted_f1", "wa_ci", "n", "confusion")}
    out.update(C=fold["C"], temperature=fold["temperature"], fit_s=round(fold["fit_s"], 1),
               calibration=calibration_summary(t["proba"], t["y_true"], list(labels), thresholds=[fold["threshold"]],
                                               fold_of=np.zeros(len(t["y_true"]))))
    out["calibration"].pop("reliability")
    return out


#: Enrolment modes of :func:`enrolment_fold`, in table order.
ENROLMENT = ("speaker", "skewed", "neutral")


def enrolment_fold(bank: FeatureBank, split, *, target: str, other: str, labels, ks=(3, 5), seed: int = 0,
                   c_grid=C_GRID) -> dict:
    """A speaker's statistics from several of that speaker's recordings, on one fold (both corpora in
    training, clips as recorded):

    * ``speaker``: each actor z-scored with all of that actor's clips (a batch balanced over
      emotions); the same model scored on ``skewed`` batches (8 clips of one emotion + 8 neutral of
      one test actor, each batch z-scored by itself, :func:`ser_lib.features.enrolment.skewed_batches`);
    * ``neutral-k``: each actor's clips minus the mean of ``k`` of that actor's neutral clips
      (:func:`ser_lib.features.enrolment.neutral_reference`); the enrolment clips of test actors are
      never scored.

    Returns mode → :func:`fit_fold` result (``tests['test']`` the scored clips).
    """
    from ser_lib.features import enrolment as E
    from ser_lib.features.normalise import group_zscore

    tabs = {c: bank.tables[c] for c in (target, other)}
    raw, ys = {}, {}
    for c, table in tabs.items():
        X, rows = bank.get(c, "none", "clean")
        if len(rows) != len(table):
            raise ValueError(f"{c}: every clip of the table needs features as recorded")
        raw[c], ys[c] = X, table["emotion"].to_numpy().astype(str)

    def fold_of(Xn: dict, tests: dict) -> dict:
        X = np.concatenate([Xn[target][split.train], Xn[target][split.val], Xn[other]])
        y = np.concatenate([ys[target][split.train], ys[target][split.val], ys[other]])
        is_val = np.concatenate([np.zeros(len(split.train), bool), np.ones(len(split.val), bool),
                                 np.zeros(len(ys[other]), bool)])
        return fit_fold(X, y, is_val, X_val=Xn[target][split.val], y_val=ys[target][split.val], tests=tests,
                        labels=labels, c_grid=c_grid)

    out = {}
    speaker = {c: group_zscore(raw[c], tabs[c]["actor"].to_numpy()) for c in tabs}
    test_table = tabs[target].iloc[split.test].reset_index(drop=True)
    X_test, y_test = raw[target][split.test], ys[target][split.test]
    batches = E.skewed_batches(test_table, seed=seed)
    skewed = (np.concatenate([E.batch_zscore(X_test, b) for b in batches]), np.concatenate([y_test[b] for b in batches]))
    both = fold_of(speaker, {"test": (speaker[target][split.test], y_test), "skewed": skewed})
    out["speaker"] = {**both, "tests": {"test": both["tests"]["test"]}}
    out["skewed"] = {**both, "tests": {"test": both["tests"]["skewed"]}}
    for k in ks:
        enrol = {c: E.enrolment_rows(tabs[c], k=k, seed=seed) for c in tabs}
        ref = {c: E.neutral_reference(raw[c], tabs[c], enrol[c]) for c in tabs}
        scored_rows = split.test[~enrol[target][split.test]]
        out[f"neutral-{k}"] = fold_of(ref, {"test": (ref[target][scored_rows], ys[target][scored_rows])})
    return out


def enrolment_table(folds: list[dict], *, global_ua: tuple | None = None) -> list[dict]:
    """One row per enrolment mode (UA mean ± std over folds, clips scored), ``global`` first when given."""
    rows = []
    if global_ua is not None:
        rows.append({"mode": "global", "ua": global_ua[0], "ua_std": global_ua[1], "n": None})
    for mode in folds[0]:
        m, s = mean_std([f[mode]["tests"]["test"]["ua"] for f in folds])
        rows.append({"mode": mode, "ua": m, "ua_std": s, "n": int(sum(f[mode]["tests"]["test"]["n"] for f in folds))})
    return rows
