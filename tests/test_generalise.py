"""Generalisation experiment: recipes assemble the right training clips, features stay aligned to
their clips, no choice (C, temperature, threshold) can see a test actor, enrolment clips are never
scored, and the record's sections render."""

import zlib

import numpy as np
import pandas as pd
import pytest

from ser_lib.data import protocols
from ser_lib.models import generalise as G
from ser_lib.reporting import generalisation as GR

LABELS = ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]
N_FEATURES = 88  # as eGeMAPSv02, so that a bundle of these features validates


def corpus_table(name: str, n_actors: int, per_emotion: int) -> pd.DataFrame:
    rows = [{"clip": f"{name}-{a:02d}-{emo}-{i}", "actor": f"{name}{a:02d}", "emotion": emo, "path": f"/x/{name}/{a}/{emo}/{i}"}
            for a in range(n_actors) for emo in LABELS for i in range(per_emotion)]
    return pd.DataFrame(rows)


def features_of(table: pd.DataFrame, view) -> np.ndarray:
    """Emotion signal + an actor offset + clip noise; a degraded view adds noise, the level view a shift."""
    out = []
    for clip, actor, emo in table[["clip", "actor", "emotion"]].itertuples(index=False):
        rng = np.random.default_rng(zlib.crc32(f"{clip}|{view}".encode()))
        x = np.zeros(N_FEATURES)
        x[LABELS.index(emo)] = 2.0
        x += np.random.default_rng(zlib.crc32(actor.encode())).normal(0, 0.5, N_FEATURES)
        x += rng.normal(0, 1.0 if view and "condition" in view else 0.5, N_FEATURES)
        out.append(x + (1.0 if view and view.get("front_end") == "level" else 0.0))
    return np.array(out)


class FakeExtract:
    """``extract(table, view)`` as :func:`ser_lib.features.smile.extract_functionals` returns it;
    ``skip`` clips cannot be read under ``skip_view``; every call is logged."""

    def __init__(self, skip=(), skip_view="none/telephone", poison=None):
        self.skip, self.skip_view, self.calls, self.poison = set(skip), skip_view, [], poison

    def __call__(self, table, view):
        self.calls.append((len(table), view))
        tag = "none/clean" if view is None else f"{view.get('front_end')}/{view.get('condition', 'augment' if 'augment' in view else 'clean')}"
        bad = table["clip"].isin(self.skip) & (tag == self.skip_view)
        kept = table[~bad].reset_index(drop=True)
        X = features_of(kept, view)
        if self.poison is not None:  # test actors' features replaced: the choices must not move
            X[kept["actor"].isin(self.poison).to_numpy()] = 99.0
        skipped = pd.DataFrame({"clip": table["clip"][bad], "reason": "unreadable"})
        return X, kept, skipped


@pytest.fixture(scope="module")
def tables():
    return {"a": corpus_table("a", 6, 6), "b": corpus_table("b", 4, 5)}


def test_recipes_are_named_and_an_unknown_one_is_refused():
    assert list(G.RECIPES) == ["single", "joint", "joint-level", "joint-augment", "joint-level-augment"]
    assert G.check_recipe("joint-level-augment").label == "both corpora, level front end, + simulated conditions"
    assert G.view_of("none", "clean") is None and G.view_of("level", "noise") == {"front_end": "level", "condition": "noise"}
    with pytest.raises(ValueError, match="unknown recipe 'joint-everything'"):
        G.check_recipe("joint-everything")


def test_feature_bank_keeps_rows_aligned_to_their_clips_and_lists_skipped(tables):
    skip = set(tables["a"]["clip"][[3, 10]])
    extract = FakeExtract(skip=skip)
    bank = G.FeatureBank(tables, extract)
    want = np.array([12, 3, 0, 10, 5])
    X, rows = bank.get("a", "none", "telephone", want)
    assert rows.tolist() == [12, 0, 5]
    np.testing.assert_allclose(X, features_of(tables["a"].iloc[rows], {"front_end": "none", "condition": "telephone"}))
    assert sorted(s["clip"] for s in bank.skipped) == sorted(skip) and bank.skipped[0]["view"] == "none/telephone"
    n_calls = len(extract.calls)
    bank.get("a", "none", "telephone", np.array([0, 5]))  # already held: no new extraction
    assert len(extract.calls) == n_calls
    X, rows = bank.get("a", "none", "telephone", np.array([20, 0]))  # a new row: extracted with those held
    assert rows.tolist() == [20, 0] and len(extract.calls) == n_calls + 1


def test_training_rows_follow_the_recipe(tables):
    bank = G.FeatureBank(tables, FakeExtract())
    split = protocols.make_splits("actor", tables["a"], n_folds=3)[0]
    n_target, n_other = len(split.train) + len(split.val), len(tables["b"])
    sizes = {}
    for name in G.RECIPES:
        X, y, is_val = G.training_rows(bank, G.check_recipe(name), target="a", other="b", train=split.train, val=split.val)
        sizes[name] = len(y)
        assert len(X) == len(y) == len(is_val) and set(y) <= set(LABELS)
        copies = 2 if G.RECIPES[name].augment else 1
        assert is_val.sum() == copies * len(split.val)
    assert sizes["single"] == n_target and sizes["joint"] == sizes["joint-level"] == n_target + n_other
    assert sizes["joint-augment"] == sizes["joint-level-augment"] == 2 * (n_target + n_other)
    assert not set(split.test) & (set(split.train) | set(split.val))


def test_no_choice_looks_at_the_test_actors(tables):
    """The same fold with the test actors' features replaced by garbage chooses the same C,
    temperature and threshold (and the same validation UAs); only the test scores change."""
    split = protocols.make_splits("actor", tables["a"], n_folds=3)[0]
    test_actors = set(tables["a"]["actor"].iloc[split.test])
    robust = np.arange(len(tables["a"]))
    kw = dict(target="a", other="b", labels=LABELS, robust_rows=robust, conditions=["clean", "noise"],
              c_grid=[0.001, 0.1, 10.0])
    recipe = G.check_recipe("joint-augment")
    honest = G.recipe_fold(G.FeatureBank(tables, FakeExtract()), recipe, split, **kw)
    poisoned = G.recipe_fold(G.FeatureBank(tables, FakeExtract(poison=test_actors)), recipe, split, **kw)
    for key in ("C", "val_ua", "temperature", "threshold"):
        assert honest[key] == poisoned[key], key
    assert honest["tests"]["test"]["ua"] > 0.5  # the signal is learnable: the comparison is not vacuous
    assert poisoned["tests"]["test"]["ua"] != honest["tests"]["test"]["ua"]
    assert honest["tests"]["test"]["n"] == len(split.test)


def test_choose_and_fit_needs_validation_rows():
    X, y = np.zeros((4, 2)), np.array(["ANG", "SAD"] * 2)
    with pytest.raises(ValueError, match="validation actors"):
        G.choose_and_fit(X, y, np.zeros(4, bool), labels=["ANG", "SAD"], X_val=X, y_val=y)


def test_enrolment_never_scores_an_enrolment_clip(tables):
    bank = G.FeatureBank(tables, FakeExtract())
    split = protocols.make_splits("actor", tables["a"], n_folds=3)[0]
    fold = G.enrolment_fold(bank, split, target="a", other="b", labels=LABELS, ks=(2,), c_grid=[0.1])
    n_test_actors = tables["a"]["actor"].iloc[split.test].nunique()
    assert fold["speaker"]["tests"]["test"]["n"] == len(split.test)
    assert fold["neutral-2"]["tests"]["test"]["n"] == len(split.test) - 2 * n_test_actors
    # skewed: every non-neutral emotion of each test actor with that actor's neutral clips
    assert fold["skewed"]["tests"]["test"]["n"] == n_test_actors * 5 * (6 + 6)
    rows = G.enrolment_table([fold], global_ua=(0.5, 0.1))
    assert [r["mode"] for r in rows] == ["global", "speaker", "skewed", "neutral-2"]


def test_mean_std_uses_ddof_1_and_ignores_missing():
    assert G.mean_std([0.5, 0.7, None]) == pytest.approx((0.6, np.std([0.5, 0.7], ddof=1)))
    assert G.mean_std([0.4]) == (0.4, 0.0) and G.mean_std([]) == (None, None)


def test_a_run_summarises_into_the_record_and_the_results_sections(tables):
    bank = G.FeatureBank(tables, FakeExtract())
    splits = protocols.make_splits("actor", tables["a"], n_folds=3)
    conditions = ["clean", "noise"]
    kw = dict(target="a", other="b", labels=LABELS, robust_rows=np.arange(0, len(tables["a"]), 2), conditions=conditions,
              c_grid=[0.1])
    results = {}
    for name in ("single", "joint-augment"):
        folds = [G.recipe_fold(bank, G.check_recipe(name), s, **kw) for s in splits]
        results[name] = G.summarise_recipe(folds, labels=LABELS, conditions=conditions)
        assert results[name]["ua"] == pytest.approx(np.mean([f["tests"]["test"]["ua"] for f in folds]))
        noise = results[name]["robustness"]["noise"]
        drops = [f["tests"]["clean"]["ua"] - f["tests"]["noise"]["ua"] for f in folds]
        assert noise["drop"] == pytest.approx(np.mean(drops)) and results[name]["robustness"]["clean"]["drop"] == 0
        assert 0 <= results[name]["calibration"]["ece"] <= 1
    cross = {"single": G.cross_corpus(bank, G.check_recipe("single"), source="b", target="a", labels=LABELS,
                                      c_grid=[0.1], val_folds=4)}
    assert cross["single"]["n"] == len(tables["a"])
    enrolment = G.enrolment_table([G.enrolment_fold(bank, s, target="a", other="b", labels=LABELS, ks=(2,), c_grid=[0.1])
                                   for s in splits[:2]])
    extra = GR.record_extra(results, cross, enrolment, headline="joint-augment", corpus="a", other_corpus="b",
                            labels=LABELS, skipped=bank.skipped)
    record = {"corpus": "a", **extra}
    sections = GR.sections([record, {"corpus": "c", "ua": 0.3}])  # a record without the tables is left out
    assert list(sections) == ["Generalisation: what each part adds (ablation)",
                              "Generalisation: robustness to recording conditions",
                              "Generalisation: cross-corpus, one recording at a time",
                              "Generalisation: speaker enrolment", "Generalisation: calibration"]
    ablation = sections["Generalisation: what each part adds (ablation)"][1]
    assert len(ablation) == 2 and set(ablation["corpus"]) == {"a"}
    assert GR.sections([{"corpus": "c", "ua": 0.3}]) == {}


def test_a_jointly_trained_run_is_shown_beside_its_corpus_alone():
    scores = dict(ua=0.62, ua_std=0.03, wa=0.63, wa_std=0.03, macro_f1=0.6, macro_f1_std=0.02)
    joint = {"corpus": "a", "experiment": "x", "joint_with": "b", "normalisation": "global", "labels": LABELS,
             **scores, "alone": {**scores, "ua": 0.55, "ua_std": 0.05}}
    sections = GR.sections([joint, {"corpus": "c", "ua": 0.3, "joint_with": None}])
    title, (note, table) = next(iter(sections.items()))
    assert list(sections) == [title] and "both corpora" in title and "alone" in note
    assert len(table) == 1 and table.iloc[0]["gain (points)"] == pytest.approx(7.0)
    assert table.iloc[0]["alone UA %"] == "55.0 ± 5.0" and table.iloc[0]["joint UA %"] == "62.0 ± 3.0"


def test_the_shipped_model_chooses_on_validation_actors_and_round_trips(tables, tmp_path):
    from ser_lib.models import bundle, ship

    bank = G.FeatureBank(tables, FakeExtract())
    val = ship.validation_rows(bank, val_folds=3)
    for corpus, mask in val.items():  # whole actors, some of each corpus, never all
        actors = tables[corpus]["actor"]
        assert 0 < mask.sum() < len(mask) and not set(actors[mask]) & set(actors[~mask])
    recipe = G.check_recipe("joint-augment")
    X, y, is_val, X_val, y_val = ship.mode_rows(bank, "neutral", recipe, val=val, neutral_k=2)
    n_val_actors = sum(tables[c]["actor"][m].nunique() for c, m in val.items())
    assert is_val.sum() == sum(m.sum() for m in val.values()) and len(y_val) == is_val.sum() - 2 * n_val_actors
    X, y, is_val, X_val, y_val = ship.mode_rows(bank, "global", recipe, val=val)
    assert len(y) == 2 * sum(len(t) for t in tables.values()) and len(y_val) == is_val.sum() // 2  # copies not scored
    fitted = ship.fit_shipped(bank, recipe, labels=LABELS, c_grid=[0.01, 1.0], neutral_k=2, val_folds=3, progress=False)
    assert set(fitted) == set(ship.SHIP_MODES) and all(f["ua"] > 0.5 for f in fitted.values())
    path = ship.save_shipped(tmp_path / "m", fitted, bank=bank, recipe=recipe, feature_set="eGeMAPSv02", sr=16000,
                             synthetic=True, scores={}, neutral_k=2)
    b = bundle.load_bundle(path)
    assert b.meta["trained_on"]["corpus"] == "a+b" and b.meta["front_end"] == "none" and b.calibrated
    Xa, rows = bank.get("a", "none", "clean")
    p, threshold = b.probabilities(Xa, mode="global")
    expected = G.scored(tables["a"]["emotion"].to_numpy()[rows], G.class_scores(fitted["global"], Xa, LABELS), LABELS,
                        temperature=fitted["global"]["temperature"])["proba"]
    assert (p.argmax(1) == expected.argmax(1)).mean() > 0.99 and threshold == fitted["global"]["threshold"]
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_expected_figures_come_from_the_records_of_the_same_recipe():
    from ser_lib.models import ship

    rec = {"experiment": "generalise-a", "corpus": "a", "other_corpus": "b",
           "recipes": [{"recipe": "single", "ua": 0.5, "ua_std": 0.1}, {"recipe": "joint-augment", "ua": 0.6, "ua_std": 0.02}],
           "enrolment": [{"mode": "speaker", "ua": 0.7, "ua_std": 0.01}, {"mode": "skewed", "ua": 0.4, "ua_std": 0.01},
                         {"mode": "neutral-3", "ua": 0.65, "ua_std": 0.03}],
           "cross": [{"recipe": "joint-augment", "direction": "b → a", "ua": 0.3, "ece": 0.2}],
           "robustness": [{"recipe": "joint-augment", "condition": "clean", "drop": 0.0},
                          {"recipe": "joint-augment", "condition": "noise", "drop": 0.08},
                          {"recipe": "single", "condition": "noise", "drop": 0.2}],
           "calibration": [{"recipe": "joint-augment", "ece": 0.04}]}
    f = ship.figures([rec, {"experiment": "other", "corpus": "c"}], recipe="joint-augment")["a"]
    assert f["global"] == {"ua": 0.6, "ua_std": 0.02} and f["neutral"]["ua"] == 0.65 and f["speaker_skewed_batch"]["ua"] == 0.4
    assert f["cross_corpus"] == {"direction": "b → a", "ua": 0.3, "ece": 0.2} and f["robustness_drop"] == {"noise": 0.08}
    assert f["ece"] == 0.04
