"""``make bench``: speed and memory of the feature pipeline, checked against targets.

Measures, on a sample of clips (real CREMA-D when ``DATA_ROOT`` has it, else the synthetic
demo corpus), on **one core**:

* decoding + resampling speed (``load_clip``),
* seed-feature extraction speed (all five features of one clip from its padded signal),
* the end-to-end rate (decode + pad + features),
* parallel throughput with all cores (joblib),
* openSMILE functionals (eGeMAPSv02, ComParE_2016) per core, on a smaller sample,
* peak resident memory of this process, and the in-memory size of the full corpus' features.

Speeds are "× realtime": seconds of audio per second of compute. Audio seconds are counted
both as the padded 5.005 s window the features are computed on and as the clip's own duration
(shorter), so neither flatters the result. The target (≥ 500× realtime per core for the five
seed features, on the padded window) is checked and the command exits 1 when it is missed.

Writes ``reports/bench.json``.

``--training`` (``make bench`` runs it as a second step) measures instead the training speed of
the four CREMA-D architectures on this machine (one timed epoch on random inputs of the real
shapes, all cores) and of the CRNN (random crops of its real shape), counts their multiply-adds, and projects from them the cold run of every
CREMA-D model experiment as its params file specifies it (the real splits, full epochs),
against the target of about 60 minutes for the full CREMA-D run. Writes
``reports/bench-training.json``; exits 1 when the projection misses the target.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

TARGET_X_REALTIME = 500.0
#: Target for the cold run of all CREMA-D model experiments (seconds).
TARGET_CREMA_D_RUN_S = 3600.0


def _timeit(fn, items, repeat: int = 1) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) per repeat."""
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        for it in items:
            fn(it)
    return (time.perf_counter() - t0) / repeat, (time.process_time() - c0) / repeat


def run(data_root=None, *, n_clips: int = 200, cache=None, out: str | Path = "reports/bench.json",
        demo_size: str = "demo") -> dict:
    """Run the benchmark and return its record (also written to ``out``)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core for the per-core figures
    from joblib import Parallel, delayed
    from threadpoolctl import threadpool_limits

    from ser_lib.data.audio import load_clip
    from ser_lib.data.corpus import corpus_table, resolve_corpus
    from ser_lib.features.features import DEFAULTS, _clip_features, pad_or_trim, seed_features
    from ser_lib.reporting.report import peak_rss_mb

    root, synthetic = resolve_corpus("crema-d", data_root_dir=data_root, cache=cache, demo_size=demo_size)
    clips, _ = corpus_table("crema-d", root)
    sample = clips.sample(min(n_clips, len(clips)), random_state=0)["path"].tolist()
    length, sr = DEFAULTS["length"], DEFAULTS["sr"]

    signals = []
    t_load = time.perf_counter()
    for p in sample:
        signals.append(load_clip(p, sr=sr)[0])
    t_load = time.perf_counter() - t_load
    padded = [pad_or_trim(y, length) for y in signals]
    seed_features(padded[0])  # warm-up (filterbank cache, FFT plans)
    with threadpool_limits(1):  # BLAS/OpenMP pools already started: pin them to one core for these figures
        t_feat, c_feat = _timeit(seed_features, padded)
        t_e2e, c_e2e = _timeit(lambda p: _clip_features(p, DEFAULTS), sample)
    n_jobs = os.cpu_count() or 1
    t0 = time.perf_counter()
    Parallel(n_jobs=n_jobs)(delayed(_clip_features)(p, DEFAULTS) for p in sample)
    t_par = time.perf_counter() - t0

    smile_speed = opensmile_speed(signals[:40], sr=sr)
    clip_s = sum(y.size for y in signals) / sr
    padded_s = len(sample) * length / sr
    n_total = len(clips)
    feature_bytes = n_total * (4 * 157 + 128 * 157) * 4
    record = {
        "data": "synthetic" if synthetic else "real",
        "n_clips": len(sample),
        "mean_clip_s": clip_s / len(sample),
        "decode_x_realtime_1core": clip_s / t_load,
        "features_x_realtime_1core_padded": padded_s / t_feat,
        "features_x_realtime_1core_clip": clip_s / t_feat,
        "features_ms_per_clip": 1000 * t_feat / len(sample),
        "features_x_realtime_1core_padded_cpu": padded_s / c_feat,
        "features_cpu_ms_per_clip": 1000 * c_feat / len(sample),
        "end_to_end_cpu_ms_per_clip": 1000 * c_e2e / len(sample),
        "load_average_1min": os.getloadavg()[0],
        "end_to_end_x_realtime_1core_clip": clip_s / t_e2e,
        "end_to_end_ms_per_clip": 1000 * t_e2e / len(sample),
        "parallel_clips_per_s": len(sample) / t_par,
        "parallel_jobs": n_jobs,
        "full_corpus_clips": n_total,
        "full_corpus_features_mb": feature_bytes / 2 ** 20,
        "opensmile": smile_speed,
        "full_corpus_opensmile_mb": {name: n_total * size * 4 / 2 ** 20 for name, size in _smile_sizes().items()},
        "peak_rss_mb": peak_rss_mb(),
        "target_x_realtime": TARGET_X_REALTIME,
    }
    # The per-core target is judged on wall time when the machine is otherwise idle; on a busy
    # machine wall time measures the other jobs too, so the process's CPU time is used instead.
    busy = record["load_average_1min"] > 1.5
    record["target_basis"] = "cpu time (machine busy)" if busy else "wall time"
    judged = record["features_x_realtime_1core_padded_cpu" if busy else "features_x_realtime_1core_padded"]
    record["target_met"] = judged >= TARGET_X_REALTIME
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    return record


def _smile_sizes() -> dict:
    from ser_lib.features.smile import FEATURE_SETS

    return dict(FEATURE_SETS)


def opensmile_speed(signals, *, sr: int = 16000) -> dict:
    """× realtime per core of the openSMILE functionals of each feature set on ``signals`` (CPU time
    of one worker process, where openSMILE must run: see :mod:`ser_lib.features.smile`; it is
    single-threaded), after one warm-up clip."""
    from ser_lib.features.smile import in_workers

    return in_workers(_opensmile_speed, [(list(signals), sr)], n_jobs=1)[0]


def _opensmile_speed(args) -> dict:
    from ser_lib.features.smile import FEATURE_SETS, functionals

    signals, sr = args
    audio_s = sum(y.size for y in signals) / sr
    out = {}
    for name in FEATURE_SETS:
        functionals(signals[0], sr=sr, feature_set=name)
        wall, cpu = _timeit(lambda y: functionals(y, sr=sr, feature_set=name), signals)
        out[name] = {"x_realtime_1core_cpu": audio_s / cpu, "x_realtime_1core_wall": audio_s / wall,
                     "cpu_ms_per_clip": 1000 * cpu / len(signals)}
    return out


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


def determinism_cost(*, n_clips: int = 256, repeat: int = 3) -> dict:
    """Cost of TensorFlow op determinism (:func:`ser_lib.models.croptrain.seed_everything`): CRNN training
    seconds per crop and epoch measured in two fresh processes, determinism off and on (it cannot
    be switched off again inside one process)."""
    import multiprocessing

    out = {}
    for deterministic in (False, True):
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            m = pool.apply(_crnn_speed_in_process, ((deterministic, n_clips, repeat),))
        out["on" if deterministic else "off"] = m["s_per_clip_epoch"]
    out["slowdown"] = out["on"] / out["off"]
    return out


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
                 out: str | Path = "reports/bench-training.json", demo_size: str = "demo",
                 overrides: dict | None = None, determinism: bool = True) -> dict:
    """Measure training speed per architecture and project the full CREMA-D run (see module doc).

    Each experiment's parameters are those the pipeline would run it with (params file, its
    ``demo`` block on the synthetic corpus, then ``overrides``), over the notebook's defaults.
    """
    from ser_lib.data.corpus import corpus_table, resolve_corpus
    from ser_lib.pipeline import PROJECT_ROOT, experiment_parameters, load_experiments, notebook_defaults
    from ser_lib.reporting.report import peak_rss_mb

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
        crnn_record["determinism"] = determinism_cost(n_clips=min(n_clips, 256), repeat=repeat)
    aug = augmentation_speed(table["path"].tolist()) if any(p.get("augment") for p in experiments) else 0.0
    projection = budget_projection(experiments, table, speeds, augment_s_per_clip=aug)
    repro = projection[projection["reproduction"]]
    record = {
        "data": "synthetic" if synthetic else "real", "corpus_clips": int(len(table)), "cores": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0], "speeds": measured, "crnn": crnn_record, "augment_s_per_clip": aug,
        "projection": projection.to_dict(orient="records"),
        "reproduction_runs": int(len(repro)), "reproduction_projected_s": float(repro["projected_s"].sum()),
        "all_runs": int(len(projection)), "all_projected_s": float(projection["projected_s"].sum()),
        "target_s": TARGET_CREMA_D_RUN_S, "peak_rss_mb": peak_rss_mb(),
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
              f"{1000 * d['on']:.2f} ms on per crop and epoch: ×{d['slowdown']:.2f}")
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ser_lib.pipeline.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--n-clips", type=int, default=200)
    parser.add_argument("--out", default=None, help="JSON record (default reports/bench.json, "
                        "or reports/bench-training.json with --training)")
    parser.add_argument("--training", action="store_true",
                        help="training speed of the CREMA-D architectures and the projected full-run time")
    args = parser.parse_args(argv)
    if args.training:
        r = run_training(args.data_root, out=args.out or "reports/bench-training.json")
        print_training(r)
        return 0 if r["target_met"] else 1
    args.out = args.out or "reports/bench.json"
    r = run(args.data_root, n_clips=args.n_clips, out=args.out)
    print(f"Feature-pipeline benchmark on {r['n_clips']} {r['data']} CREMA-D clips "
          f"(mean {r['mean_clip_s']:.2f} s, padded to 5.005 s):")
    print(f"  decode + resample        {r['decode_x_realtime_1core']:8.0f} × realtime (1 core)")
    print(f"  five seed features       {r['features_x_realtime_1core_padded']:8.0f} × realtime of padded audio, "
          f"{r['features_x_realtime_1core_clip']:.0f} × of clip audio ({r['features_ms_per_clip']:.1f} ms/clip, 1 core)")
    print(f"  five seed features (CPU) {r['features_x_realtime_1core_padded_cpu']:8.0f} × realtime of padded audio "
          f"({r['features_cpu_ms_per_clip']:.1f} ms CPU/clip; load average {r['load_average_1min']:.1f})")
    print(f"  decode + features        {r['end_to_end_x_realtime_1core_clip']:8.0f} × realtime of clip audio "
          f"({r['end_to_end_ms_per_clip']:.1f} ms/clip, 1 core)")
    print(f"  parallel ({r['parallel_jobs']} jobs)        {r['parallel_clips_per_s']:8.0f} clips/s")
    for name, m in r["opensmile"].items():
        print(f"  openSMILE {name:14s} {m['x_realtime_1core_cpu']:6.0f} × realtime of clip audio (1 core, CPU time; "
              f"{m['cpu_ms_per_clip']:.0f} ms/clip); all clips in memory: {r['full_corpus_opensmile_mb'][name]:.0f} MB")
    print(f"  features of all {r['full_corpus_clips']} clips in memory: {r['full_corpus_features_mb']:.0f} MB; "
          f"peak RSS of this benchmark {r['peak_rss_mb']:.0f} MB")
    verdict = "met" if r["target_met"] else "MISSED"
    print(f"target ≥ {r['target_x_realtime']:.0f} × realtime per core (five features, padded audio, "
          f"judged on {r['target_basis']}): {verdict}")
    return 0 if r["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
