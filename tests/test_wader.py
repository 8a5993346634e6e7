import numpy as np
import pandas as pd
import pytest

from ser_lib.features import wavelet
from ser_lib.models import wader, wader_converged
from ser_lib.reporting import wader_account
from ser_lib.config import CORPUS_EMOTIONS


def test_autoencoder_and_classifier_layers():
    ae, enc = wader.autoencoder(125, 125)
    dense_units = [l.units for l in ae.layers if type(l).__name__ == "Dense"]
    assert dense_units == [64, 16, 16, 8, 16, 32, 64, 125]
    # per time step: changing one step of the input changes that step of the output only
    x = np.random.default_rng(0).standard_normal((1, 125, 125)).astype("float32")
    x2 = x.copy()
    x2[0, 7] += 1.0
    d = np.abs(ae.predict(x2, verbose=0) - ae.predict(x, verbose=0)).max(axis=2)[0]
    assert d[7] > 0 and np.all(np.delete(d, 7) == 0)
    assert sum(type(l).__name__ == "BatchNormalization" for l in ae.layers) == 7
    assert enc.output_shape == (None, 125, 8)
    clf = wader.classifier(enc, 8)
    assert not enc.trainable and clf.output_shape == (None, 8)
    convs = [l.filters for l in clf.layers if type(l).__name__ == "Conv1D"]
    assert convs == [128, 256, 512] and any(type(l).__name__ == "LSTM" for l in clf.layers)
    assert type(clf.optimizer).__name__ == "SGD"


def test_seed_subset_and_splits():
    clips = pd.DataFrame({"path": [f"/a/Actor_{a:02d}/{i:03d}.wav" for a in (2, 1) for i in range(60)],
                          "actor": [a for a in (2, 1) for _ in range(60)],
                          "emotion": np.tile(CORPUS_EMOTIONS["ravdess"], 15)})
    sub = wader.seed_subset(clips)
    assert (sub["actor"] == 1).all() and len(sub) == 60  # directory order: Actor_01 first
    (s,) = wader.splits(sub, "seed")
    assert (len(s.train), len(s.val), len(s.test)) == (42, 13, 18)  # evaluation = validation + test
    assert set(s.val) <= set(s.test) and not set(s.train) & set(s.test)


def test_actor_splits_disjoint():
    clips = pd.DataFrame({"actor": np.repeat(np.arange(1, 25), 16), "emotion": np.tile(CORPUS_EMOTIONS["ravdess"], 48)})
    folds = wader.splits(clips, "actor", n_folds=6)
    assert len(folds) == 6
    for f in folds:
        a = {p: set(clips["actor"].to_numpy()[getattr(f, p)]) for p in ("train", "val", "test")}
        assert len(a["test"]) == 4 and not (a["train"] & a["test"]) and not (a["val"] & a["test"]) and not (a["train"] & a["val"])
    with pytest.raises(ValueError):
        wader.splits(clips, "random")


@pytest.mark.slow
def test_run_fold_keeps_clips_apart_and_noise_in_training_only(tiny_ravdess, tmp_path):
    from ser_lib.data.corpus import ravdess_table

    clips, _ = ravdess_table(tiny_ravdess)
    store = wavelet.build_store(clips, cache=tmp_path, n_jobs=1, progress=False, time_pool=32)
    (fold, *_) = wader.splits(store.clips, "actor", n_folds=2)
    r = wader.run_fold(store, fold, labels=CORPUS_EMOTIONS["ravdess"], protocol="actor", max_frames=2,
                       ae_epochs=1, clf_epochs=1)
    assert not set(r["train_owners"]) & set(r["test_owners"])
    assert set(r["test_owners"]) == set(fold.test)
    n_test_clean = sum(min(2, max(1, store.clips["length"][i] // 125)) for i in fold.test)
    assert r["n_frames"]["test"] == n_test_clean  # no noisy copies in the actor test set
    n_train = sum(2 * min(2, max(1, store.clips["length"][i] // 125)) for i in fold.train)
    assert r["n_frames"]["train"] == n_train  # clean + noisy in training
    assert r["clip"]["n"] == len(fold.test) and 0 <= r["clip"]["ua"] <= 1
    s = wader.summarize_folds([r, r], CORPUS_EMOTIONS["ravdess"])
    assert s["clip"]["wa_std"] == 0 and "confusion" in s["clip_pooled"]
    # a run record of this fold gives the same summary as the fold itself (resumed experiments)
    from ser_lib.pipeline import runcache

    kept = runcache.load_run(runcache.save_run(tmp_path / "run.json", "k", r), "k")
    again = wader.summarize_folds([kept, kept], CORPUS_EMOTIONS["ravdess"])
    assert again["clip"] == s["clip"] and again["clip_pooled"]["confusion"] == s["clip_pooled"]["confusion"]


@pytest.fixture(scope="module")
def seed_store(tiny_ravdess, tmp_path_factory):
    """The CWT store of the seed protocol's clips (24 of one actor), shared by the tests that only read it."""
    from ser_lib.data.corpus import ravdess_table

    clips, _ = ravdess_table(tiny_ravdess)
    return wavelet.build_store(wader.seed_subset(clips, n_clips=24), cache=tmp_path_factory.mktemp("cwt"), n_jobs=1,
                               progress=False)


@pytest.mark.slow
def test_frame_level_split_reproduces_the_leak(seed_store):
    store = seed_store
    (fold,) = wader.splits(store.clips, "seed")
    r = wader.run_fold(store, fold, labels=CORPUS_EMOTIONS["ravdess"], protocol="seed", max_frames=2,
                       ae_epochs=1, clf_epochs=1, split_level="frame")
    assert r["leaky"] and set(r["train_owners"]) & set(r["test_owners"])  # frames of one clip on both sides
    with pytest.raises(ValueError):
        wader.run_fold(store, fold, labels=CORPUS_EMOTIONS["ravdess"], protocol="actor", split_level="frame")


def test_original_metric_counts_true_class_above_half_per_batch():
    proba = np.array([[0.6, 0.4], [0.5, 0.5], [0.2, 0.8], [0.9, 0.1], [0.3, 0.7]])
    y = np.array([0, 0, 1, 1, 1])
    # batches of 2: [hit, miss (0.5 is not > 0.5)], [hit, miss], [hit] → mean(0.5, 0.5, 1.0)
    assert wader.original_metric(proba, y, batch_size=2) == pytest.approx(2 / 3)
    assert wader.original_metric(proba, y, batch_size=64) == pytest.approx(3 / 5)
    onehot = np.eye(2, dtype="float32")[y]
    per_frame = np.asarray(wader.true_class_above_half(onehot, proba.astype("float32")))
    np.testing.assert_array_equal(per_frame, [1, 0, 1, 0, 1])


def test_classifier_on_raw_frames_needs_their_shape():
    clf = wader.classifier(None, 8, optimizer="adam", input_shape=(50, 125))
    assert clf.input_shape == (None, 50, 125) and clf.output_shape == (None, 8)
    assert not any(l.name == "wader_encoder" for l in clf.layers)
    with pytest.raises(ValueError, match="input_shape"):
        wader.classifier(None, 8)


@pytest.mark.slow
def test_seed_protocol_logs_every_epoch_and_refuses_early_stopping(seed_store):
    store = seed_store
    (fold,) = wader.splits(store.clips, "seed")
    with pytest.raises(ValueError, match="test clips"):
        wader.run_fold(store, fold, labels=CORPUS_EMOTIONS["ravdess"], protocol="seed", patience=3)
    r = wader.run_fold(store, fold, labels=CORPUS_EMOTIONS["ravdess"], protocol="seed", max_frames=2, ae_epochs=1,
                       clf_epochs=2, frame_layout="original-reshape", log_epochs=True)
    log = wader_account.epoch_log([r, r])
    assert set(log["epoch"]) == {1, 2} and set(log["run"]) == {0, 1}
    assert set(wader_account.EPOCH_READINGS) <= set(log["reading"]) and log["value"].between(0, 1).all()
    table = wader_account.where_published(log, targets=(0.0, 2.0))
    assert (table["first epoch ≥ 0.00 %"] == "1, 1").all() and (table["first epoch ≥ 200.00 %"] == "never, never").all()


def _toy_cwt(n_clips=48, seed=0):
    """Padded toy 'CWT' arrays whose first scale carries the class, for the converged trainer."""
    from ser_lib.data.protocols import Split

    rng = np.random.default_rng(seed)
    labels = CORPUS_EMOTIONS["ravdess"][:4]
    y = np.array([labels[i % 4] for i in range(n_clips)], dtype=object)
    lengths = rng.integers(20, 40, n_clips)
    X = rng.standard_normal((n_clips, 40, 6)).astype(np.float16)
    for i in range(n_clips):
        X[i, :, 0] += labels.index(y[i])
        X[i, lengths[i]:] = 0
    idx = np.arange(n_clips)
    a, b = 2 * n_clips // 3, 5 * n_clips // 6
    return X, lengths, y, labels, Split(0, idx[:a], idx[a:b], idx[b:])


def test_converged_training_selects_on_validation_actors_only():
    X, lengths, y, labels, split = _toy_cwt()
    kw = dict(labels=labels, seed=3, frame_steps=16, epochs=3, patience=2, ae_epochs=1, batch_size=16)
    r1 = wader_converged.train_converged_fold(X, lengths, y, split, **kw)
    y_scrambled = y.copy()
    y_scrambled[split.test] = np.roll(y[split.test], 1)
    r2 = wader_converged.train_converged_fold(X, lengths, y_scrambled, split, **kw)
    r3 = wader_converged.train_converged_fold(X, lengths, y, split, **kw)
    # determinism: the same settings, data and seed give the same run, to the last bit
    pd.testing.assert_frame_equal(r1.history, r3.history, check_exact=True)
    np.testing.assert_array_equal(r1.proba, r3.proba)
    # the test labels cannot move training, the stopping epoch or the test predictions
    pd.testing.assert_frame_equal(r1.history, r2.history)
    assert r1.best_epoch == r2.best_epoch
    np.testing.assert_array_equal(r1.y_pred, r2.y_pred)
    assert len(r1.y_pred) == len(split.test) and r1.extra["n_windows"] >= len(split.test)
    with pytest.raises(ValueError, match="unknown WaDER settings"):
        wader_converged.train_converged_fold(X, lengths, y, split, labels=labels, frames=3)


def test_noisy_copies_join_training_only_and_seed_summary():
    X, lengths, y, labels, split = _toy_cwt(n_clips=12)
    X2, L2, s2 = wader_converged.with_noisy_copies(X, X + 1, lengths, split)
    assert len(X2) == 24 and set(s2.train) == set(split.train) | {i + 12 for i in split.train}
    assert set(s2.test) == set(split.test) and max(s2.val.max(), s2.test.max()) < 12  # clean copies only
    from ser_lib.evaluation import metrics as M
    from ser_lib.models.training import FoldResult, summarize

    def fold(f, acc):
        y_true = np.array(labels * 2, dtype=object)
        y_pred = y_true.copy()
        y_pred[: 8 - acc] = labels[0] if y_true[0] != labels[0] else labels[1]
        return FoldResult(f, M.evaluate(y_true, y_pred, labels), pd.DataFrame({"loss": [1.0]}), y_true, y_pred,
                          np.eye(4)[[labels.index(v) for v in y_pred]], 1, 1, 1.0,
                          extra={"frame": {"wa": 0.5, "ua": 0.5}})

    s = summarize({0: [fold(0, 8), fold(1, 6)], 1: [fold(0, 8), fold(1, 4)]}, labels)
    assert s["n_test_clips"] == 16 and len(s["folds"]) == 4
    per_seed = [s["per_seed"]["0"]["ua"], s["per_seed"]["1"]["ua"]]
    assert s["ua"] == pytest.approx(np.mean(per_seed)) and s["ua_seed_std"] == pytest.approx(np.std(per_seed))
    row = wader_converged.ablation_row(s, encoder=False, time_pool=64, frame_seconds=1.0)
    assert row["feature_set"] == "log-CWT ×64, 1.0 s" and row["seeds"] == 2 and row["ua"] == s["ua"]
    assert {"classifier", "normalisation", "ua_std", "macro_f1", "macro_f1_std"} <= set(row)
