"""Corpus tables: one row per clip, built from file names and the corpora's metadata.

A corpus folder is indexed by file *stem*, whatever the extension, so the same code reads
the official WAV files and our Ogg Opus copies. Files whose name does not parse are not
dropped silently: they are returned in a ``skipped`` table with the reason.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ser_lib.config import (
    AUDIO_EXTENSIONS,
    CORPUS_EMOTIONS,
    RAVDESS_CODES,
    RAVDESS_EMOTIONS,
    cache_dir,
    check_corpus,
    data_root,
)

CREMA_D_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_(ANG|DIS|FEA|HAP|NEU|SAD)_(LO|MD|HI|XX)$")
RAVDESS_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")

#: CREMA-D emotional intensity levels (``XX`` = unspecified).
CREMA_D_LEVELS = ("LO", "MD", "HI", "XX")
#: CREMA-D's 12 sentences.
CREMA_D_SENTENCES = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}
#: Voice-vote letters in ``summaryTable.csv`` → emotion codes.
VOTE_LETTERS = {"A": "ANG", "D": "DIS", "F": "FEA", "H": "HAP", "N": "NEU", "S": "SAD"}

SKIPPED_COLUMNS = ["clip", "path", "reason"]


class CorpusNotFoundError(FileNotFoundError):
    """Raised when a corpus folder holds no audio."""


def parse_crema_d_name(stem: str) -> dict:
    """Parse a CREMA-D clip name such as ``1001_DFA_ANG_XX``.

    Parameters
    ----------
    stem : str
        File name without extension.

    Returns
    -------
    dict
        ``actor`` (int), ``sentence`` (3 letters), ``emotion`` (code), ``level``
        (``LO``, ``MD``, ``HI`` or ``XX``).

    Raises
    ------
    ValueError
        If the name does not follow the CREMA-D pattern.
    """
    m = CREMA_D_NAME.match(stem)
    if not m:
        raise ValueError(
            f"name {stem!r} does not parse as CREMA-D (expected AAAA_SSS_EMO_LVL, "
            "e.g. 1001_DFA_ANG_XX)"
        )
    actor, sentence, emotion, level = m.groups()
    return {"actor": int(actor), "sentence": sentence, "emotion": emotion, "level": level}


def parse_ravdess_name(stem: str) -> dict:
    """Parse a RAVDESS file name such as ``03-01-06-01-02-01-12``.

    Returns the seven identifiers (``modality``, ``vocal_channel``, ``emotion_id``,
    ``intensity``, ``statement``, ``repetition``, ``actor``) as ints, plus ``emotion``
    (code, e.g. ``FEA``), ``intensity_name`` (``normal``/``strong``) and ``sex``
    (odd actor = male).

    Raises
    ------
    ValueError
        If the name does not have seven two-digit fields in their valid ranges.
    """
    m = RAVDESS_NAME.match(stem)
    if not m:
        raise ValueError(
            f"name {stem!r} does not parse as RAVDESS (expected seven two-digit fields, "
            "e.g. 03-01-06-01-02-01-12)"
        )
    fields = [int(g) for g in m.groups()]
    names = ("modality", "vocal_channel", "emotion_id", "intensity", "statement", "repetition", "actor")
    ranges = ((1, 3), (1, 2), (1, 8), (1, 2), (1, 2), (1, 2), (1, 99))
    out = {}
    for name, value, (lo, hi) in zip(names, fields, ranges):
        if not lo <= value <= hi:
            raise ValueError(f"name {stem!r}: field {name}={value:02d} outside {lo:02d}–{hi:02d}")
        out[name] = value
    out["emotion"] = RAVDESS_CODES[RAVDESS_EMOTIONS[out["emotion_id"]]]
    out["intensity_name"] = "normal" if out["intensity"] == 1 else "strong"
    out["sex"] = "male" if out["actor"] % 2 == 1 else "female"
    return out


def index_audio(folder: str | Path) -> tuple[dict[str, Path], list[tuple[str, Path, str]]]:
    """Find every audio file under ``folder`` and index it by stem.

    Returns
    -------
    index : dict
        stem → path of the file used.
    duplicates : list of (stem, path, reason)
        Files not used because another file has the same stem (WAV preferred, then the
        order of :data:`ser_lib.config.AUDIO_EXTENSIONS`).
    """
    folder = Path(folder)
    rank = {ext: i for i, ext in enumerate(AUDIO_EXTENSIONS)}
    found: dict[str, list[Path]] = {}
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in rank and path.is_file() and not path.name.startswith("."):
                found.setdefault(path.stem, []).append(path)
    index, duplicates = {}, []
    for stem, paths in found.items():
        paths.sort(key=lambda p: (rank[p.suffix.lower()], str(p)))
        index[stem] = paths[0]
        for other in paths[1:]:
            duplicates.append((stem, other, f"duplicate of {paths[0].name} (same stem); not used"))
    return index, duplicates


def _skipped_frame(rows) -> pd.DataFrame:
    return pd.DataFrame(
        [{"clip": s, "path": str(p), "reason": r} for s, p, r in rows], columns=SKIPPED_COLUMNS
    )


def _read_meta_csv(path: Path, *, quiet: bool = False) -> pd.DataFrame | None:
    if not path.is_file():
        if not quiet:
            warnings.warn(f"metadata file {path} not found; its columns are left empty", stacklevel=3)
        return None
    return pd.read_csv(path)


def crema_d_table(root: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the CREMA-D corpus table.

    Parameters
    ----------
    root : path
        The ``crema-d`` folder: audio anywhere below it (``AudioWAV/`` or ``AudioOpus/``),
        metadata in ``meta/`` (``VideoDemographics.csv``, ``summaryTable.csv``) or at the
        top level.

    Returns
    -------
    clips : DataFrame
        One row per clip: ``clip``, ``path``, ``corpus``, ``emotion``, ``actor``,
        ``sentence``, ``level``, ``sex``, ``age``, ``human_vote`` (code, ``"tie"`` or NaN),
        ``human_vote_share`` (percent of raters).
    skipped : DataFrame
        ``clip``, ``path``, ``reason`` for files whose name does not parse or duplicates.
    """
    root = Path(root)
    rows, bad = _parsed_files(root, parse_crema_d_name)
    clips = pd.DataFrame(rows, columns=["clip", "path", "actor", "sentence", "emotion", "level"])
    clips.insert(2, "corpus", "crema-d")

    meta = root / "meta" if (root / "meta").is_dir() else root
    synthetic = (root / ".synthetic.json").is_file()  # the demo corpus has no ratings
    demo = _read_meta_csv(meta / "VideoDemographics.csv")
    if demo is not None:
        demo = demo.rename(columns={"ActorID": "actor", "Age": "age", "Sex": "sex"})
        demo["sex"] = demo["sex"].str.lower()
        clips = clips.merge(demo[["actor", "sex", "age"]], on="actor", how="left")
    else:
        clips["sex"], clips["age"] = np.nan, np.nan

    summary = _read_meta_csv(meta / "summaryTable.csv", quiet=synthetic)
    if summary is not None:
        votes = summary[["FileName", "VoiceVote", "VoiceLevel"]].rename(
            columns={"FileName": "clip", "VoiceVote": "raw_vote", "VoiceLevel": "human_vote_share"}
        )
        clips = clips.merge(votes.drop_duplicates("clip"), on="clip", how="left")
        clips["human_vote"] = clips.pop("raw_vote").map(_vote_code)
    else:
        clips["human_vote"], clips["human_vote_share"] = np.nan, np.nan
    return clips.reset_index(drop=True), _skipped_frame(bad)


def _parsed_files(root: Path, parse) -> tuple[list[dict], list[tuple]]:
    """Rows (``clip``, ``path`` and the parsed name fields) of every audio file under ``root``,
    and ``(stem, path, reason)`` for duplicates and names that ``parse`` refuses."""
    index, duplicates = index_audio(root)
    if not index:
        raise CorpusNotFoundError(f"no audio files under {root}")
    rows, bad = [], list(duplicates)
    for stem, path in sorted(index.items()):
        try:
            rows.append({"clip": stem, "path": str(path), **parse(stem)})
        except ValueError as exc:
            bad.append((stem, path, str(exc)))
    return rows, bad


def _vote_code(vote) -> object:
    """``'A'`` → ``'ANG'``; ``'A:N'`` (a tie) → ``'tie'``; missing → NaN."""
    if not isinstance(vote, str) or not vote:
        return np.nan
    if ":" in vote:
        return "tie"
    return VOTE_LETTERS.get(vote, np.nan)


def ravdess_table(root: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the RAVDESS corpus table (speech or song; all seven file-name fields).

    Returns
    -------
    clips : DataFrame
        ``clip``, ``path``, ``corpus``, ``modality``, ``vocal_channel``, ``emotion_id``,
        ``emotion`` (code), ``intensity``, ``intensity_name``, ``statement``,
        ``repetition``, ``actor``, ``sex``.
    skipped : DataFrame
        Files whose name does not parse, and duplicates.
    """
    root = Path(root)
    rows, bad = _parsed_files(root, parse_ravdess_name)
    cols = ["clip", "path", "modality", "vocal_channel", "emotion_id", "emotion", "intensity",
            "intensity_name", "statement", "repetition", "actor", "sex"]
    clips = pd.DataFrame(rows, columns=cols)
    clips.insert(2, "corpus", "ravdess")
    return clips, _skipped_frame(bad)


def corpus_table(corpus: str, root: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dispatch to :func:`crema_d_table` or :func:`ravdess_table`."""
    check_corpus(corpus)
    return (crema_d_table if corpus == "crema-d" else ravdess_table)(root)


def resolve_corpus(
    corpus: str,
    *,
    data_root_dir: str | Path | None = None,
    cache: str | Path | None = None,
    demo_size: str = "demo",
) -> tuple[Path, bool]:
    """Locate a corpus, falling back to the synthetic demo corpus.

    Parameters
    ----------
    corpus : {"crema-d", "ravdess"}
    data_root_dir : path, optional
        Folder holding ``crema-d/`` and ``ravdess/`` (default ``$DATA_ROOT`` or ``data/``).
    cache : path, optional
        Where the synthetic corpus is generated when the real one is absent.
    demo_size : {"demo", "tiny"}
        Size of the synthetic corpus (see :mod:`ser_lib.data.synthetic`).

    Returns
    -------
    root : Path
        The corpus folder to read.
    synthetic : bool
        True when the real corpus was not found and the synthetic demo corpus is used.
    """
    from ser_lib.data import synthetic  # local import: the generator is only needed without real data

    check_corpus(corpus)
    real = data_root(data_root_dir) / corpus
    index, _ = index_audio(real)
    if index:  # a synthetic corpus copied under DATA_ROOT is still flagged synthetic
        return real, (real / ".synthetic.json").is_file()
    root = cache_dir(cache) / "synthetic" / demo_size / corpus
    synthetic.make_demo_corpus(corpus, root, size=demo_size)
    return root, True


def emotion_labels(corpus: str) -> tuple[str, ...]:
    """Emotion codes of a corpus in label order."""
    return CORPUS_EMOTIONS[check_corpus(corpus)]
