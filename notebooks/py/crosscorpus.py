# %% [markdown]
# # Cross-corpus: train on one corpus, test on the other
#
# A model that has learnt *emotion* rather than the quirks of one recording set should carry
# over to another corpus. Here a model is trained on every actor of the **source** corpus and
# tested on every clip of the **target** corpus, on the six emotions both share (RAVDESS *calm*
# and *surprised* are left out). Beside it stands the within-corpus yardstick: the same model
# under actor-disjoint folds on the target's six emotions. Each cross-corpus run is repeated
# with other seeds and validation actors (mean ± std over repeats); each variant of input
# normalisation is run and shown, the first one listed being the headline.

# %% tags=["parameters"]
experiment = "cross-crema-d-to-ravdess"
title = "Cross-corpus: CREMA-D → RAVDESS"
corpus = "ravdess"                 # the target corpus (tested on)
source_corpus = "crema-d"          # the corpus trained on
protocol = "cross-corpus"
features = ["rms", "zcr"]          # feature set (1-D features are concatenated along time)
architecture = "cnn1d"
epochs = 50
batch_size = 128
learning_rate = 1e-3
patience = 10                      # early stopping on the source's validation actors
n_repeats = 3                      # cross-corpus runs with other seeds and validation actors
n_folds = 5                        # within-corpus yardstick: actor-disjoint folds on the target
normalisations = ["corpus", "none"]  # "corpus": z-score each corpus with its own statistics; the first is the headline
seed = 0
reference = {}
reference_note = ""
context = {}                       # set by the pipeline: where to read and write (ser_lib.reporting.notebook.Context)

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from ser_lib.data import corpus as corpora
from ser_lib.features import features as F
from ser_lib.models import crosscorpus
from ser_lib.reporting import notebook, plots
from ser_lib.evaluation.metrics import format_score

ctx = notebook.Context.of(context)  # data root, caches and reports folder, from the pipeline

root_t, synthetic_t = ctx.resolve(corpus)
root_s, synthetic_s = ctx.resolve(source_corpus)
run, _, _ = notebook.start(experiment, corpus=corpus, protocol=protocol, title=title, context=ctx,
                           synthetic=synthetic_t or synthetic_s)
labels = list(crosscorpus.SHARED_EMOTIONS)

# %% [markdown]
# ## Data: the shared emotions of both corpora

# %%
tables, feats, skipped = {}, {}, []
for name, root in ((source_corpus, root_s), (corpus, root_t)):
    clips, _ = corpora.corpus_table(name, root)
    f, kept, bad = F.extract_features(crosscorpus.shared_clips(clips), cache=ctx.cache_dir, n_jobs=ctx.n_jobs)
    tables[name], feats[name] = kept, f
    skipped.append(bad.assign(corpus=name))
skipped = pd.concat(skipped, ignore_index=True)
display(pd.DataFrame({name: t["emotion"].value_counts().reindex(labels) for name, t in tables.items()}).T.assign(
    clips=lambda d: d.sum(axis=1), actors=[t["actor"].nunique() for t in tables.values()]))
display(Markdown(f"Skipped clips: {len(skipped)}.") if skipped.empty else skipped)

# %% [markdown]
# ## Runs
# For each normalisation: the cross-corpus repeats (source → target) and the within-target
# actor-disjoint folds, with the same model and training settings.

# %%
src, tgt = tables[source_corpus], tables[corpus]
runs = {norm: crosscorpus.run_variant(feats[source_corpus], feats[corpus], src, tgt, features=features, normalisation=norm,
                                      n_repeats=n_repeats, n_folds=n_folds, labels=labels, seed=seed,
                                      names=(source_corpus, corpus), architecture=architecture, epochs=epochs,
                                      batch_size=batch_size, learning_rate=learning_rate, patience=patience)
        for norm in normalisations}

# %% [markdown]
# ## Results
# Cross-corpus scores are over all target clips, mean ± std over the repeats; within-corpus
# scores are mean ± std over actor-disjoint folds of the target corpus.

# %%
display(crosscorpus.variants_table(runs, source_name=source_corpus, target_name=corpus))
head = runs[normalisations[0]]
drop = 100 * (head["within"]["ua"] - head["cross"]["ua"])
display(Markdown(f"Headline ({normalisations[0]} normalisation): UA **{format_score(head['cross']['ua'], head['cross'].get('ua_std'))} %** "
                 f"across corpora against **{format_score(head['within']['ua'], head['within'].get('ua_std'))} %** within "
                 f"{corpus}: {drop:+.1f} points lost by changing corpus (chance {format_score(head['cross']['chance']['ua'])} %)."))

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 5))
for ax, (setting, s) in zip(axes, (("cross-corpus", head["cross"]), ("within-corpus", head["within"]))):
    matrix = notebook.confusion_frame(s, labels)
    plots.confusion_heatmap(matrix, title=f"{setting} on {corpus} ({normalisations[0]} norm.)", ax=ax)
fig.tight_layout()

# %%
pd.DataFrame(head["cross"]["per_class"]).round(3)

# %%
plots.fold_curves(head["cross_results"], panels=plots.KERAS_PANELS, title=f"{source_corpus} → {corpus}: training curves (source validation actors)");

# %%
record = notebook.finish(run, None,
    n_test_clips=len(tgt),
    scores={k: v for k, v in head["cross"].items() if k in ("wa", "ua", "macro_f1", "weighted_f1", "wa_std", "ua_std",
                                                           "macro_f1_std", "weighted_f1_std", "chance", "wa_ci")},
    reference=reference,
    extra={"source_corpus": source_corpus, "normalisation": normalisations[0], "n_source_clips": len(src),
           "labels": labels, "per_class": head["cross"]["per_class"], "confusion": head["cross"]["confusion"],
           "reference_note": reference_note,
           "n_skipped": len(skipped), "variants": crosscorpus.variant_scores(runs),
           "within": crosscorpus.variant_scores(runs)[normalisations[0]]["within"]})
