# %% [markdown]
# # Summary: every result at a glance
#
# The pipeline's last stage, not an experiment: it reads every run record `reports/metrics/*.json`
# and writes no record of its own. One row per experiment: the protocol, the number of test
# clips, WA / UA / macro F1 with their spread, the chance level, and the original work's figure.
# For CREMA-D the human listeners (voice only, majority vote) are the yardstick. Below the table:
# how much the leaky protocols overstate, the cross-corpus results, the best models against the
# human listeners and broken down by speaker sex and intensity. The findings are computed from
# the numbers (`ser_lib.reporting.findings`, the same code as the index page) and written with every table
# to `reports/RESULTS.md`.

# %% tags=["parameters"]
context = {}                       # set by the pipeline: where to read and write (ser_lib.reporting.notebook.Context)

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import HTML, Image, Markdown, display

from ser_lib.evaluation import breakdown
from ser_lib.reporting import findings, notebook, report, summary

ctx = notebook.Context.of(context)  # data root, caches and reports folder, from the pipeline

built = summary.build(ctx.reports_dir)  # RESULTS.md and the chart, from every run record
table, parts = built["table"], built["parts"]
if built["synthetic"]:
    display(HTML(f'<div style="background:#b00020;color:white;padding:12px;font-weight:bold">'
                 f'{report.SYNTHETIC_BANNER}</div>'))
display(pd.DataFrame(built["headline"]), Markdown(findings.SELECTION_NOTE))
chart = Path(ctx.reports_dir) / summary.CHART
Image(filename=str(chart)) if chart.is_file() else None

# %%
shown = ["experiment", "corpus", "protocol", "data", "test clips", "WA %", "UA %", "macro F1 %", "chance UA %",
         "frame WA %", "original %"]
table[shown]

# %% [markdown]
# ## How much does the leaky protocol overstate?
# UA under the original random split (speakers shared) against actor-disjoint folds, per model.

# %%
built["gaps"]

# %% [markdown]
# ## Cross-corpus
# Trained on all actors of one corpus, tested on all clips of the other (six shared emotions),
# beside the within-corpus yardstick on the target (actor-disjoint folds). `headline` marks the
# normalisation declared first in the experiment's parameters.

# %%
cross = built["cross"]
cross.drop(columns=["cross_ua_value", "within_ua_value"]) if len(cross) else Markdown("No cross-corpus experiment has been run.")

# %% [markdown]
# ## Does training-time augmentation help?
# Each augmented experiment (noise, time stretch, pitch shift and shift on the training clips only,
# drawn afresh every batch) against the same model and split without it, clip by clip on the same
# test clips. McNemar's exact test asks whether the clips only one of the two gets right split
# unevenly enough to rule out chance.

# %%
augmentation = built["augmentation"]
augmentation if len(augmentation) else Markdown("No augmented experiment with a matching unaugmented run has been run.")

# %% [markdown]
# ## Human listeners vs the best CREMA-D model
# The best actor-disjoint CREMA-D model (highest UA among the experiments that saved per-clip
# predictions) against the voice-only majority vote of the crowd raters, clip by clip. Under the
# actor protocol every clip is a test clip once, so this covers the whole corpus.

# %%
hm = parts["human_model"]
if hm:
    display(Markdown(f"Model: **{parts['human_model_experiment']}**."))
    display(summary.human_model_table(hm))
    per = breakdown.percent(parts["human_per_emotion"])
    display(per)
    per[["human recall", "model recall"]].plot.bar(figsize=(8, 3.5), rot=0, ylabel="recall %",
                                                   title="Per emotion: human listeners vs model")
    plt.tight_layout()
else:
    display(Markdown("No CREMA-D model with per-clip predictions and human votes yet."))

# %% [markdown]
# ## By speaker sex and emotional intensity
# The same best model of each corpus (CREMA-D intensity: LO / MD / HI, XX = unspecified;
# RAVDESS: normal / strong), with the 95 % interval of the accuracy.

# %%
for name, g in parts["groups"].items():
    display(Markdown(f"**{name}** — {g['experiment']}"))
    display(breakdown.percent(g["sex"]))
    display(breakdown.percent(g["intensity"]))
if not parts["groups"]:
    display(Markdown("No actor-protocol experiment with per-clip predictions yet."))

# %% [markdown]
# ## WaDER: why our figures are not 74 %
# One line per cause, from the measured runs: the metric and set the published figures sit on,
# the original's reshape, the time resolution, the leak, and the split size and unseen speakers;
# then every WaDER run side by side.

# %%
wader_lines, wader_runs = built["wader"]
display(Markdown("\n".join(f"- {line}" for line in wader_lines)))
wader_runs if len(wader_runs) else Markdown("No WaDER experiment has run yet.")

# %% [markdown]
# ## Beyond the originals (ablation)
# Every configuration of the ablation, per corpus, under actor-disjoint folds: openSMILE functionals
# with linear models under both normalisations (`global`: one clip alone; `speaker`: each actor's clips
# z-scored together, transductive), the CRNN and its fusion, and WaDER trained to convergence with its
# variants; chance, the best earlier model of the corpus and the human listeners beside it.

# %%
ablation = built["ablation"]
ablation.drop(columns="ua_value") if len(ablation) else Markdown("No ablation experiment has run yet.")

# %% [markdown]
# ## Findings

# %%
display(Markdown("\n".join(f"- {n}" for n in built["notes"])))
display(Markdown(f"Written to `{built['path'].name}` beside the chart `{summary.CHART}`."))
