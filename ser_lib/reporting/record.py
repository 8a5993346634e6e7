"""The run record: one typed record per experiment run, written once, by the pipeline.

A notebook hands its results to :meth:`ser_lib.reporting.report.Run.finish`, which writes them to
``<reports>/results/<experiment>.json`` (git-ignored). After the notebook has run, the pipeline
composes the :class:`RunRecord` from

* the experiment's identity and its **placement** in the report (:class:`Placement`, the
  ``report:`` block of its params YAML: section, model family, model, normalisation, the
  original work's figure where there is one, a method-specific role);
* the **effective parameters** it passed to the notebook (params file, demo block, ``--set``,
  notebook defaults);
* its **provenance** (:class:`Provenance`: data, commit, data identity, host, time, wall, peak
  memory);
* the notebook's **results** (scores, per-fold and per-class tables, ...),

validates it and writes ``<reports>/metrics/<experiment>.json``. On disk the record is flat (the
results' keys at the top level, beside ``report``, ``effective_params`` and the provenance keys),
as every reader of ``reports/metrics`` expects; :func:`from_json` splits it again and refuses a
record that lacks a field or has one of the wrong type, naming the file.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

#: Sections of the report, in its order (``report.section`` of a params file).
SECTIONS = {"exploration": "Data exploration", "reproduction": "CREMA-D reproduction",
            "wader": "WaDER replication (RAVDESS)", "beyond": "Beyond the originals", "cross-corpus": "Cross-corpus",
            "generalisation": "Beyond the training corpus"}
#: Protocols a record may have.
PROTOCOLS = ("seed", "actor", "human", "none", "cross-corpus")
CORPORA = ("crema-d", "ravdess")
NORMALISATIONS = ("global", "speaker", "corpus", "none", None)
#: Keys of every row of a record's ``ablation`` table (the summary's "beyond the originals").
ABLATION_KEYS = ("feature_set", "classifier", "normalisation", "ua", "ua_std", "macro_f1", "macro_f1_std")


class RecordError(ValueError):
    """A run record (or a params file's ``report:`` block) that does not follow the schema."""


def _check(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise RecordError(f"{where}: {what}")


@dataclass(frozen=True)
class Placement:
    """Where the report places a run and what it compares it with (a params file's ``report:``).

    Parameters
    ----------
    section : str
        A key of :data:`SECTIONS`.
    family : str
        Model family (``cnn1d``, ``cnn2d``, ``crnn``, ``linear``, ``wader``, ``human``, ...).
    model : str
        The model; runs of one model under several protocols share it (seed beside actor).
    normalisation : str or None
        Input normalisation of the headline (``global``: one recording; ``speaker``: several
        recordings of each speaker together).
    original : str or None
        The original work's headline figure, as the report quotes it, on the run that
        reproduces it (at most one per corpus).
    role : str or None
        A method-specific role read by that method's narrative (e.g. WaDER's ``as-published``).
    """

    section: str
    family: str
    model: str
    normalisation: str | None = None
    original: str | None = None
    role: str | None = None

    @classmethod
    def from_params(cls, block, *, where: str) -> "Placement":
        """Validate a params file's ``report:`` block; unknown keys are refused."""
        _check(isinstance(block, dict), where, "needs a 'report:' block (section, family, model)")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(block) - known)
        _check(not unknown, where, f"unknown report keys {unknown}; expected some of {sorted(known)}")
        for key in ("section", "family", "model"):
            _check(isinstance(block.get(key), str) and block[key], where, f"report.{key} must be a non-empty string")
        _check(block["section"] in SECTIONS, where,
               f"report.section {block['section']!r} is not one of {sorted(SECTIONS)}")
        _check(block.get("normalisation") in NORMALISATIONS, where,
               f"report.normalisation {block.get('normalisation')!r} is not one of {NORMALISATIONS}")
        for key in ("original", "role"):
            _check(block.get(key) is None or isinstance(block[key], str), where, f"report.{key} must be a string")
        return cls(**block)


@dataclass(frozen=True)
class Provenance:
    """Where, when, on what and by which code a run was computed."""

    data: str
    finished: str
    wall_s: float
    peak_rss_mb: float
    host: dict[str, str | int]  # machine and cpus
    commit: str | None = None
    data_identity: str | None = None
    committed_in: str | None = None

    KEYS = ("data", "finished", "wall_s", "peak_rss_mb", "host", "commit", "data_identity", "committed_in")


@dataclass(frozen=True)
class RunRecord:
    """One experiment run (see the module docstring)."""

    experiment: str
    title: str
    corpus: str
    protocol: str
    report: Placement
    effective_params: dict
    provenance: Provenance
    results: dict = field(default_factory=dict)

    #: Result keys every record has (fractions or null; ``reference`` the original's figures).
    HEADLINE = ("n_test_clips", "wa", "ua", "macro_f1", "weighted_f1", "reference")

    def to_json(self) -> dict:
        """The flat on-disk form (see the module docstring)."""
        out = {"experiment": self.experiment, "title": self.title, "corpus": self.corpus, "protocol": self.protocol}
        out.update({k: self.results.get(k) for k in self.HEADLINE})
        out.update({k: v for k, v in self.results.items() if k not in out})
        out.update({k: getattr(self.provenance, k) for k in Provenance.KEYS})
        out["report"] = asdict(self.report)
        out["effective_params"] = self.effective_params
        return out


def from_json(record: dict, *, where: str = "record") -> RunRecord:
    """Split and validate a flat record (:meth:`RunRecord.to_json`).

    Raises
    ------
    RecordError
        Naming ``where`` and the first field that is missing or wrong.
    """
    _check(isinstance(record, dict), where, "is not a JSON object")
    for key in ("experiment", "title", "corpus", "protocol", "data", "finished"):
        _check(isinstance(record.get(key), str) and record[key], where, f"'{key}' must be a non-empty string")
    _check(record["corpus"] in CORPORA, where, f"corpus {record['corpus']!r} is not one of {CORPORA}")
    _check(record["protocol"] in PROTOCOLS, where, f"protocol {record['protocol']!r} is not one of {PROTOCOLS}")
    _check(record["data"] in ("real", "synthetic"), where, f"data {record['data']!r} is neither 'real' nor 'synthetic'")
    for key in ("wall_s", "peak_rss_mb"):
        _check(isinstance(record.get(key), (int, float)) and record[key] >= 0, where, f"'{key}' must be a number ≥ 0")
    _check(isinstance(record.get("host"), dict), where, "'host' must be an object")
    for key in ("commit", "data_identity", "committed_in"):
        _check(record.get(key) is None or isinstance(record[key], str), where, f"'{key}' must be a string or null")
    _check(bool(record.get("commit") or record.get("committed_in")), where,
           "names no commit ('commit' computed it, or 'committed_in' for a record older than that field)")
    _check(isinstance(record.get("effective_params"), dict), where, "'effective_params' must be an object")
    for key in ("wa", "ua", "macro_f1", "weighted_f1", "wa_std", "ua_std", "macro_f1_std"):
        v = record.get(key, None if key.endswith("_std") else "missing")  # the headline keys must be present
        _check(v is None or (isinstance(v, (int, float)) and 0 <= v <= 1), where, f"'{key}' must be a fraction or null")
    _check(record.get("n_test_clips") is None or isinstance(record["n_test_clips"], int), where,
           "'n_test_clips' must be an integer or null")
    _check(isinstance(record.get("reference"), dict), where, "'reference' must be an object")
    placement = Placement.from_params(record.get("report"), where=f"{where}: report")
    _check(record.get("normalisation") in NORMALISATIONS, where,
           f"normalisation {record.get('normalisation')!r} is not one of {NORMALISATIONS}")
    _check(record.get("wa_ci") is None or (isinstance(record["wa_ci"], list) and len(record["wa_ci"]) == 2), where,
           "'wa_ci' must be a [low, high] pair")
    other = record.get("other_normalisation")
    _check(other is None or (isinstance(other, dict) and {"normalisation", "ua"} <= set(other)), where,
           "'other_normalisation' must hold 'normalisation' and 'ua'")
    for i, row in enumerate(record.get("ablation") or []):
        missing = sorted(set(ABLATION_KEYS) - set(row)) if isinstance(row, dict) else list(ABLATION_KEYS)
        _check(not missing, where, f"ablation row {i} lacks {missing}")
    for name, v in (record.get("variants") or {}).items():
        _check(isinstance(v, dict) and "cross" in v, where, f"variant {name!r} must hold 'cross'")
    taken = {"experiment", "title", "corpus", "protocol", "report", "effective_params", *Provenance.KEYS}
    return RunRecord(record["experiment"], record["title"], record["corpus"], record["protocol"], placement,
                     record["effective_params"], Provenance(**{k: record.get(k) for k in Provenance.KEYS}),
                     {k: v for k, v in record.items() if k not in taken})


def git_commit(project: str | os.PathLike) -> str | None:
    """The checked-out commit of ``project`` (``+dirty`` when tracked files differ), or None."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=project,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def compose(*, experiment: str, title: str, corpus: str, protocol: str, placement: Placement,
            effective_params: dict, results: dict, synthetic: bool, commit: str | None,
            data_id: str | None) -> RunRecord:
    """The record of a run the pipeline has just executed (``results``: what the notebook's
    :meth:`~ser_lib.reporting.report.Run.finish` wrote)."""
    results = dict(results)
    prov = Provenance(data="synthetic" if synthetic else "real",
                      finished=results.pop("finished", None) or datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      wall_s=float(results.pop("wall_s", 0.0)), peak_rss_mb=float(results.pop("peak_rss_mb", 0.0)),
                      host=results.pop("host", None) or {"machine": platform.machine(), "cpus": os.cpu_count()},
                      commit=commit, data_identity=data_id)
    for key in ("experiment", "title", "corpus", "protocol", "data", "params", "effective_params", "report"):
        results.pop(key, None)
    return RunRecord(experiment, title, corpus, protocol, placement, effective_params, prov, results)


def write(record: RunRecord, path: str | os.PathLike) -> Path:
    """Validate ``record`` (its flat form must read back through :func:`from_json`) and write it."""
    from ser_lib.reporting.report import write_atomic

    flat = record.to_json()
    from_json(flat, where=str(path))
    return write_atomic(path, json.dumps(flat, indent=1, allow_nan=False) + "\n")
