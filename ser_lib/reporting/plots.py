"""Figures of the report (matplotlib / seaborn). Each function draws on a given or new Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ser_lib.config import EMOTION_NAMES


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


def scalogram(coefs: np.ndarray, freqs: np.ndarray, *, frame_rate: float, title: str = "", ax=None):
    """CWT magnitude (time × scale) as an image, frequency on a log axis.

    ``coefs`` has time along the first axis (the layout of :mod:`ser_lib.features.wavelet`);
    ``frame_rate`` is its time steps per second.
    """
    ax = ax or plt.subplots(figsize=(6, 2.5))[1]
    mag = np.abs(coefs).T
    t = np.arange(coefs.shape[0] + 1) / frame_rate
    order = np.argsort(freqs)
    f = freqs[order]
    edges = np.concatenate([[f[0] * 0.98], (f[1:] + f[:-1]) / 2, [f[-1] * 1.02]])
    mesh = ax.pcolormesh(t, edges, mag[order], shading="flat", cmap="magma")
    ax.set_yscale("log")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("Hz")
    if title:
        ax.set_title(title)
    return mesh


def frequency_histogram(magnitude_per_scale: np.ndarray, freqs: np.ndarray, *, title: str = "", ax=None):
    """Amplitude-weighted frequency histogram: share of CWT magnitude falling at each scale's frequency."""
    ax = ax or plt.subplots(figsize=(6, 3))[1]
    order = np.argsort(freqs)
    share = magnitude_per_scale[order] / magnitude_per_scale.sum()
    ax.bar(freqs[order], 100 * share, width=np.gradient(freqs[order]), align="center", color="tab:blue")
    ax.set(xscale="log", xlabel="frequency (Hz)", ylabel="% of CWT magnitude", title=title or ax.get_title())
    return ax


def pca_scatter(X: np.ndarray, labels, *, title: str = "", ax=None):
    """2-D PCA of per-clip feature vectors, coloured by emotion."""
    from sklearn.decomposition import PCA

    ax = ax or plt.subplots(figsize=(6, 5))[1]
    pca = PCA(n_components=2, random_state=0)
    Z = pca.fit_transform((X - X.mean(0)) / (X.std(0) + 1e-9))
    names = [emotion_name(str(v)) for v in labels]
    sns.scatterplot(x=Z[:, 0], y=Z[:, 1], hue=names, hue_order=sorted(set(names)), s=14, ax=ax, alpha=0.7)
    ev = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC1 ({100 * ev[0]:.0f} % of variance)")
    ax.set_ylabel(f"PC2 ({100 * ev[1]:.0f} % of variance)")
    ax.legend(fontsize=7, markerscale=1.5)
    if title:
        ax.set_title(title)
    return ax


#: Panels of :func:`fold_curves`: (columns, title, y label, percent). The first column of a
#: panel is drawn solid, the second dashed.
KERAS_PANELS = ((("loss", "val_loss"), "loss (solid: training, dashed: validation)", "loss", False),
                (("accuracy", "val_accuracy"), "accuracy (solid: training, dashed: validation)", "accuracy", False))
CROP_PANELS = ((("loss",), "training crops: loss", "cross-entropy", False),
               (("val_loss",), "validation actors: window loss", "cross-entropy", False),
               (("val_ua",), "validation actors: clip UA (best epoch marked)", "UA %", True))


def fold_curves(results, *, panels=CROP_PANELS, title: str = ""):
    """Learning curves of every fold (and seed) of a run, one panel per entry of ``panels``.

    Parameters
    ----------
    results : sequence of FoldResult, or dict seed → sequence of FoldResult
        Each with a ``history`` frame indexed by epoch; the colour is the fold, the line style
        the seed (when a panel shows one column).
    panels : sequence of (columns, title, ylabel, percent)
        See :data:`KERAS_PANELS` and :data:`CROP_PANELS`; a column missing from a history is skipped.
    title : str
    """
    runs = results if isinstance(results, dict) else {None: results}
    fig, axes = plt.subplots(1, len(panels), figsize=(5.3 * len(panels), 3.6), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ("-", "--", ":", "-.")
    for k, rs in enumerate(runs.values()):
        for r in rs:
            c = colours[r.fold % len(colours)]
            for ax, (columns, _, _, percent) in zip(axes[0], panels):
                for j, col in enumerate(columns):
                    if col in r.history:
                        ls = styles[j % 4] if len(columns) > 1 else styles[k % 4]
                        label = f"fold {r.fold}" if k == 0 and j == 0 else None
                        ax.plot(r.history.index, (100 if percent else 1) * r.history[col], lw=1, color=c, ls=ls,
                                label=label)
                if r.best_epoch != r.epochs_run:
                    ax.axvline(r.best_epoch, color=c, lw=0.4, alpha=0.5)
    for ax, (_, panel_title, ylabel, _) in zip(axes[0], panels):
        ax.set(xlabel="epoch", ylabel=ylabel, title=panel_title)
    axes[0][-1].legend(fontsize=7, title="line style = seed" if len(runs) > 1 else None, title_fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def history_curves(histories, keys, *, titles=None, suptitle: str = ""):
    """Train (solid) and validation (dashed) curves of several runs, one panel per key."""
    fig, axes = plt.subplots(1, len(keys), figsize=(6.5 * len(keys), 3.4), squeeze=False)
    for k, h in enumerate(histories):
        for ax, key in zip(axes[0], keys):
            epochs = np.arange(1, len(h[key]) + 1)
            line, = ax.plot(epochs, h[key], lw=1, label=f"fold {k} train")
            if "val_" + key in h:
                ax.plot(epochs, h["val_" + key], lw=1, ls="--", color=line.get_color(), label=f"fold {k} val")
    for i, (ax, key) in enumerate(zip(axes[0], keys)):
        ax.set_xlabel("epoch")
        ax.set_title(titles[i] if titles else key)
    axes[0][-1].legend(fontsize=7, ncol=2)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def reliability_diagram(curves: dict, *, title: str = "", ax=None):
    """Reliability diagram: accuracy against mean confidence per bin, one line per model
    (``name → ser_lib.evaluation.calibration.reliability`` output), the diagonal for perfect calibration;
    bins holding under 1 % of the clips are left out."""
    ax = ax or plt.subplots(figsize=(5.5, 5))[1]
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="perfectly calibrated")
    for name, rel in curves.items():
        count = np.asarray(rel["count"], dtype=float)
        keep = count >= max(1.0, 0.01 * count.sum())
        ax.plot(np.asarray(rel["confidence"])[keep], np.asarray(rel["accuracy"])[keep], marker="o", ms=3, label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean top probability in bin")
    ax.set_ylabel("accuracy in bin")
    ax.legend(fontsize=8, loc="upper left")
    if title:
        ax.set_title(title, fontsize=10)
    return ax
