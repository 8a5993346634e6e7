"""Run records: round trip, refusal of tampered / renamed / foreign files, keys, and the code
fingerprint they depend on."""

import json
import math

import numpy as np
import pytest

from ser_lib.data import identity
from ser_lib.pipeline import runcache, sources


def _results():
    return {"clip": {"ua": 0.5, "wa_ci": (0.25, 0.75), "per_class": [{"class": "angry", "n": np.int64(3)}]},
            "clip_proba": np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
            "clip_true": np.array(["angry", "sad"], dtype=object), "rows": np.array([4, 9]),
            "history": {"loss": [1.0, float("nan")]}, "leaky": False, "note": None}


def test_round_trip_keeps_values_dtypes_and_shapes(tmp_path):
    path = runcache.save_run(tmp_path / "r.json", "k1", _results())
    back = runcache.load_run(path, "k1")
    assert back["clip"]["ua"] == 0.5 and back["clip"]["wa_ci"] == [0.25, 0.75]
    assert back["clip"]["per_class"][0] == {"class": "angry", "n": 3}
    assert back["clip_proba"].dtype == np.float32 and back["clip_proba"].shape == (2, 3)
    np.testing.assert_array_equal(back["clip_proba"], _results()["clip_proba"])
    assert back["clip_true"].dtype == object and list(back["clip_true"]) == ["angry", "sad"]
    assert back["rows"].dtype == np.array([1]).dtype and list(back["rows"]) == [4, 9]
    assert back["history"]["loss"][0] == 1.0 and math.isnan(back["history"]["loss"][1])
    assert back["leaky"] is False and back["note"] is None
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, no temporary left behind


def test_tampered_truncated_renamed_and_foreign_records_are_refused(tmp_path):
    path = runcache.save_run(tmp_path / "r.json", "k1", _results())
    doc = json.loads(path.read_text())
    doc["results"]["clip"]["ua"] = 0.99
    (tmp_path / "edited.json").write_text(json.dumps(doc))
    with pytest.raises(runcache.RunCacheError, match="checksum") as err:
        runcache.load_run(tmp_path / "edited.json", "k1")
    assert "\n" not in str(err.value) and "edited.json" in str(err.value)
    (tmp_path / "cut.json").write_text(path.read_text()[:50])
    with pytest.raises(runcache.RunCacheError, match="not a readable run record"):
        runcache.load_run(tmp_path / "cut.json", "k1")
    with pytest.raises(runcache.RunCacheError, match="written for run k1, not k2"):
        runcache.load_run(path, "k2")
    (tmp_path / "other.json").write_text(json.dumps({"format": "something else", "results": {}}))
    with pytest.raises(runcache.RunCacheError, match="not a run record"):
        runcache.load_run(tmp_path / "other.json", "k1")
    (tmp_path / "binary.json").write_bytes(b"\x80\x04\x95 pickle-like bytes")
    with pytest.raises(runcache.RunCacheError):
        runcache.load_run(tmp_path / "binary.json", "k1")


def test_run_key_depends_on_everything_the_run_depends_on():
    base = dict(settings={"epochs": 50, "labels": ["a", "b"]}, seed=0, fold=0, data="store-1", code="c1")
    key = runcache.run_key(base["settings"], **{k: v for k, v in base.items() if k != "settings"})
    assert len(key) == 32
    same = runcache.run_key({"labels": ["a", "b"], "epochs": 50}, seed=0, fold=0, data="store-1", code="c1")
    assert same == key  # dict order does not matter
    variants = [runcache.run_key({"epochs": 51, "labels": ["a", "b"]}, seed=0, fold=0, data="store-1", code="c1"),
                runcache.run_key(base["settings"], seed=1, fold=0, data="store-1", code="c1"),
                runcache.run_key(base["settings"], seed=0, fold=1, data="store-1", code="c1"),
                runcache.run_key(base["settings"], seed=0, fold=0, data="store-2", code="c1"),
                runcache.run_key(base["settings"], seed=0, fold=0, data="store-1", code="c2")]
    assert len({key, *variants}) == 6


def test_cached_run_computes_once_then_reads_the_record(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"ua": 0.4, "proba": np.ones((2, 2), dtype=np.float32)}

    kw = dict(settings={"epochs": 3}, seed=0, fold=1, data="store", cache=tmp_path, code="c")
    first = runcache.cached_run(compute, **kw)
    second = runcache.cached_run(compute, **kw)
    assert len(calls) == 1 and first["from_cache"] is False and second["from_cache"] is True
    assert second["ua"] == 0.4 and second["proba"].dtype == np.float32
    assert len(list((tmp_path / "runs").glob("*.json"))) == 1
    runcache.cached_run(compute, **{**kw, "seed": 1})  # another seed: computed, a second record
    assert len(calls) == 2 and len(list((tmp_path / "runs").glob("*.json"))) == 2
    with pytest.raises(ValueError, match="modules"):
        runcache.cached_run(compute, settings={}, seed=0, fold=0, data="store", cache=tmp_path)


def test_a_tampered_record_stops_the_run_with_one_line(tmp_path):
    kw = dict(settings={}, seed=0, fold=0, data="store", cache=tmp_path, code="c")
    runcache.cached_run(lambda: {"ua": 0.4}, **kw)
    (path,) = (tmp_path / "runs").glob("*.json")
    path.write_text(path.read_text().replace("0.4", "0.9"))
    with pytest.raises(runcache.RunCacheError, match="delete it to recompute"):
        runcache.cached_run(lambda: {"ua": 0.4}, **kw)


def test_results_that_cannot_be_saved_are_still_returned(tmp_path):
    kw = dict(settings={}, seed=0, fold=0, data="store", cache=tmp_path, code="c")
    with pytest.warns(UserWarning, match="run record not saved"):
        out = runcache.cached_run(lambda: {"model": object(), "ua": 0.3}, **kw)
    assert out["ua"] == 0.3 and out["from_cache"] is False
    assert not list((tmp_path / "runs").glob("*.json"))


def test_code_fingerprint_follows_imports_and_changes_with_any_module(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "__init__.py").write_text("")
    (lib / "a.py").write_text("from ser_lib import b\n")
    (lib / "b.py").write_text("from ser_lib.c import f\n")
    (lib / "c.py").write_text("def f():\n    return 1\n")
    (lib / "d.py").write_text("x = 1\n")
    assert [p.name for p in sources.module_closure(["a"], lib)] == ["__init__.py", "a.py", "b.py", "c.py"]
    before = sources.source_fingerprint(["a"], lib)
    (lib / "d.py").write_text("x = 2\n")  # not imported by a: same fingerprint
    assert sources.source_fingerprint(["a"], lib) == before
    (lib / "c.py").write_text("def f():\n    return 2\n")  # imported through b: changes it
    assert sources.source_fingerprint(["a"], lib) != before
    assert sources.imported_modules("import ser_lib.x\nfrom ser_lib import y, z\nfrom ser_lib.p import q\nfrom os import path") \
        == {"x", "y", "z", "p", "p.q"}


def test_wader_fingerprint_covers_its_training_code():
    files = {p.relative_to(sources.LIB_DIR).as_posix() for p in sources.module_closure(["models.wader"])}
    assert {"models/wader.py", "features/wavelet.py", "models/training.py", "evaluation/metrics.py",
            "__init__.py", "models/__init__.py"} <= files
    # report plumbing does not invalidate runs
    assert not {"pipeline/runcache.py", "pipeline/run.py", "pipeline/execute.py", "reporting/summary.py"} & files


def test_archive_records_are_read_and_written_beside_the_cache(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"ua": 0.4}

    kw = dict(settings={}, seed=0, fold=0, data="store", code="c", archive=tmp_path / "archive")
    runcache.cached_run(compute, cache=tmp_path / "machine-1", **kw)
    assert len(list((tmp_path / "archive").glob("*.json"))) == 1
    again = runcache.cached_run(compute, cache=tmp_path / "machine-2", **kw)  # fresh cache, same archive
    assert len(calls) == 1 and again["from_cache"] is True and again["ua"] == 0.4


def test_data_identity_ignores_file_times_but_not_content_or_settings(tmp_path):
    import os

    import pandas as pd

    for name, body in (("a.wav", b"12345"), ("b.wav", b"123")):
        (tmp_path / name).write_bytes(body)
    clips = pd.DataFrame({"clip": ["a", "b"], "path": [str(tmp_path / "a.wav"), str(tmp_path / "b.wav")],
                          "length": [10, 7]})
    ident = identity.data_identity(clips, {"time_pool": 1}, noise_seed=0)
    os.utime(tmp_path / "a.wav", (1, 1))  # a fresh copy of the corpus: new times only
    assert identity.data_identity(clips, {"time_pool": 1}, noise_seed=0) == ident
    assert identity.data_identity(clips.iloc[::-1], {"time_pool": 1}, noise_seed=0) == ident  # order-free
    (tmp_path / "b.wav").write_bytes(b"1234")
    changed = [identity.data_identity(clips, {"time_pool": 1}, noise_seed=0),
               identity.data_identity(clips.assign(length=[10, 8]), {"time_pool": 1}, noise_seed=0),
               identity.data_identity(clips, {"time_pool": 32}, noise_seed=0),
               identity.data_identity(clips, {"time_pool": 1}, noise_seed=1)]
    assert ident not in changed and len(set(changed)) == 4


def test_clip_key_follows_the_bytes_not_the_file_time(tmp_path):
    """A corpus copied or re-downloaded (new file times, same bytes) keeps its caches; a clip whose
    content changed at the same size gets a new key."""
    import os
    import shutil

    a = tmp_path / "a" / "1001_DFA_ANG_XX.wav"
    a.parent.mkdir()
    a.write_bytes(b"RIFF" + bytes(range(200)))
    b = tmp_path / "b" / a.name
    b.parent.mkdir()
    shutil.copyfile(a, b)
    os.utime(b, ns=(10**18, 10**18))
    assert identity.clip_key(a) == identity.clip_key(b) and identity.clip_key(a).startswith("1001_DFA_ANG_XX.wav|204|")
    b.write_bytes(b"RIFF" + bytes(range(1, 201)))
    assert identity.clip_key(b) != identity.clip_key(a)
    assert identity.file_key(a, sr=16000) != identity.file_key(a, sr=8000)
