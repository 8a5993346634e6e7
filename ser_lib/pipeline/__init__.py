"""The report pipeline: params YAML → papermill → executed notebook → HTML → index.

Each ``params/<experiment>.yaml`` names its notebook and sets that notebook's parameters
(one schema: see :func:`load_experiment`). :func:`run_all` executes, in order, every
experiment whose inputs changed since its last run — the notebook, the params file, the
``ser_lib`` modules that notebook imports (directly or through other modules), the data root and
whether the data is real — into
``reports/<experiment>.ipynb`` and ``reports/<experiment>.html``, then rebuilds
``reports/index.html``. A failing experiment does not stop the others; the command exits
non-zero at the end and names it.

Command line::

    python -m ser_lib.pipeline [--only NAME ...] [--force] [--data-root DIR] [--reports-dir DIR]

Its modules are listed in the module map of :mod:`ser_lib`. The names below are the pipeline's API.
"""

from __future__ import annotations

import importlib

#: The pipeline's API: each name and the module that defines it, loaded on first use (so that
#: importing one helper, e.g. :mod:`ser_lib.pipeline.runcache`, does not load the whole pipeline).
API = {
    "Experiment": "experiments",
    "FIRST": "experiments",
    "GIB_PER_JOB": "run",
    "INJECTED": "experiments",
    "LAST": "experiments",
    "NoCorpusError": "experiments",
    "Outcome": "execute",
    "PIPELINE_KEYS": "experiments",
    "ParamsError": "experiments",
    "REQUIRED": "experiments",
    "ReportsDirError": "run",
    "SCHEDULER_TIMEOUT_S": "run",
    "STAGES": "experiments",
    "SchedulerError": "run",
    "applicable": "experiments",
    "auto_jobs": "run",
    "check_corpus_sizes": "experiments",
    "check_data_root": "experiments",
    "check_scheduler": "run",
    "clean_stderr": "execute",
    "corpora_found": "experiments",
    "corpora_needed": "experiments",
    "execute": "execute",
    "experiment_parameters": "experiments",
    "export_html": "execute",
    "fingerprint": "experiments",
    "interleaved": "run",
    "load_experiment": "experiments",
    "load_experiments": "experiments",
    "main": "run",
    "notebook_defaults": "experiments",
    "notebook_modules": "experiments",
    "notebook_parameters": "experiments",
    "parse_jobs": "run",
    "parse_overrides": "experiments",
    "run_all": "run",
    "run_experiment": "execute",
    "runs_alone": "run",
    "stderr_to": "execute",
    "summary_stage": "experiments",
    "write_record": "execute",
}


def __getattr__(name: str):
    if name == "PROJECT_ROOT":
        from ser_lib.config import PROJECT_ROOT

        return PROJECT_ROOT
    if name in API:
        return getattr(importlib.import_module(f"ser_lib.pipeline.{API[name]}"), name)
    raise AttributeError(f"module 'ser_lib.pipeline' has no attribute {name!r}")


def __dir__():
    return sorted(API)
