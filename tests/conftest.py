"""Shared fixtures: a tiny synthetic corpus per layout, and the real corpora when present."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

# numba keeps librosa's compiled helpers in an on-disk cache; two processes compiling one function
# into one folder at once (two pytest workers, or the kernels they start) can leave a corrupt index
# that segfaults every later reader (seen 2026-12-04 in librosa.pyin). Each pytest worker gets a
# fresh folder of its own, set before anything imports numba (it must override the controller's,
# which the workers inherit), started as a copy of the template `make setup` compiled
# (ser_lib.pipeline.jitcache), so that no worker spends half a minute compiling them again.
if os.environ.get("PYTEST_XDIST_WORKER") or "NUMBA_CACHE_DIR" not in os.environ:
    import tempfile

    from ser_lib.pipeline import jitcache

    jitcache.claim(Path(tempfile.mkdtemp(prefix=f"ser-numba-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-")) / "numba")

from ser_lib.data import synthetic  # noqa: E402  (after NUMBA_CACHE_DIR)

PROJECT = Path(__file__).resolve().parents[1]

#: The longest test (4.5 min alone on a 2-core machine, about 6 beside the other tests): scheduled first, so that the other
#: pytest worker runs the rest beside it instead of it running alone at the end.
LONGEST_FIRST = ("test_pipeline_runs_every_notebook_on_tiny_demo_corpus",)


def pytest_collection_modifyitems(config, items):
    """Longest first, then the other ``slow`` tests, then the rest (a stable sort: each group keeps
    its collection order, identical on every xdist worker). With ``--dist worksteal`` the first
    worker starts on the longest test at once and the other works through the rest, taking half of
    the first one's queue whenever its own runs out; in collection order the smoke run started late
    and finished alone."""
    def rank(item):
        if getattr(item, "originalname", item.name) in LONGEST_FIRST:  # doctest items have no originalname
            return 0
        return 1 if item.get_closest_marker("slow") else 2

    items.sort(key=rank)


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> Path:
    """A DATA_ROOT-like folder whose corpora are absent, so the pipeline falls back to synthetic."""
    return tmp_path_factory.mktemp("nodata")


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def tiny_crema(tmp_path_factory) -> Path:
    return synthetic.make_demo_corpus("crema-d", tmp_path_factory.mktemp("syn") / "crema-d",
                                      size="tiny", progress=False)


@pytest.fixture(scope="session")
def tiny_ravdess(tmp_path_factory) -> Path:
    return synthetic.make_demo_corpus("ravdess", tmp_path_factory.mktemp("syn") / "ravdess",
                                      size="tiny", progress=False)


def clone_env(tmp: Path) -> dict:
    """The environment of a new user: no corpora, no cluster, a cache of its own under ``tmp``."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_ROOT", "SER_CACHE", "JOBS", "SCHEDULER")}
    env["SER_CACHE"] = str(tmp / "cache")
    return env


def git_in(repo: Path, *args) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture(scope="session")
def clone(tmp_path_factory) -> Path:
    """A fresh clone: a git repository of this checkout's files (tracked, and untracked but not
    ignored, so that uncommitted work is tested too), without corpora, caches or build output.
    ``python -m ser_lib.pipeline`` run inside it imports that copy's ``ser_lib`` (``-m`` puts the
    working folder first on ``sys.path``)."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=PROJECT,
                           check=True, capture_output=True, text=True).stdout.split("\0")
    repo = tmp_path_factory.mktemp("clone") / "repo"
    for name in filter(None, files):
        src = PROJECT / name
        if src.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / name)
    git_in(repo, "init", "-q")
    git_in(repo, "add", "-A")
    git_in(repo, "commit", "-q", "-m", "clone")
    return repo


def real_corpus(name: str) -> Path:
    """Path of a real corpus under $DATA_ROOT, or skip the test with a message."""
    root = os.environ.get("DATA_ROOT")
    path = Path(root) / name if root else None
    if path is None or not path.is_dir() or (path / ".synthetic.json").exists():
        pytest.skip(f"real {name} corpus not found (set DATA_ROOT to the folder holding {name}/)")
    return path


def write_record(reports_dir, experiment: str, corpus: str, protocol: str, *, synthetic: bool = False,
                 section: str = "beyond", model: str | None = None, normalisation: str | None = None,
                 params: dict | None = None, role: str | None = None, family: str = "cnn1d",
                 original: str | None = None, title: str = "", **results) -> dict:
    """A run record as the pipeline writes it (``ser_lib.reporting.record``), for tests of its readers:
    the notebook side (``Run.finish``) then the pipeline side (``record.compose`` + ``write``)."""
    from ser_lib.reporting import record as R
    from ser_lib.reporting.report import Run

    run = Run(experiment, corpus, protocol, synthetic=synthetic, reports_dir=reports_dir, title=title)
    if normalisation is not None:
        results.setdefault("normalisation", normalisation)
    n = results.pop("n_test_clips", None)
    reference = results.pop("reference", None)
    scores = {k: results.pop(k) for k in list(results) if k in ("wa", "ua", "macro_f1", "weighted_f1")
              or k.endswith(("_std", "_ci")) or k == "chance"}
    out = run.finish(n_test_clips=n, scores=scores, reference=reference, extra=results)
    placement = R.Placement(section=section, family=family, model=model or experiment,
                            normalisation=normalisation or results.get("normalisation"), original=original, role=role)
    rec = R.compose(experiment=experiment, title=title or experiment, corpus=corpus, protocol=protocol,
                    placement=placement, effective_params=params or {}, results=out, synthetic=synthetic,
                    commit="0" * 40, data_id=None)
    R.write(rec, run.reports_dir / "metrics" / f"{experiment}.json")
    return rec.to_json()
