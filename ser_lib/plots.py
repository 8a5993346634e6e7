"""Figures of the report (matplotlib / seaborn). Each function draws on a given or new Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .config import EMOTION_NAMES


def emotion_name(code: str) -> str:
    """``'ANG'`` → ``'angry'`` (unknown codes are returned unchanged)."""
    return EMOTION_NAMES.get(code, code)


def confusion_heatmap(matrix: pd.DataFrame, *, normalize: bool = True, title: str = "", ax=None):
    """Heatmap of a confusion matrix (rows true, columns predicted), labelled with emotion names.

    With ``normalize`` each row is shown as percent of its clips, and the counts are
    annotated below the percent.
    """
    ax = ax or plt.subplots(figsize=(1.1 * matrix.shape[1] + 2, 0.9 * matrix.shape[0] + 1.5))[1]
    counts = matrix.to_numpy()
    shown = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) * 100 if normalize else counts
    annot = np.array([[f"{s:.0f}%\n({c})" if normalize else f"{c}" for s, c in zip(rs, rc)]
                      for rs, rc in zip(shown, counts)])
    sns.heatmap(shown, annot=annot, fmt="", cmap="Blues", cbar=False, ax=ax,
                xticklabels=[emotion_name(c) for c in matrix.columns],
                yticklabels=[emotion_name(c) for c in matrix.index], vmin=0,
                vmax=100 if normalize else None)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    return ax


def waveform(y: np.ndarray, sr: int, *, title: str = "", ax=None):
    """Raw waveform against time."""
    ax = ax or plt.subplots(figsize=(6, 2))[1]
    t = np.arange(y.size) / sr
    ax.plot(t, y, lw=0.5)
    ax.set_xlim(0, t[-1] if t.size else 1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude")
    if title:
        ax.set_title(title)
    return ax


def log_mel(y: np.ndarray, sr: int, *, n_mels: int = 64, title: str = "", ax=None):
    """Log-mel spectrogram (dB relative to the clip's peak)."""
    import librosa
    import librosa.display

    ax = ax or plt.subplots(figsize=(6, 2.5))[1]
    m = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_mels=n_mels), ref=np.max)
    librosa.display.specshow(m, sr=sr, x_axis="time", y_axis="mel", ax=ax, cmap="magma")
    if title:
        ax.set_title(title)
    return ax


def count_bars(counts: pd.Series, *, title: str = "", xlabel: str = "", ax=None, names: bool = True):
    """Bar chart of counts (e.g. clips per emotion), annotated with the values."""
    ax = ax or plt.subplots(figsize=(6, 3))[1]
    labels = [emotion_name(str(i)) if names else str(i) for i in counts.index]
    bars = ax.bar(labels, counts.to_numpy(), color=sns.color_palette("deep", len(counts)))
    ax.bar_label(bars, fontsize=8)
    ax.set_ylabel("clips")
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    return ax
