"""What a new user sees on a fresh clone without the corpora: the real report in a browser, and a
demo that never touches the committed real results (issue "Nothing lost, nothing silently wrong").

The "clone" is a git repository made of this checkout's files (tracked and untracked-but-not-ignored),
so the test sees uncommitted work too; ``python -m ser_lib.pipeline`` run inside it imports that
copy's ``ser_lib`` (``-m`` puts the working folder first on ``sys.path``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ser_lib.evaluation.metrics import format_score

PROJECT = Path(__file__).resolve().parents[1]
BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)


def _env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_ROOT", "SER_CACHE", "JOBS", "SCHEDULER")}
    env["SER_CACHE"] = str(tmp / "cache")
    return env


def _git(repo: Path, *args) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=PROJECT,
                           check=True, capture_output=True, text=True).stdout.split("\0")
    repo = tmp_path_factory.mktemp("clone") / "repo"
    for name in filter(None, files):
        src = PROJECT / name
        if src.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / name)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "clone")
    return repo


def test_committed_records_are_all_real():
    for path in sorted((PROJECT / "reports" / "metrics").glob("*.json")):
        assert json.loads(path.read_text())["data"] == "real", path.name


def test_a_given_data_root_without_corpora_is_an_error(clone, tmp_path):
    done = subprocess.run([sys.executable, "-m", "ser_lib.pipeline", "--data-root", str(tmp_path / "typo")],
                          cwd=clone, env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "holds no corpus" in done.stderr and str(tmp_path / "typo" / "crema-d") in done.stderr
    assert "Traceback" not in done.stdout + done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert _git(clone, "status", "--porcelain") == ""


@pytest.mark.slow
def test_demo_report_and_a_notebook_run_by_hand_leave_git_status_clean(clone, tmp_path):
    env = _env(tmp_path)
    cmd = [sys.executable, "-m", "ser_lib.pipeline", "--demo-size", "tiny", "--only", "explore-crema-d",
           "cnn1d-rolloff-actor", "smile-linear-crema-d-actor", "summary", "--set", "epochs=1", "n_folds=2"]
    done = subprocess.run(cmd, cwd=clone, env=env, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "SYNTHETIC" in done.stdout.splitlines()[0] or "SYNTHETIC" in done.stdout
    assert _git(clone, "status", "--porcelain") == ""
    assert json.loads((clone / "reports" / "demo" / "metrics" / "cnn1d-rolloff-actor.json").read_text())["data"] == "synthetic"
    # a notebook opened in JupyterLab and run as it is (only the demo corpus size made tiny)
    import papermill as pm

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
    assert _git(clone, "status", "--porcelain") == ""
    assert (clone / "reports" / "demo" / "metrics" / "explore-crema-d.json").is_file()


@pytest.mark.skipif(BROWSER is None, reason="no headless Chromium (apt-get install chromium)")
def test_the_real_report_renders_in_a_browser_on_a_fresh_clone(clone, tmp_path):
    done = subprocess.run([sys.executable, "-m", "ser_lib.pipeline", "--pages"], cwd=clone, env=_env(tmp_path),
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
    assert _git(clone, "status", "--porcelain") == ""
