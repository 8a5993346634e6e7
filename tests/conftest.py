"""Shared fixtures: a tiny synthetic corpus per layout, and the real corpora when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# numba writes the on-disk cache of librosa's jitted helpers next to the installed package; two
# processes compiling one function at once (two pytest workers, or the kernels they start) can
# leave a corrupt index that segfaults every later reader (seen 2026-12-04 in librosa.pyin). Each
# pytest worker gets a fresh cache folder of its own, set before anything imports numba; it must
# override the controller's, which the workers inherit.
if os.environ.get("PYTEST_XDIST_WORKER") or "NUMBA_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix=f"ser-numba-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-")

from ser_lib.data import synthetic  # noqa: E402  (after NUMBA_CACHE_DIR)

PROJECT = Path(__file__).resolve().parents[1]

#: The longest test (about 4.5 min on a 2-core machine): scheduled first, so that the other
#: pytest worker runs the rest beside it instead of it running alone at the end.
LONGEST_FIRST = ("test_pipeline_runs_every_notebook_on_tiny_demo_corpus",)


def pytest_collection_modifyitems(config, items):
    """Longest first, then the other ``slow`` tests, then the rest (a stable sort: each group keeps
    its collection order, identical on every xdist worker). Longest-first spreads the work of the
    two workers evenly; in collection order the smoke run started late and finished alone."""
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
