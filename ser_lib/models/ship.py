"""The shipped default model of ``predict``: the generalisation experiments' headline recipe
refitted on every actor of both corpora, with calibrated probabilities, in three modes.

=============  =======================================================================================
mode           training clips (both corpora, six shared emotions)      a user gives
=============  =======================================================================================
``global``     the recipe's clips (as recorded, + simulated copies      one recording
               when it augments), z-scored with their statistics
``speaker``    each actor's clips z-scored together                     a speaker's batch covering
                                                                        the emotions about evenly
``neutral``    each actor's clips minus the mean of ``neutral_k`` of     the speaker's neutral
               that actor's neutral clips                                recordings
=============  =======================================================================================

Choices are made as in every fold of the generalisation experiments: about 1/``val_folds`` of the
actors of *each* corpus are validation actors; ``C`` is the value of the grid with the best UA on
them (the model fitted without them), the temperature and the confidence threshold come from their
scores, then the model is refitted on every actor. The figures a user can expect are not measured
here (every actor is in training): :func:`figures` takes them from the generalisation experiments'
records, where the same recipe was scored on test actors and on the other corpus.
"""

from __future__ import annotations

import numpy as np

from ser_lib.models import generalise as G

#: Modes of the shipped model, in the order ``predict`` documents them.
SHIP_MODES = ("global", "speaker", "neutral")

#: How a user's recordings are normalised in each mode (stated in the sidecar).
NORMALISATION = {"global": "each recording alone; z-scored with the training clips' statistics",
                 "speaker": "a batch of one speaker's recordings z-scored together first (the batch should cover "
                            "the emotions about evenly)",
                 "neutral": "the mean features of the speaker's neutral recordings subtracted first"}


def validation_rows(bank: G.FeatureBank, *, val_folds: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    """Per corpus, a mask of the rows of its validation actors (about 1/``val_folds`` of its actors,
    stratified by emotion, grouped by actor)."""
    from ser_lib.models.crosscorpus import cross_split

    out = {}
    for corpus, table in bank.tables.items():
        split = cross_split(table["emotion"].to_numpy(), table["actor"].to_numpy(), 1, val_folds=val_folds,
                            random_state=seed)
        mask = np.zeros(len(table), dtype=bool)
        mask[split.val] = True
        out[corpus] = mask
    return out


def mode_rows(bank: G.FeatureBank, mode: str, recipe: G.Recipe, *, val: dict, neutral_k: int = 3,
              seed: int = 0) -> tuple:
    """``X, y, is_val, X_val, y_val`` of one mode over every corpus of ``bank``."""
    from ser_lib.features import enrolment as E
    from ser_lib.features.normalise import group_zscore

    if mode not in SHIP_MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {SHIP_MODES}")
    X, y, is_val, X_val, y_val = [], [], [], [], []
    kinds = ("clean", "augment") if (mode == "global" and recipe.augment) else ("clean",)
    for kind in kinds:
        for corpus, table in bank.tables.items():
            Xc, rows = bank.get(corpus, recipe.front_end if mode == "global" else "none", kind)
            labels = table["emotion"].to_numpy().astype(str)
            scored = np.ones(len(rows), dtype=bool)
            if mode != "global":
                if len(rows) != len(table):
                    raise ValueError(f"{corpus}: every clip needs features as recorded for the {mode!r} mode")
                if mode == "speaker":
                    Xc = group_zscore(Xc, table["actor"].to_numpy())
                else:
                    enrol = E.enrolment_rows(table, k=neutral_k, seed=seed)
                    Xc, scored = E.neutral_reference(Xc, table, enrol), ~enrol
            X.append(Xc)
            y.append(labels[rows])
            is_val.append(val[corpus][rows])
            if kind == "clean":  # validation actors are scored as recorded, their enrolment clips left out
                keep = val[corpus][rows] & scored
                X_val.append(Xc[keep])
                y_val.append(labels[rows][keep])
    return (np.concatenate(X), np.concatenate(y), np.concatenate(is_val), np.concatenate(X_val),
            np.concatenate(y_val))


def fit_shipped(bank: G.FeatureBank, recipe: G.Recipe, *, labels, c_grid=G.C_GRID, modes=SHIP_MODES,
                neutral_k: int = 3, val_folds: int = 8, seed: int = 0, progress: bool = True) -> dict:
    """Mode → :func:`ser_lib.models.generalise.choose_and_fit` result on every actor of both corpora,
    plus ``n_rows``, ``n_val`` and the chosen C's validation ``ua``."""
    from tqdm.auto import tqdm

    val = validation_rows(bank, val_folds=val_folds, seed=seed)
    out = {}
    for mode in tqdm(list(modes), desc="shipped model", unit="mode", disable=not progress):
        X, y, is_val, X_val, y_val = mode_rows(bank, mode, recipe, val=val, neutral_k=neutral_k, seed=seed)
        fitted = G.choose_and_fit(X, y, is_val, labels=labels, X_val=X_val, y_val=y_val, c_grid=c_grid)
        out[mode] = {**fitted, "n_rows": int(len(y)), "n_val": int(len(y_val)), "ua": fitted["val_ua"][fitted["C"]]}
    return out


def figures(records: list[dict], *, recipe: str, neutral_k: int = 3) -> dict:
    """What a user can expect of the shipped recipe, per tested corpus, from the generalisation
    experiments' records (each figure a mean ± std over that corpus's actor-disjoint test folds, or
    one cross-corpus run): within-corpus UA one recording at a time, with ``speaker`` and
    ``neutral-k`` enrolment and on skewed batches; cross-corpus UA trained on the other corpus
    alone; the drop under each degraded condition; the expected calibration error."""
    out = {}
    for r in records:
        if "recipes" not in r or "enrolment" not in r:
            continue
        row = next((x for x in r["recipes"] if x["recipe"] == recipe), None)
        if row is None:
            continue
        enrol = {e["mode"]: e for e in r["enrolment"]}
        cross = next((x for x in r.get("cross", []) if x["recipe"] == recipe), None)
        cal = next((x for x in r.get("calibration", []) if x["recipe"] == recipe), {})
        out[r["corpus"]] = {
            "experiment": r["experiment"], "protocol": f"actor-disjoint folds of {r['corpus']}, "
                                                       f"{r.get('other_corpus')} wholly in training",
            "global": {"ua": row["ua"], "ua_std": row["ua_std"]},
            **{m: {"ua": enrol[k]["ua"], "ua_std": enrol[k]["ua_std"]}
               for m, k in (("speaker", "speaker"), ("speaker_skewed_batch", "skewed"), ("neutral", f"neutral-{neutral_k}"))
               if k in enrol},
            "cross_corpus": None if cross is None else {"direction": cross["direction"], "ua": cross["ua"],
                                                         "ece": cross["ece"]},
            "robustness_drop": {x["condition"]: x["drop"] for x in r.get("robustness", [])
                                if x["recipe"] == recipe and x["condition"] != "clean"},
            "ece": cal.get("ece")}
    return out


def save_shipped(path, fitted: dict, *, bank: G.FeatureBank, recipe: G.Recipe, feature_set: str, sr: int,
                 synthetic: bool, scores: dict, neutral_k: int = 3):
    """Write the bundle (:func:`ser_lib.models.bundle.save_bundle`) with its calibration, the
    choices made on validation actors and the expected figures (``scores``, :func:`figures`)."""
    import opensmile

    from ser_lib.models.bundle import save_bundle

    tables = bank.tables
    n_features = int(next(iter(fitted.values()))["model"][0].mean_.size)
    meta = {"classifier": "svm", "feature_set": feature_set, "n_features": n_features, "sr": int(sr),
            "front_end": recipe.front_end,
            "trained_on": {"corpus": "+".join(tables), "data": "synthetic" if synthetic else "real",
                           "n_clips": int(sum(len(t) for t in tables.values())),
                           "n_actors": int(sum(t["actor"].nunique() for t in tables.values())),
                           "recipe": recipe.name, "recipe_label": recipe.label, "neutral_k": int(neutral_k)},
            "calibration": {m: {"temperature": float(f["temperature"]), "threshold": float(f["threshold"]),
                                "target_accuracy": G.TARGET_ACCURACY} for m, f in fitted.items()},
            "chosen": {m: {"C": f["C"], "validation_ua": f["ua"], "validation_clips": f["n_val"],
                           "training_rows": f["n_rows"], "class_weight": "balanced", "scaler": "standard"}
                       for m, f in fitted.items()},
            "scores": scores, "normalisation": {m: NORMALISATION[m] for m in fitted},
            "opensmile": opensmile.__version__}
    return save_bundle(path, {m: f["model"] for m, f in fitted.items()}, meta=meta)
