# %% [markdown]
# # Cross-corpus with the openSMILE linear model
#
# The field's baseline (openSMILE functionals + linear SVM) trained on **every actor of one corpus**
# and tested on **every clip of the other**, on the six emotions both share (RAVDESS's *calm* and
# *surprised* left out). Hyperparameters are chosen by inner actor-disjoint CV on the *source*
# actors only. Three normalisations, none of which uses a target label:
#
# * `global`: the scaler fitted on the source clips applied to the target as is (one recording at a time);
# * `corpus`: each corpus z-scored with its own clips' statistics (needs a batch of target recordings);
# * `speaker`: each actor of either corpus z-scored with that actor's own clips (needs several recordings per speaker).
#
# The within-target yardstick is the same model under actor-disjoint folds of the target corpus
# (same six emotions), where it is run.

# %% tags=["parameters"]
experiment = "cross-smile-crema-d-to-ravdess"
title = "Cross-corpus, openSMILE + linear SVM: CREMA-D → RAVDESS (6 shared emotions)"
corpus = "ravdess"                 # the target corpus
source_corpus = "crema-d"
protocol = "cross-corpus"
feature_set = "ComParE_2016"
classifier = "svm"
normalisations = ["global", "corpus", "speaker"]
headline_normalisation = "speaker"
grid = {}                          # as ser_lib.models.linear.DEFAULT_GRID
n_inner = 3
within_folds = 6                   # actor-disjoint folds of the target for the yardstick (0: not run)
reference = {}
reference_note = ""
context = {}                       # set by the pipeline: where to read and write (ser_lib.reporting.notebook.Context)

# %%
import pandas as pd
from IPython.display import Markdown, display

from ser_lib.data import protocols
from ser_lib.features import smile
from ser_lib.models import crosscorpus, linear
from ser_lib.reporting import notebook
from ser_lib.data import corpus as corpora
from ser_lib.evaluation.metrics import format_score

ctx = notebook.Context.of(context)  # data root, caches and reports folder, from the pipeline

tables = {}
for name in (source_corpus, corpus):
    root, syn = ctx.resolve(name)
    clips, _ = corpora.corpus_table(name, root)
    X, kept, skipped = smile.extract_functionals(clips, feature_set=feature_set, cache=ctx.cache_dir, n_jobs=ctx.n_jobs)
    shared = kept["emotion"].isin(crosscorpus.SHARED_EMOTIONS).to_numpy()
    tables[name] = (X[shared], kept[shared].reset_index(drop=True), syn)
synthetic = tables[corpus][2] or tables[source_corpus][2]
run, _, _ = notebook.start(experiment, corpus=corpus, protocol=protocol, title=title, context=ctx,
                           synthetic=synthetic)
labels = list(crosscorpus.SHARED_EMOTIONS)
display(Markdown(f"Source {source_corpus}: {len(tables[source_corpus][1])} clips; target {corpus}: "
                 f"{len(tables[corpus][1])} clips; emotions {', '.join(labels)}."))

# %% [markdown]
# ## Across corpora, and within the target

# %%
(Xs, src, _), (Xt, tgt, _) = tables[source_corpus], tables[corpus]
variants, rows = {}, []
for norm in normalisations:
    cross = crosscorpus.cross_corpus(Xs, src, Xt, tgt, labels=labels, normalisation=norm, classifier=classifier,
                                grid=grid or None, n_inner=n_inner, n_jobs=ctx.n_jobs)
    within = None
    if within_folds and norm != "corpus":  # within one corpus, corpus normalisation is the global one
        splits = protocols.make_splits("actor", tgt, n_folds=within_folds)
        t, _ = linear.run_configs({feature_set: Xt}, tgt, splits, labels=labels, configs=[(feature_set, classifier)],
                                  normalisation=norm, grids={feature_set: grid} if grid else None, n_inner=n_inner,
                                  n_jobs=ctx.n_jobs, progress=False)
        within = {k: float(t.iloc[0][k]) for k in ("ua", "ua_std", "wa", "wa_std", "macro_f1", "macro_f1_std")}
    variants[norm] = {"cross": {k: cross[k] for k in ("wa", "ua", "macro_f1", "weighted_f1", "wa_ci")}, "within": within}
    rows.append({"normalisation": norm, "cross UA %": format_score(cross["ua"]), "cross WA %": format_score(cross["wa"], ci=cross["wa_ci"]),
                 "within-target UA %": format_score(within["ua"], within["ua_std"]) if within else "–",
                 "C chosen on source": cross["chosen"]["C"], "fit s": cross["fit_s"]})
    if norm == headline_normalisation:
        headline = cross
display(Markdown(f"Chance UA: {100 / len(labels):.1f} %. Cross-corpus: one model, all {len(tgt)} target clips (WA with its 95 % interval)."))
pd.DataFrame(rows)

# %%
from ser_lib.reporting import plots

matrix = notebook.confusion_frame(headline, labels)
plots.confusion_heatmap(matrix, title=f"{title}: {headline_normalisation} normalisation (row %)");

# %%
record = notebook.finish(run, None, n_test_clips=headline["n"], scores={k: headline[k] for k in ("wa", "ua", "macro_f1", "weighted_f1", "wa_ci", "chance")},
                    reference=reference, extra={"source_corpus": source_corpus, "normalisation": headline_normalisation,
                                                "normalisation": headline_normalisation, "variants": variants,
                                                "within": variants[headline_normalisation]["within"], "labels": labels,
                                                "per_class": headline["per_class"], "confusion": headline["confusion"],
                                                "reference_note": reference_note})
