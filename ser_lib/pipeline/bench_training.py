"""``make bench --training``: training speed per architecture, the cost of determinism, and the
projected CREMA-D run time on this machine."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ser_lib.pipeline.bench import TARGET_CREMA_D_RUN_S, _timeit


def crnn_speed(*, n_clips: int = 512, seed: int = 0, repeat: int = 3) -> dict:
    """Seconds per training crop and epoch of the CRNN (:mod:`ser_lib.models.crnn`, default settings) on
    random inputs of its real shape, fastest of ``repeat`` timed epochs after a warm-up."""
    import keras

    from ser_lib.models import crnn, models

    s = crnn.DEFAULTS
    keras.utils.set_random_seed(seed)
    model = crnn.build_crnn(s["crop"], 64, 6, channels=s["channels"], gru=s["gru"])
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_clips, s["crop"], 64)).astype(np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 6, n_clips), 6)
    model.fit(X[:2 * s["batch_size"]], y[:2 * s["batch_size"]], epochs=1, batch_size=s["batch_size"], verbose=0)
    times = [_timeit(lambda _: model.fit(X, y, epochs=1, batch_size=s["batch_size"], verbose=0), [None])
             for _ in range(max(1, repeat))]
    wall, cpu = min(times)
    return {"architecture": "crnn", "input_shape": [s["crop"], 64], "multiply_adds": models.multiply_adds(model),
            "s_per_clip_epoch": wall / n_clips, "cpu_s_per_clip_epoch": cpu / n_clips}


def _crnn_speed_in_process(args) -> dict:
    deterministic, n_clips, repeat = args
    if deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    return crnn_speed(n_clips=n_clips, repeat=repeat)


def determinism_cost(*, n_clips: int = 512, repeat: int = 3, rounds: int = 3) -> dict:
    """Cost of TensorFlow op determinism (:func:`ser_lib.models.croptrain.seed_everything`).

    CRNN training seconds per crop and epoch, measured in fresh processes (op determinism cannot
    be switched off again inside one process), off and on alternately for ``rounds`` rounds so
    that a drift in machine load falls on both sides; each process times ``repeat`` epochs on
    ``n_clips`` crops and keeps the fastest.

    Returns
    -------
    dict
        ``off`` and ``on`` (medians over the rounds, seconds per crop and epoch), ``off_rounds``
        and ``on_rounds`` (every round), ``slowdown`` (median of the per-round ratios on / off)
        and ``slowdown_range`` ([min, max] of those ratios: the measurement's own spread).
    """
    import multiprocessing

    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    times = {False: [], True: []}
    for _ in range(rounds):
        for deterministic in (False, True):
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                m = pool.apply(_crnn_speed_in_process, ((deterministic, n_clips, repeat),))
            times[deterministic].append(m["s_per_clip_epoch"])
    ratios = [on / off for off, on in zip(times[False], times[True])]
    return {"off": float(np.median(times[False])), "on": float(np.median(times[True])),
            "off_rounds": times[False], "on_rounds": times[True], "rounds": rounds, "n_clips": n_clips,
            "slowdown": float(np.median(ratios)), "slowdown_range": [min(ratios), max(ratios)]}


def training_speed(architecture: str, input_shape, *, n_clips: int = 512, batch_size: int = 128,
                   n_classes: int = 6, seed: int = 0, repeat: int = 3) -> dict:
    """Seconds per clip and epoch of training ``architecture`` on this machine.

    One warm-up epoch on two batches (graph tracing), then ``repeat`` timed epochs on ``n_clips``
    random inputs of ``input_shape``, of which the fastest counts (the least disturbed by other
    work, so projections from it are optimistic); the model is the experiments' own
    (:func:`ser_lib.models.models.build`).

    Returns
    -------
    dict
        ``architecture``, ``input_shape``, ``multiply_adds`` (forward, per clip),
        ``s_per_clip_epoch`` (wall), ``cpu_s_per_clip_epoch`` and ``gflop_per_s``
        (6 × multiply-adds per clip and epoch, over the wall time).
    """
    import keras

    from ser_lib.models import models

    if n_clips < batch_size:
        raise ValueError(f"n_clips ({n_clips}) must be at least one batch ({batch_size})")
    keras.utils.set_random_seed(seed)
    model = models.build(architecture, tuple(input_shape), n_classes, learning_rate=1e-3)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_clips, *input_shape)).astype(np.float32)
    y = keras.utils.to_categorical(rng.integers(0, n_classes, n_clips), n_classes)
    model.fit(X[:2 * batch_size], y[:2 * batch_size], epochs=1, batch_size=batch_size, verbose=0)
    times = [_timeit(lambda _: model.fit(X, y, epochs=1, batch_size=batch_size, verbose=0), [None])
             for _ in range(max(1, repeat))]
    wall, cpu = min(times)
    macs = models.multiply_adds(model)
    return {"architecture": architecture, "input_shape": list(input_shape), "multiply_adds": macs,
            "s_per_clip_epoch": wall / n_clips, "cpu_s_per_clip_epoch": cpu / n_clips,
            "gflop_per_s": 6 * macs * n_clips / wall / 1e9}


def experiment_input_shape(features) -> tuple[int, ...]:
    """Model input shape of a CREMA-D feature set (157 frames per 1-D feature, mel 128 × 157)."""
    from ser_lib.features.features import feature_set

    names = [features] if isinstance(features, str) else list(features)
    dummy = {n: np.zeros((1, 128, 157) if n == "mel" else (1, 157), dtype=np.float32) for n in names}
    return tuple(feature_set(dummy, names).shape[1:])


def budget_projection(experiments: list[dict], table, speeds: dict, *, augment_s_per_clip: float = 0.0):
    """Projected training time of each CREMA-D model experiment, as specified, on this machine.

    Parameters
    ----------
    experiments : list of dict
        Each experiment's parameters (params file over notebook defaults): ``experiment``,
        ``protocol``, ``architecture``, ``features``, ``epochs``, ``n_folds``, ``augment``,
        ``standardize``.
    table : DataFrame
        The corpus table (``emotion``, ``actor``) the splits are drawn from.
    speeds : dict
        ``(architecture, input_shape) → seconds per clip and epoch`` (:func:`training_speed`).
    augment_s_per_clip : float
        Seconds to decode, augment and featurise one training clip (added per clip and epoch
        for augmented experiments).

    Returns
    -------
    DataFrame
        experiment, protocol, architecture, input, folds, training clips (all folds), epochs,
        ``projected_s`` (training at full epochs, plus one forward pass per validation clip and
        epoch and per test clip at a third of the training cost), and ``reproduction`` (False
        for the runs beyond the original: standardised or augmented inputs).
    """
    import pandas as pd

    from ser_lib.data.protocols import make_splits

    rows = []
    for p in experiments:
        shape = experiment_input_shape(p["features"])
        key = (p["architecture"], shape)
        if key not in speeds:
            raise ValueError(f"no training speed measured for {key}")
        splits = make_splits(p["protocol"], table, n_folds=int(p.get("n_folds") or 5))
        train = sum(len(s.train) for s in splits)
        val = sum(len(s.val) for s in splits)
        test = sum(len(s.test) for s in splits)
        epochs = int(p["epochs"])
        per = speeds[key]
        seconds = train * epochs * (per + (augment_s_per_clip if p.get("augment") else 0.0))
        seconds += (val * epochs + test) * per / 3
        rows.append({"experiment": p["experiment"], "protocol": p["protocol"], "architecture": p["architecture"],
                     "input": "×".join(map(str, shape)), "folds": len(splits), "training clips": train,
                     "epochs": epochs, "projected_s": seconds,
                     "reproduction": not (p.get("augment") or p.get("standardize"))})
    return pd.DataFrame(rows)


def augmentation_speed(paths, *, n_clips: int = 32, seed: int = 0) -> float:
    """Seconds per clip to decode, augment (:mod:`ser_lib.features.augment`) and compute the log-mel input."""
    from ser_lib.features.augment import augmented_mel
    from ser_lib.features.features import DEFAULTS

    rng = np.random.default_rng(seed)
    paths = list(paths)[:n_clips]
    if not paths:
        raise ValueError("no clips to time augmentation on")

    def one(path):
        augmented_mel(path, sr=DEFAULTS["sr"], length=DEFAULTS["length"], rng=rng)

    one(paths[0])  # warm-up (filterbank, resampler)
    wall, _ = _timeit(one, paths)
    return wall / len(paths)


def run_training(data_root=None, *, project=None, cache=None, n_clips: int = 512, repeat: int = 3,
                 out: str | Path = "reports/bench/training.json", demo_size: str = "demo",
                 overrides: dict | None = None, determinism: bool = True) -> dict:
    """Measure training speed per architecture and project the full CREMA-D run (see module doc).

    Each experiment's parameters are those the pipeline would run it with (params file, its
    ``demo`` block on the synthetic corpus, then ``overrides``), over the notebook's defaults.
    """
    from ser_lib.data.corpus import corpus_table, resolve_corpus
    from ser_lib.pipeline import PROJECT_ROOT, experiment_parameters, load_experiments, notebook_defaults
    from ser_lib.reporting.report import measured_on, peak_rss_mb

    project = Path(project or PROJECT_ROOT)
    root, synthetic = resolve_corpus("crema-d", data_root_dir=data_root, cache=cache, demo_size=demo_size)
    table, _ = corpus_table("crema-d", root)
    experiments = []
    for exp in load_experiments(project / "params", project / "notebooks"):
        if exp.notebook == "cnn" and exp.params.get("corpus") == "crema-d":
            experiments.append({**notebook_defaults(exp.notebook_path),
                                **experiment_parameters(exp, synthetic=synthetic, overrides=overrides)})
    shapes = sorted({(p["architecture"], experiment_input_shape(p["features"])) for p in experiments})
    speeds, measured = {}, []
    for arch, shape in shapes:
        m = training_speed(arch, shape, n_clips=n_clips, repeat=repeat)
        speeds[(arch, shape)] = m["s_per_clip_epoch"]
        measured.append(m)
    crnn_record = crnn_speed(n_clips=n_clips, repeat=repeat)
    if determinism:
        crnn_record["determinism"] = determinism_cost(n_clips=n_clips, repeat=repeat)
    aug = augmentation_speed(table["path"].tolist()) if any(p.get("augment") for p in experiments) else 0.0
    projection = budget_projection(experiments, table, speeds, augment_s_per_clip=aug)
    repro = projection[projection["reproduction"]]
    record = {
        "data": "synthetic" if synthetic else "real", "corpus_clips": int(len(table)), "cores": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0], "speeds": measured, "crnn": crnn_record, "augment_s_per_clip": aug,
        "projection": projection.to_dict(orient="records"),
        "reproduction_runs": int(len(repro)), "reproduction_projected_s": float(repro["projected_s"].sum()),
        "all_runs": int(len(projection)), "all_projected_s": float(projection["projected_s"].sum()),
        "target_s": TARGET_CREMA_D_RUN_S, "peak_rss_mb": peak_rss_mb(), **measured_on(),
    }
    if not len(repro):
        raise RuntimeError("no CREMA-D model experiment found in params/ to project")
    record["target_met"] = record["reproduction_projected_s"] <= TARGET_CREMA_D_RUN_S
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    return record


def print_training(r: dict) -> None:
    """The :func:`run_training` record for the terminal."""
    print(f"Training-speed benchmark ({r['cores']} cores, load average {r['load_average_1min']:.1f}):")
    for m in r["speeds"]:
        shape = "×".join(map(str, m["input_shape"]))
        print(f"  {m['architecture']:17s} {shape:11s} {m['multiply_adds'] / 1e6:7.1f} M multiply-adds/clip  "
              f"{1000 * m['s_per_clip_epoch']:7.2f} ms per clip and epoch  {m['gflop_per_s']:6.1f} GFLOP/s")
    c = r["crnn"]
    print(f"  {'crnn (beyond)':17s} {'×'.join(map(str, c['input_shape'])):11s} {c['multiply_adds'] / 1e6:7.1f} M multiply-adds/crop  "
          f"{1000 * c['s_per_clip_epoch']:7.2f} ms per crop and epoch")
    d = c.get("determinism")
    if d:
        print(f"  TensorFlow op determinism (crnn, fresh processes): {1000 * d['off']:.2f} ms off, "
              f"{1000 * d['on']:.2f} ms on per crop and epoch (medians of {d['rounds']} alternating rounds): "
              f"×{d['slowdown']:.2f}, rounds ×{d['slowdown_range'][0]:.2f}–×{d['slowdown_range'][1]:.2f}")
    if r["augment_s_per_clip"]:
        print(f"  augmentation (decode + augment + log-mel): {1000 * r['augment_s_per_clip']:.1f} ms per clip")
    print(f"Projected training time of the CREMA-D model experiments on the {r['data']} corpus "
          f"({r['corpus_clips']} clips), full epochs:")
    for row in r["projection"]:
        tag = "" if row["reproduction"] else "  (beyond the original)"
        print(f"  {row['experiment']:32s} {row['folds']} fold(s) × {row['epochs']:2d} epochs, "
              f"{row['training clips']:6d} training clips  {row['projected_s'] / 60:6.1f} min{tag}")
    print(f"  the {r['reproduction_runs']} reproduction runs: {r['reproduction_projected_s'] / 60:.0f} min; "
          f"all {r['all_runs']}: {r['all_projected_s'] / 60:.0f} min (feature extraction and report export not included)")
    verdict = "met" if r["target_met"] else "MISSED"
    print(f"target: the full CREMA-D run in about {r['target_s'] / 60:.0f} min on this machine: {verdict}")
