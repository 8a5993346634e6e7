# %% [markdown]
# # The shipped model: one model over both corpora, with probabilities, in three modes
#
# `python -m ser_lib predict` uses this model by default. It is the generalisation experiments'
# **headline recipe** (`recipe` below, declared in their params before they ran; not picked among
# the rows of their tables) refitted on **every actor of CREMA-D and RAVDESS** (the six emotions both
# share), in three modes a user chooses by what they have:
#
# * `global`: one recording of an unknown speaker;
# * `speaker` (`--same-speaker`): a batch of one speaker's recordings covering the emotions about evenly;
# * `neutral` (`--neutral REF …`): any recordings of a speaker plus 3 or more of that speaker's
#   **neutral** recordings, whose mean features are subtracted first.
#
# **Every choice on validation actors.** About an eighth of the actors of each corpus are held out;
# `C` is chosen on their UA (the model fitted without them), the softmax temperature and the
# confidence threshold (below it, an answer is marked *uncertain*) on their scores; then the model
# is refitted on every actor. No figure here is a test figure: every actor is in training. What a
# user can expect comes from the generalisation experiments (`records`), where the same recipe was
# scored on unseen test actors, on the other corpus and under degraded recordings; those figures go
# into the model's sidecar.

# %% tags=["parameters"]
experiment = "ship-generalise"
title = "The shipped model: CREMA-D + RAVDESS, calibrated, three modes"
corpus = "crema-d"                  # the record's corpus (the model is trained on `corpora`)
corpora = ["crema-d", "ravdess"]
protocol = "none"
feature_set = "ComParE_2016"
recipe = "joint-augment"            # the generalisation experiments' declared headline recipe
modes = ["global", "speaker", "neutral"]
c_grid = [0.0001, 0.0003, 0.001]
neutral_k = 3                       # neutral clips per actor in the `neutral` mode's references
val_folds = 8                       # about 1/8 of each corpus's actors are validation actors
records = ["generalise-crema-d", "generalise-ravdess"]  # whose test figures the sidecar states
ship_model = None                   # a name: the bundle the pipeline ships as predict's default (real data only)
context = {}                       # set by the pipeline: where to read and write (ser_lib.reporting.notebook.Context)

# %%
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from ser_lib.models import bundle, crosscorpus
from ser_lib.models import generalise as G
from ser_lib.models import ship
from ser_lib.reporting import notebook
from ser_lib.reporting.report import read_metrics

ctx = notebook.Context.of(context)  # data root, caches and reports folder, from the pipeline

labels = list(crosscorpus.SHARED_EMOTIONS)
bank, synthetic = G.load_bank(corpora, feature_set=feature_set, data_root=ctx.data_root, cache=ctx.cache_dir,
                              demo_size=ctx.demo_size, n_jobs=ctx.n_jobs)
tables = bank.tables
run, _, _ = notebook.start(experiment, corpus=corpus, protocol=protocol, title=title, context=ctx,
                           synthetic=synthetic)
found = {r["experiment"]: r for r in read_metrics(run.reports_dir) if r["experiment"] in records}
missing = sorted(set(records) - set(found))
if missing:
    raise RuntimeError(f"{experiment} states the test figures of {missing}, which have no record under {run.reports_dir}: "
                       f"run them first (make report ONLY='{' '.join(missing)}')")
display(Markdown(", ".join(f"{c}: {len(t)} clips of {t['actor'].nunique()} actors" for c, t in tables.items())
                 + f"; recipe `{recipe}` ({G.check_recipe(recipe).label})."))

# %% [markdown]
# ## Fit: choices on validation actors, then every actor

# %%
fitted = ship.fit_shipped(bank, G.check_recipe(recipe), labels=labels, c_grid=c_grid, modes=modes,
                          neutral_k=neutral_k, val_folds=val_folds)
choices = pd.DataFrame([{"mode": m, "C": f["C"], "validation UA %": round(100 * f["ua"], 1),
                         "validation clips": f["n_val"], "training rows": f["n_rows"],
                         "temperature": round(f["temperature"], 3), "threshold": round(f["threshold"], 3),
                         "fit s": round(f["fit_s"], 1)} for m, f in fitted.items()])
choices

# %% [markdown]
# ## What a user can expect (test figures of the same recipe, from the generalisation experiments)

# %%
figures = ship.figures([found[n] for n in records], recipe=recipe, neutral_k=neutral_k)
pd.DataFrame([{"tested on": c, "global UA %": 100 * f["global"]["ua"],
               "speaker UA %": 100 * f["speaker"]["ua"] if "speaker" in f else None,
               "skewed batch UA %": 100 * f["speaker_skewed_batch"]["ua"] if "speaker_skewed_batch" in f else None,
               "neutral UA %": 100 * f["neutral"]["ua"] if "neutral" in f else None,
               "cross-corpus UA %": 100 * f["cross_corpus"]["ua"] if f["cross_corpus"] else None,
               "largest drop (points)": 100 * max(f["robustness_drop"].values()) if f["robustness_drop"] else None,
               "ECE %": 100 * f["ece"] if f["ece"] is not None else None} for c, f in figures.items()]).round(1)

# %% [markdown]
# ## Save, reload through the bundle, and check it gives the fitted model's probabilities

# %%
out_dir = Path(run.reports_dir) / "models"
path = ship.save_shipped(out_dir / (ship_model or experiment), fitted, bank=bank, recipe=G.check_recipe(recipe),
                         feature_set=feature_set, sr=16000, synthetic=synthetic, neutral_k=neutral_k,
                         scores={"expected": figures, "protocol": "test figures of the same recipe in the "
                                 f"generalisation experiments {records}; this model itself is trained on every actor"})
loaded = bundle.load_bundle(path)
X, rows = bank.get(corpora[0], G.check_recipe(recipe).front_end, "clean", np.arange(0, len(tables[corpora[0]]), 25))
p_bundle, threshold = loaded.probabilities(X, mode="global")
p_fit = G.scored(tables[corpora[0]]["emotion"].to_numpy()[rows], G.class_scores(fitted["global"], X, labels), labels,
                 temperature=fitted["global"]["temperature"])["proba"]
agreement = float(np.abs(p_bundle - p_fit).max())
same = float((p_bundle.argmax(1) == p_fit.argmax(1)).mean())
display(Markdown(f"Bundle `{path.name}`: {len(rows)} clips re-scored; same answer as the fitted model on {100 * same:.1f} %, "
                 f"largest difference in probability {agreement:.1e} (the bundle holds primal weights, the fit a dual "
                 f"solution); rows sum to 1 within {float(np.abs(p_bundle.sum(1) - 1).max()):.1e}. "
                 + ("The pipeline ships it as predict's default after this run." if ship_model and not synthetic else
                    "Synthetic demo data: the shipped model is **not** replaced." if synthetic else "")))
assert same >= 0.99, "the bundle does not reproduce the fitted model"

# %%
record = notebook.finish(run, None, n_test_clips=None, scores={},
                         extra={"scores_are": "none: the model is trained on every actor; its test figures are in "
                                              "`expected`, the validation actors' in `choices`",
                                "recipe": recipe, "modes": list(fitted), "choices": choices.to_dict("records"),
                                "expected": figures, "bundle": path.name, "bundle_agreement": agreement, "bundle_same_answer": same,
                                "shipped": bool(ship_model and not synthetic)})
