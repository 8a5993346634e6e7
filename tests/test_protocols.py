import numpy as np
import pandas as pd
import pytest

from ser_lib.data import protocols


def corpus(n_actors=20, per=30, n_classes=6, seed=0):
    rng = np.random.default_rng(seed)
    actors = np.repeat(np.arange(1000, 1000 + n_actors), per)
    labels = np.array([f"E{i}" for i in rng.integers(0, n_classes, actors.size)])
    return pd.DataFrame({"actor": actors, "emotion": labels})


def test_seed_split_matches_the_original_recipe():
    from sklearn.model_selection import train_test_split

    table = corpus()
    (s,) = protocols.seed_split(table["emotion"])
    idx = np.arange(len(table))
    rest, test = train_test_split(idx, test_size=0.3, random_state=42, stratify=table["emotion"])
    train, val = train_test_split(rest, test_size=0.05, random_state=42, stratify=table["emotion"].to_numpy()[rest])
    np.testing.assert_array_equal(s.test, test)
    np.testing.assert_array_equal(s.train, train)
    np.testing.assert_array_equal(s.val, val)


def test_seed_split_sizes_for_crema_d():
    labels = np.repeat(np.array(["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]), [1271, 1271, 1271, 1271, 1087, 1271])
    (s,) = protocols.seed_split(labels)
    assert (len(s.train), len(s.val), len(s.test)) == (4948, 261, 2233)  # 7442 clips; the original had 4954/261/2236 of 7451


def test_actor_folds_are_actor_disjoint_and_cover_every_clip_once():
    table = corpus(n_actors=23)
    splits = protocols.actor_folds(table["emotion"], table["actor"], n_folds=5)
    assert len(splits) == 5
    actors = table["actor"].to_numpy()
    seen_test = []
    for s in splits:
        a_tr, a_va, a_te = (set(actors[getattr(s, p)]) for p in ("train", "val", "test"))
        assert not (a_tr & a_te) and not (a_tr & a_va) and not (a_va & a_te)
        assert len(set(s.train) | set(s.val) | set(s.test)) == len(s.train) + len(s.val) + len(s.test) == len(table)
        seen_test.extend(s.test)
    assert sorted(seen_test) == list(range(len(table)))
    described = protocols.describe(splits, table)
    assert (described["actors shared train/test"] == 0).all() and (described["actors shared train/val"] == 0).all()


def test_seed_split_shares_actors():
    table = corpus()
    described = protocols.describe(protocols.make_splits("seed", table), table)
    assert described.loc[0, "actors shared train/test"] > 0  # the leak the actor protocol removes


def test_errors():
    table = corpus(n_actors=4)
    with pytest.raises(ValueError, match="cannot make 5 actor-disjoint folds"):
        protocols.make_splits("actor", table)
    with pytest.raises(ValueError, match="unknown protocol"):
        protocols.make_splits("random", table)
