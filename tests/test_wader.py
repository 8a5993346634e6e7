import numpy as np
import pandas as pd
import pytest

from ser_lib import wader, wavelet
from ser_lib.config import CORPUS_EMOTIONS


def test_autoencoder_and_classifier_layers():
    ae, enc = wader.autoencoder(125, 124)
    dense_units = [l.units for l in ae.layers if type(l).__name__ == "Dense"]
    assert dense_units == [64, 16, 16, 8, 16, 32, 64, 124]
    # per time step: changing one step of the input changes that step of the output only
    x = np.random.default_rng(0).standard_normal((1, 125, 124)).astype("float32")
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
    from ser_lib.corpus import ravdess_table

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


@pytest.mark.slow
def test_frame_level_split_reproduces_the_leak(tiny_ravdess, tmp_path):
    from ser_lib.corpus import ravdess_table

    clips, _ = ravdess_table(tiny_ravdess)
    store = wavelet.build_store(wader.seed_subset(clips, n_clips=24), cache=tmp_path, n_jobs=1, progress=False)
    (fold,) = wader.splits(store.clips, "seed")
    r = wader.run_fold(store, fold, labels=CORPUS_EMOTIONS["ravdess"], protocol="seed", max_frames=2,
                       ae_epochs=1, clf_epochs=1, split_level="frame")
    assert r["leaky"] and set(r["train_owners"]) & set(r["test_owners"])  # frames of one clip on both sides
    with pytest.raises(ValueError):
        wader.run_fold(store, fold, labels=CORPUS_EMOTIONS["ravdess"], protocol="actor", split_level="frame")
