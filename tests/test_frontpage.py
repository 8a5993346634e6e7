"""The index's first screen: the headline per corpus, the chart, the sections; nothing in the
reporting code knows an experiment by name."""

import json
import re

from ser_lib.reporting import findings as F
from ser_lib.reporting import frontpage as FP
from ser_lib.reporting import record

BASE = {"data": "real", "n_test_clips": 10, "wa": 0.5, "macro_f1": 0.5, "weighted_f1": 0.5, "wall_s": 1.0,
        "peak_rss_mb": 1.0, "reference": {}, "title": "t", "finished": "2026-12-02T00:00:00+00:00",
        "host": {}, "commit": "0" * 40, "effective_params": {}}


def _place(section, model, **kw):
    return {"report": {"section": section, "family": "x", "model": model, **kw}}


def _records():
    return [
        {**BASE, "experiment": "explore-crema-d", "corpus": "crema-d", "protocol": "human", "ua": 0.429,
         **_place("exploration", "h")},
        {**BASE, "experiment": "m-seed", "corpus": "crema-d", "protocol": "seed", "ua": 0.47,
         **_place("reproduction", "m", original="48.1 % accuracy (the original's split)")},
        {**BASE, "experiment": "m-actor", "corpus": "crema-d", "protocol": "actor", "ua": 0.45, "ua_std": 0.01,
         **_place("reproduction", "m")},
        {**BASE, "experiment": "smile", "corpus": "crema-d", "protocol": "actor", "ua": 0.70,
         "ua_std": 0.01, "normalisation": "speaker", **_place("beyond", "s", normalisation="speaker"),
         "other_normalisation": {"normalisation": "global", "ua": 0.60, "ua_std": 0.012}},
        {**BASE, "experiment": "w", "corpus": "ravdess", "protocol": "actor", "ua": 0.22, "ua_std": 0.05,
         **_place("wader", "w", role="converged")},
        {**BASE, "experiment": "cross-x", "corpus": "ravdess", "protocol": "cross-corpus", "ua": 0.3,
         "variants": {"speaker": {"cross": {"ua": 0.46}, "within": {"ua": 0.71}}}, **_place("cross-corpus", "c")},
    ]


def test_records_of_the_tests_are_valid():
    for r in _records():
        record.from_json(r)


def test_sections_come_from_the_records():
    got = {r["experiment"]: FP.section_of(r) for r in _records()}
    assert got == {"explore-crema-d": "Data exploration", "m-seed": "CREMA-D reproduction",
                   "m-actor": "CREMA-D reproduction", "smile": "Beyond the originals",
                   "w": "WaDER replication (RAVDESS)", "cross-x": "Cross-corpus"}


def test_headline_names_the_best_models_and_the_declared_original():
    rows = {r["corpus"]: r for r in F.headline(_records())}
    crema = rows["crema-d"]
    assert crema["best (actor-disjoint)"].startswith("70.0 ± 1.0 — smile (speaker normalisation; best of 2 runs)")
    assert crema["best from one recording"].startswith("60.0 ± 1.2")  # the global twin beats the CNN's 45.0
    assert crema["human listeners"] == "42.9 UA" and crema["chance"] == "16.7"
    assert crema["original work"] == "48.1 % accuracy (the original's split)" and rows["ravdess"]["original work"] == "–"
    assert "46.0 (speaker, cross-x; within: 71.0)" in rows["ravdess"]["trained on the other corpus"]
    assert FP.reproduction_pairs(_records()) == [{"model": "m", "seed": _records()[1], "actor": _records()[2]}]


SIX = {**BASE, "experiment": "gen-ravdess", "corpus": "ravdess", "protocol": "actor", "ua": 0.62, "ua_std": 0.03,
       "labels": ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"], **_place("generalisation", "g")}


def test_a_run_on_a_subset_of_the_emotions_is_not_compared_with_full_runs():
    six = SIX
    rows = {r["corpus"]: r for r in F.headline(_records() + [six])}
    assert rows["ravdess"]["best (actor-disjoint)"].startswith("22.0 ± 5.0 — w")  # 6-class 62 % is not "best" of 8
    assert rows["ravdess"]["chance"] == "12.5" and FP.section_of(six) == "Beyond the training corpus"
    full = {**six, "experiment": "gen-crema-d", "corpus": "crema-d", "ua": 0.75}  # all of CREMA-D's six emotions
    assert F.headline(_records() + [full])[0]["best (actor-disjoint)"].startswith("75.0 ± 3.0 — gen-crema-d")


def test_index_has_headline_selection_note_chart_and_section_links(tmp_path):
    (tmp_path / "metrics").mkdir()
    for r in _records() + [SIX]:
        (tmp_path / "metrics" / f"{r['experiment']}.json").write_text(json.dumps(r))
    page = FP.build_index(tmp_path).read_text()
    assert page.index("What the report found") < page.index('id="chart"') < page.index('<nav>')
    assert 'src="data:image/png;base64,' in page and "looked at the test folds" in page
    assert "the best speaker-independent (actor-disjoint) model is smile" in page  # the stated findings
    for k, section in enumerate(FP.SECTIONS.values()):
        assert f'href="#s{k}"' in page and f'id="s{k}"' in page
    assert "SYNTHETIC DEMO DATA" not in page and "data:audio" not in page


def test_no_experiment_name_in_the_reporting_code():
    from conftest import PROJECT
    from ser_lib.pipeline import load_experiments

    names = {e.name for e in load_experiments(PROJECT / "params", PROJECT / "notebooks")} - {"summary"}
    for module in ("findings", "frontpage", "summary", "recordpage", "wader_account"):
        source = (PROJECT / "ser_lib" / "reporting" / f"{module}.py").read_text()
        found = sorted(n for n in names if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", source))
        assert not found, f"ser_lib/reporting/{module}.py names experiments {found}"


def test_a_record_page_is_drawn_again_only_when_its_record_changed(tmp_path):
    from conftest import write_record
    from ser_lib.reporting.recordpage import build_record_pages

    write_record(tmp_path, "a-actor", "crema-d", "actor", ua=0.5, wa=0.5, ua_std=0.01, family="crnn")
    write_record(tmp_path, "b-actor", "crema-d", "actor", ua=0.4, wa=0.4, ua_std=0.02, family="crnn")
    pages = build_record_pages(tmp_path)
    assert pages["a-actor"].read_text().startswith("<!-- ser_lib record page ")
    pages["a-actor"].write_text(pages["a-actor"].read_text() + "<!-- untouched -->")
    pages["b-actor"].write_text(pages["b-actor"].read_text() + "<!-- untouched -->")
    write_record(tmp_path, "b-actor", "crema-d", "actor", ua=0.45, wa=0.4, ua_std=0.02, family="crnn")
    again = build_record_pages(tmp_path)
    assert again["a-actor"].read_text().endswith("<!-- untouched -->")  # same record, same code: kept
    assert not again["b-actor"].read_text().endswith("<!-- untouched -->") and "45.0" in again["b-actor"].read_text()
