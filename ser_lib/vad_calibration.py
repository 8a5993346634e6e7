"""Measure the thresholds of :mod:`ser_lib.vad` on the real corpora and on non-speech signals.

Three measurements, written to ``ser_lib/resources/vad_calibration.json`` (the file ``predict``
reads its thresholds from):

1. Speech seconds (Silero VAD) of every clip of CREMA-D and RAVDESS: no real clip may be refused.
2. Speech seconds of non-speech signals: white and pink noise at three levels, pure tones from
   100 Hz to 4 kHz, chords, a synthetic melody with harmonics and percussion, DC offset, hum.
3. Where openSMILE's functionals become unusable: real CREMA-D clips cut to their first
   ``d`` seconds of speech (d from 10 ms to 1.5 s); per length, the share of clips whose
   ComParE_2016 functionals hold a non-finite value and the shipped model's accuracy.

Command line (a measurement, not a unit test; about 15 min on 2 cores)::

    python -m ser_lib.vad_calibration --data-root ../shared/data [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from . import vad

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
    from .audio import BadClipError, load_clip

    try:
        y, _ = load_clip(path, sr=vad.VAD_SR)
    except BadClipError:
        return path, None
    return path, seconds_at(vad.speech_probabilities(y))


def corpus_speech(data_root, *, n_jobs: int = 2) -> dict:
    """Speech seconds of every readable clip of each corpus under ``data_root``."""
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    from .corpus import corpus_table

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
    from .audio import load_clip
    from .bundle import load_bundle
    from .predict import DEFAULT_MODEL
    from .smile import functionals_of_signals

    bundle = load_bundle(DEFAULT_MODEL)
    signals = [load_clip(p, sr=vad.VAD_SR)[0] for p in paths]
    starts = [_first_speech(y) for y in signals]
    rows = []
    for d in CUT_SECONDS:
        cut = [y[s:s + int(d * vad.VAD_SR)] for y, s in zip(signals, starts)]
        X = functionals_of_signals(cut, sr=vad.VAD_SR, feature_set=bundle.meta["feature_set"], n_jobs=n_jobs)
        finite = np.isfinite(X).all(axis=1)
        pred = np.array(bundle.labels)[bundle.scores(np.where(np.isfinite(X), X, 0.0)).argmax(axis=1)]
        speech = [float((vad.speech_probabilities(c) > probability).sum() * vad.WINDOW / vad.VAD_SR) for c in cut]
        rows.append({"cut_s": d, "median_speech_s": float(np.median(speech)),
                     "nonfinite_share": float(1 - finite.mean()),
                     "accuracy": float(np.mean(pred[finite] == np.asarray(labels)[finite])) if finite.any() else None,
                     "n": len(cut)})
        print(rows[-1], flush=True)
    return rows


def choose(other: dict, per_clip: dict) -> dict:
    """The window probability that best separates real clips from non-speech signals, and the
    speech-seconds threshold between them (every real clip above it)."""
    rows = []
    for t in map(str, PROBABILITIES):
        real_min = min(v[t] for d in per_clip.values() for v in d.values())
        noise_max = max(v[t] for v in other.values())
        rows.append({"window_probability": float(t), "real_min_s": real_min, "non_speech_max_s": noise_max,
                     "margin_s": real_min - noise_max})
    best = max(rows, key=lambda r: r["margin_s"])
    return {"candidates": rows, **best}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ser_lib.vad_calibration", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--n-stability", type=int, default=120, help="CREMA-D clips for the feature-stability test")
    parser.add_argument("--write", action="store_true", help="write ser_lib/resources/vad_calibration.json")
    args = parser.parse_args(argv)
    t0 = time.time()
    other = {name: seconds_at(vad.speech_probabilities(y)) for name, y in non_speech_signals().items()}
    print("non-speech:", json.dumps(other), flush=True)
    speech = corpus_speech(args.data_root)
    chosen = choose(other, speech)
    print("chosen:", json.dumps(chosen, indent=1), flush=True)
    t = str(chosen["window_probability"])
    per_corpus = {}
    for corpus, d in speech.items():
        v = np.array([x[t] for x in d.values()])
        lowest = sorted(d.items(), key=lambda kv: kv[1][t])[:5]
        per_corpus[corpus] = {"clips": int(v.size), "min_s": float(v.min()),
                              "percentiles_s": {str(q): float(np.percentile(v, q)) for q in (0.1, 1, 5, 50)},
                              "max_p_min": float(min(x["max_p"] for x in d.values())),
                              "lowest": [[p.rsplit("/", 1)[-1], s[t], s["max_p"]] for p, s in lowest]}
    print("corpora:", json.dumps(per_corpus, indent=1), flush=True)
    from .corpus import corpus_table

    clips, _ = corpus_table("crema-d", f"{args.data_root}/crema-d")
    sample = clips.groupby("emotion").sample(n=args.n_stability // 6, random_state=0)
    stability = feature_stability([str(p) for p in sample["path"]], sample["emotion"].tolist(),
                                  probability=chosen["window_probability"])
    stable = [r for r in stability if r["nonfinite_share"] == 0]
    needed = min((r["median_speech_s"] for r in stable), default=None)
    real_min = chosen["real_min_s"]
    no_speech = round(min(real_min, chosen["non_speech_max_s"] + 0.5 * max(chosen["margin_s"], 0)), 3)
    min_speech = round(min(needed if needed is not None else real_min, real_min), 3)
    result = {
        "detector": "Silero VAD v6 (silero-vad 6.2.3 ONNX model, onnxruntime), 32-ms windows with 64-sample context",
        "window_probability": chosen["window_probability"], "no_speech_s": no_speech,
        "min_speech_s": max(min_speech, no_speech),
        "rule": "speech seconds = windows with p > window_probability × 32 ms; refused as 'no speech detected' below "
                "no_speech_s, as 'too little speech' below min_speech_s",
        "choice": chosen, "non_speech": other, "corpora": per_corpus,
        "feature_stability": stability, "features_need_s": needed, "wall_s": round(time.time() - t0, 1),
    }
    print(json.dumps({k: result[k] for k in ("window_probability", "no_speech_s", "min_speech_s", "features_need_s")}),
          flush=True)
    if args.write:
        vad.CALIBRATION.write_text(json.dumps(result, indent=1) + "\n")
        vad.thresholds.cache_clear()
        print(f"wrote {vad.CALIBRATION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
