"""The WaDER account: why our figures are not the published 74 %, from the measured runs.

Method-specific narrative, beside its method: it reads the run records of the WaDER family by
the ``report.role`` their params files declare (never by experiment name) and the structured
per-epoch readings (``published_at`` rows keyed by :data:`EPOCH_READINGS`).
"""

from __future__ import annotations

import pandas as pd

from ser_lib.evaluation.metrics import format_score

#: The roles of the WaDER runs, in the order of the account's table, and what each one is.
ROLES = {
    "published": "the original's procedure at full resolution, the original's reshape",
    "published-transpose": "the same with the correct transpose",
    "published-pooled": "the original's procedure on ×32 pooled frames, the original's reshape",
    "seed-transposed-pooled": "the original's split, ×32 pooled, transposed frames",
    "seed-adam": "the same with Adam 1e-3 (an optimizer that fits)",
    "seed-pool64": "the same pooled ×64",
    "frame-split": "frames of one clip on both sides of the split (a stronger leak)",
    "converged": "all clips, actor-disjoint folds, trained to convergence",
    "ablation-raw": "converged, the raw log-CWT instead of the autoencoder's latent",
    "ablation-pool128": "converged, ×128 pooling",
    "ablation-quarter-second": "converged, 0.25-s frames",
}


def runs_by_role(records: list[dict]) -> dict[str, dict]:
    """WaDER records by their declared role (records without a role are left out)."""
    out = {}
    for r in records:
        role = (r.get("report") or {}).get("role")
        if (r.get("report") or {}).get("family") == "wader" and role:
            out[role] = r
    return out


def reading(record: dict | None, key: str, column: str = "last epoch"):
    """One per-epoch reading of a run (``key`` of :data:`EPOCH_READINGS`), or None."""
    for row in (record or {}).get("published_at") or []:
        if row.get("key") == key:
            return row.get(column)
    return None


def _pct(v) -> str:
    return "not run" if v is None else f"{100 * v:.1f} %"


def _frame_wa(record: dict | None):
    f = (record or {}).get("frame")
    return f.get("wa") if isinstance(f, dict) else None


def _params(record: dict | None) -> dict:
    return (record or {}).get("effective_params") or {}


def _pool(record: dict | None) -> str:
    if record is None:
        return "not run"
    p = record.get("time_pool") or _params(record).get("time_pool")
    n = len(record.get("seeds") or _params(record).get("seeds") or [0])
    return ("full resolution" if p in (1, None) else f"×{p} pooled") + f", {n} seed{'s' if n != 1 else ''}"


def _clip_ua(record: dict | None) -> str:
    return "not run" if record is None else f"{format_score(record.get('ua'), record.get('ua_std'))} %"


def _name(record: dict | None, role: str) -> str:
    return f"`{record['experiment']}`" if record else f"(role {role}: not run)"


def _runs_from_records(record: dict) -> str:
    """'k of n': how many of an experiment's runs (seed × fold) its last call read from run records
    instead of computing them ('–' for metrics written before run records existed)."""
    runs = [run for run in record.get("folds") or [] if isinstance(run, dict) and "from cache" in run]
    if not runs:
        return "–"
    return f"{sum(bool(run['from cache']) for run in runs)} of {len(runs)}"


def table(records: list[dict]) -> pd.DataFrame:
    """Every WaDER run side by side: protocol, frame layout, time pooling, seeds, evaluation-frame
    accuracy (argmax), the original's p > 0.5 reading on training and evaluation frames at the
    last epoch (where logged), clip UA with its spread, how many of its runs were read from run
    records, wall time of the call that wrote the metrics and its peak memory."""
    by = runs_by_role(records)
    rows = []
    for role in ROLES:
        r = by.get(role)
        if r is None:
            continue
        p = _params(r)
        frame = r.get("frame") if isinstance(r.get("frame"), dict) else {}
        pct = lambda v: "–" if v is None else f"{100 * v:.1f}"  # noqa: E731
        rows.append({
            "experiment": r["experiment"], "role": role, "protocol": r["protocol"], "data": r["data"],
            "layout": r.get("frame_layout") or p.get("frame_layout") or ("transpose" if r["protocol"] == "seed" else "–"),
            "time pool": r.get("time_pool") or p.get("time_pool"), "seeds": len(r.get("seeds") or p.get("seeds") or [0]),
            "eval frames WA %": format_score(frame.get("wa"), frame.get("wa_std")) if frame else "–",
            "train frames p>0.5 % (last)": pct(reading(r, "train_p>0.5")),
            "eval frames p>0.5 % (last)": pct(reading(r, "eval_p>0.5")),
            "train frames argmax % (last)": pct(reading(r, "train_argmax")),
            "clip UA %": format_score(r.get("ua"), r.get("ua_std")), "runs from records": _runs_from_records(r),
            "wall s": r.get("wall_s"),
            "peak RSS GB": None if r.get("peak_rss_mb") is None else round(r["peak_rss_mb"] / 1024, 1),
        })
    return pd.DataFrame(rows)


def _first_reached(record: dict, targets=("74.00", "75.78")) -> str:
    """Which per-epoch readings of a run reach the published figures, and at which epoch (per seed)."""
    rows = record.get("published_at") or []
    if not rows:
        return ""
    hits = {t: [f"{row['reading']} (epoch {row[f'first epoch ≥ {t} %']})" for row in rows
                if any(v.strip() != "never" for v in str(row.get(f"first epoch ≥ {t} %", "never")).split(","))]
            for t in targets}
    if not any(hits.values()):
        return (f"Neither {' nor '.join(f'{float(t):g} %' for t in targets)} is reached on any set, under either "
                "reading, at any epoch.")
    return "; ".join(f"{float(t):g} % is first reached by " + ("; ".join(h) if h else "no reading")
                     for t, h in hits.items()) + "."


def _where_published_figures_appear(adam: dict | None) -> str:
    """The line on a model that fits its training frames (role ``seed-adam``): where 74 % shows."""
    if adam is None or not adam.get("published_at"):
        return "**Where 74 % appears**: the run with an optimizer that fits (role seed-adam) not run with per-epoch logging."

    def pct(key, column="last epoch"):
        v = reading(adam, key, column)
        return "–" if v is None else f"{100 * v:.1f} %"

    first = reading(adam, "fit_true_class_above_half", "first epoch ≥ 74.00 %")
    return (f"**Where 74 % appears**: with an optimizer that fits ({_name(adam, 'seed-adam')}: Adam 1e-3, the "
            "original's split and epochs, ×32 pooled, transposed) the *training* frames reach "
            f"{pct('fit_true_class_above_half')} by the original's p > 0.5 reading as Keras "
            f"logs it while fitting (best {pct('fit_true_class_above_half', 'best epoch')}, "
            f"first ≥ 74 % at epoch {first or 'never'}), {pct('train_p>0.5')} re-scored after training "
            f"({pct('train_argmax')} argmax), while its evaluation frames stay at "
            f"{pct('eval_argmax')} argmax / {pct('eval_p>0.5')} p > 0.5 "
            f"(clip UA {100 * adam['ua']:.1f} %): the published figures match training-frame accuracy.")


def gap(records: list[dict]) -> list[str]:
    """One line per cause of the distance between the published 74 % and our WaDER figures, each
    with the measured numbers (or what is still missing)."""
    by = runs_by_role(records)
    pub_role = next((k for k in ("published", "published-pooled", "seed-transposed-pooled") if k in by), "published")
    pub = by.get(pub_role)
    layout = "transposed frames" if pub_role == "seed-transposed-pooled" else "the original's reshape"
    full = "published" in by and "published-transpose" in by
    pair = ("published", "published-transpose") if full else ("published-pooled", "seed-transposed-pooled")
    lines = [
        f"**Metric and set**: the original's procedure ({_name(pub, pub_role)}: {_pool(pub)}, {layout}); at the last "
        f"epoch the original's p > 0.5 reading reaches {_pct(reading(pub, 'train_p>0.5'))} on the *training* frames "
        f"and {_pct(reading(pub, 'eval_p>0.5'))} on the evaluation frames (argmax: {_pct(reading(pub, 'train_argmax'))} "
        f"training, {_pct(_frame_wa(pub))} evaluation); the published figures are 74 % / 75.78 %. "
        f"{_first_reached(pub or {})}",
        _where_published_figures_appear(by.get("seed-adam")),
        f"**Reshape**: evaluation-frame accuracy with the original's reshape {_pct(_frame_wa(by.get(pair[0])))} "
        f"({_pool(by.get(pair[0]))}), with the correct transpose {_pct(_frame_wa(by.get(pair[1])))} "
        f"({_pool(by.get(pair[1]))}).",
        "**Resolution**: " + "; ".join(
            f"{ROLES[role]} {_pct(_frame_wa(by.get(role)))} ({_pool(by.get(role))}, {_name(by.get(role), role)})"
            for role in ("published", "published-pooled", "published-transpose", "seed-transposed-pooled",
                         "seed-pool64") if role in by) + ".",
        f"**Leak**: splitting frames instead of clips (a stronger leak than the original's) gives "
        f"{_pct(_frame_wa(by.get('frame-split')))} evaluation-frame accuracy against "
        f"{_pct(_frame_wa(by.get('seed-transposed-pooled')))} with the original's clip-level split.",
    ]
    act = by.get("converged")
    lines.append("**Split size and speakers**: the original evaluates 18 clips of the one actor it trains on; on "
                 + ("all clips with unseen actors: not run" if act is None else
                    f"{act.get('n_test_clips')} clips of unseen actors, WaDER trained to convergence reaches "
                    f"{_clip_ua(act)} clip UA ({_pct(_frame_wa(act))} window accuracy)")
                 + ", chance 12.5 %.")
    lines.append(f"**What each part contributes** (actor protocol, clip UA): autoencoder latent {_clip_ua(act)}, "
                 f"raw log-CWT {_clip_ua(by.get('ablation-raw'))}; ×128 pooling {_clip_ua(by.get('ablation-pool128'))}; "
                 f"0.25-s frames {_clip_ua(by.get('ablation-quarter-second'))}.")
    missing = [role for role in ROLES if role not in by]
    if missing:
        lines.append("Not yet measured: " + ", ".join(f"{role} ({ROLES[role]})" for role in missing) + ".")
    return lines


EPOCH_READINGS = {"train_argmax": "training frames, argmax", "train_p>0.5": "training frames, p > 0.5 (original's metric)",
                  "eval_argmax": "evaluation frames, argmax", "eval_p>0.5": "evaluation frames, p > 0.5 (original's metric)",
                  "fit_accuracy": "training frames while fitting (Keras log), argmax",
                  "fit_true_class_above_half": "training frames while fitting (Keras log), p > 0.5"}


def epoch_log(results: list[dict]) -> pd.DataFrame:
    """Per-epoch scores of every run (``log_epochs=True``), long format: ``run``, ``epoch``,
    ``reading`` (a key of :data:`EPOCH_READINGS`) and ``value``."""
    rows = []
    for k, r in enumerate(results):
        for e in r.get("epoch_scores") or []:
            rows += [{"run": k, "epoch": e["epoch"], "reading": key, "value": e[key]} for key in EPOCH_READINGS if key in e]
    return pd.DataFrame(rows, columns=["run", "epoch", "reading", "value"])


def where_published(log: pd.DataFrame, targets=(0.74, 0.7578)) -> pd.DataFrame:
    """For every reading of :func:`epoch_log`: its value at the last epoch and at its best epoch
    (mean over runs), and the first epoch at which each run reached each published figure."""
    if log.empty:
        return pd.DataFrame()
    rows = []
    for reading, g in log.groupby("reading", sort=False):
        last = g[g["epoch"] == g.groupby("run")["epoch"].transform("max")]["value"]
        row = {"reading": EPOCH_READINGS.get(reading, reading), "key": reading, "last epoch": float(last.mean()),
               "best epoch": float(g.groupby("run")["value"].max().mean())}
        for t in targets:
            first = [int(r["epoch"][r["value"] >= t].min()) if (r["value"] >= t).any() else None
                     for _, r in g.groupby("run")]
            row[f"first epoch ≥ {100 * t:.2f} %"] = ", ".join("never" if f is None else str(f) for f in first)
        rows.append(row)
    return pd.DataFrame(rows).set_index("reading")


def plot_epoch_log(log: pd.DataFrame, *, targets=(0.74, 0.7578), title: str = ""):
    """Every reading per epoch (one line per run), with the published figures as reference lines."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(15, 4), sharey=True)
    for ax, metric in zip(axes, ("argmax", "p>0.5")):
        keys = [k for k in EPOCH_READINGS if k.endswith(metric) or (metric == "argmax" and k == "fit_accuracy")
                or (metric == "p>0.5" and k == "fit_true_class_above_half")]
        for key, colour in zip(keys, ("C0", "C1", "C2")):
            for run, g in log[log["reading"] == key].groupby("run"):
                ax.plot(g["epoch"], 100 * g["value"], color=colour, lw=1,
                        label=EPOCH_READINGS[key] if run == 0 else None)
        for t in targets:
            ax.axhline(100 * t, color="k", lw=0.6, ls=":")
        ax.set(xlabel="epoch", ylabel="%", title=f"{metric} (dotted: the published 74 % and 75.78 %)")
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
