# %% [markdown]
# # WaDER trained properly: all of RAVDESS, actor-disjoint folds, until validation says stop
#
# The WaDER model (Morlet CWT → per-timestep dense autoencoder → frozen encoder → 1-D CNN + LSTM,
# see the `wader` notebook for the replication) measured honestly and trained to convergence:
#
# * all 1440 clips, **actor-disjoint folds** (6 folds of 4 actors), validation actors drawn from
#   the training actors; **clip-level** UA is the headline (a clip's emotion is the mean of the
#   probabilities of all its windows, 50 % overlap);
# * **log-compressed** CWT magnitude (rms-pooled in time), every scale standardised with the
#   statistics of the fold's **training actors**;
# * training draws fresh random crops of every training clip (clean and noisy copies) each epoch;
#   the test actors' clips are scored with **all** their windows;
# * **Adam**, early stopping on the **validation actors' clip UA** with the best weights restored;
#   test actors are scored once, at the end, and never used for any choice;
# * several seeds; the frame length, time pooling and the autoencoder itself are varied in
#   separate experiments (the ablation in the summary), each judged on the same folds.

# %% tags=["parameters"]
experiment = "wader-actor"
title = "RAVDESS: WaDER trained to convergence (actor protocol)"
corpus = "ravdess"
protocol = "actor"
n_folds = 6
time_pool = 64                     # time-axis pooling factor of the CWT (rms), 250 steps per second at 64
frame_seconds = 1.0                # frame (crop and window) length in seconds
settings = {}                      # overrides of ser_lib.models.wader_converged.CONVERGED (encoder, epochs, patience, learning_rate, ...)
seeds = [0, 1, 2]                  # fold k of seed s uses seed 1000 * s + k (the noisy copies are drawn once)
max_actors = None                  # use only the first N actors (the demo budget), None for all
max_clips_per_actor = None         # and at most N random clips of each (the demo budget), None for all
reference = {}
reference_note = ""
context = {}                       # set by the pipeline: where to read and write (ser_lib.reporting.notebook.Context)

# %%
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from ser_lib.data import protocols
from ser_lib.evaluation import breakdown
from ser_lib.features import melspec, wavelet
from ser_lib.models import training, wader, wader_converged
from ser_lib.reporting import notebook, plots
from ser_lib.data import corpus as corpora

ctx = notebook.Context.of(context)  # data root, caches and reports folder, from the pipeline

run, root, labels = notebook.start(experiment, corpus=corpus, protocol=protocol, title=title, context=ctx)
synthetic = run.synthetic
frame_steps = max(1, int(round(frame_seconds * 16000 / time_pool)))
wader_settings = {**wader_converged.CONVERGED, **settings, "frame_steps": frame_steps}

# %% [markdown]
# ## Clips and wavelet features

# %%
clips, _ = corpora.corpus_table(corpus, root)
if max_actors:
    clips = clips[clips["actor"].isin(sorted(clips["actor"].unique())[:max_actors])].reset_index(drop=True)
if max_clips_per_actor:
    clips = (clips.sample(frac=1.0, random_state=0).groupby("actor").head(max_clips_per_actor)
             .sort_values("path").reset_index(drop=True))
store = wavelet.build_store(clips, cache=ctx.cache_dir, n_jobs=ctx.n_jobs, time_pool=time_pool, pool_mode="rms", seed=seeds[0])
clean, lengths = store.padded(log=True)
noisy, _ = store.padded(noisy=True, log=True)
kept = store.clips
y = kept["emotion"].to_numpy()
notebook.show_clips(kept, store.skipped, (
    f"{store.n_scales} scales; time pooling ×{time_pool} → {16000 / time_pool:.0f} steps per second; clips of {lengths.min()}–{lengths.max()} "
    f"steps (median {int(np.median(lengths))}); frames of {frame_seconds} s = {frame_steps} steps. Cache "
    f"{store.nbytes / 2**30:.2f} GiB (float16)."))

# %%
folds = protocols.make_splits(protocol, kept, n_folds=n_folds)
protocols.describe(folds, kept)

# %%
wader.classifier(wader.autoencoder(frame_steps, store.n_scales)[1] if wader_settings["encoder"] else None, len(labels),
                 optimizer=wader_settings["optimizer"], input_shape=(frame_steps, store.n_scales)).summary()

# %% [markdown]
# ## Training
# Per seed and fold, from scratch. The log-CWT is standardised with the fold's training clips
# (clean and noisy copies) only; validation and test clips are clean.

# %%
runs, y2 = {}, np.concatenate([y, y])
for s in seeds:
    runs[s] = []
    for split in folds:
        X, lengths2, split2 = wader_converged.with_noisy_copies(clean, noisy, lengths, split)
        X = melspec.normalise(X, lengths2, None, fit_rows=split2.train)
        result = wader_converged.train_converged_fold(X, lengths2, y2, split2, labels=labels, seed=1000 * s + split.fold,
                                                      desc=f"{experiment} seed {s} fold {split.fold + 1}/{len(folds)}", **wader_settings)
        del X
        runs[s].append(result)
summary = training.summarize(runs, labels)
pd.DataFrame(summary["folds"]).round(3)

# %%
plots.fold_curves(runs, title=f"{title}: training curves");

# %% [markdown]
# ## Results
# Percent. Clip level: mean over seeds; ± the spread over folds (seed-averaged) and, separately,
# over seeds. Frame level: every test window scored alone. Chance: 1 / classes for UA.

# %%
display(Markdown(
    f"Spread over seeds (std of the fold means): UA {100 * summary['ua_seed_std']:.1f} points. "
    f"Window (frame) level: WA {100 * summary['frame']['wa']:.1f} ± {100 * summary['frame']['wa_std']:.1f} %, "
    f"UA {100 * summary['frame']['ua']:.1f} ± {100 * summary['frame']['ua_std']:.1f} % (every test window scored alone)."))
notebook.show_scores(summary, labels, reference=reference, reference_note=reference_note, title=title,
                     pooled="test clips of every fold and seed")

# %%
first = list(runs)[0]
predictions = training.predictions_frame(runs[first], kept, folds, labels)
breakdown.save_predictions(predictions, run.reports_dir, experiment)
ablation = [wader_converged.ablation_row(summary, encoder=wader_settings["encoder"], time_pool=time_pool, frame_seconds=frame_seconds)]
record = notebook.finish(run, None, n_test_clips=summary["n_test_clips"],
                    scores={k: v for k, v in summary.items() if k not in ("n_test_clips", "folds", "per_seed")},
                    reference=reference,
                    extra={"level": "clip", "reference_note": reference_note, "wader_settings": wader_settings,
                           "time_pool": time_pool, "frame_seconds": frame_seconds, "seeds": list(seeds),
                           "per_seed": summary["per_seed"], "folds": summary["folds"], "ablation": ablation,
                           "n_clips": len(kept), "n_skipped": len(store.skipped), "cache_gib": store.nbytes / 2**30,
                           "history": {f"{s}-{r.fold}": r.history.reset_index().to_dict("list") for s, rs in runs.items() for r in rs}})
