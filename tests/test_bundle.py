"""Pickle-free model bundles: same scores after loading, and refusal of anything doubtful."""

import json

import numpy as np
import pytest

from ser_lib.models import bundle, linear

LABELS = ["ANG", "HAP", "NEU"]


def _pipelines(classifier):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 88))
    y = np.array(LABELS)[rng.integers(0, 3, 120)]
    X[y == "ANG", 0] += 2
    return X, {m: linear.make_pipeline(classifier, C=0.3, scaler=s).fit(X, y)
               for m, s in (("global", "standard"), ("speaker", "robust"))}


META = {"feature_set": "eGeMAPSv02", "n_features": 88, "sr": 16000,
        "trained_on": {"corpus": "crema-d", "data": "real"}}


@pytest.mark.parametrize("classifier", ["svm", "logreg"])
def test_round_trip_gives_the_same_scores(tmp_path, classifier):
    X, pipes = _pipelines(classifier)
    path = bundle.save_bundle(tmp_path / "m", pipes, meta={**META, "classifier": classifier})
    b = bundle.load_bundle(path)
    assert b.labels == LABELS and b.meta["trained_on"]["data"] == "real"
    for mode, p in pipes.items():
        expected = linear.scores_of(p, X)
        np.testing.assert_allclose(b.scores(X, mode=mode), expected, atol=1e-3)
        assert (b.scores(X, mode=mode).argmax(1) == expected.argmax(1)).all()
    other = bundle.save_bundle(tmp_path / "copy" / "m", pipes, meta={**META, "classifier": classifier})
    assert bundle.compare(path, other)["max_abs_diff"] == 0.0


@pytest.fixture
def saved(tmp_path):
    _, pipes = _pipelines("svm")
    return bundle.save_bundle(tmp_path / "m", pipes, meta={**META, "classifier": "svm"})


def _refused(path, match):
    with pytest.raises(bundle.BundleError, match=match) as info:
        bundle.load_bundle(path)
    assert "\n" not in str(info.value)


def test_truncated_or_tampered_arrays_are_refused(saved):
    npz = saved.with_suffix(".npz")
    data = npz.read_bytes()
    npz.write_bytes(data[: len(data) // 2])
    _refused(saved, "checksum")
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    npz.write_bytes(bytes(flipped))
    _refused(saved, "checksum")


def test_pickled_arrays_are_never_loaded(saved):
    """Even with a matching checksum, an object (pickled) array is refused, not unpickled."""
    npz = saved.with_suffix(".npz")
    arrays = dict(np.load(npz))
    arrays["global/coef"] = np.array([{"evil": 1}], dtype=object)
    np.savez(npz, **arrays)
    meta = json.loads(saved.read_text())
    meta["sha256"] = bundle._sha256(npz)
    saved.write_text(json.dumps(meta))
    _refused(saved, "unreadable arrays")


def _signed(meta):
    return {**meta, "meta_sha256": bundle.meta_digest(meta)}


def test_mismatched_sidecars_are_refused(saved):
    meta = json.loads(saved.read_text())
    saved.write_text(json.dumps({**meta, "n_features": 6373}))
    _refused(saved, "do not match their checksum")
    saved.write_text(json.dumps(_signed({**meta, "n_features": 6373, "feature_set": "ComParE_2016"})))
    _refused(saved, "do not fit")
    saved.write_text(json.dumps(_signed({**meta, "labels": ["ANG", "HAP"]})))
    _refused(saved, "do not fit")
    saved.write_text(json.dumps({**meta, "format": "something-else"}))
    _refused(saved, "not a ser-linear-bundle")
    saved.write_text("{not json")
    _refused(saved, "not a valid JSON")
    saved.with_suffix(".npz").unlink()
    _refused(saved, "not found")


def test_scores_check_the_feature_count(saved):
    b = bundle.load_bundle(saved)
    with pytest.raises(bundle.BundleError, match="expects 88 features"):
        b.scores(np.zeros((2, 6)))


def test_install_copies_both_files(saved, tmp_path):
    target = bundle.install(saved, tmp_path / "shipped" / "m.json")
    assert bundle.load_bundle(target).labels == LABELS
    with pytest.raises(ValueError, match="keeps its name"):
        bundle.install(saved, tmp_path / "shipped" / "other.json")


def test_ovr_scores_follow_the_votes():
    d = np.array([[1.0, 1.0, -1.0], [-2.0, -0.5, 0.3]])  # pairs (0,1), (0,2), (1,2)
    s = bundle.ovr_scores(d, 3)
    assert s[0].argmax() == 0 and s[1].argmax() == 1
    assert np.all(np.abs(s - np.round(s)) < 1 / 3)


def test_every_field_that_changes_a_prediction_is_covered(saved):
    """Reversing the labels (angry would read as sad) or editing any signed field is refused."""
    meta = json.loads(saved.read_text())
    for field, value in (("labels", meta["labels"][::-1]), ("sr", 8000), ("feature_set", "ComParE_2016"),
                         ("classifier", "logreg"), ("modes", ["global"]), ("trained_on", {"data": "synthetic"}),
                         ("calibration", {"global": {"temperature": 0.01, "threshold": 0.0}}), ("front_end", "level")):
        saved.write_text(json.dumps({**meta, field: value}))
        _refused(saved, "checksum")


@pytest.mark.parametrize("field, value, match", [
    ("n_features", None, "positive integer"), ("labels", None, "distinct non-empty strings"),
    ("labels", ["ANG", "ANG", "NEU"], "distinct"), ("sr", -1, "positive integer"), ("sr", "16k", "positive integer"),
    ("classifier", "forest", "unknown classifier"), ("modes", [], "modes"), ("feature_set", "MFCC", "unknown feature set"),
    ("trained_on", None, "real or synthetic"), ("front_end", "loud", "unknown front end"),
    ("calibration", {"global": {"temperature": 0, "threshold": 0.5}}, "positive finite temperature"),
    ("calibration", {"global": {"temperature": 1.0, "threshold": 1.5}}, "threshold in \\[0, 1\\]"),
    ("calibration", {"neutral": {"temperature": 1.0, "threshold": 0.5}}, "must map some of the modes"),
])
def test_malformed_fields_are_refused_in_one_line(saved, field, value, match):
    meta = json.loads(saved.read_text())
    saved.write_text(json.dumps(_signed({**meta, field: value})))
    _refused(saved, match)


def test_non_finite_coefficients_are_refused_even_with_a_matching_checksum(saved):
    npz = saved.with_suffix(".npz")
    arrays = dict(np.load(npz))
    arrays["speaker/coef"] = arrays["speaker/coef"].copy()
    arrays["speaker/coef"][0, 0] = np.nan
    np.savez(npz, **arrays)
    meta = json.loads(saved.read_text())
    meta["sha256"] = bundle._sha256(npz)
    saved.write_text(json.dumps(meta))
    _refused(saved, "non-finite")


def test_the_shipped_model_is_signed():
    from ser_lib.models.predict import DEFAULT_MODEL

    meta = json.loads(DEFAULT_MODEL.read_text())
    assert meta["format"] == bundle.FORMAT and meta["meta_sha256"] == bundle.meta_digest(meta)
    bundle.load_bundle(DEFAULT_MODEL)


def test_a_calibrated_bundle_gives_probabilities_and_its_threshold(tmp_path):
    from ser_lib.evaluation.calibration import softmax

    X, pipes = _pipelines("svm")
    cal = {"global": {"temperature": 0.7, "threshold": 0.55}, "speaker": {"temperature": 2.0, "threshold": 0.4}}
    b = bundle.load_bundle(bundle.save_bundle(tmp_path / "m", pipes, meta={**META, "classifier": "svm", "calibration": cal}))
    assert b.calibrated
    p, threshold = b.probabilities(X, mode="speaker")
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p, softmax(b.scores(X, mode="speaker"), temperature=2.0))
    assert threshold == 0.4 and (p.argmax(1) == b.scores(X, mode="speaker").argmax(1)).all()
    plain = bundle.load_bundle(bundle.save_bundle(tmp_path / "p", pipes, meta={**META, "classifier": "svm"}))
    assert not plain.calibrated
    with pytest.raises(bundle.BundleError, match="no calibration"):
        plain.probabilities(X)
    with pytest.raises(bundle.BundleError, match="positive finite temperature"):
        bundle.save_bundle(tmp_path / "bad", pipes, meta={**META, "classifier": "svm",
                                                          "calibration": {"global": {"temperature": -1, "threshold": 0.5}}})
