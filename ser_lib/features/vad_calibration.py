"""Measure the thresholds of :mod:`ser_lib.features.vad` on the real corpora and on non-speech signals.

Three measurements, written to ``ser_lib/resources/vad_calibration.json`` (the file ``predict``
reads its thresholds from):

1. Speech seconds (Silero VAD) of every clip of CREMA-D and RAVDESS: no real clip may be refused.
2. Speech seconds of non-speech signals: white and pink noise at three levels, pure tones from
   100 Hz to 4 kHz, chords, a synthetic melody with harmonics and percussion, DC offset, hum.
3. Where openSMILE's functionals become unusable: real CREMA-D clips cut to their first
   ``d`` seconds from the first speech (d from 10 ms to 1.5 s); per length, the share of clips
   whose ComParE_2016 functionals hold a non-finite value and the shipped model's accuracy.

Measured (2026-12-02): at Silero's own p > 0.5, 41 of 8881 real clips have no speech window
(mostly high-intensity fearful, angry and sad acting); at p > 0.3 no non-speech signal has one
and 19 real clips (0.2 %) still have none — Silero cannot tell every shouted clip from hum, so
those 19 are refused and listed. openSMILE gives NaN below about 0.1 s; the model is at chance
below about 0.5 s of sound.

Command line (a measurement, not a unit test; about 10 min on 2 cores)::

    python -m ser_lib.features.vad_calibration --data-root ../shared/data [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from ser_lib.features import vad

#: Candidate window probabilities: a clip's speech seconds are measured at each.
PROBABILITIES = (0.05, 0.1, 0.15, 0.2, 0.3, 0.5)

#: Lengths (seconds of audio from the first detected speech on) for the feature-stability test.
CUT_SECONDS = (0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5)


def non_speech_signals(*, sr: int = vad.VAD_SR, seconds: float = 3.0, seed: int = 0) -> dict[str, np.ndarray]:
    """Named non-speech test signals (noise, tones, chords, melody, DC, hum), 3 s each."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    t = np.arange(n) / sr
    out = {}
    for level in (0.01, 0.1, 0.3):
        out[f"white noise rms {level}"] = level * rng.standard_normal(n)
        spec = np.fft.rfft(rng.standard_normal(n))
        pink = np.fft.irfft(spec / np.sqrt(np.arange(1, spec.size + 1)), n)
        out[f"pink noise rms {level}"] = level * pink / pink.std()
    for f in (100, 150, 200, 300, 440, 1000, 2000, 4000):
        out[f"sine {f} Hz"] = 0.5 * np.sin(2 * np.pi * f * t)
    for name, freqs in (("C major chord", (261.6, 329.6, 392.0)), ("A minor chord", (220.0, 261.6, 329.6))):
        out[name] = sum(0.15 * np.sin(2 * np.pi * f * t) for f in freqs)
    melody = np.zeros(n)
    step = sr // 4
    for i, f in enumerate([262, 294, 330, 349, 392, 440, 494, 523, 494, 440, 392, 349]):
        s = i * step
        if s >= n:
            break
        tt = np.arange(min(step, n - s)) / sr
        melody[s:s + tt.size] = sum(0.2 / h * np.sin(2 * np.pi * f * h * tt) for h in range(1, 7)) * np.exp(-4 * tt)
    clicks = (np.arange(n) % (sr // 2) < 300) * rng.standard_normal(n) * 0.2
    out["melody with percussion"] = melody + clicks
    out["DC offset 0.3"] = np.full(n, 0.3)
    out["mains hum 50 Hz + harmonics"] = sum(0.1 / k * np.sin(2 * np.pi * 50 * k * t) for k in range(1, 8))
    return {k: np.clip(v, -1, 1) for k, v in out.items()}


def seconds_at(p: np.ndarray) -> dict:
    """Speech seconds of window probabilities ``p`` at each of :data:`PROBABILITIES`, and the maximum."""
    return {**{str(t): float((p > t).sum() * vad.WINDOW / vad.VAD_SR) for t in PROBABILITIES},
            "max_p": float(p.max()) if p.size else 0.0}


def _clip_speech(path: str) -> tuple[str, dict | None]:
    from ser_lib.data.audio import BadClipError, load_clip

    try:
        y, _ = load_clip(path, sr=vad.VAD_SR)
    except BadClipError:
        return path, None
    return path, {**seconds_at(vad.speech_probabilities(y)), "active_s": vad.active_seconds(y)}


def corpus_speech(data_root, *, n_jobs: int = 2) -> dict:
    """Speech seconds of every readable clip of each corpus under ``data_root``."""
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    from ser_lib.data.corpus import corpus_table

    out = {}
    for corpus in ("crema-d", "ravdess"):
        clips, _ = corpus_table(corpus, f"{data_root}/{corpus}")
        paths = [str(p) for p in clips["path"]]
        res = Parallel(n_jobs=n_jobs, batch_size=32)(delayed(_clip_speech)(p) for p in tqdm(paths, desc=corpus))
        out[corpus] = {p: s for p, s in res if s is not None}
    return out


def _first_speech(y: np.ndarray) -> int:
    p = vad.speech_probabilities(y)
    hits = np.flatnonzero(p > 0.5)
    if not hits.size:
        hits = np.flatnonzero(p >= p.max())
    return int(hits[0] * vad.WINDOW) if hits.size else 0


def feature_stability(paths, labels, *, probability: float, n_jobs: int = 2) -> list[dict]:
    """Per cut length: share of clips with non-finite functionals and the shipped model's accuracy."""
    from ser_lib.data.audio import load_clip
    from ser_lib.models.bundle import load_bundle
    from ser_lib.models.predict import DEFAULT_MODEL
    from ser_lib.features.smile import functionals_of_signals

    bundle = load_bundle(DEFAULT_MODEL)
    signals = [load_clip(p, sr=vad.VAD_SR)[0] for p in paths]
    starts = [_first_speech(y) for y in signals]
    rows = []
    for d in CUT_SECONDS:
        cut = [y[s:s + int(d * vad.VAD_SR)] for y, s in zip(signals, starts)]
        X = functionals_of_signals(cut, sr=vad.VAD_SR, feature_set=bundle.meta["feature_set"], n_jobs=n_jobs)
        finite = np.isfinite(X).all(axis=1)
        pred = np.array(bundle.labels)[bundle.scores(np.where(np.isfinite(X), X, 0.0)).argmax(axis=1)]
        speech = [vad.speech_seconds(c, probability=probability) for c in cut]
        rows.append({"cut_s": d, "median_speech_s": float(np.median(speech)),
                     "median_active_s": float(np.median([vad.active_seconds(c) for c in cut])),
                     "nonfinite_share": float(1 - finite.mean()),
                     "accuracy": float(np.mean(pred[finite] == np.asarray(labels)[finite])) if finite.any() else None,
                     "n": len(cut)})
        print(rows[-1], flush=True)
    return rows


def choose(other: dict, per_clip: dict) -> dict:
    """The window probability: the lowest of :data:`PROBABILITIES` at which no non-speech signal
    has a single speech window; a clip then needs one window above it (``no_speech_s`` = 32 ms).
    Also says, per candidate, how many real clips that rule would refuse."""
    rows = []
    for t in map(str, PROBABILITIES):
        refused = sorted(p.rsplit("/", 1)[-1] for d in per_clip.values() for p, v in d.items() if v[t] <= 0)
        rows.append({"window_probability": float(t), "non_speech_max_s": max(v[t] for v in other.values()),
                     "non_speech_passed": sorted(k for k, v in other.items() if v[t] > 0),
                     "real_refused": len(refused), "real_refused_clips": refused})
    best = next(r for r in rows if r["non_speech_max_s"] == 0)
    return {"candidates": [{k: v for k, v in r.items() if k != "real_refused_clips"} for r in rows], **best}


def min_active(stability: list[dict], *, chance: float = 1 / 6) -> float:
    """The shortest cut at which every clip's features are finite and the shipped model's accuracy
    reaches 1.5 × chance: below it a prediction says nothing."""
    for r in stability:
        if r["nonfinite_share"] == 0 and r["accuracy"] is not None and r["accuracy"] >= 1.5 * chance:
            return float(r["cut_s"])
    return float(stability[-1]["cut_s"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ser_lib.features.vad_calibration", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--n-stability", type=int, default=120, help="CREMA-D clips for the feature-stability test")
    parser.add_argument("--write", action="store_true", help="write ser_lib/resources/vad_calibration.json")
    args = parser.parse_args(argv)
    t0 = time.time()
    other = {name: {**seconds_at(vad.speech_probabilities(y)), "active_s": vad.active_seconds(y)}
             for name, y in non_speech_signals().items()}
    speech = corpus_speech(args.data_root)
    chosen = choose(other, speech)
    t = str(chosen["window_probability"])
    per_corpus = {}
    for corpus, d in speech.items():
        v = np.array([x[t] for x in d.values()])
        a = np.array([x["active_s"] for x in d.values()])
        per_corpus[corpus] = {"clips": int(v.size), "speech_s_percentiles": {str(q): float(np.percentile(v, q))
                                                                             for q in (0, 0.1, 1, 5, 50)},
                              "active_s_min": float(a.min()), "active_s_percentiles": {
                                  str(q): float(np.percentile(a, q)) for q in (0.1, 1, 50)}}
    from ser_lib.data.corpus import corpus_table

    clips, _ = corpus_table("crema-d", f"{args.data_root}/crema-d")
    sample = clips.groupby("emotion").sample(n=args.n_stability // 6, random_state=0)
    stability = feature_stability([str(p) for p in sample["path"]], sample["emotion"].tolist(),
                                  probability=chosen["window_probability"])
    need = min_active(stability)
    short = sorted(p.rsplit("/", 1)[-1] for d in speech.values() for p, v in d.items() if v["active_s"] < need)
    result = {
        "detector": "Silero VAD v6 (silero-vad 6.2.3 ONNX model, onnxruntime), 32-ms windows with 64-sample context",
        "window_probability": chosen["window_probability"], "no_speech_s": vad.WINDOW / vad.VAD_SR,
        "min_active_s": need, "active_top_db": vad.ACTIVE_TOP_DB,
        "rule": "too little speech: under min_active_s seconds of sound within active_top_db dB of the peak; no speech "
                "detected: no 32-ms Silero window with p > window_probability",
        "real_clips": sum(len(d) for d in speech.values()),
        "real_refused_no_speech": chosen["real_refused"], "real_refused_no_speech_clips": chosen["real_refused_clips"],
        "real_refused_too_little": len(short), "real_refused_too_little_clips": short,
        "choice": chosen["candidates"], "non_speech": other, "corpora": per_corpus,
        "feature_stability": stability, "wall_s": round(time.time() - t0, 1),
    }
    print(json.dumps({k: v for k, v in result.items() if not isinstance(v, (dict, list))}, indent=1), flush=True)
    if args.write:
        vad.CALIBRATION.write_text(json.dumps(result, indent=1) + "\n")
        vad.thresholds.cache_clear()
        print(f"wrote {vad.CALIBRATION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
