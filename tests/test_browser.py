"""The index and one experiment page as a reader sees them, in a real headless browser.

Needs Chromium from the system packages (``apt-get install chromium``); skipped with a message
when it is absent. The browser renders the page, and the DOM it built (``--dump-dom``) is checked.
"""

import json
import shutil
import subprocess

import nbformat
import pytest

from ser_lib import pipeline
from ser_lib.reporting import frontpage

BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no headless Chromium on this machine "
                                "(apt-get install chromium to run the browser checks)")


def _dom(path):
    done = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", path.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
    return done.stdout


def test_front_page_and_an_experiment_page_render(tmp_path):
    base = {"data": "synthetic", "n_test_clips": 10, "wa": 0.5, "macro_f1": 0.5, "weighted_f1": 0.5, "wall_s": 1.0,
            "peak_rss_mb": 1.0, "reference": {}, "title": "t", "finished": "2026-12-02T00:00:00+00:00", "host": {},
            "commit": "0" * 40, "effective_params": {}}
    section = {"human": "exploration", "actor": "beyond"}
    (tmp_path / "metrics").mkdir()
    for name, corpus, protocol, ua in (("explore-crema-d", "crema-d", "human", 0.43), ("cnn1d-a-actor", "crema-d", "actor", 0.45),
                                       ("smile-linear-ravdess-actor", "ravdess", "actor", 0.6)):
        (tmp_path / "metrics" / f"{name}.json").write_text(json.dumps({**base, "experiment": name, "corpus": corpus,
                                                                      "protocol": protocol, "ua": ua, "ua_std": 0.01,
                                                                      "report": {"section": section[protocol],
                                                                                 "family": "x", "model": name}}))
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('hello')")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n"),
                    nbformat.v4.new_output("stream", name="stderr", text="\rbar: 100%|####| 2/2\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("# A page"), cell]
    nbformat.write(nb, tmp_path / "cnn1d-a-actor.ipynb")
    pipeline.export_html(tmp_path / "cnn1d-a-actor.ipynb", tmp_path / "cnn1d-a-actor.html")
    index = _dom(frontpage.build_index(tmp_path))
    assert "What the report found" in index and "SYNTHETIC DEMO DATA" in index
    assert 'id="chart"' in index and "data:image/png;base64," in index
    assert 'href="#s3"' in index and 'href="cnn1d-a-actor.html"' in index  # s3: beyond the originals
    page = _dom(tmp_path / "cnn1d-a-actor.html")
    assert "<details" in page and "<summary>code</summary>" in page and "hello" in page
    assert "data:audio" not in index + page and "<audio" not in index + page
