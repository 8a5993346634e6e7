# %% [markdown]
# # openSMILE functionals + linear models: the field's standard baseline
#
# The first baseline of speech-emotion work: utterance-level **openSMILE functionals**
# (eGeMAPSv02, 88 features; ComParE_2016, 6373 features) and a **linear classifier**, here a
# linear-kernel SVM and logistic regression (scikit-learn).
#
# * **Protocol**: actor-disjoint folds (every test actor unseen in training), as the other `actor` experiments.
# * **Every choice on training actors only**: for each outer fold, `C`, the feature scaler and the
#   class weights are chosen by an *inner* actor-disjoint cross-validation over that fold's training
#   actors (scored by UA); the chosen setting is refitted on all training actors and scored once on
#   the test actors. The test actors are never used for any choice.
# * **Two normalisations, both reported**: `global` (each clip alone, z-scored with training-clip
#   statistics: what a user with one recording of an unknown speaker gets) and `speaker` (each
#   actor's clips z-scored with that actor's own statistics, no labels used: transductive, it
#   assumes several recordings of the test speaker are available).
# * The headline configuration (`headline` below) was fixed before any run; the other rows are the ablation.

# %% tags=["parameters"]
experiment = "smile-linear-crema-d-actor"
title = "CREMA-D: openSMILE functionals + linear models (actor protocol)"
corpus = "crema-d"
protocol = "actor"                 # only "actor": the baseline is reported speaker-independently
feature_sets = ["eGeMAPSv02", "ComParE_2016"]
configs = [["eGeMAPSv02", "svm"], ["eGeMAPSv02", "logreg"], ["ComParE_2016", "svm"]]  # feature set × classifier
normalisations = ["global", "speaker"]
headline = {"feature_set": "ComParE_2016", "classifier": "svm", "normalisation": "speaker"}  # fixed a priori
grids = {}                         # feature set → grid of C, class_weight, scaler (default: ser_lib.models.linear.DEFAULT_GRID)
n_inner = 3                        # inner actor-disjoint folds for every choice
n_folds = 5
reference = {}                     # figures to show beside ours (fractions) with their source
reference_note = ""
ship_model = None                  # a name: fit the headline on ALL actors (both normalisations) and ship it (real data only)
context = {}                       # set by the pipeline: where to read and write (ser_lib.reporting.notebook.Context)

# %%
import pandas as pd
from IPython.display import Markdown, display

from ser_lib.data import protocols
from ser_lib.evaluation import breakdown
from ser_lib.features import smile
from ser_lib.models import linear, training
from ser_lib.reporting import notebook
from ser_lib.data import corpus as corpora

ctx = notebook.Context.of(context)  # data root, caches and reports folder, from the pipeline

run, root, labels = notebook.start(experiment, corpus=corpus, protocol=protocol, title=title, context=ctx)
synthetic = run.synthetic

# %% [markdown]
# ## Features
# Each clip is loaded at 16 kHz (bad input is skipped with its reason) and processed whole by
# openSMILE; the functionals are cached on disk, one file per feature set.

# %%
clips, _ = corpora.corpus_table(corpus, root)
features, extraction = {}, []
for name in feature_sets:
    X, kept, skipped = smile.extract_functionals(clips, feature_set=name, cache=ctx.cache_dir, n_jobs=ctx.n_jobs)
    features[name] = X
    extraction.append({"feature set": name, "features": X.shape[1], "clips": len(kept), "skipped": len(skipped)})
display(pd.DataFrame(extraction))
skipped if len(skipped) else None

# %% [markdown]
# ## Protocol
# Clips and actors per outer fold. The "shared" columns must be zero. The inner folds are drawn
# from each outer fold's training and validation actors together.

# %%
splits = protocols.make_splits(protocol, kept, n_folds=n_folds)
protocols.describe(splits, kept)

# %% [markdown]
# ## Ablation: feature set × classifier × normalisation
# Percent, mean ± std over the outer folds; chance UA is 1 / classes. "C chosen per fold" shows the
# inner-CV choice of each outer fold.

# %%
tables, runs = [], {}
for norm in normalisations:
    table, norm_runs = linear.run_configs(features, kept, splits, labels=labels, configs=configs, normalisation=norm,
                                          grids=grids, n_inner=n_inner, n_jobs=ctx.n_jobs)
    tables.append(table)
    runs.update({(fs, clf, norm): r for (fs, clf), r in norm_runs.items()})
ablation = pd.concat(tables, ignore_index=True)
display(Markdown(f"Chance UA: {100 / len(labels):.1f} %."))
linear.display_table(ablation)

# %% [markdown]
# ## The headline configuration

# %%
key = (headline["feature_set"], headline["classifier"], headline["normalisation"])
results = runs[key]
summary = training.summarize(results, labels)
other = "global" if key[2] == "speaker" else "speaker"
twin = training.summarize(runs[(key[0], key[1], other)], labels) if (key[0], key[1], other) in runs else None
display(Markdown(f"**{key[0]} + {key[1]}, `{key[2]}` normalisation** (the other normalisation: "
                 f"UA {100 * twin['ua']:.1f} ± {100 * twin['ua_std']:.1f} %)." if twin else ""))
notebook.show_scores(summary, labels, reference=reference, reference_note=reference_note, title=title,
                     pooled=f"{key[2]} normalisation, all test clips pooled")

# %% [markdown]
# Inner cross-validation of the first outer fold: every setting tried, best first (training actors only).

# %%
results[0].history.round(4).head(12)

# %% [markdown]
# ## Per-clip predictions and the shipped model
# Every test clip's prediction (headline configuration) goes to `reports/predictions/<experiment>.csv`.
# With `ship_model` on the **real** corpus, the headline configuration is refitted on *all* actors
# under both normalisations (hyperparameters again by inner actor-disjoint CV) and written as the
# pickle-free default model of `python -m ser_lib predict` (the pipeline copies it into the package
# after the run); the page says whether it differs from the committed one. Runs on the synthetic demo corpus never replace it.

# %%
from pathlib import Path

from ser_lib.models import bundle
from ser_lib.models.predict import DEFAULT_MODEL

predictions = training.predictions_frame(results, kept, splits, labels)
breakdown.save_predictions(predictions, run.reports_dir, experiment)
shipped = None
if ship_model and not synthetic:
    scores = {n: {k: v for k, v in training.summarize(runs[(key[0], key[1], n)], labels).items()
                  if k in ("wa", "ua", "macro_f1", "wa_std", "ua_std", "macro_f1_std", "n_test_clips")}
              for n in ("global", "speaker") if (key[0], key[1], n) in runs}
    scores["protocol"] = f"{n_folds} actor-disjoint folds of {corpus} ({experiment})"
    fresh, chosen = linear.fit_bundle(features[key[0]], kept, Path(run.reports_dir) / "models" / ship_model,
                                      classifier=key[1], feature_set=key[0], corpus=corpus, synthetic=synthetic,
                                      scores=scores, grid=grids.get(key[0]), n_inner=n_inner, n_jobs=ctx.n_jobs)
    committed = DEFAULT_MODEL.with_name(ship_model + ".json")
    shipped = {"chosen": chosen, "differs": bundle.compare(fresh, committed) if committed.is_file() else "no committed model"}
    display(Markdown(f"Model refitted on all {len(kept)} clips; chosen: `{chosen}`; against the committed one: "
                     f"`{shipped['differs']}`. Written to `{fresh}`; the pipeline ships it to `{committed.name}` "
                     "after this run."))
elif ship_model:
    display(Markdown("Synthetic demo data: the shipped model is **not** replaced."))

# %%
record = notebook.finish(run, None, n_test_clips=summary["n_test_clips"],
                    scores={k: v for k, v in summary.items() if k != "n_test_clips"},
                    reference=reference,
                    extra={"normalisation": key[2], "headline": headline, "reference_note": reference_note,
                           "other_normalisation": {"normalisation": other, **{k: twin[k] for k in ("wa", "ua", "macro_f1", "ua_std", "wa_std", "macro_f1_std")}} if twin else None,
                           "ablation": ablation.to_dict("records"), "extraction": extraction,
                           "n_clips": len(kept), "n_skipped": len(skipped), "shipped_model": shipped})
