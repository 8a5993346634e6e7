"""Shared fixtures: a tiny synthetic corpus per layout, and the real corpora when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ser_lib import synthetic

PROJECT = Path(__file__).resolve().parents[1]


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
