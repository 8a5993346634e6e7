# %% [markdown]
# # The original CREMA-D work's CNNs: 1-D on frame-level series, 2-D on the log-mel spectrogram
#
# The nine CNN experiments of the original CREMA-D work, one notebook for the family:
#
# * **1-D CNN** (and one wider variant) on one or more frame-level series — RMS energy,
#   zero-crossing rate, MFCC (mean over coefficients) and spectral roll-off — concatenated along time;
# * **2-D CNNs** on the 128-band log-mel spectrogram (128 × 157): the authors' own network and one
#   after Singh & Fang. With `augment` on, every training batch is decoded and augmented afresh
#   (Gaussian noise, time stretch, pitch shift, shift, each with p = 0.5): the augmentation the
#   original planned but could not fit in memory.
#
# Each run is one params file: a **feature set**, an **architecture** and a **protocol**.
# Under `seed` the original work's random split is reproduced exactly (speakers shared between
# training and test); under `actor` every test fold holds actors never heard in training, and
# validation actors come from the training actors only. Early stopping, when on, watches the
# validation loss only.

# %% tags=["parameters"]
experiment = "cnn1d-energy-seed"
title = "1-D CNN, energy (seed)"
corpus = "crema-d"
protocol = "seed"                  # "seed" (original split) or "actor" (actor-disjoint folds)
features = ["rms"]                 # feature set (1-D features are concatenated along time; "mel" for the 2-D CNNs)
architecture = "cnn1d"             # see ser_lib.models.models.ARCHITECTURES
epochs = 50
batch_size = 128
learning_rate = 1e-3
patience = None                    # early-stopping patience on validation loss; None trains all epochs
n_folds = 5                        # actor protocol only
seed = 0                           # weights / shuffling seed (fold k uses seed + k)
standardize = False                # z-score inputs with training-fold statistics (the original: raw)
evaluate_also_on = None            # score the trained model on another feature's input too
augment = False                    # on-the-fly training augmentation (bounded memory)
augment_settings = {}              # overrides of ser_lib.features.augment.DEFAULTS, plus "workers"
reference = {}                     # the original work's figures (fractions) and their source
reference_note = ""                # what differs from the original, if anything
save_model = None                  # a name: save the last fold's model as reports/models/<name>.keras
context = {}                       # set by the pipeline: where to read and write (ser_lib.reporting.notebook.Context)

# %%
import pandas as pd
from IPython.display import Markdown, display

from ser_lib.data import corpus as corpora, protocols
from ser_lib.evaluation import breakdown
from ser_lib.features import features as F
from ser_lib.models import training
from ser_lib.reporting import notebook, plots
from ser_lib.models.models import build, summary_text

ctx = notebook.Context.of(context)  # data root, caches and reports folder, from the pipeline

run, root, labels = notebook.start(experiment, corpus=corpus, protocol=protocol, title=title, context=ctx)
synthetic = run.synthetic

# %% [markdown]
# ## Features
# Every clip is loaded at 16 kHz, zero-padded to 80080 samples (the longest CREMA-D clip) and
# featurized with librosa defaults (157 frames); results are cached on disk.

# %%
clips, _ = corpora.corpus_table(corpus, root)
feats, kept, skipped = F.extract_features(clips, cache=ctx.cache_dir, n_jobs=ctx.n_jobs)
X = F.feature_set(feats, features)
y = kept["emotion"].to_numpy()
notebook.show_clips(kept, skipped, f"input shape per clip `{X.shape[1:]}` for feature set `{'+'.join(features)}`.")

# %% [markdown]
# ## Protocol
# Clips and actors per fold. Under `actor` the "shared" columns must be zero.

# %%
splits = protocols.make_splits(protocol, kept, n_folds=n_folds)
protocols.describe(splits, kept)

# %% [markdown]
# ## Model

# %%
print(summary_text(build(architecture, X.shape[1:], len(labels), learning_rate=learning_rate)))

# %% [markdown]
# ## Training
# One model per fold, from scratch, with its own seed.

# %%
also = {evaluate_also_on: F.feature_set(feats, evaluate_also_on)} if evaluate_also_on else None
results = []
for split in splits:
    result, model = training.train_fold(
        X, y, split, labels=labels, architecture=architecture, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, seed=seed + split.fold, patience=patience, extra_inputs=also, standardize=standardize,
        augment=augment_settings if augment else None, paths=kept["path"].tolist(),
        desc=f"{experiment} fold {split.fold + 1}/{len(splits)}")
    results.append(result)
summary = training.summarize(results, labels)
pd.DataFrame(summary["folds"]).round(3)

# %%
plots.fold_curves(results, panels=plots.KERAS_PANELS, title=f"{title} — training curves");

# %% [markdown]
# ## Results
# Percent. Under `actor`: mean ± std over folds; under `seed`: the single test split with its
# 95 % Wilson interval. Chance: the majority class for accuracy, 1 / classes for UA and F1.

# %%
notebook.show_scores(summary, labels, reference=reference, reference_note=reference_note, title=title)

# %% [markdown]
# Per class, from most to least confused (ranked by F1; `confused_with` is the most frequent wrong answer).

# %%
mistake = None
if evaluate_also_on:
    from ser_lib.evaluation.metrics import summarize_folds

    mistake = summarize_folds([r.extra[evaluate_also_on] for r in results])
    display(Markdown(f"The same trained model scored on the **{evaluate_also_on}** test input instead "
                     f"(the original work's evaluation): accuracy {100 * mistake['wa']:.1f} %, macro F1 "
                     f"{100 * mistake['macro_f1']:.1f} %. The correct evaluation is the table above."))

# %% [markdown]
# ## Per-clip predictions and the saved model
# Every test clip's prediction is kept in `reports/predictions/<experiment>.csv` (for the
# breakdowns of the summary). With `save_model`, the last fold's model is saved with the feature
# settings needed to use it (`python -m ser_lib predict --model ...`).

# %%
from pathlib import Path

predictions = training.predictions_frame(results, kept, splits, labels)
breakdown.save_predictions(predictions, run.reports_dir, experiment)
saved = None
if save_model:
    from ser_lib.models.predict import save_model as save

    saved = save(model, Path(run.reports_dir) / "models" / save_model, corpus=corpus, labels=labels, features=features,
                 feature_settings=F.DEFAULTS, experiment=experiment, data="synthetic" if synthetic else "real",
                 scores={k: results[-1].scores[k] for k in ("wa", "ua", "macro_f1", "n")})
    display(Markdown(f"Saved `{saved.name}` (fold {results[-1].fold}: UA {100 * results[-1].scores['ua']:.1f} % on its "
                     f"{results[-1].scores['n']} test clips)."))
predictions.head()

# %%
record = notebook.finish(run, summary, reference=reference, folds=summary["folds"], reference_note=reference_note,
                         n_clips=len(kept), n_skipped=len(skipped), evaluated_on_other_input=mistake,
                         saved_model=saved.name if saved else None)
