"""Tables of the generalisation experiments (:mod:`ser_lib.models.generalise`), for their notebook
and for ``RESULTS.md``: the same functions turn a record's rows into the frames both show.

A record of such a run holds ``recipes``, ``robustness``, ``calibration``, ``cross`` and
``enrolment``: lists of plain rows (fractions), written by :func:`record_extra`.
"""

from __future__ import annotations

import pandas as pd

from ser_lib.evaluation.metrics import format_score

#: Keys a record holds when it is a generalisation run.
KEYS = ("recipes", "robustness", "calibration", "cross", "enrolment")


def _pct(value) -> float | None:
    return None if value is None else round(100 * float(value), 1)


def recipe_rows(results: dict, *, headline: str) -> list[dict]:
    """One row per recipe: within-corpus scores (mean ± std over folds), chosen C, fit time."""
    from ser_lib.models.generalise import check_recipe

    return [{"recipe": name, "label": check_recipe(name).label, "headline": name == headline,
             **{k: r[k] for k in ("ua", "ua_std", "wa", "wa_std", "macro_f1", "macro_f1_std")},
             "chosen_C": r["chosen_C"], "temperature": r["temperature"], "fit_s": r["fit_s"]}
            for name, r in results.items()]


def robustness_rows(results: dict) -> list[dict]:
    """One row per recipe and test condition: UA, its drop from clean on the same clips, clips."""
    return [{"recipe": name, "condition": cond, **row} for name, r in results.items()
            for cond, row in r["robustness"].items()]


def calibration_rows(results: dict) -> list[dict]:
    """One row per recipe: ECE pooled and per fold, answers kept above the threshold and their accuracy."""
    keys = ("ece", "ece_fold_mean", "ece_fold_std", "answered", "answered_accuracy", "uncertain_accuracy")
    return [{"recipe": name, **{k: r["calibration"][k] for k in keys}} for name, r in results.items()]


def cross_rows(cross: dict, *, source: str, target: str) -> list[dict]:
    """One row per recipe trained on ``source`` alone and tested on every clip of ``target``."""
    from ser_lib.models.generalise import check_recipe

    return [{"recipe": name, "label": check_recipe(name).label.replace("both corpora", "source corpus"),
             "direction": f"{source} → {target}",
             **{k: c[k] for k in ("ua", "wa", "macro_f1", "wa_ci", "n", "C", "temperature")},
             "ece": c["calibration"]["ece"]} for name, c in cross.items()]


def recipe_frame(rows: list[dict]) -> pd.DataFrame:
    """The ablation in percent."""
    return pd.DataFrame([{
        "recipe": r["recipe"] + (" (headline)" if r.get("headline") else ""), "trained on": r["label"],
        "UA %": format_score(r["ua"], r["ua_std"]), "WA %": format_score(r["wa"], r["wa_std"]),
        "macro F1 %": format_score(r["macro_f1"], r["macro_f1_std"]),
        "C per fold": ", ".join(f"{c:g}" for c in r["chosen_C"]), "fit s": r["fit_s"]} for r in rows])


def robustness_frame(rows: list[dict]) -> pd.DataFrame:
    """Recipe × condition: ``UA % (drop)``."""
    cells = {}
    for r in rows:
        text = format_score(r["ua"], r["ua_std"])
        if r["condition"] != "clean" and r.get("drop") is not None:
            text += f" (−{100 * r['drop']:.1f})" if r["drop"] >= 0 else f" (+{-100 * r['drop']:.1f})"
        cells.setdefault(r["recipe"], {})[r["condition"]] = text
    frame = pd.DataFrame.from_dict(cells, orient="index")
    frame.index.name = "recipe"
    return frame


def calibration_frame(rows: list[dict]) -> pd.DataFrame:
    """ECE and the uncertain answers, in percent."""
    return pd.DataFrame([{
        "recipe": r["recipe"], "ECE % (pooled)": _pct(r["ece"]),
        "ECE % per fold": format_score(r["ece_fold_mean"], r["ece_fold_std"]),
        "answered %": _pct(r["answered"]), "accuracy of answered %": _pct(r["answered_accuracy"]),
        "accuracy of uncertain %": _pct(r["uncertain_accuracy"])} for r in rows])


def cross_frame(rows: list[dict]) -> pd.DataFrame:
    """Cross-corpus rows in percent (WA with its 95 % interval)."""
    return pd.DataFrame([{
        "direction": r["direction"], "recipe": r["recipe"], "trained on": r["label"], "UA %": _pct(r["ua"]),
        "WA %": format_score(r["wa"], ci=r["wa_ci"]), "macro F1 %": _pct(r["macro_f1"]), "ECE %": _pct(r["ece"]),
        "test clips": r["n"], "C": r["C"]} for r in rows])


def enrolment_frame(rows: list[dict]) -> pd.DataFrame:
    """Enrolment modes in percent."""
    return pd.DataFrame([{"mode": r["mode"], "UA %": format_score(r["ua"], r["ua_std"]), "scored clips": r["n"]}
                         for r in rows])


def record_extra(results: dict, cross: dict, enrolment: list[dict], *, headline: str, corpus: str,
                 other_corpus: str, labels, skipped: list, reference_note: str = "") -> dict:
    """What a generalisation notebook stores in its record beside the headline scores."""
    from ser_lib.models.generalise import check_recipe

    head = results[headline]
    return {"normalisation": "global", "other_corpus": other_corpus, "headline_recipe": headline,
            "chance": {"ua": 1 / len(labels)},
            "headline_label": check_recipe(headline).label, "labels": list(labels),
            "recipes": recipe_rows(results, headline=headline), "robustness": robustness_rows(results),
            "calibration": calibration_rows(results),
            "reliability": {name: r["calibration"]["reliability"] for name, r in results.items()},
            "cross": cross_rows(cross, source=other_corpus, target=corpus),
            "enrolment": enrolment, "confusion": head["confusion"], "skipped": skipped,
            "reference_note": reference_note}


def joint_frame(records: list[dict]) -> pd.DataFrame:
    """Runs trained jointly with another corpus (``joint_with``) beside the same folds and seeds
    trained on their corpus alone (``alone``): UA and macro F1, mean ± std over folds, and the gain."""
    rows = []
    for r in records:
        alone = r.get("alone")
        if not r.get("joint_with") or not alone:
            continue
        rows.append({"corpus": r["corpus"], "experiment": r["experiment"], "added to training": r["joint_with"],
                     "normalisation": r.get("normalisation"), "emotions": len(r.get("labels") or []),
                     "alone UA %": format_score(alone["ua"], alone["ua_std"]),
                     "joint UA %": format_score(r["ua"], r.get("ua_std")),
                     "gain (points)": round(100 * (r["ua"] - alone["ua"]), 1),
                     "alone macro F1 %": format_score(alone["macro_f1"], alone["macro_f1_std"]),
                     "joint macro F1 %": format_score(r["macro_f1"], r.get("macro_f1_std")),
                     "wall s": r.get("wall_s")})
    return pd.DataFrame(rows)


def sections(records: list[dict]) -> dict[str, tuple[str, pd.DataFrame]]:
    """The generalisation sections of ``RESULTS.md`` from every record that has them."""
    out = {}
    joint = joint_frame(records)
    if not joint.empty:
        out["Generalisation: a neural model trained on both corpora"] = (
            "The CRNN on the six shared emotions of one corpus, its actor-disjoint folds unchanged, with every clip of "
            "the other corpus added to each fold's training clips, beside the same folds and seeds trained on the "
            "corpus alone; early stopping on the corpus's own validation actors.", joint)
    runs = [r for r in records if all(k in r for k in KEYS)]
    if not runs:
        return out

    def stacked(build, key):
        return pd.concat([build(r[key]).assign(corpus=r["corpus"]) for r in runs if r[key]], ignore_index=True)

    note = ("Six shared emotions; actor-disjoint folds of the tested corpus, the other corpus wholly in training "
            "when joint; one recording at a time (`global`); every choice (C, temperature, threshold) on "
            "validation actors drawn from each fold's training actors. The headline recipe was declared in the "
            "params before the run.")
    out["Generalisation: what each part adds (ablation)"] = (note, stacked(recipe_frame, "recipes"))
    rob = pd.concat([robustness_frame(r["robustness"]).reset_index().assign(corpus=r["corpus"]) for r in runs],
                    ignore_index=True)
    out["Generalisation: robustness to recording conditions"] = (
        "UA % on the test actors' clips of a fixed subset, clean and degraded; in brackets the drop in points from "
        "clean on the same clips (mean over folds).", rob)
    out["Generalisation: cross-corpus, one recording at a time"] = (
        "Trained on every actor of one corpus alone (C, temperature on a tenth of its actors), tested on every clip "
        "of the other.", stacked(cross_frame, "cross"))
    out["Generalisation: speaker enrolment"] = (
        "`speaker`: a balanced batch of each test actor z-scored together; `skewed`: 8 clips of one emotion + 8 "
        "neutral z-scored together; `neutral-k`: minus the mean of k neutral clips of the speaker (not scored).",
        stacked(enrolment_frame, "enrolment"))
    out["Generalisation: calibration"] = (
        "Expected calibration error (15 equal bins) of the temperature-scaled probabilities on the test actors; an "
        "answer below the confidence threshold (chosen on validation actors for 80 % accuracy) is marked uncertain.",
        stacked(calibration_frame, "calibration"))
    return out
