"""Experiments: params files, their validation, the parameters a run gets, its fingerprint."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ser_lib.config import CORPORA
from ser_lib.pipeline.sources import files_digest, imported_modules as _imported_modules, module_closure


#: Keys every params file must set.
REQUIRED = ("experiment", "notebook", "title", "corpus")


#: Parameters the pipeline injects into every notebook (a params file must not set them): one
#: ``context`` mapping, read by :class:`ser_lib.reporting.notebook.Context`.
INJECTED = ("context",)


def _context_keys() -> tuple[str, ...]:
    """The keys of the injected ``context`` (refused as parameters, with a message that says so)."""
    from dataclasses import fields

    from ser_lib.reporting.notebook import Context

    return tuple(f.name for f in fields(Context))


#: Notebooks that run first and last.
FIRST, LAST = ("exploration",), ("summary",)


#: Notebooks that are stages of the pipeline, not experiments: they read the run records and
#: write no record of their own.
STAGES = LAST


class ParamsError(ValueError):
    """A params file that does not follow the schema."""


@dataclass
class Experiment:
    """One params file and the notebook it runs."""

    name: str
    params_path: Path
    notebook_path: Path
    params: dict = field(default_factory=dict)

    @property
    def notebook(self) -> str:
        return self.notebook_path.stem


def notebook_parameters(notebook_path: str | Path) -> dict:
    """Names and defaults of a notebook's ``parameters`` cell (via papermill; read once per
    distinct notebook text: loading the 50 params files asked 50 times for 11 notebooks)."""
    path = Path(notebook_path)
    return dict(_parameters_of(str(path), path.read_bytes()))


@functools.lru_cache(maxsize=64)
def _parameters_of(path: str, content: bytes) -> tuple:
    import papermill as pm

    return tuple((name, p["default"]) for name, p in pm.inspect_notebook(path).items())


def notebook_defaults(notebook_path: str | Path) -> dict:
    """The ``parameters`` cell's defaults as Python values (literals evaluated; anything that is
    not a literal stays the source text)."""
    import ast

    out = {}
    for name, text in notebook_parameters(notebook_path).items():
        try:
            out[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[name] = text
    return out


def load_experiment(params_path: str | Path, notebooks_dir: str | Path) -> Experiment:
    """Read and validate one params file.

    Schema: a mapping with ``experiment`` (equal to the file's stem), ``notebook`` (a file
    in ``notebooks_dir`` without ``.ipynb``), ``title``, ``corpus``, and any other key that is
    a parameter of that notebook. The pipeline's own keys (:data:`INJECTED`) are refused.
    An optional ``demo`` mapping holds parameters that replace the others when the experiment
    runs on the synthetic demo corpus (a smaller budget, so that a fresh clone's report is
    quick); its keys must be parameters of the notebook too.

    Raises
    ------
    ParamsError
        With the file name and what is wrong.
    """
    params_path = Path(params_path)
    try:
        params = yaml.safe_load(params_path.read_text())
    except yaml.YAMLError as exc:
        raise ParamsError(f"{params_path}: not valid YAML ({exc})") from None
    if not isinstance(params, dict):
        raise ParamsError(f"{params_path}: expected a mapping of parameters")
    missing = [k for k in REQUIRED if k not in params]
    if missing:
        raise ParamsError(f"{params_path}: missing required keys {missing}")
    if params["experiment"] != params_path.stem:
        raise ParamsError(f"{params_path}: experiment {params['experiment']!r} must equal the file name "
                          f"{params_path.stem!r}")
    nb = Path(notebooks_dir) / f"{params['notebook']}.ipynb"
    if not nb.is_file():
        raise ParamsError(f"{params_path}: notebook {nb} not found")
    known = notebook_parameters(nb)
    injected = sorted(set(params) & {*INJECTED, *_context_keys()})
    if injected:
        raise ParamsError(f"{params_path}: {injected} are set by the pipeline (the run's context), not by params files")
    unknown = sorted(set(params) - set(known) - set(PIPELINE_KEYS))
    if unknown:
        raise ParamsError(f"{params_path}: unknown parameters {unknown} for notebook {nb.name} "
                          f"(its parameters: {sorted(known)})")
    if nb.stem not in STAGES:
        from ser_lib.reporting.record import Placement, RecordError

        try:
            params["report"] = Placement.from_params(params.get("report"), where=str(params_path))
        except RecordError as exc:
            raise ParamsError(str(exc)) from None
    peak = params.get("peak_memory_gib", 0)
    if isinstance(peak, bool) or not isinstance(peak, (int, float)) or peak < 0:
        raise ParamsError(f"{params_path}: 'peak_memory_gib' must be a number of GiB, got {peak!r}")
    after = params.get("after", [])
    if not isinstance(after, list) or not all(isinstance(a, str) and a for a in after) or params_path.stem in after:
        raise ParamsError(f"{params_path}: 'after' must be a list of other experiments' names (whose records this "
                          f"one reads), got {after!r}")
    demo = params.get("demo", {})
    if not isinstance(demo, dict):
        raise ParamsError(f"{params_path}: 'demo' must be a mapping of parameters, got {type(demo).__name__}")
    bad = sorted((set(demo) - set(known)) | (set(demo) & {*INJECTED, *_context_keys(), *REQUIRED}))
    if bad:
        raise ParamsError(f"{params_path}: 'demo' may only set parameters of notebook {nb.name} "
                          f"other than {list(REQUIRED)}; refused: {bad}")
    for where, block in ((key, scope.get(k)) for k in ("settings", "alone_settings")
                         for key, scope in ((k, params), (f"demo.{k}", demo))):
        check_model_settings(nb.stem, block, where=f"{params_path}: {where}")
    return Experiment(params_path.stem, params_path, nb, params)


#: The model settings a notebook's ``settings`` parameter overrides: module and defaults' name.
MODEL_SETTINGS = {"crnn": ("ser_lib.models.crnn", "DEFAULTS"),
                  "wader_actor": ("ser_lib.models.wader_converged", "CONVERGED")}


def check_model_settings(notebook: str, settings, *, where: str) -> None:
    """Refuse, when the params load, a ``settings`` block with a key its model does not have or
    a value of another type than the default's (an int where a float is expected is allowed)."""
    if notebook not in MODEL_SETTINGS or settings is None:
        return
    import importlib

    module, name = MODEL_SETTINGS[notebook]
    defaults = getattr(importlib.import_module(module), name)
    if not isinstance(settings, dict):
        raise ParamsError(f"{where} must be a mapping, got {type(settings).__name__}")
    unknown = sorted(set(settings) - set(defaults))
    if unknown:
        raise ParamsError(f"{where}: unknown settings {unknown}; {module}.{name} has {sorted(defaults)}")
    for key, value in settings.items():
        want = type(defaults[key])
        ok = (isinstance(value, want) and not (want is int and isinstance(value, bool))) or (
            want is float and isinstance(value, int) and not isinstance(value, bool)) or (
            want in (tuple, list) and isinstance(value, (tuple, list)))
        if not ok:
            raise ParamsError(f"{where}: {key} must be {want.__name__} like its default {defaults[key]!r}, "
                              f"got {value!r}")


def summary_stage(notebooks_dir: str | Path) -> Experiment:
    """The summary: a stage of the pipeline that reads every run record (``summary.ipynb``), runs
    after every experiment and writes ``RESULTS.md`` and ``summary.html``, but no record."""
    nb = Path(notebooks_dir) / "summary.ipynb"
    return Experiment("summary", nb, nb, {"experiment": "summary", "notebook": "summary",
                                          "title": "Summary of all experiments", "corpus": "all"})


def load_experiments(params_dir: str | Path, notebooks_dir: str | Path) -> list[Experiment]:
    """All experiments (one per params file), exploration first, then the rest by name, and the
    summary stage last."""
    exps = [load_experiment(p, notebooks_dir) for p in sorted(Path(params_dir).glob("*.yaml"))]
    exps.append(summary_stage(notebooks_dir))

    def key(e: Experiment):
        return (0 if e.notebook in FIRST else 2 if e.notebook in LAST else 1, e.name)

    return sorted(exps, key=key)


def _has_real_data(corpus: str, root: Path) -> bool:
    from ser_lib.data.corpus import index_audio

    return corpus not in CORPORA or bool(index_audio(root / corpus)[0])


def corpora_found(root: Path) -> list[str]:
    """The corpora (of :data:`ser_lib.config.CORPORA`) that hold audio under ``root``."""
    return [c for c in CORPORA if _has_real_data(c, Path(root))]


def corpora_needed(exp: Experiment) -> list[str]:
    """The corpora an experiment reads: its ``corpus`` and, for cross-corpus runs, ``source_corpus``;
    for runs trained on both corpora, ``other_corpus``."""
    named = [exp.params.get(k) for k in ("corpus", "source_corpus", "other_corpus")]
    return [c for c in dict.fromkeys(named) if c in CORPORA]


def check_corpus_sizes(root: Path, exps: list[Experiment]) -> None:
    """Refuse, in one line, a corpus folder too small for the experiments' folds: each corpus must
    hold every emotion of its label set and more actors than the largest ``n_folds`` asked of it
    (one fold's test actors, plus validation actors drawn from the training actors)."""
    from ser_lib.config import CORPUS_EMOTIONS
    from ser_lib.data.corpus import corpus_table

    for corpus in corpora_found(root):
        mine = [e for e in exps if corpus in corpora_needed(e)]
        if not mine:
            continue
        folds = max(int(e.params.get("n_folds", 5) or 5) for e in mine)
        import warnings

        with warnings.catch_warnings():  # a metadata note is for the exploration report, not this check
            warnings.simplefilter("ignore")
            clips, _ = corpus_table(corpus, root / corpus)
        actors = clips["actor"].nunique() if len(clips) else 0
        missing = sorted(set(CORPUS_EMOTIONS[corpus]) - set(clips["emotion"] if len(clips) else []))
        if actors < folds + 2 or missing:
            raise NoCorpusError(f"error: {root / corpus} holds {len(clips)} usable clips of {actors} actors"
                                + (f", no clip of {', '.join(missing)}" if missing else "")
                                + f": too small for {folds} actor-disjoint folds with validation actors (needs every "
                                f"emotion and at least {folds + 2} actors; the full corpus has them)")


class NoCorpusError(SystemExit):
    """A corpus location was given but holds no corpus (the message names what was looked for)."""


def check_data_root(root: Path) -> list[str]:
    """The corpora under an explicitly given ``root``; raises :class:`NoCorpusError` when there is none.

    A given ``DATA_ROOT`` that holds no corpus is a mistake (a typo, an unmounted disk), never a
    reason to fall back silently to the synthetic demo."""
    from ser_lib.config import AUDIO_EXTENSIONS

    found = corpora_found(root)
    if not found:
        looked = ", ".join(str(root / c) for c in CORPORA)
        raise NoCorpusError(f"error: DATA_ROOT={root} holds no corpus: looked for audio files "
                            f"({', '.join(AUDIO_EXTENSIONS)}) under {looked}. Fix DATA_ROOT, run `make data`, "
                            "or run the synthetic demo with `make demo`.")
    return found


def notebook_modules(notebook_path: str | Path, lib_dir: Path) -> list[Path]:
    """The ``ser_lib`` source files a notebook depends on: the modules its code cells import,
    and every module those import, transitively (plus the package's ``__init__.py``).

    Magic and shell lines (``%…``, ``!…``) are ignored."""
    import nbformat

    nb = nbformat.read(str(notebook_path), as_version=4)
    code = "\n".join("\n".join(ln for ln in c.source.splitlines() if not ln.lstrip().startswith(("%", "!")))
                     for c in nb.cells if c.cell_type == "code")
    return module_closure(_imported_modules(code), lib_dir)


def fingerprint(exp: Experiment, *, lib_dir: Path, data_root_dir: Path, demo_size: str,
                inputs: dict | None = None, real: bool | None = None) -> str:
    """Hash of everything a run depends on: the notebook, the parameters the run uses (params file,
    and its ``demo`` block on synthetic data only), the ``ser_lib``
    modules the notebook imports (directly or transitively, :func:`notebook_modules`) and the
    data location. Editing a module no notebook of this experiment uses does not re-run it.

    ``real``: whether ``data_root_dir`` holds the experiment's corpus (looked up when ``None``)."""
    if real is None:
        real = _has_real_data(exp.params["corpus"], data_root_dir)
    h = hashlib.sha256()
    h.update(exp.notebook_path.read_bytes())
    # the parameters the run will use, not the file's bytes: a comment, or the demo block of a
    # real-data run, does not make an experiment stale
    h.update(json.dumps(experiment_parameters(exp, synthetic=not real), sort_keys=True, default=str).encode())
    h.update(files_digest(notebook_modules(exp.notebook_path, lib_dir), lib_dir).encode())
    h.update(f"{data_root_dir}|{real}|{demo_size if not real else ''}".encode())
    h.update(json.dumps(inputs or {}, sort_keys=True).encode())
    return h.hexdigest()


def applicable(exp: Experiment, overrides: dict | None) -> dict:
    """The subset of ``overrides`` that are parameters of the experiment's notebook."""
    if not overrides:
        return {}
    known = notebook_parameters(exp.notebook_path)
    return {k: v for k, v in overrides.items() if k in known}


def experiment_parameters(exp: Experiment, *, synthetic: bool, overrides: dict | None = None) -> dict:
    """The notebook parameters of one run: the params file, then its ``demo`` block when the
    data is synthetic, then the command line's ``--set`` overrides (those that apply)."""
    params = {k: v for k, v in exp.params.items() if k not in PIPELINE_KEYS and exp.notebook not in STAGES}
    if synthetic:
        params.update(exp.params.get("demo", {}))
    params.update(applicable(exp, overrides))
    return params


#: Params-file keys read by the pipeline, not passed to the notebook.
PIPELINE_KEYS = ("notebook", "demo", "peak_memory_gib", "report", "after")


def parse_overrides(items: list[str], exps: list[Experiment]) -> dict:
    """``--set KEY=VALUE`` items → overrides, checked: every key must be a parameter of at least one
    notebook of ``exps`` (the message lists them), every value plain YAML (a scalar, or a list or
    mapping of plain values; no tags, no broken syntax).

    Raises
    ------
    ParamsError
        One line naming the item and what is wrong.
    """
    known = sorted({name for e in exps for name in notebook_parameters(e.notebook_path)} - set(INJECTED) - set(REQUIRED))
    out = {}
    for item in items:
        if "=" not in item:
            raise ParamsError(f"--set expects KEY=VALUE, got {item!r}")
        key, text = item.split("=", 1)
        key = key.strip()
        if key in INJECTED or key in _context_keys() or key in REQUIRED:
            raise ParamsError(f"--set {key}: set by the pipeline or the params file, not on the command line")
        if key not in known:
            import difflib

            near = difflib.get_close_matches(key, known, n=3)
            raise ParamsError(f"--set {key}: no notebook of these experiments has a parameter {key!r}"
                              + (f" (did you mean {', '.join(near)}?)" if near else "")
                              + f"; their parameters: {', '.join(known)}")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ParamsError(f"--set {key}: {text!r} is not plain YAML ({first})") from None
        if not _plain(value):
            raise ParamsError(f"--set {key}: {text!r} is not a plain YAML value (scalars, lists and mappings only)")
        out[key] = value
    return out


def _plain(value) -> bool:
    import datetime as _dt

    if isinstance(value, (_dt.date, _dt.datetime)):
        return False
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, (str, int)) and _plain(v) for k, v in value.items())
    return value is None or isinstance(value, (str, int, float, bool))
