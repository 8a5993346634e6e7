"""The summary: one table of every experiment, a chart, findings stated from the numbers, RESULTS.md."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ser_lib.config import CORPORA
from ser_lib.evaluation.metrics import format_score
from ser_lib.reporting.findings import all_emotions


def _cell(record: dict, key: str) -> str:
    ci = record.get("wa_ci") if key == "wa" and record.get(key + "_std") is None else None
    return format_score(record.get(key), record.get(key + "_std"), ci)


def results_table(records: list[dict]) -> pd.DataFrame:
    """One row per experiment with a headline score (exploration without scores is left out).

    Columns: experiment, title, corpus, protocol, data, test clips, WA, UA, macro F1 (percent
    strings, "mean ± std" over folds or "value [95 % interval]"), chance UA, original (WA / macro
    F1 reported by the original work), and the raw fractions ``wa_value`` / ``ua_value`` /
    ``wa_std_value`` / ``ua_std_value`` for sorting and plotting.
    """
    rows = []
    for r in records:
        if r.get("wa") is None:
            continue
        ref = r.get("reference") or {}
        ref_text = " / ".join(format_score(ref[k]) for k in ("wa", "macro_f1") if ref.get(k) is not None)
        if not ref_text and ref.get("frame_wa") is not None:
            ref_text = f"{format_score(ref['frame_wa'])} (frames)"
        rows.append({
            "experiment": r["experiment"], "title": r.get("title", r["experiment"]), "corpus": r["corpus"],
            "protocol": r["protocol"], "data": r["data"], "normalisation": r.get("normalisation") or "–",
            "test clips": r.get("n_test_clips"),
            "WA %": _cell(r, "wa"), "UA %": _cell(r, "ua"), "macro F1 %": _cell(r, "macro_f1"),
            "chance UA %": format_score((r.get("chance") or {}).get("ua")),
            "frame WA %": _cell(r["frame"], "wa") if isinstance(r.get("frame"), dict) else "–",
            "original %": ref_text or "–",
            "wa_value": r["wa"], "ua_value": r["ua"], "wa_std_value": r.get("wa_std"), "ua_std_value": r.get("ua_std"),
            "model": (r.get("report") or {}).get("model", r["experiment"]), "all_emotions": all_emotions(r),
        })
    cols = ["experiment", "title", "corpus", "protocol", "data", "normalisation", "test clips", "WA %", "UA %",
            "macro F1 %", "chance UA %", "frame WA %", "original %", "wa_value", "ua_value", "wa_std_value", "ua_std_value",
            "model", "all_emotions"]
    table = pd.DataFrame(rows, columns=cols)
    table["_human"] = table["protocol"] != "human"  # the human row first within its corpus
    return table.sort_values(["corpus", "_human", "experiment"], kind="stable").drop(columns="_human").reset_index(drop=True)


def ablation_table(records: list[dict]) -> pd.DataFrame:
    """The "beyond the originals" ablation: every configuration (feature set × classifier ×
    normalisation) of every experiment that ran one, with UA and macro F1 (mean ± std over the
    same actor-disjoint folds), the chance level, and the best earlier model of that corpus under
    the same protocol (the originals' models as reproduced here) and the human listeners beside it."""
    rows = []
    best_cnn = {}
    for r in records:
        if (r.get("protocol") == "actor" and r.get("ua") is not None and "ablation" not in r
                and (r.get("report") or {}).get("section") != "generalisation"):  # later work, not "earlier"
            c = r["corpus"]
            if c not in best_cnn or r["ua"] > best_cnn[c]["ua"]:
                best_cnn[c] = r
    human = {r["corpus"]: r for r in records if r.get("protocol") == "human" and r.get("ua") is not None}
    for r in records:
        for a in r.get("ablation") or []:
            earlier = best_cnn.get(r["corpus"])
            rows.append({
                "corpus": r["corpus"], "experiment": r["experiment"], "feature set": a["feature_set"],
                "classifier": a["classifier"], "normalisation": a["normalisation"],
                "UA %": format_score(a["ua"], a["ua_std"]), "macro F1 %": format_score(a["macro_f1"], a["macro_f1_std"]),
                "chance UA %": format_score((r.get("chance") or {}).get("ua")),
                "best earlier model UA %": (f"{format_score(earlier['ua'], earlier.get('ua_std'))} ({earlier['experiment']})"
                                            if earlier else "–"),
                "human UA %": format_score(human[r["corpus"]]["ua"]) if r["corpus"] in human else "–",
                "fit s": a.get("fit_s"), "experiment wall s": r.get("wall_s"),
                "ua_value": a["ua"], "all_emotions": all_emotions(r),
            })
    cols = ["corpus", "experiment", "feature set", "classifier", "normalisation", "UA %", "macro F1 %", "chance UA %",
            "best earlier model UA %", "human UA %", "fit s", "experiment wall s", "ua_value", "all_emotions"]
    return pd.DataFrame(rows, columns=cols)


def protocol_gaps(table: pd.DataFrame) -> pd.DataFrame:
    """For every model run under both ``seed`` and ``actor``: the two UA values and their gap (points)."""
    t = table[table["protocol"].isin(["seed", "actor"])]
    wide = t.pivot_table(index=["corpus", "model"], columns="protocol", values="ua_value", aggfunc="first")
    wide = wide.dropna(subset=[c for c in ("seed", "actor") if c in wide.columns])
    if not {"seed", "actor"} <= set(wide.columns) or wide.empty:
        return pd.DataFrame(columns=["corpus", "model", "seed UA %", "actor UA %", "gap (points)"])
    out = pd.DataFrame({"seed UA %": 100 * wide["seed"], "actor UA %": 100 * wide["actor"],
                        "gap (points)": 100 * (wide["seed"] - wide["actor"])}).round(1)
    return out.reset_index()


def cross_corpus_table(records: list[dict]) -> pd.DataFrame:
    """One row per cross-corpus experiment and input normalisation: UA across corpora (mean ± std
    over repeats) beside the within-corpus UA on the target (actor-disjoint folds), and the drop."""
    rows = []
    for r in records:
        if r.get("protocol") != "cross-corpus":
            continue
        variants = r.get("variants") or {r.get("normalisation", "–"): {"cross": r, "within": r.get("within") or {}}}
        for norm, v in variants.items():
            cross, within = v.get("cross") or {}, v.get("within") or {}
            drop = (100 * (within["ua"] - cross["ua"])) if within.get("ua") is not None and cross.get("ua") is not None else None
            rows.append({
                "direction": f"{r.get('source_corpus', '?')} → {r['corpus']}", "experiment": r["experiment"],
                "normalisation": norm,
                "headline": norm == r.get("normalisation"), "data": r["data"], "test clips": r.get("n_test_clips"),
                "cross UA %": format_score(cross.get("ua"), cross.get("ua_std")),
                "cross WA %": format_score(cross.get("wa"), cross.get("wa_std")),
                "within-target UA %": format_score(within.get("ua"), within.get("ua_std")),
                "drop (points)": None if drop is None else round(drop, 1),
                "chance UA %": format_score((r.get("chance") or {}).get("ua")),
                "cross_ua_value": cross.get("ua"), "within_ua_value": within.get("ua")})
    cols = ["direction", "experiment", "normalisation", "headline", "data", "test clips", "cross UA %", "cross WA %",
            "within-target UA %", "drop (points)", "chance UA %", "cross_ua_value", "within_ua_value"]
    return pd.DataFrame(rows, columns=cols)


AUGMENTATION_KEYS = ("augment", "augment_settings")


def augmentation_effects(records: list[dict], reports_dir: str | Path) -> pd.DataFrame:
    """Every augmented experiment against its unaugmented twin, clip by clip.

    The twin is the experiment with the same corpus, protocol and parameters except the
    augmentation ones (:data:`AUGMENTATION_KEYS`). Both must have saved per-clip predictions;
    an augmented experiment without a twin or predictions is left out.

    Returns
    -------
    DataFrame
        One row per pair: augmented, baseline, protocol, test clips, WA / UA of each (percent),
        UA change (points), clips only the augmented / only the baseline model got right, and the
        exact McNemar p-value (:func:`ser_lib.evaluation.breakdown.paired_comparison`).
    """
    from ser_lib.evaluation.breakdown import paired_comparison, read_predictions
    from ser_lib.data.corpus import emotion_labels

    def core(r):
        return {k: v for k, v in (r.get("effective_params") or {}).items() if k not in AUGMENTATION_KEYS}

    rows = []
    for aug in records:
        if not (aug.get("effective_params") or {}).get("augment"):
            continue
        twins = [r for r in records if r is not aug and r.get("corpus") == aug.get("corpus")
                 and r.get("protocol") == aug.get("protocol") and r.get("data") == aug.get("data")
                 and not (r.get("effective_params") or {}).get("augment") and core(r) == core(aug)]
        pred_aug = read_predictions(reports_dir, aug["experiment"])
        for base in twins:
            pred_base = read_predictions(reports_dir, base["experiment"])
            if pred_aug is None or pred_base is None:
                continue
            c = paired_comparison(pred_aug, pred_base, emotion_labels(aug["corpus"]))
            rows.append({"augmented": aug["experiment"], "baseline": base["experiment"], "protocol": aug["protocol"],
                         "test clips": c["n"], "augmented WA %": round(100 * c["wa_a"], 1),
                         "baseline WA %": round(100 * c["wa_b"], 1), "augmented UA %": round(100 * c["ua_a"], 1),
                         "baseline UA %": round(100 * c["ua_b"], 1),
                         "UA change (points)": round(100 * (c["ua_a"] - c["ua_b"]), 1),
                         "only augmented right": c["a_only"], "only baseline right": c["b_only"],
                         "McNemar p": float(f"{c['mcnemar_p']:.3g}")})
    cols = ["augmented", "baseline", "protocol", "test clips", "augmented WA %", "baseline WA %", "augmented UA %",
            "baseline UA %", "UA change (points)", "only augmented right", "only baseline right", "McNemar p"]
    return pd.DataFrame(rows, columns=cols)


def markdown_table(frame: pd.DataFrame, *, index: bool = False) -> list[str]:
    """A DataFrame as Markdown table lines (missing values as ``–``)."""
    frame = frame.reset_index() if index else frame
    def cell(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return "–"
        return f"{v:.1f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(str(c) for c in frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return lines


def write_results_md(table: pd.DataFrame, notes: list[str], path: str | Path, *, title: str = "Results",
                     sections: dict[str, tuple[str, pd.DataFrame]] | None = None,
                     headline: list[dict] | None = None, chart: str | None = None) -> Path:
    """Write ``RESULTS.md`` (committed as ``reports/RESULTS.md``): the headline per corpus
    (:func:`ser_lib.reporting.findings.headline`) with the chart (``chart``: its path relative to the file),
    the table of every run, the findings and further sections. ``sections`` maps a heading to
    ``(text, table)``; a table's index is written as its first column when it is named."""
    from ser_lib.reporting.findings import SELECTION_NOTE
    from ser_lib.reporting.report import write_atomic

    cols = ["experiment", "corpus", "protocol", "data", "normalisation", "test clips", "WA %", "UA %", "macro F1 %",
            "chance UA %", "frame WA %", "original %"]
    lines = [f"# {title}", "",
             f"Generated by the pipeline's summary stage on {datetime.now(timezone.utc):%Y-%m-%d} from the run records "
             "`reports/metrics/*.json`. Percent; `a ± b` = mean ± std over actor-disjoint folds (cross-corpus: over "
             "repeats); `a [l, h]` = one split with its 95 % interval. `normalisation`: `speaker` = each actor's clips "
             "z-scored together (transductive), `global` = each clip alone; the other normalisation's figure is in the "
             "ablation below. WA = accuracy, UA = mean per-class recall, over test clips (for WaDER a clip's "
             "prediction is the mean of its frame probabilities; `frame WA` is accuracy over frames, what the "
             "original reported). `original` = the original work's figures (accuracy / macro F1, or frame "
             "accuracy for WaDER).", ""]
    if headline:
        lines += ["## What the report found", ""] + markdown_table(pd.DataFrame(headline)) + ["", SELECTION_NOTE, ""]
        if chart:
            lines += [f"![UA of every actor-disjoint and cross-corpus run]({chart})", ""]
    lines += ["## Every run", ""] + markdown_table(table[cols])
    lines += ["", "## Findings", ""] + [f"- {n}" for n in notes] + [""]
    for heading, (text, frame) in (sections or {}).items():
        lines += [f"## {heading}", ""] + ([text, ""] if text else [])
        lines += markdown_table(frame, index=frame.index.name is not None) + [""]
    return write_atomic(path, "\n".join(lines))


def breakdowns(records: list[dict], reports_dir: str | Path) -> dict:
    """Per-clip analyses of the best actor-protocol model of each corpus (highest UA among the
    experiments whose predictions were saved): per sex, per intensity, and for CREMA-D against the
    human listeners.

    Returns
    -------
    dict with ``groups`` (corpus → ``experiment``, ``sex`` and ``intensity`` tables of
    :func:`ser_lib.evaluation.breakdown.by_group`), ``human_model`` (scores of
    :func:`ser_lib.evaluation.breakdown.human_vs_model` or ``None``), ``human_model_experiment`` and
    ``human_per_emotion`` (table or ``None``).
    """
    from ser_lib.evaluation import breakdown as B
    from ser_lib.data.corpus import emotion_labels

    out = {"groups": {}, "human_model": None, "human_model_experiment": "", "human_per_emotion": None}
    comparable = [r for r in records if all_emotions(r)]  # not a run on a subset of the emotions
    for corpus in CORPORA:
        record, pred = B.best_with_predictions(comparable, reports_dir, corpus)
        if record is None:
            continue
        labels = emotion_labels(corpus)
        out["groups"][corpus] = {"experiment": record["experiment"], "ua": record["ua"],
                                 "sex": B.by_group(pred, "sex", labels),
                                 "intensity": B.intensity_breakdown(pred, corpus, labels)}
        if corpus == "crema-d" and "human_vote" in pred.columns and pred["human_vote"].notna().any():
            out["human_model"], out["human_per_emotion"] = B.human_vs_model(pred, labels)
            out["human_model_experiment"] = record["experiment"]
    return out


def human_model_table(scores: dict) -> pd.DataFrame:
    """:func:`ser_lib.evaluation.breakdown.human_vs_model` scores for display: fractions as percent strings,
    counts as integers."""
    values = [f"{100 * v:.1f}" if isinstance(v, float) else str(v) for v in scores.values()]
    return pd.DataFrame({"value": values}, index=pd.Index(list(scores), name="measure (percent or clips)"))


def report_sections(gaps: pd.DataFrame, cross: pd.DataFrame, parts: dict,
                    augmentation: pd.DataFrame | None = None,
                    ablation: pd.DataFrame | None = None, wader: tuple[list[str], pd.DataFrame] | None = None
                    ) -> dict[str, tuple[str, pd.DataFrame]]:
    """The extra sections of ``RESULTS.md``: the beyond-the-originals ablation, protocol gaps,
    cross-corpus, augmentation, human vs model, and the per-sex / per-intensity breakdowns
    (percentages), each as ``heading → (text, table)``."""
    from ser_lib.evaluation.breakdown import percent

    sections: dict[str, tuple[str, pd.DataFrame]] = {}
    if ablation is not None and len(ablation):
        sections["Beyond the originals (ablation)"] = (
            "Actor-disjoint folds (the same folds as the other `actor` experiments of the corpus); every hyperparameter "
            "chosen by inner actor-disjoint CV on the training actors only. `global` = each clip alone, z-scored with "
            "training-clip statistics (what a user with one recording gets); `speaker` = each actor's clips z-scored "
            "with that actor's own statistics, no labels (transductive: needs several recordings of the speaker). "
            "`fit s` = model selection and fitting over all folds; `experiment wall s` = the whole experiment as run "
            "(feature extraction included only when its cache was cold; see each metrics file).", ablation.drop(columns=["ua_value", "all_emotions"]))
    if wader is not None and len(wader[1]):
        sections["WaDER: why our figures are not 74 %"] = (
            "\n".join(f"- {line}" for line in wader[0]) + "\n\nEvery WaDER run (frame accuracies are over evaluation "
            "frames; `p>0.5` is the original's Keras reading, logged per epoch where the run did; `wall s` and `peak RSS` "
            "are those of the call that wrote the metrics file, in which the `runs from records` were only loaded: "
            "their own compute time (`ae_s`, `clf_s`) is in their record under `reports/runs/`):", wader[1])
    if len(gaps):
        sections["Seed protocol against actor-disjoint folds"] = (
            "UA (percent) of every model run under both protocols; the gap is seed minus actor.", gaps)
    if len(cross):
        sections["Cross-corpus"] = (
            "Trained on all actors of one corpus, tested on all clips of the other, six shared emotions; mean ± std "
            "over repeats. Within-target: actor-disjoint folds on the target corpus. `headline` = the normalisation "
            "declared first.", cross.drop(columns=["cross_ua_value", "within_ua_value"]))
    if augmentation is not None and len(augmentation):
        sections["Training-time augmentation"] = (
            "Each augmented experiment against the same model and split without augmentation, on the same test "
            "clips; McNemar p from the clips only one of the two got right.",
            augmentation.assign(**{"McNemar p": augmentation["McNemar p"].map(lambda v: f"{v:.3g}")}))
    if parts.get("human_model"):
        hm = parts["human_model"]
        scores = human_model_table(hm)
        sections["Human listeners vs the best CREMA-D model"] = (
            f"Model: `{parts['human_model_experiment']}` (actor protocol, every clip a test clip once) against the "
            "voice-only majority vote of the raters (a tie counts as a wrong human answer).", scores)
        sections["Per emotion: human listeners vs model"] = ("Recall and agreement in percent.",
                                                            percent(parts["human_per_emotion"]))
    for name, g in parts.get("groups", {}).items():
        sections[f"{name}: by speaker sex ({g['experiment']})"] = ("Percent.", percent(g["sex"]))
        sections[f"{name}: by emotional intensity ({g['experiment']})"] = ("Percent.", percent(g["intensity"]))
    return sections


#: Where the summary stage writes the chart (relative to the reports folder).
CHART = "figures/ua-per-experiment.png"


def tables(records: list[dict], reports_dir: str | Path) -> dict:
    """The summary's tables of ``records`` and the findings stated from them
    (:func:`ser_lib.reporting.findings.statements`): ``table``, ``gaps``, ``cross``,
    ``augmentation``, ``parts`` (:func:`breakdowns`), ``ablation`` and ``notes``."""
    from ser_lib.reporting.findings import statements

    out = {"table": results_table(records), "cross": cross_corpus_table(records),
           "augmentation": augmentation_effects(records, reports_dir), "parts": breakdowns(records, reports_dir),
           "ablation": ablation_table(records)}
    out["gaps"] = protocol_gaps(out["table"])
    out["notes"] = statements(out["table"], cross=out["cross"], human_model=out["parts"]["human_model"],
                              human_model_experiment=out["parts"]["human_model_experiment"],
                              groups=out["parts"]["groups"], augmentation=out["augmentation"], ablation=out["ablation"])
    return out


def build(reports_dir: str | Path) -> dict:
    """The pipeline's summary stage: read every run record of ``reports_dir``, compute the
    summary's tables and the findings once (:mod:`ser_lib.reporting.findings`), and write ``RESULTS.md``
    and the chart (:data:`CHART`); on the project's real records also the README's headline and the
    pages of ``docs/`` that quote figures (:mod:`ser_lib.reporting.docs`). Returns every part, for the summary notebook to show."""
    from ser_lib.reporting import findings as F
    from ser_lib.reporting import wader_account
    from ser_lib.reporting.report import read_metrics

    reports_dir = Path(reports_dir)
    records = read_metrics(reports_dir)
    synthetic = any(r["data"] == "synthetic" for r in records)
    out = {"records": records, "synthetic": synthetic, **tables(records, reports_dir)}
    out["wader"] = (wader_account.gap(records), wader_account.table(records))
    out["headline"] = F.headline(records)
    png = F.chart_png(records)
    if png:
        (reports_dir / CHART).parent.mkdir(parents=True, exist_ok=True)
        (reports_dir / CHART).write_bytes(png)
    sections = report_sections(out["gaps"], out["cross"], out["parts"], out["augmentation"], out["ablation"],
                               wader=out["wader"])
    from ser_lib.reporting import generalisation

    out["generalisation"] = generalisation.sections(records)
    sections.update(out["generalisation"])
    from ser_lib.config import PROJECT_ROOT

    if not synthetic and records and reports_dir.resolve() == (PROJECT_ROOT / "reports").resolve():
        F.update_readme(PROJECT_ROOT / "README.md", records)  # the real report's headline, never a demo's
        from ser_lib.reporting import docs

        try:
            out["docs"] = docs.write_all(records)  # docs/ pages that quote figures, from the same records
        except docs.DocsError as exc:
            print(f"warning: docs/ not regenerated: {exc}")
    out["path"] = write_results_md(out["table"], out["notes"], reports_dir / "RESULTS.md", sections=sections,
                                   headline=out["headline"], chart=CHART if png else None,
                                   title="Results" + (" (SYNTHETIC DEMO DATA)" if synthetic else ""))
    return out
