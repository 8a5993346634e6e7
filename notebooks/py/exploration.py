# %% [markdown]
# # Data exploration
#
# What is in the corpus before any model sees it: how many clips of each emotion, how long
# they are, how actors and sexes are balanced, what the signals look like, which files could
# not be used and why — and, for CREMA-D, how well **human listeners** recognised the
# intended emotion from the voice alone. That human figure is the yardstick for every model
# in this report.

# %% tags=["parameters"]
experiment = "explore-crema-d"  # params file name
title = "CREMA-D: data exploration"
corpus = "crema-d"              # "crema-d" or "ravdess"
protocol = "human"              # what the headline numbers measure
play_audio = False              # embed audio players (never commit HTML made with this on)
n_audio = 3                     # how many players when play_audio is on
example_seed = 0                # which clip illustrates each emotion
context = {}                       # set by the pipeline: where to read and write (ser_lib.reporting.notebook.Context)

# %%
import warnings

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Audio, Markdown, display

from ser_lib.data import audio, corpus as corpora
from ser_lib.evaluation import explore
from ser_lib.reporting import notebook, plots
from ser_lib.config import DEFAULT_SR

ctx = notebook.Context.of(context)  # data root, caches and reports folder, from the pipeline

warnings.simplefilter("ignore", audio.BadClipWarning)  # they are listed in a table below
run, root, labels = notebook.start(experiment, corpus=corpus, protocol=protocol, title=title, context=ctx)
synthetic = run.synthetic
emotions = labels

# %% [markdown]
# ## The corpus table
# One row per clip, from the file names (and for CREMA-D the official metadata). Every clip is
# then loaded once at 16 kHz mono to measure its duration and level; files that cannot be
# used are set aside with their reason (listed at the end of this page).

# %%
clips, bad_names = corpora.corpus_table(corpus, root)
audited = audio.audit_clips(clips, sr=DEFAULT_SR, cache=ctx.cache_dir, n_jobs=ctx.n_jobs)
problems = audio.problem_list(audited, bad_names)
ok = explore.usable(audited)
display(Markdown(f"**{len(ok)} clips loaded** from `{root}`; {len(problems[problems.action == 'skipped'])} "
                 f"files skipped, {len(problems[problems.action == 'converted'])} converted (see the list below)."))
audited.drop(columns=["path"]).head()

# %%
explore.overview(audited, emotions)

# %% [markdown]
# ## Labels and durations

# %%
explore.plot_label_and_duration(audited, emotions);

# %% [markdown]
# ## Actors and sexes
# Actor-disjoint evaluation (used throughout this report) needs to know how clips spread
# over speakers: a model that has heard a speaker in training is helped in a way that does not
# carry over to new speakers.

# %%
explore.plot_balance(audited, emotions);

# %%
explore.intensity_counts(audited, "level" if corpus == "crema-d" else "intensity_name", emotions)

# %%
explore.level_summary(audited)

# %% [markdown]
# ## One clip per emotion: waveform and log-mel spectrogram

# %%
examples = explore.example_clips(audited, emotions, seed=example_seed)
explore.plot_examples(examples, sr=DEFAULT_SR);

# %%
if play_audio:
    for row in examples.head(n_audio).itertuples():
        y, sr = audio.load_clip(row.path, sr=DEFAULT_SR)
        display(Markdown(f"**{plots.emotion_name(row.emotion)}** — `{row.clip}`"), Audio(y, rate=sr))
else:
    display(Markdown("_Audio players are off (`play_audio: false`), so this page embeds no audio._"))

# %% [markdown]
# ## Skipped and converted files
# *Skipped* files could not be used (unreadable, empty, silent, unparseable name); *converted*
# files were used after a fix (stereo down-mixed, resampled, content read despite a misleading
# extension). Nothing else is dropped.

# %%
problems if len(problems) else Markdown("_No file was skipped or converted._")

# %% [markdown]
# ## Human listeners (CREMA-D)
# CREMA-D's crowd raters labelled every clip from the **voice only**. We score their majority
# vote (`summaryTable.csv`, `VoiceVote`) against the emotion the actor was asked to portray;
# a tie between emotions counts as wrong. This is the human baseline for the 6-class task. All
# rated clips are scored, including any skipped above (the raters did judge them).

# %%
human = None
if corpus == "crema-d" and audited["human_vote"].notna().any():
    from ser_lib.data.human import human_scores

    human, matrix = human_scores(audited)  # every rated clip, including skipped ones: raters heard them
    display(Markdown(f"Human voice-only majority vote on {human['n']} clips: **accuracy (WA) "
                     f"{100 * human['wa']:.1f} %**, **UA {100 * human['ua']:.1f} %**, macro F1 "
                     f"{100 * human['macro_f1']:.1f} %; {human['n_ties']} ties counted as wrong; "
                     f"chance UA {100 * human['chance']['ua']:.1f} %."))
    plots.confusion_heatmap(matrix, title="Human listeners, voice only (row %)")
    plt.show()
    display(pd.DataFrame(human["per_class"]).round(3))
else:
    display(Markdown("_No human ratings for this corpus" + (" (synthetic data)" if synthetic else "") + "._"))

# %%
skipped = problems[problems.action == "skipped"]
record = notebook.finish(
    run, None, n_test_clips=human["n"] if human else None,
    scores={k: human[k] for k in ("wa", "ua", "macro_f1", "weighted_f1", "wa_ci", "chance")} if human else None,
    reference={"source": "CREMA-D summaryTable.csv, voice-only majority vote (our measurement)",
               "wa": 0.416, "ua": 0.429} if corpus == "crema-d" and not synthetic else None,
    extra={"n_clips": len(ok), "n_skipped": len(skipped), "n_converted": len(problems) - len(skipped),
           "skipped": skipped.to_dict("records"), "hours": float(ok["duration_s"].sum() / 3600),
           "clips_per_emotion": ok["emotion"].value_counts().to_dict()},
)
