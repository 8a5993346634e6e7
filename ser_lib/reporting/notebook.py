"""The cells every experiment notebook shares: start a run, show its scores, finish it.

A notebook narrates and orchestrates; these helpers keep its repeated cells to one line each:

* :class:`Context` is where a run reads and writes (the pipeline's one injected parameter);
* :func:`start` resolves the corpus (real under ``data_root``, else the synthetic demo), opens the
  :class:`ser_lib.reporting.report.Run` (whose ``reports_dir`` is ``reports/demo/`` on synthetic data) and
  shows the data banner;
* :func:`show_clips` lists the clips a run uses and those it skipped;
* :func:`score_table` and :func:`show_scores` show a summary (:func:`ser_lib.models.training.summarize`)
  beside the original work's figures and chance, with the pooled confusion heatmap;
* :func:`finish` writes the run's results and shows its wall time and memory.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import pandas as pd

from ser_lib.evaluation import metrics as M

#: Keys of a :func:`ser_lib.models.training.summarize` summary that are not scores of the headline.
NOT_SCORES = ("n_test_clips", "folds", "per_seed")


@dataclass(frozen=True)
class Context:
    """Where a run reads and writes, set by the pipeline: the one ``context`` parameter of every
    notebook (:data:`ser_lib.pipeline.experiments.INJECTED`).

    Parameters
    ----------
    data_root : path, optional
        Folder holding the real corpora (``<data_root>/<corpus>``); without it, or without the
        corpus there, the synthetic demo corpus is used.
    cache_dir : path, optional
        Feature caches (default: :func:`ser_lib.config.cache_dir`).
    reports_dir : path
        Report folder. A run writes into :attr:`ser_lib.reporting.report.Run.reports_dir`, which is
        ``<reports_dir>/demo/`` on synthetic data.
    demo_size : str
        Size of the synthetic corpus (``"demo"`` or ``"tiny"``).
    n_jobs : int
        Parallel workers of feature extraction (joblib: -1 is one per core). A setting of the
        machine, not of the experiment: it is not part of any params file or run record.
    """

    data_root: str | None = None
    cache_dir: str | None = None
    reports_dir: str = "../reports"
    demo_size: str = "demo"
    n_jobs: int = -1

    @classmethod
    def of(cls, context: "Context | dict | None" = None) -> "Context":
        """The context from a notebook's ``context`` parameter (a mapping; unknown keys refused)."""
        if isinstance(context, cls):
            return context
        context = dict(context or {})
        unknown = sorted(set(context) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown context keys {unknown}; known: {[f.name for f in fields(cls)]}")
        return cls(**context)

    def resolve(self, corpus: str):
        """``(root, synthetic)`` of ``corpus`` (:func:`ser_lib.data.corpus.resolve_corpus`)."""
        from ser_lib.data.corpus import resolve_corpus

        return resolve_corpus(corpus, data_root_dir=self.data_root, cache=self.cache_dir, demo_size=self.demo_size)


def start(experiment: str, *, corpus: str, protocol: str, title: str, context: Context | dict | None = None,
          synthetic: bool | None = None):
    """Open an experiment's run.

    Parameters
    ----------
    experiment, corpus, protocol, title : str
        From the notebook's parameters cell.
    context : Context or dict, optional
        Set by the pipeline (:class:`Context`).
    synthetic : bool, optional
        Whether the data is synthetic, when the notebook resolved its corpora itself (several
        corpora); then ``root`` is returned as ``None``.

    Returns
    -------
    run : ser_lib.reporting.report.Run
        Its ``reports_dir`` is where the notebook writes (``reports/demo/`` on synthetic data).
    root : pathlib.Path or None
        The corpus folder.
    labels : list of str
        The corpus's emotion codes.
    """
    from IPython.display import display

    from ser_lib.reporting import report
    from ser_lib.data.corpus import emotion_labels

    ctx = Context.of(context)
    root = None
    if synthetic is None:
        root, synthetic = ctx.resolve(corpus)
    run = report.Run(experiment, corpus, protocol, synthetic=synthetic, reports_dir=ctx.reports_dir, title=title)
    display(run.banner())
    return run, root, emotion_labels(corpus)


def show_clips(kept: pd.DataFrame, skipped: pd.DataFrame, detail: str = "") -> None:
    """Show the clips a run uses and those it skipped: one line (clips, actors, skipped, then
    ``detail``), then the table of skipped clips with their reasons, so bad input is listed in the
    report while the run goes on."""
    from IPython.display import Markdown, display

    line = f"{len(kept)} clips ({kept['actor'].nunique()} actors), {len(skipped)} skipped"
    display(Markdown(f"{line}; {detail}" if detail else f"{line}."))
    if len(skipped):
        display(skipped)


def score_table(summary: dict, reference: dict | None = None) -> pd.DataFrame:
    """Ours beside the original's figures and chance, in percent (one row per metric)."""
    ref = reference or {}
    rows = []
    for key, name in (("wa", "accuracy (WA)"), ("ua", "UA"), ("macro_f1", "macro F1"), ("weighted_f1", "weighted F1")):
        rows.append({"metric": name,
                     "ours": M.format_score(summary.get(key), summary.get(key + "_std"),
                                            summary.get("wa_ci") if key == "wa" else None),
                     "original": M.format_score(ref.get(key)) if ref.get(key) is not None else "–",
                     "chance": M.format_score(summary["chance"]["ua"] if key != "wa" else summary["chance"]["wa"])})
    return pd.DataFrame(rows).set_index("metric")


def confusion_frame(summary: dict, labels) -> pd.DataFrame:
    """The pooled confusion matrix of a summary, labelled ``true`` × ``predicted``."""
    return pd.DataFrame(summary["confusion"], index=pd.Index(list(labels), name="true"),
                        columns=pd.Index(list(labels), name="predicted"))


def show_scores(summary: dict, labels, *, reference: dict | None = None, reference_note: str = "",
                title: str = "", pooled: str = "all test clips pooled") -> pd.DataFrame:
    """Display the score table, the original figures' source and a note, and the pooled
    confusion heatmap; return the per-class table (most confused first)."""
    import matplotlib.pyplot as plt
    from IPython.display import Markdown, display

    from ser_lib.reporting.plots import confusion_heatmap

    reference = reference or {}
    display(score_table(summary, reference))
    if reference.get("source"):
        display(Markdown(f"Original figures: {reference['source']}."))
    if reference_note:
        display(Markdown(f"**Note.** {reference_note}"))
    confusion_heatmap(confusion_frame(summary, labels), title=f"{title}: {pooled} (row %)")
    plt.show()
    return pd.DataFrame(summary["per_class"]).round(3)


def finish(run, summary: dict | None, *, reference: dict | None = None, n_test_clips=None,
           scores: dict | None = None, extra: dict | None = None, **more) -> dict:
    """Write the run's results (:meth:`ser_lib.reporting.report.Run.finish`) and show wall time and memory.

    ``summary`` gives the scores (every key but :data:`NOT_SCORES`) and the test clips; or give
    ``scores`` and ``n_test_clips`` directly. ``extra`` (and any further keyword) is stored
    beside them.
    """
    from IPython.display import Markdown, display

    if summary is not None:
        scores = {k: v for k, v in summary.items() if k not in NOT_SCORES}
        n_test_clips = summary.get("n_test_clips")
    record = run.finish(n_test_clips=n_test_clips, scores=scores, reference=reference, extra={**(extra or {}), **more})
    display(Markdown(f"Wall {record['wall_s']:.0f} s, peak RSS {record['peak_rss_mb']:.0f} MB."))
    return record
