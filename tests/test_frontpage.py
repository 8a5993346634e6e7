"""The index's first screen: findings per corpus, the chart, the sections."""

import json

from ser_lib import frontpage as FP
from ser_lib import frontpage

BASE = {"data": "real", "n_test_clips": 10, "wa": 0.5, "macro_f1": 0.5, "weighted_f1": 0.5, "wall_s": 1.0,
        "peak_rss_mb": 1.0, "reference": {}}


def _records():
    return [
        {**BASE, "experiment": "explore-crema-d", "corpus": "crema-d", "protocol": "human", "ua": 0.429},
        {**BASE, "experiment": "cnn1d-a-seed", "corpus": "crema-d", "protocol": "seed", "ua": 0.47},
        {**BASE, "experiment": "cnn1d-a-actor", "corpus": "crema-d", "protocol": "actor", "ua": 0.45, "ua_std": 0.01},
        {**BASE, "experiment": "smile-linear-crema-d-actor", "corpus": "crema-d", "protocol": "actor", "ua": 0.70,
         "ua_std": 0.01, "normalisation": "speaker",
         "other_normalisation": {"normalisation": "global", "ua": 0.60, "ua_std": 0.012}},
        {**BASE, "experiment": "wader-actor", "corpus": "ravdess", "protocol": "actor", "ua": 0.22, "ua_std": 0.05},
        {**BASE, "experiment": "cross-x", "corpus": "ravdess", "protocol": "cross-corpus", "ua": 0.3,
         "variants": {"speaker": {"cross": {"ua": 0.46}, "within": {"ua": 0.71}}}},
        {**BASE, "experiment": "summary", "corpus": "crema-d", "protocol": "none", "wa": None, "ua": None},
    ]


def test_sections_follow_the_story():
    got = {r["experiment"]: FP.section_of(r) for r in _records()}
    assert got == {"explore-crema-d": "Data exploration", "cnn1d-a-seed": "CREMA-D reproduction",
                   "cnn1d-a-actor": "CREMA-D reproduction", "smile-linear-crema-d-actor": "Beyond the originals",
                   "wader-actor": "WaDER replication (RAVDESS)", "cross-x": "Cross-corpus", "summary": "Summary"}


def test_findings_name_the_best_models_and_references():
    rows = {r["corpus"]: r for r in FP.findings(_records())}
    crema = rows["crema-d"]
    assert crema["best (actor-disjoint)"].startswith("70.0 ± 1.0 — smile-linear-crema-d-actor (speaker")
    assert crema["best from one recording"].startswith("60.0 ± 1.2")  # the global twin beats the CNN's 45.0
    assert crema["human listeners"] == "42.9 UA" and crema["chance"] == "16.7"
    assert "46.0 (speaker, cross-x; within: 71.0)" in rows["ravdess"]["trained on the other corpus"]
    assert FP.reproduction_pairs(_records()) == [{"model": "cnn1d-a", "seed": _records()[1], "actor": _records()[2]}]


def test_index_has_findings_chart_and_section_links(tmp_path):
    (tmp_path / "metrics").mkdir()
    for r in _records():
        (tmp_path / "metrics" / f"{r['experiment']}.json").write_text(json.dumps(r))
    page = frontpage.build_index(tmp_path).read_text()
    assert page.index("What the report found") < page.index('id="chart"') < page.index('<nav>')
    assert 'src="data:image/png;base64,' in page
    for k, section in enumerate(FP.SECTIONS):
        assert f'href="#s{k}"' in page and f'id="s{k}"' in page
    assert "SYNTHETIC DEMO DATA" not in page and "data:audio" not in page
