"""Data-exploration summaries and figures for the exploration notebook."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ser_lib.reporting import plots
from ser_lib.data.audio import load_clip
from ser_lib.config import DEFAULT_SR


def usable(audited: pd.DataFrame) -> pd.DataFrame:
    """Rows of an audited table whose audio loaded (status ``ok``)."""
    return audited[audited["status"] == "ok"].reset_index(drop=True)


def overview(audited: pd.DataFrame, emotions) -> pd.DataFrame:
    """One-line-per-emotion table: clips, actors, total and mean duration."""
    ok = usable(audited)
    g = ok.groupby("emotion")
    table = pd.DataFrame({
        "clips": g.size(),
        "actors": g["actor"].nunique(),
        "hours": g["duration_s"].sum() / 3600,
        "mean duration s": g["duration_s"].mean(),
        "min s": g["duration_s"].min(),
        "max s": g["duration_s"].max(),
    }).reindex(list(emotions))
    table.index = [f"{plots.emotion_name(e)} ({e})" for e in table.index]
    total = pd.DataFrame({"clips": [len(ok)], "actors": [ok["actor"].nunique()],
                          "hours": [ok["duration_s"].sum() / 3600],
                          "mean duration s": [ok["duration_s"].mean()],
                          "min s": [ok["duration_s"].min()], "max s": [ok["duration_s"].max()]},
                         index=["all"])
    return pd.concat([table, total]).round(2)


def plot_label_and_duration(audited: pd.DataFrame, emotions):
    """Figure: clips per emotion, and the duration distribution per emotion."""
    ok = usable(audited)
    fig, axes = plt.subplots(1, 2, figsize=(13, 3.8))
    plots.count_bars(ok["emotion"].value_counts().reindex(list(emotions), fill_value=0),
                     title="Clips per emotion", ax=axes[0])
    sns.boxplot(data=ok.assign(emotion=ok["emotion"].map(plots.emotion_name)), x="emotion",
                y="duration_s", order=[plots.emotion_name(e) for e in emotions], ax=axes[1],
                fliersize=2)
    axes[1].set_ylabel("duration (s)")
    axes[1].set_title("Duration per emotion")
    fig.tight_layout()
    return fig


def plot_balance(audited: pd.DataFrame, emotions):
    """Figure: clips per actor (coloured by sex) and the emotion × sex balance."""
    ok = usable(audited)
    fig, axes = plt.subplots(1, 2, figsize=(14, 3.8), gridspec_kw={"width_ratios": [3, 1]})
    per_actor = ok.groupby(["actor", "sex"]).size().reset_index(name="clips")
    sexes = sorted(ok["sex"].dropna().unique())
    colors = dict(zip(sexes, sns.color_palette("deep", len(sexes))))
    sns.barplot(data=per_actor, x="actor", y="clips", hue="sex", hue_order=sexes, palette=colors,
                dodge=False, ax=axes[0])
    axes[0].set_title(f"Clips per actor ({per_actor['actor'].nunique()} actors)")
    step = max(1, len(per_actor) // 30)
    for i, label in enumerate(axes[0].get_xticklabels()):
        label.set_visible(i % step == 0)
        label.set_rotation(90)
    by_sex = pd.crosstab(ok["emotion"], ok["sex"]).reindex(index=list(emotions), columns=sexes)
    by_sex.index = [plots.emotion_name(e) for e in by_sex.index]
    by_sex.plot.barh(stacked=True, ax=axes[1], color=[colors[s] for s in sexes])
    axes[1].set_title("Emotion × sex")
    axes[1].set_xlabel("clips")
    fig.tight_layout()
    return fig


def example_clips(audited: pd.DataFrame, emotions, *, seed: int = 0) -> pd.DataFrame:
    """One random usable clip per emotion (reproducible with ``seed``)."""
    ok = usable(audited)
    picks = [ok[ok["emotion"] == e].sample(1, random_state=seed) for e in emotions if (ok["emotion"] == e).any()]
    return pd.concat(picks).reset_index(drop=True)


def plot_examples(examples: pd.DataFrame, *, sr: int = DEFAULT_SR):
    """Figure: raw waveform and log-mel spectrogram of each example clip (one row per emotion)."""
    n = len(examples)
    fig, axes = plt.subplots(n, 2, figsize=(13, 2.1 * n), squeeze=False)
    for i, row in enumerate(examples.itertuples()):
        y, _ = load_clip(row.path, sr=sr)
        name = f"{plots.emotion_name(row.emotion)} — {row.clip}"
        plots.waveform(y, sr, title=name, ax=axes[i, 0])
        plots.log_mel(y, sr, title=name, ax=axes[i, 1])
        if i < n - 1:
            axes[i, 0].set_xlabel("")
            axes[i, 1].set_xlabel("")
    fig.tight_layout()
    return fig


def level_summary(audited: pd.DataFrame) -> pd.DataFrame:
    """Peak and RMS level distribution (dBFS) of the usable clips."""
    ok = usable(audited)
    return ok[["peak_dbfs", "rms_dbfs", "duration_s"]].describe(percentiles=[0.01, 0.5, 0.99]).round(2).T


def intensity_counts(audited: pd.DataFrame, column: str, emotions) -> pd.DataFrame:
    """Clips per emotion × intensity level (``level`` for CREMA-D, ``intensity_name`` for RAVDESS)."""
    ok = usable(audited)
    table = pd.crosstab(ok["emotion"], ok[column]).reindex(list(emotions)).fillna(0).astype(int)
    table.index = [plots.emotion_name(e) for e in table.index]
    return table
