"""ser_lib — the helper library of the reproducible speech-emotion-recognition report.

The folders follow the pipeline: corpora → features → models → evaluation → reporting, driven
by the pipeline (params YAML → papermill → run record → HTML). Every module:

- :mod:`ser_lib.config`  vocabulary (emotions, corpora) and default locations
- :mod:`ser_lib.__main__`  ``python -m ser_lib predict``
- :mod:`ser_lib.data`  The corpora: where clips come from and who spoke them.
  - :mod:`ser_lib.data.download`  ``make data``: fetch and verify the real corpora
  - :mod:`ser_lib.data.synthetic`  the synthetic demo corpus
  - :mod:`ser_lib.data.corpus`  corpus tables (one row per clip, from the file names and metadata)
  - :mod:`ser_lib.data.audio`  loading, bad-input handling, the clip audit
  - :mod:`ser_lib.data.protocols`  seed split and actor-disjoint folds
  - :mod:`ser_lib.data.human`  the human listeners' votes (CREMA-D)
  - :mod:`ser_lib.data.identity`  clip identity and every cache key
- :mod:`ser_lib.features`  From audio to model inputs.
  - :mod:`ser_lib.features.features`  the original works' frame-level series and the log-mel image
  - :mod:`ser_lib.features.melspec`  log-mel of each clip's own frames, crops and windows
  - :mod:`ser_lib.features.wavelet`  the Morlet CWT store of WaDER
  - :mod:`ser_lib.features.smile`  openSMILE functionals
  - :mod:`ser_lib.features.normalise`  global and per-speaker normalisation
  - :mod:`ser_lib.features.enrolment`  normalising a speaker by a few neutral clips; skewed batches
  - :mod:`ser_lib.features.augment`  on-the-fly training augmentation
  - :mod:`ser_lib.features.conditions`  test degradations, simulated recording conditions, the level front end
  - :mod:`ser_lib.features.clipcache`  per-clip feature caches
  - :mod:`ser_lib.features.vad`  speech activity (Silero VAD) for predict
  - :mod:`ser_lib.features.vad_calibration`  how the VAD thresholds were measured
- :mod:`ser_lib.models`  Models, their training and the shipped predictor.
  - :mod:`ser_lib.models.models`  the original works' CNNs
  - :mod:`ser_lib.models.training`  one fold of a Keras model, the fold result and the one summariser
  - :mod:`ser_lib.models.croptrain`  the shared crop trainer (early stopping on validation actors, determinism)
  - :mod:`ser_lib.models.crnn`  the CRNN
  - :mod:`ser_lib.models.wader`  WaDER as published
  - :mod:`ser_lib.models.wader_converged`  WaDER trained to convergence
  - :mod:`ser_lib.models.linear`  openSMILE + linear models
  - :mod:`ser_lib.models.fusion`  late fusion chosen on validation actors
  - :mod:`ser_lib.models.crosscorpus`  training on one corpus, testing on the other
  - :mod:`ser_lib.models.generalise`  joint training on both corpora, simulated conditions, enrolment, cross-corpus
  - :mod:`ser_lib.models.ship`  refitting and signing the shipped model (choices on validation actors)
  - :mod:`ser_lib.models.bundle`  the pickle-free model bundle
  - :mod:`ser_lib.models.predict`  ``python -m ser_lib predict``
  - :mod:`ser_lib.models.predict_keras`  the Keras side of predict (CRNN and fused bundles)
  - :mod:`ser_lib.models.tf_logging`  quiet TensorFlow start-up
- :mod:`ser_lib.evaluation`  Scores and their breakdowns.
  - :mod:`ser_lib.evaluation.calibration`  calibrated probabilities, ECE, reliability, the uncertainty threshold
  - :mod:`ser_lib.evaluation.metrics`  WA, UA, F1, confusion, intervals, fold summaries
  - :mod:`ser_lib.evaluation.breakdown`  per-clip predictions, by sex / intensity / listeners
  - :mod:`ser_lib.evaluation.explore`  data exploration summaries
- :mod:`ser_lib.reporting`  From run records to the report.
  - :mod:`ser_lib.reporting.report`  run bookkeeping in a notebook, reading the records
  - :mod:`ser_lib.reporting.record`  the typed run record the pipeline writes
  - :mod:`ser_lib.reporting.notebook`  the cells every experiment notebook shares
  - :mod:`ser_lib.reporting.plots`  figures
  - :mod:`ser_lib.reporting.summary`  the summary stage's tables and RESULTS.md
  - :mod:`ser_lib.reporting.findings`  headline, stated findings and chart (index and RESULTS.md)
  - :mod:`ser_lib.reporting.frontpage`  reports/index.html
  - :mod:`ser_lib.reporting.recordpage`  one page per record
  - :mod:`ser_lib.reporting.wader_account`  why WaDER is not at 74 %
  - :mod:`ser_lib.reporting.generalisation`  the ablation, robustness, cross-corpus, enrolment and calibration tables
  - :mod:`ser_lib.reporting.docs`  the pages of docs/ that quote figures, rendered from the records
- :mod:`ser_lib.pipeline`  The report pipeline: params YAML → papermill → run record → HTML → index.
  - :mod:`ser_lib.pipeline.experiments`  params files, the parameters of a run, fingerprints
  - :mod:`ser_lib.pipeline.execute`  one notebook run, its HTML page and its run record
  - :mod:`ser_lib.pipeline.run`  every stale experiment (one by one or on Dask), the command line
  - :mod:`ser_lib.pipeline.__main__`  ``python -m ser_lib.pipeline``
  - :mod:`ser_lib.pipeline.runcache`  records of finished WaDER runs, reused by later calls
  - :mod:`ser_lib.pipeline.sources`  which source files a piece of code depends on
  - :mod:`ser_lib.pipeline.parallel`  one parallel map over clips
  - :mod:`ser_lib.pipeline.jitcache`  numba's cache of librosa's compiled helpers, a warm folder per process
  - :mod:`ser_lib.pipeline.bench`  ``make bench``: feature speed and memory
  - :mod:`ser_lib.pipeline.bench_training`  ``make bench``: training speed, determinism cost, projected run time
  - :mod:`ser_lib.pipeline.bench_demo`  ``make bench-demo``: the cold demo report
  - :mod:`ser_lib.pipeline.compare`  ``make compare``: an earlier commit's demo figures beside this tree's
"""

import warnings as _warnings

# tqdm.auto (imported by some dependencies) warns when ipywidgets is absent; text bars are fine.
_warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.1.0"
