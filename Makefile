# Reproducible speech-emotion-recognition report.
#   make report   with the corpora: execute every experiment notebook into reports/*.html (incremental);
#                 without them: the real report from the committed results, then the synthetic demo in reports/demo/
#   make test     run the test suite
# Variables: DATA_ROOT (corpora folder; unset: data/ if it holds a corpus, else the demo; set but empty of
#            corpora: an error), PYTHON (interpreter for the venv),
#            JOBS (experiments at once on a local Dask cluster, default auto: one per core within memory), SCHEDULER (tcp://host:8786).

PYTHON    ?= python3
VENV      ?= .venv
DATA_ROOT ?=
ONLY      ?=
JOBS      ?= auto
SCHEDULER ?=
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
PYTEST_ARGS ?=

export DATA_ROOT
export TF_CPP_MIN_LOG_LEVEL = 3
export PYTHONHASHSEED = 0

.PHONY: help setup report pages demo test bench bench-demo compare lab data clean list sync

help:
	@echo "make report   build reports/index.html (DATA_ROOT=... for the real corpora; without: committed results + demo)"
	@echo "make pages    only build the real report's pages from the committed results (about a minute, runs nothing)"
	@echo "make demo     run every experiment on the synthetic demo corpus into reports/demo/ (git-ignored)"
	@echo "make test     run the tests"
	@echo "make bench    feature-extraction speed and memory; training speed and the projected CREMA-D run time"
	@echo "make bench-demo  cold demo report at JOBS=auto (judged) and JOBS=1, and the warm no-op (about 20 min)"
	@echo "make compare  demo figures of commit BASE beside this tree's (behaviour kept by a refactoring)"
	@echo "make lab      open JupyterLab on notebooks/"
	@echo "make data     download and verify the real corpora into DATA_ROOT"
	@echo "make list     list the experiments"
	@echo "make sync     pair every notebook with its text form notebooks/py/<name>.py (jupytext; the newer side wins)"
	@echo "make clean    remove build output (reports/*.html, executed notebooks, caches)"

setup: $(STAMP)

# Re-install only when the pinned requirements or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps silero-vad==6.2.3  # its ONNX model only (ser_lib.features.vad); not PyTorch
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ser_lib.pipeline.jitcache  # librosa's numba helpers compiled once, copied into every worker's cache
	@touch $@

report: setup
	$(PY) -m ser_lib.pipeline $(if $(DATA_ROOT),--data-root "$(DATA_ROOT)",) --jobs $(JOBS) $(if $(SCHEDULER),--scheduler $(SCHEDULER),) $(if $(ONLY),--only $(ONLY),)

pages: setup
	$(PY) -m ser_lib.pipeline --pages

demo: setup
	$(PY) -m ser_lib.pipeline --demo --jobs $(JOBS) $(if $(ONLY),--only $(ONLY),)

list: setup
	@$(PY) -m ser_lib.pipeline --list

sync: setup
	$(VENV)/bin/jupytext --sync notebooks/*.ipynb

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	$(PY) -m ser_lib.pipeline.bench $(if $(DATA_ROOT),--data-root "$(DATA_ROOT)",)
	$(PY) -m ser_lib.pipeline.bench --training $(if $(DATA_ROOT),--data-root "$(DATA_ROOT)",)

bench-demo: setup
	$(PY) -m ser_lib.pipeline.bench_demo

# Behaviour kept across a refactoring: BASE's demo figures beside this tree's, for experiments
# without a neural network (TensorFlow runs of a base without op determinism differ run to run).
BASE    ?= 2c34223
COMPARE ?= explore-crema-d smile-linear-crema-d-actor cross-smile-crema-d-to-ravdess
compare: setup
	$(PY) -m ser_lib.pipeline.compare --base $(BASE) --demo-size tiny $(COMPARE) $(if $(SET),--set $(SET),)

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

data: setup
	$(PY) -m ser_lib.data.download --dest "$(or $(DATA_ROOT),data)"

clean:
	rm -rf reports/*.html reports/*.ipynb reports/.stamps reports/figures reports/models reports/records reports/demo \
	       reports/logs reports/predictions .cache .pytest_cache
