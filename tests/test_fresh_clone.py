"""What a new user sees on a fresh clone without the corpora: the real report in a browser, and a
demo that never touches the committed real results (issue "Nothing lost, nothing silently wrong").
`make report` itself on the fresh clone is the smoke test of every notebook (test_pipeline.py).

The clone (fixture ``clone`` in conftest.py) is a git repository of this checkout's files, so the
tests see uncommitted work too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import clone_env, git_in
from ser_lib.evaluation.metrics import format_score

PROJECT = Path(__file__).resolve().parents[1]
BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)


def test_committed_records_are_all_real():
    for path in sorted((PROJECT / "reports" / "metrics").glob("*.json")):
        assert json.loads(path.read_text())["data"] == "real", path.name


def test_a_given_data_root_without_corpora_is_an_error(clone, tmp_path):
    done = subprocess.run([sys.executable, "-m", "ser_lib.pipeline", "--data-root", str(tmp_path / "typo")],
                          cwd=clone, env=clone_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "holds no corpus" in done.stderr and str(tmp_path / "typo" / "crema-d") in done.stderr
    assert "Traceback" not in done.stdout + done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert git_in(clone, "status", "--porcelain") == ""


def test_a_notebook_run_by_hand_leaves_git_status_clean(clone, tmp_path):
    """A notebook opened in JupyterLab and run as it is (only the demo corpus size made tiny) writes
    into reports/demo/ only. (`make report` on the fresh clone: the smoke test in test_pipeline.py.)"""
    import papermill as pm

    env = clone_env(tmp_path)
    nb = clone / "notebooks" / "exploration.ipynb"
    old = os.environ.copy()
    os.environ.clear()
    os.environ.update(env)
    try:
        pm.execute_notebook(str(nb), str(tmp_path / "out.ipynb"), parameters={"context": {"demo_size": "tiny"}},
                            cwd=str(nb.parent), progress_bar=False)
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert git_in(clone, "status", "--porcelain") == ""
    results = json.loads((clone / "reports" / "demo" / "results" / "explore-crema-d.json").read_text())
    assert results["data"] == "synthetic"  # the notebook's results, beside the demo pages; a record is the pipeline's


@pytest.mark.skipif(BROWSER is None, reason="no headless Chromium (apt-get install chromium)")
def test_the_real_report_renders_in_a_browser_on_a_fresh_clone(clone, tmp_path):
    done = subprocess.run([sys.executable, "-m", "ser_lib.pipeline", "--pages"], cwd=clone, env=clone_env(tmp_path),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]

    def dom(path: Path) -> str:
        shown = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", path.as_uri()],
                               capture_output=True, text=True, timeout=120)
        assert shown.returncode == 0, shown.stderr[-500:]
        return shown.stdout

    index = dom(clone / "reports" / "index.html")
    real = json.loads((clone / "reports" / "metrics" / "smile-linear-crema-d-actor.json").read_text())
    assert real["data"] == "real"
    assert format_score(real["ua"], real["ua_std"]) in index  # a real figure, read from the committed record
    assert "SYNTHETIC DEMO DATA" not in index and "Real data:" in index
    assert 'id="chart"' in index and 'href="records/smile-linear-crema-d-actor.html"' in index
    page = dom(clone / "reports" / "records" / "wader-actor.html")
    assert "Confusion matrix" in page and "Learning curves" in page and "Per fold" in page
    assert "real data" in page and "SYNTHETIC" not in page and "data:image/png;base64," in page
    assert git_in(clone, "status", "--porcelain") == ""
