import numpy as np
import pandas as pd
import pytest

from ser_lib.evaluation import breakdown

LABELS = ["ANG", "HAP", "SAD"]


def _predictions():
    # 8 clips; humans right on 5 (one tie), the model right on 4.
    return pd.DataFrame({
        "clip": [f"c{i}" for i in range(8)],
        "true": ["ANG", "ANG", "HAP", "HAP", "SAD", "SAD", "ANG", "HAP"],
        "pred": ["ANG", "HAP", "HAP", "SAD", "SAD", "ANG", "ANG", "SAD"],
        "human_vote": ["ANG", "HAP", "HAP", "tie", "SAD", "SAD", "SAD", np.nan],
        "sex": ["male", "male", "female", "female", "male", "female", "male", "female"],
        "level": ["HI", "LO", "HI", "MD", "XX", "HI", "LO", "MD"],
    })


def test_human_vs_model_counts_by_hand():
    scores, per = breakdown.human_vs_model(_predictions(), LABELS)
    # clip 7 has no vote → 7 clips. human right: c0, c2, c4, c5 = 4/7; model right: c0, c2, c4, c6 = 4/7
    assert scores["n"] == 7
    assert scores["human_wa"] == pytest.approx(4 / 7) and scores["model_wa"] == pytest.approx(4 / 7)
    # agreement: c0 (ANG), c1 (HAP), c2 (HAP), c4 (SAD) → 4/7; a tie never agrees
    assert scores["agreement"] == pytest.approx(4 / 7)
    # humans right on c0 c2 c4 c5 → model right on c0 c2 c4 = 3/4; humans wrong on c1 c3 c6 → model right on c6 = 1/3
    assert scores["model_wa_when_human_right"] == pytest.approx(3 / 4)
    assert scores["model_wa_when_human_wrong"] == pytest.approx(1 / 3)
    # human errors without a tie: c1 (voted HAP, model HAP), c6 (voted SAD, model ANG) → 1/2 shared
    assert scores["model_agrees_with_human_error"] == pytest.approx(1 / 2)
    assert scores["both_right"] == pytest.approx(3 / 7) and scores["both_wrong"] == pytest.approx(2 / 7)
    assert per.loc["ANG", "clips"] == 3 and per.loc["ANG", "human recall"] == pytest.approx(1 / 3)
    assert per.loc["ANG", "model recall"] == pytest.approx(2 / 3)
    assert per.loc["ANG", "model − human (points)"] == pytest.approx(33.3)


def test_human_vs_model_needs_votes():
    p = _predictions().assign(human_vote=np.nan)
    with pytest.raises(ValueError, match="human vote"):
        breakdown.human_vs_model(p, LABELS)
    with pytest.raises(ValueError, match="human_vote"):
        breakdown.human_vs_model(p.drop(columns="human_vote"), LABELS)


def test_by_group_and_intensity_order():
    p = _predictions()
    sex = breakdown.by_group(p, "sex", LABELS)
    assert list(sex.index) == ["female", "male"] and sex["clips"].sum() == 8
    assert sex.loc["male", "WA"] == pytest.approx(3 / 4)      # c0 c4 c6 right of c0 c1 c4 c6
    assert sex.loc["female", "WA"] == pytest.approx(1 / 4)    # c2 right of c2 c3 c5 c7
    lvl = breakdown.intensity_breakdown(p, "crema-d", LABELS)
    assert list(lvl.index) == ["LO", "MD", "HI", "XX"]
    assert breakdown.group_gap(sex) [:2] == ("male", "female")
    with pytest.raises(ValueError, match="intensity"):
        breakdown.intensity_breakdown(p, "emodb", LABELS)
    with pytest.raises(ValueError, match="column"):
        breakdown.by_group(p, "age", LABELS)


def test_best_with_predictions_picks_highest_ua_that_has_a_file(tmp_path):
    (tmp_path / "predictions").mkdir()
    _predictions().to_csv(tmp_path / "predictions" / "b-actor.csv", index=False)
    records = [{"experiment": "a-actor", "corpus": "crema-d", "protocol": "actor", "ua": 0.6},  # no file
               {"experiment": "b-actor", "corpus": "crema-d", "protocol": "actor", "ua": 0.5},
               {"experiment": "c-seed", "corpus": "crema-d", "protocol": "seed", "ua": 0.9}]
    rec, pred = breakdown.best_with_predictions(records, tmp_path, "crema-d")
    assert rec["experiment"] == "b-actor" and len(pred) == 8
    assert breakdown.best_with_predictions(records, tmp_path, "ravdess") == (None, None)


def test_predictions_table_save_and_read_back(tmp_path):
    clips = pd.DataFrame({"clip": ["a", "b", "c", "d"], "path": ["/x/a.wav"] * 4, "actor": [1, 1, 2, 2],
                          "sex": ["male", "male", "female", "female"]})
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    folds = [(0, np.array([3, 0]), np.array(["SAD", "ANG"]), np.array(["SAD", "HAP"]), proba)]
    table = breakdown.predictions_table(clips, folds, LABELS)
    assert list(table["clip"]) == ["d", "a"] and "path" not in table.columns
    assert list(table.columns[:2]) == ["clip", "fold"] and list(table["pred"]) == ["SAD", "HAP"]
    assert table["p_ANG"].tolist() == [0.7, 0.1] and table["sex"].tolist() == ["female", "male"]
    path = breakdown.save_predictions(table, tmp_path, "exp-actor")
    assert path == tmp_path / "predictions" / "exp-actor.csv"
    pd.testing.assert_frame_equal(breakdown.read_predictions(tmp_path, "exp-actor"), table)
    assert breakdown.read_predictions(tmp_path, "other") is None


def test_paired_comparison_counts_discordant_clips_and_mcnemar():
    clips = [f"c{i}" for i in range(12)]
    true = ["ANG"] * 6 + ["SAD"] * 6
    a = pd.DataFrame({"clip": clips, "fold": 0, "true": true, "pred": ["ANG"] * 6 + ["SAD"] * 6})  # all right
    b = a.copy()
    b.loc[[0, 1, 2, 6, 7], "pred"] = ["SAD", "SAD", "SAD", "ANG", "ANG"]  # b wrong on 5 clips
    b.loc[11, "pred"] = "SAD"
    c = breakdown.paired_comparison(a, b.sample(frac=1, random_state=0), LABELS)  # order must not matter
    assert c["n"] == 12 and c["a_only"] == 5 and c["b_only"] == 0
    assert c["wa_a"] == 1.0 and c["wa_b"] == pytest.approx(7 / 12)
    # UA over the two emotions present: b gets 3/6 ANG and 4/6 SAD
    assert c["ua_b"] == pytest.approx((3 / 6 + 4 / 6) / 2)
    assert c["mcnemar_p"] == pytest.approx(2 * 0.5 ** 5)  # exact two-sided binomial, 5 vs 0
    same = breakdown.paired_comparison(a, a, LABELS)
    assert same["a_only"] == same["b_only"] == 0 and same["mcnemar_p"] == 1.0


def test_paired_comparison_needs_the_same_test_clips():
    a = pd.DataFrame({"clip": ["x", "y"], "true": ["ANG", "SAD"], "pred": ["ANG", "SAD"]})
    with pytest.raises(ValueError, match="only one of the two"):
        breakdown.paired_comparison(a, a.iloc[:1], LABELS)
    other = a.assign(true=["SAD", "SAD"])
    with pytest.raises(ValueError, match="disagree on the true emotion"):
        breakdown.paired_comparison(a, other, LABELS)
