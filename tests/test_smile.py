"""openSMILE functionals: sizes, bad input listed, cache reused."""

import numpy as np
import pytest
import soundfile as sf

from ser_lib.data import corpus as C
from ser_lib.features import smile


def test_functionals_of_a_signal():
    t = np.arange(32000) / 16000
    y = (0.3 * np.sin(2 * np.pi * 160 * t * (1 + 0.2 * t))).astype(np.float32)
    x = smile.functionals_of_signals([y, y[:8000]], feature_set="eGeMAPSv02")  # in worker processes
    assert x.shape == (2, 88) and x.dtype == np.float32 and np.isfinite(x).all()
    assert len(smile.feature_names("eGeMAPSv02")) == 88
    with pytest.raises(ValueError, match="unknown openSMILE feature set"):
        smile.functionals_of_signals([y], feature_set="GeMAPS-ish")
    with pytest.raises(ValueError, match="non-empty 1-D"):
        smile.functionals_of_signals([np.zeros((2, 100))], feature_set="eGeMAPSv02")


def test_opensmile_survives_a_process_that_loaded_tensorflow():
    """openSMILE aborts a process that imported TensorFlow first; the library keeps it in workers."""
    import subprocess
    import sys

    code = ("import tensorflow, numpy as np; from ser_lib.features import smile; "
            "print(smile.functionals_of_signals([np.sin(np.arange(16000) / 7).astype('float32')], "
            "feature_set='eGeMAPSv02').shape)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "(1, 88)" in done.stdout, done.stderr[-500:]


def test_extract_lists_bad_clips_and_reuses_the_cache(tiny_crema, tmp_path):
    clips, _ = C.corpus_table("crema-d", tiny_crema)
    clips = clips.head(6).copy()
    bad = tmp_path / "1091_TSI_SAD_XX.wav"
    sf.write(bad, np.zeros(16000, dtype=np.float32), 16000)  # all silent
    clips.loc[len(clips)] = {**clips.iloc[0].to_dict(), "clip": bad.stem, "path": str(bad)}
    X, kept, skipped = smile.extract_functionals(clips, feature_set="eGeMAPSv02", cache=tmp_path / "c", n_jobs=1,
                                                 progress=False)
    assert X.shape == (6, 88) and len(kept) == 6
    assert skipped["clip"].tolist() == [bad.stem] and "silent" in skipped["reason"][0]
    stores = list((tmp_path / "c" / "features").glob("smile-eGeMAPSv02-*.npz"))
    assert len(stores) == 1
    before = stores[0].stat().st_mtime_ns
    X2, _, skipped2 = smile.extract_functionals(clips, feature_set="eGeMAPSv02", cache=tmp_path / "c", n_jobs=1,
                                                progress=False)
    np.testing.assert_array_equal(X, X2)
    assert stores[0].stat().st_mtime_ns == before and len(skipped2) == 1  # nothing recomputed
