"""ser_lib — the helper library of the reproducible speech-emotion-recognition report.

Modules, in pipeline order:

- :mod:`ser_lib.config`    vocabulary (emotions, corpora) and default locations
- :mod:`ser_lib.download`  ``make data``: fetch and verify the real corpora
- :mod:`ser_lib.synthetic` the synthetic demo corpus
- :mod:`ser_lib.corpus`    corpus tables (one row per clip)
- :mod:`ser_lib.audio`     loading, bad-input handling, clip audit
- :mod:`ser_lib.explore`   exploration summaries and figures
- :mod:`ser_lib.human`     human listeners' accuracy (CREMA-D)
- :mod:`ser_lib.metrics`   WA, UA, F1, confusion, intervals, fold summaries
- :mod:`ser_lib.plots`     figures
- :mod:`ser_lib.report`    run bookkeeping, metrics JSON, index page
- :mod:`ser_lib.pipeline`  params → papermill → HTML
"""

import warnings as _warnings

# tqdm.auto (imported by some dependencies) warns when ipywidgets is absent; text bars are fine.
_warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.1.0"
