"""A deterministic, speech-like synthetic demo corpus.

Used when the real corpora are absent (``make report`` on a fresh machine) and by the tests.
Every clip is a sequence of syllables: a harmonic voiced source following a pitch contour,
shaped by three formant resonators of a random vowel, separated by short noise bursts
(consonants) or pauses, with aspiration and background noise. Emotions differ in prosody,
the way acted emotions do: F0 level and range, tempo, loudness, spectral tilt and jitter,
with clip-to-clip and actor-to-actor variation so that the task is learnable but not
trivial.

Clips are written as 16 kHz PCM16 WAV in the real corpora's layouts and names, so the same
loaders read them: ``crema-d/AudioWAV/9001_DFA_ANG_XX.wav`` (actors 9001…, with a
``meta/VideoDemographics.csv``) and ``ravdess/Audio_Speech_Actors_01-24/Actor_01/
03-01-05-01-01-01-01.wav``. The same seed always gives the same corpus, bit for bit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

from ser_lib.config import CORPUS_EMOTIONS, DEFAULT_SR, check_corpus

#: F0 factor, F0 range (semitones), tempo factor, level (dB), spectral tilt (dB/octave
#: of the source), jitter (relative F0 noise), final rise (semitones).
PROSODY = {
    "NEU": dict(f0=1.00, range_st=3.0, tempo=1.00, level_db=0.0, tilt=-12.0, jitter=0.010, rise=0.0),
    "ANG": dict(f0=1.22, range_st=7.0, tempo=1.12, level_db=6.0, tilt=-6.0, jitter=0.015, rise=-1.0),
    "HAP": dict(f0=1.30, range_st=9.0, tempo=1.08, level_db=3.0, tilt=-8.0, jitter=0.012, rise=1.0),
    "FEA": dict(f0=1.40, range_st=4.0, tempo=1.22, level_db=-1.0, tilt=-10.0, jitter=0.035, rise=2.0),
    "SAD": dict(f0=0.90, range_st=1.5, tempo=0.75, level_db=-6.0, tilt=-16.0, jitter=0.012, rise=-2.0),
    "DIS": dict(f0=0.95, range_st=5.0, tempo=0.85, level_db=-2.0, tilt=-11.0, jitter=0.025, rise=-3.0),
    "CAL": dict(f0=0.95, range_st=2.0, tempo=0.85, level_db=-4.0, tilt=-15.0, jitter=0.008, rise=0.0),
    "SUR": dict(f0=1.35, range_st=11.0, tempo=1.02, level_db=2.0, tilt=-9.0, jitter=0.012, rise=6.0),
}

#: Vowel formants (F1, F2, F3 in Hz, adult male); scaled up for female voices.
VOWELS = np.array([
    [730, 1090, 2440],  # a
    [530, 1840, 2480],  # e
    [270, 2290, 3010],  # i
    [570, 840, 2410],   # o
    [300, 870, 2240],   # u
    [660, 1720, 2410],  # ae
])

#: Corpus sizes: actors, clips per (actor, emotion).
SIZES = {"tiny": (4, 2), "demo": (8, 4)}

CREMA_SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")


@dataclass(frozen=True)
class Actor:
    """A synthetic speaker."""

    actor_id: int
    sex: str
    f0: float          # base F0 in Hz
    formant_scale: float
    rate: float        # syllables per second at neutral tempo


def make_actor(actor_id: int, sex: str, rng: np.random.Generator) -> Actor:
    """Draw a synthetic speaker of the given sex."""
    base = 115.0 if sex == "male" else 205.0
    return Actor(
        actor_id=actor_id,
        sex=sex,
        f0=float(base * rng.uniform(0.85, 1.15)),
        formant_scale=float((1.0 if sex == "male" else 1.17) * rng.uniform(0.95, 1.05)),
        rate=float(rng.uniform(3.6, 4.6)),
    )


def _resonator(x: np.ndarray, freq: float, bw: float, sr: int) -> np.ndarray:
    r = np.exp(-np.pi * bw / sr)
    theta = 2 * np.pi * freq / sr
    a = [1.0, -2 * r * np.cos(theta), r * r]
    return lfilter([1 - r], a, x)


def synthesize_clip(emotion: str, actor: Actor, *, rng: np.random.Generator,
                    sr: int = DEFAULT_SR, n_syllables: int | None = None) -> np.ndarray:
    """Synthesize one utterance.

    Parameters
    ----------
    emotion : str
        Emotion code (see :data:`PROSODY`).
    actor : Actor
        Speaker.
    rng : numpy Generator
        Source of all randomness (pass a seeded one for reproducibility).
    sr : int
        Sample rate.
    n_syllables : int, optional
        Number of syllables (default 4–8, random).

    Returns
    -------
    ndarray of float32, peak below 1.
    """
    if emotion not in PROSODY:
        raise ValueError(f"unknown emotion {emotion!r}; expected one of {sorted(PROSODY)}")
    p = {k: v * (1 + rng.normal(0, 0.06)) if k in ("f0", "tempo", "range_st") else v
         for k, v in PROSODY[emotion].items()}
    n_syl = int(n_syllables or rng.integers(4, 9))
    syl_dur = 1.0 / (actor.rate * p["tempo"])
    pieces = [np.zeros(int(sr * rng.uniform(0.08, 0.2)))]
    f0_mean = actor.f0 * p["f0"]
    for i in range(n_syl):
        # Vowel nucleus with a pitch contour: declination, an accent, a final rise/fall.
        n = int(sr * syl_dur * rng.uniform(0.55, 0.85))
        t = np.linspace(0, 1, n, endpoint=False)
        pos = i / max(n_syl - 1, 1)
        accent = p["range_st"] * rng.uniform(-0.5, 0.5)
        contour_st = accent * np.sin(np.pi * t) - 1.5 * pos
        if i == n_syl - 1:
            contour_st = contour_st + p["rise"] * t
        f0 = f0_mean * 2 ** (contour_st / 12.0)
        f0 = f0 * (1 + p["jitter"] * rng.standard_normal(n).cumsum() / np.sqrt(np.arange(1, n + 1)))
        phase = 2 * np.pi * np.cumsum(f0) / sr
        k = np.arange(1, 41)[:, None]
        amp = 10 ** (p["tilt"] * np.log2(k) / 20.0) * (k * f0_mean < 0.45 * sr)
        source = (amp * np.sin(k * phase[None, :])).sum(axis=0)
        source += 0.03 * rng.standard_normal(n)  # aspiration
        formants = VOWELS[rng.integers(len(VOWELS))] * actor.formant_scale
        voiced = sum(_resonator(source, f, 60 + 0.06 * f, sr) for f in formants)
        env = np.sin(np.pi * t) ** 0.6 * (1 + 0.25 * rng.standard_normal())
        pieces.append(voiced * env / (np.max(np.abs(voiced)) + 1e-9))
        # Consonant (noise burst) or pause between syllables.
        gap = int(sr * syl_dur * rng.uniform(0.15, 0.45))
        if rng.random() < 0.6:
            burst = rng.standard_normal(gap)
            burst = _resonator(burst, rng.uniform(2500, 5500), 1500, sr)
            pieces.append(0.25 * burst / (np.max(np.abs(burst)) + 1e-9) * np.hanning(gap))
        else:
            pieces.append(np.zeros(gap))
    pieces.append(np.zeros(int(sr * rng.uniform(0.1, 0.25))))
    y = np.concatenate(pieces)
    y *= 10 ** ((p["level_db"] - 14.0 + rng.normal(0, 1.5)) / 20.0)
    y += 10 ** (-58 / 20) * rng.standard_normal(y.size)  # background noise
    return np.clip(y, -0.99, 0.99).astype(np.float32)


def make_demo_corpus(corpus: str, root: str | Path, *, size: str = "demo", seed: int = 0,
                     sr: int = DEFAULT_SR, progress: bool = True) -> Path:
    """Write the synthetic corpus in the layout of the real one (idempotent).

    Parameters
    ----------
    corpus : {"crema-d", "ravdess"}
        Layout and naming to imitate (6 or 8 emotions).
    root : path
        Folder to write (``.../crema-d`` or ``.../ravdess``).
    size : {"tiny", "demo"}
        ``tiny``: 4 actors × 2 clips per emotion; ``demo``: 8 actors × 4 clips per emotion.
    seed : int
        Random seed; the same seed gives the same files.

    Returns
    -------
    Path
        ``root``.
    """
    from tqdm import tqdm

    check_corpus(corpus)
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; expected one of {sorted(SIZES)}")
    root = Path(root)
    stamp = root / ".synthetic.json"
    n_actors, per_emotion = SIZES[size]
    spec = {"corpus": corpus, "size": size, "actors": n_actors, "clips_per_emotion": per_emotion, "seed": seed,
            "sr": sr, "version": 1}
    try:
        done = stamp.is_file() and json.loads(stamp.read_text()) == spec
    except (json.JSONDecodeError, UnicodeDecodeError):
        done = False  # a damaged stamp: the corpus is made again
    if done:
        return root
    if stamp.is_file():  # another size or version: start from an empty folder, no stale clips left
        import shutil

        shutil.rmtree(root)
    emotions = CORPUS_EMOTIONS[corpus]
    rng = np.random.default_rng(seed)
    actors = [make_actor(i + 1, "male" if i % 2 == 0 else "female", rng) for i in range(n_actors)]
    jobs = []
    for actor in actors:
        for emotion in emotions:
            for j in range(per_emotion):
                rel = _clip_relpath(corpus, actor, emotion, j)
                if rel is not None:
                    jobs.append((actor, emotion, j, rel))
    bar = tqdm(jobs, desc=f"Synthesizing {corpus} demo corpus", unit="clip", disable=not progress,
               mininterval=2.0)
    for actor, emotion, j, rel in bar:
        clip_seed = [seed, actor.actor_id, emotions.index(emotion), j]
        y = synthesize_clip(emotion, actor, rng=np.random.default_rng(clip_seed), sr=sr)
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, y, sr, subtype="PCM_16")
    if corpus == "crema-d":
        meta = root / "meta"
        meta.mkdir(parents=True, exist_ok=True)
        lines = ['"ActorID","Age","Sex","Race","Ethnicity"']
        for a in actors:
            lines.append(f'{9000 + a.actor_id},{30 + 3 * a.actor_id},"{a.sex.title()}","Synthetic","Synthetic"')
        (meta / "VideoDemographics.csv").write_text("\n".join(lines) + "\n")
    (root / "README.md").write_text(
        f"Synthetic demo corpus ({corpus} layout, size {size}, seed {seed}) made by "
        "ser_lib.data.synthetic. Not speech: a stand-in for running the report without data.\n"
    )
    stamp.write_text(json.dumps(spec))
    return root


def _clip_relpath(corpus: str, actor: Actor, emotion: str, j: int) -> str | None:
    """File path of the ``j``-th clip of ``actor`` and ``emotion``; None if the layout has no slot."""
    if corpus == "crema-d":
        sentence = CREMA_SENTENCES[j % len(CREMA_SENTENCES)]
        level = ("XX", "LO", "MD", "HI")[(j // len(CREMA_SENTENCES)) % 4]
        return f"AudioWAV/{9000 + actor.actor_id}_{sentence}_{emotion}_{level}.wav"
    codes = CORPUS_EMOTIONS["ravdess"]
    emotion_id = codes.index(emotion) + 1
    # As in RAVDESS: neutral has only normal intensity, so 4 slots instead of 8.
    intensities = (1,) if emotion == "NEU" else (1, 2)
    slots = [(i, s, r) for r in (1, 2) for s in (1, 2) for i in intensities]
    if j >= len(slots):
        return None
    intensity, statement, repetition = slots[j]
    name = f"03-01-{emotion_id:02d}-{intensity:02d}-{statement:02d}-{repetition:02d}-{actor.actor_id:02d}"
    return f"Audio_Speech_Actors_01-24/Actor_{actor.actor_id:02d}/{name}.wav"
