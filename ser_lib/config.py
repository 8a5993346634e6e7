"""Vocabulary and locations shared by the whole report.

Every path the library uses can be given explicitly; the defaults come from environment
variables so that ``make`` and the notebooks agree:

``DATA_ROOT``
    Folder holding the corpora (``<DATA_ROOT>/crema-d``, ``<DATA_ROOT>/ravdess``).
    Default ``data/`` under the project.
``SER_CACHE``
    Folder for derived data (clip audits, feature caches, the synthetic demo corpus).
    Default ``.cache/`` under the project.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Project root (the folder holding ``ser_lib/``), used only for defaults.
PROJECT_ROOT = Path(__file__).resolve().parents[1]

#: Sample rate every clip is loaded at unless a caller asks otherwise.
DEFAULT_SR = 16000

CORPORA = ("crema-d", "ravdess")

#: CREMA-D emotion codes in the order used for labels and confusion matrices.
CREMA_D_EMOTIONS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")

#: RAVDESS emotion codes (3rd file-name field) → names.
RAVDESS_EMOTIONS = {
    1: "neutral",
    2: "calm",
    3: "happy",
    4: "sad",
    5: "angry",
    6: "fearful",
    7: "disgust",
    8: "surprised",
}

#: A common name for every emotion code, used in figures and cross-corpus work.
EMOTION_NAMES = {
    "ANG": "angry",
    "DIS": "disgust",
    "FEA": "fearful",
    "HAP": "happy",
    "NEU": "neutral",
    "SAD": "sad",
    "CAL": "calm",
    "SUR": "surprised",
}

#: RAVDESS emotion names → the three-letter codes used throughout the library.
RAVDESS_CODES = {
    "neutral": "NEU",
    "calm": "CAL",
    "happy": "HAP",
    "sad": "SAD",
    "angry": "ANG",
    "fearful": "FEA",
    "disgust": "DIS",
    "surprised": "SUR",
}

#: Label order for each corpus (codes).
CORPUS_EMOTIONS = {
    "crema-d": CREMA_D_EMOTIONS,
    "ravdess": tuple(RAVDESS_CODES[n] for n in RAVDESS_EMOTIONS.values()),
}

#: Audio file extensions searched when indexing a corpus folder (matched by stem).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".aif", ".aiff", ".mp3")


def data_root(value: str | os.PathLike | None = None) -> Path:
    """Return the corpora folder: ``value``, else ``$DATA_ROOT``, else ``<project>/data``."""
    if value is None or str(value) == "":
        value = os.environ.get("DATA_ROOT") or PROJECT_ROOT / "data"
    return Path(value).expanduser().resolve()


def cache_dir(value: str | os.PathLike | None = None) -> Path:
    """Return the derived-data folder: ``value``, else ``$SER_CACHE``, else ``<project>/.cache``."""
    if value is None or str(value) == "":
        value = os.environ.get("SER_CACHE") or PROJECT_ROOT / ".cache"
    path = Path(value).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_corpus(corpus: str) -> str:
    """Validate a corpus name and return it."""
    if corpus not in CORPORA:
        raise ValueError(f"unknown corpus {corpus!r}; expected one of {', '.join(CORPORA)}")
    return corpus
