# %% [markdown]
# # A strong from-scratch model: CRNN with attention pooling on log-mel crops
#
# Beyond the originals' CNNs: the same log-mel idea, done the way current speech-emotion models do it
# (see `ser_lib.models.crnn`): random 2-s crops of each clip's own frames in training instead of zero-padding
# every clip to 5 s, windowed scoring at test, per-speaker (or global) band normalisation, SpecAugment
# and mixup, a CRNN (3 conv blocks, bidirectional GRU, attention pooling), and early stopping on the
# **validation actors'** clip UA with the best weights restored. Test actors are scored once.
#
# Optionally the CRNN is **fused** with the openSMILE linear model: in every fold the linear model is
# fitted on the training actors only (hyperparameters by inner actor-disjoint CV), and the fusion
# weight is chosen on the validation actors; the test actors are never used for any choice.
#
# Optionally the CRNN is trained **jointly** with a second corpus (`joint_with`): on the six emotions
# both share (RAVDESS's calm and surprised are left out), every clip of the other corpus is added to
# each fold's training clips, while validation and test actors stay within this corpus; the same folds
# and seeds are also trained on this corpus alone, so the table says what the other corpus adds.

# %% tags=["parameters"]
experiment = "crnn-crema-d-speaker-actor"
title = "CREMA-D: CRNN on log-mel crops, per-speaker normalisation (actor protocol)"
corpus = "crema-d"
protocol = "actor"
normalisation = "speaker"          # "speaker" (each actor's clips z-scored together) or "global" (training-clip statistics)
n_folds = 5
seed = 0                           # fold k uses seed + k
settings = {}                      # overrides of ser_lib.models.crnn.DEFAULTS (crop, epochs, patience, ...)
fusion = None                      # e.g. {"feature_set": "ComParE_2016", "classifier": "svm", "grid": {...}}
n_inner = 3                        # inner folds of the fused linear model's choices
joint_with = None                  # another corpus: all its clips join every fold's training (six shared emotions)
alone_settings = {}                # with joint_with: overrides of `settings` for the corpus-alone comparison
reference = {}
reference_note = ""
context = {}                       # set by the pipeline: where to read and write (ser_lib.reporting.notebook.Context)

# %%
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from ser_lib.data import protocols
from ser_lib.evaluation import breakdown
from ser_lib.features import melspec
from ser_lib.models import crnn, crosscorpus, training
from ser_lib.reporting import notebook, plots
from ser_lib.data import corpus as corpora

ctx = notebook.Context.of(context)  # data root, caches and reports folder, from the pipeline

run, root, labels = notebook.start(experiment, corpus=corpus, protocol=protocol, title=title, context=ctx)
crnn_settings = {**crnn.DEFAULTS, **settings}
if joint_with and fusion:
    raise ValueError("joint_with and fusion together are not supported: run them as two experiments")

# %% [markdown]
# ## Features
# Log-mel (64 bands, 16 ms hop) of each clip's own frames, cached on disk; then the bands are
# z-scored per actor (`speaker`) or with each fold's training clips (`global`).

# %%
clips, _ = corpora.corpus_table(corpus, root)
if joint_with:
    clips, labels = crosscorpus.shared_clips(clips), list(crosscorpus.SHARED_EMOTIONS)
mel, n_frames, kept, skipped = melspec.extract(clips, cache=ctx.cache_dir, n_jobs=ctx.n_jobs)
y = kept["emotion"].to_numpy()
notebook.show_clips(kept, skipped, f"frames per clip {n_frames.min()}–{n_frames.max()} (median "
                    f"{int(np.median(n_frames))}); crops of {crnn_settings['crop']} frames.")

# %%
splits = protocols.make_splits(protocol, kept, n_folds=n_folds)
protocols.describe(splits, kept)

# %% [markdown]
# With `joint_with`: the other corpus's clips (six shared emotions) are appended after this corpus's
# and added to every fold's training rows; normalisation statistics (global: the fold's training
# clips; speaker: each actor's own clips) then cover both corpora.

# %%
train_splits, groups = splits, kept["actor"].to_numpy()
if joint_with:
    other_root, _ = ctx.resolve(joint_with)
    other, _ = corpora.corpus_table(joint_with, other_root)
    o_mel, o_frames, o_kept, o_skipped = melspec.extract(crosscorpus.shared_clips(other), cache=ctx.cache_dir, n_jobs=ctx.n_jobs)
    joint = crnn.stack_corpora((mel, n_frames, y), (o_mel, o_frames, o_kept["emotion"].to_numpy()))
    train_splits = [crnn.with_training_rows(s, len(kept) + np.arange(len(o_kept))) for s in splits]
    groups = np.concatenate([corpus + ":" + kept["actor"].astype(str), joint_with + ":" + o_kept["actor"].astype(str)])
    skipped = pd.concat([skipped, o_skipped.assign(corpus=joint_with)], ignore_index=True)
    display(Markdown(f"Joint training: {len(o_kept)} {joint_with} clips ({o_kept['actor'].nunique()} actors) added "
                     f"to every fold's {np.mean([len(s.train) for s in splits]):.0f} training clips."))

# %%
crnn.build_crnn(crnn_settings["crop"], mel.shape[2], len(labels), channels=crnn_settings["channels"],
                gru=crnn_settings["gru"]).summary()

# %% [markdown]
# ## Training
# One model per fold, from scratch. Under `global` each fold's band statistics come from its training clips only.

# %%
results = crnn.train_folds(*(joint if joint_with else (mel, n_frames, y)), train_splits, labels=labels, seed=seed,
                           groups=groups if normalisation == "speaker" else None, desc=experiment, **settings)
summary = training.summarize(results, labels)
alone = None
if joint_with:  # the same folds and seeds without the other corpus
    alone_results = crnn.train_folds(mel, n_frames, y, splits, labels=labels, seed=seed, desc=f"{experiment} alone",
                                     groups=kept["actor"].to_numpy() if normalisation == "speaker" else None,
                                     **{**settings, **alone_settings})
    alone = training.summarize(alone_results, labels)
    display(Markdown(f"UA {corpus} alone {100 * alone['ua']:.1f} ± {100 * alone['ua_std']:.1f} %, with {joint_with} in "
                     f"training {100 * summary['ua']:.1f} ± {100 * summary['ua_std']:.1f} % (same test folds)."))
pd.DataFrame(summary["folds"]).round(3)

# %%
plots.fold_curves(results, title=f"{title}: training curves");

# %% [markdown]
# ## Results
# Percent, mean ± std over the actor-disjoint folds; chance: 1 / classes for UA.

# %%
notebook.show_scores(summary, labels, reference=reference, reference_note=reference_note, title=title)

# %% [markdown]
# ## Fusion with the openSMILE linear model
# Per fold: the linear model is chosen and fitted on the training actors, scored on the validation
# and test actors; its scores go through a softmax; the weight `w` of the linear model in
# `w · linear + (1 − w) · CRNN` is the one with the best **validation** UA.

# %%
fused = None
if fusion:
    from ser_lib.features import smile
    from ser_lib.models import fusion as FU, linear
    from ser_lib.features.normalise import normalise as normalise_features

    Xf, kept_f, _ = smile.extract_functionals(clips, feature_set=fusion["feature_set"], cache=ctx.cache_dir, n_jobs=ctx.n_jobs)
    assert list(kept_f["clip"]) == list(kept["clip"]), "the two feature families must cover the same clips"
    Xf = normalise_features(Xf, kept, normalisation)
    linear_scores = []
    for split in splits:
        scores, chosen = linear.fit_and_score(Xf, y, kept["actor"], split.train, {"val": split.val, "test": split.test},
                                              labels=labels, classifier=fusion["classifier"], grid=fusion.get("grid"),
                                              n_inner=n_inner, n_jobs=ctx.n_jobs)
        linear_scores.append({**scores, "chosen": chosen})
    table, fused = FU.fuse_folds(results, linear_scores, splits, y, labels)
    display(table.round(3))
    display(Markdown(f"Fused: UA {100 * fused['ua']:.1f} ± {100 * fused['ua_std']:.1f} % (CRNN alone "
                     f"{100 * summary['ua']:.1f} %, linear alone, fitted on the training actors without the "
                     f"validation actors, {100 * fused['linear_ua']:.1f} %)."))

# %%
predictions = training.predictions_frame(results, kept, splits, labels)
breakdown.save_predictions(predictions, run.reports_dir, experiment)
ablation = [training.ablation_row(summary, feature_set="log-mel", normalisation=normalisation,
                                  classifier=f"crnn + {joint_with} in training" if joint_with else "crnn",
                                  fit_s=round(sum(r.train_s for r in results), 1))]
if alone:
    ablation.insert(0, training.ablation_row(alone, feature_set="log-mel", classifier=f"crnn ({corpus} alone)",
                                             normalisation=normalisation,
                                             fit_s=round(sum(r.train_s for r in alone_results), 1)))
if fused:
    ablation.append(training.ablation_row(fused, feature_set=f"log-mel + {fusion['feature_set']}",
                                          classifier=f"fusion: crnn + {fusion['classifier']}", normalisation=normalisation))
record = notebook.finish(run, summary, reference=reference, folds=summary["folds"], normalisation=normalisation,
                         reference_note=reference_note, crnn_settings=crnn_settings, fusion=fused, ablation=ablation,
                         n_clips=len(kept), n_skipped=len(skipped), joint_with=joint_with,
                         alone={k: alone[k] for k in training.ROW_SCORES} if alone else None)
