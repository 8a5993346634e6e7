"""Every bad input of issue "Nothing lost, nothing silently wrong" gets one line, a clear exit code
and no traceback: predict's refusals, damaged caches, bad ``--set`` values, unwritable reports,
corpora too small for their folds, an unreachable scheduler, the embedded cluster on loopback."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ser_lib.models import predict as P
from ser_lib.features.vad_calibration import non_speech_signals

PROJECT = Path(__file__).resolve().parents[1]


def _strict(text: str):
    """json.loads that refuses NaN / Infinity, as strict parsers do."""
    return json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(f"non-standard JSON {c}")))


def _cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "ser_lib", "predict", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_crema):
    d = tmp_path_factory.mktemp("bad")
    speech = sorted((tiny_crema / "AudioWAV").glob("*.wav"))
    out = {}
    for k, src in enumerate(speech[:5]):
        out[f"speech{k}"] = d / f"speech{k}.wav"
        shutil.copy(src, out[f"speech{k}"])
    y, sr = sf.read(speech[0], dtype="float32")
    for ms in (10, 50):  # a sliver of speech, the length at which openSMILE gave NaN
        out[f"cut{ms}"] = d / f"cut{ms}.wav"
        mid = len(y) // 2
        sf.write(out[f"cut{ms}"], y[mid: mid + sr * ms // 1000], sr)
    signals = non_speech_signals()
    for name, key in (("white noise rms 0.1", "noise"), ("sine 1000 Hz", "sine"), ("DC offset 0.3", "dc"),
                      ("melody with percussion", "music")):
        out[key] = d / f"{key}.wav"
        sf.write(out[key], signals[name].astype("float32"), 16000)
    return out


def test_non_speech_and_slivers_are_refused_never_nan(files):
    res = {Path(r["file"]).stem: r for r in P.predict([files[k] for k in ("speech0", "cut10", "cut50", "noise", "sine",
                                                                            "dc", "music")])}
    assert "emotion" in res["speech0"]
    for key in ("noise", "sine", "dc", "music"):
        assert res[key]["error"].startswith("no speech detected"), (key, res[key])
    for key in ("cut10", "cut50"):
        assert "error" in res[key] and ("speech" in res[key]["error"]), res[key]
    for r in res.values():
        for v in (r.get("scores") or r.get("probabilities") or {}).values():
            assert math.isfinite(v)


def test_json_output_is_strict_and_exit_codes_are_documented(files):
    done = _cli(files["speech0"], files["cut10"], files["noise"], "--json")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    parsed = _strict(done.stdout)
    assert [("error" in r) for r in parsed] == [False, True, True]
    assert "NaN" not in done.stdout
    ok = _cli(files["speech0"], "--json")
    assert ok.returncode == 0 and _strict(ok.stdout)[0]["emotion"]
    usage = _cli(files["speech0"], "--bogus")
    assert usage.returncode == 2


def test_same_speaker_refuses_degenerate_batches_and_names_what_it_dropped(files):
    dup = P.predict([files["speech0"], files["speech0"], files["speech1"], files["speech2"], files["speech3"]],
                    same_speaker=True)
    assert "same audio as speech0.wav" in dup[1]["error"]
    assert [("error" in r) for r in dup] == [False, True, False, False, False]
    assert dup[0]["mode"] == "same speaker: 4 recordings normalised together"
    two = P.predict([files["speech0"], files["speech0"]], same_speaker=True)
    assert all("error" in r for r in two) and "at least 4 distinct" in two[0]["error"]
    with_sliver = P.predict([files["speech0"], files["speech1"], files["cut10"]], same_speaker=True)
    assert all("error" in r for r in with_sliver)  # never a batch of identical bias-only answers
    done = _cli(files["speech0"], files["speech0"], "--same-speaker")
    assert done.returncode == 1 and "Traceback" not in done.stderr and "same audio as speech0.wav" in done.stderr


def _copy_default(tmp_path) -> Path:
    for suffix in (".json", ".npz"):
        shutil.copy(P.DEFAULT_MODEL.with_suffix(suffix), tmp_path / ("m" + suffix))
    return tmp_path / "m.json"


@pytest.mark.parametrize("edit", ["reverse labels", "labels null", "n_features null"])
def test_an_edited_sidecar_is_refused_in_one_line(tmp_path, files, edit):
    path = _copy_default(tmp_path)
    meta = json.loads(path.read_text())
    if edit == "reverse labels":
        meta["labels"] = meta["labels"][::-1]
    else:
        meta[edit.split()[0]] = None
    path.write_text(json.dumps(meta))
    done = _cli(files["speech0"], "--model", path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "checksum" in done.stderr


def test_model_paths_that_are_plainly_wrong_fail_before_tensorflow(tmp_path):
    (tmp_path / "garbage.keras").write_bytes(b"not a zip archive")
    (tmp_path / "garbage.json").write_text("{}")
    for path, match in ((tmp_path, "is a folder"), (tmp_path / "garbage.keras", "not a Keras model archive"),
                        (tmp_path / "x.pt", "unknown kind of model file"), (tmp_path / "none.keras", "no such file")):
        with pytest.raises(P.ModelNotFoundError, match=match):
            P.check_model_path(path)
    code = ("import sys\nfrom ser_lib.models import predict as P\n"
            f"try:\n    P.load_model({str(tmp_path / 'garbage.keras')!r})\nexcept P.ModelNotFoundError as e:\n    print(e)\n"
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout.split("\n")
    assert "not a Keras model archive" in out[0] and out[1] == "False"


# --- the pipeline ------------------------------------------------------------------------------

def _pipeline(*args, env=None, timeout=300):
    env = {**{k: v for k, v in os.environ.items() if k not in ("DATA_ROOT", "SCHEDULER")}, **(env or {})}
    return subprocess.run([sys.executable, "-m", "ser_lib.pipeline", *map(str, args)], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _one_line_error(done, rc=2):
    assert done.returncode == rc, done.stdout[-1500:] + done.stderr[-1500:]
    assert "Traceback" not in done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("error:")


@pytest.mark.parametrize("item, match", [
    ("epoch=1", "did you mean epochs"), ("n_folds=!!python/object:os.system x", "not plain YAML"),
    ("n_folds=[0, 1", "not plain YAML"), ("data_root=/x", "set by the pipeline"), ("noequals", "KEY=VALUE"),
])
def test_set_refuses_unknown_keys_and_values_that_are_not_plain_yaml(item, match):
    done = _pipeline("--demo", "--only", "cnn1d-rolloff-actor", "--set", item)
    _one_line_error(done)
    assert match in done.stderr
    if "did you mean" in match:
        assert "their parameters:" in done.stderr


def test_unwritable_reports_folder_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    for where in (tmp_path / "file" / "reports", Path("/sys/ser-reports-test")):
        done = _pipeline("--demo", "--only", "explore-crema-d", "--reports-dir", where, "--cache", tmp_path / "c")
        _one_line_error(done)
        assert "cannot write the reports folder" in done.stderr


def test_a_corpus_too_small_for_its_folds_is_one_line(tmp_path, tiny_crema):
    root = tmp_path / "data"
    (root / "crema-d" / "AudioWAV").mkdir(parents=True)
    for src in sorted((tiny_crema / "AudioWAV").glob("*.wav"))[:3]:
        shutil.copy(src, root / "crema-d" / "AudioWAV" / src.name)
    done = _pipeline("--data-root", root, "--only", "explore-crema-d", "--cache", tmp_path / "c")
    _one_line_error(done)
    assert "too small" in done.stderr and "3 usable clips" in done.stderr


def test_an_unreachable_scheduler_answers_within_about_ten_seconds():
    import socket
    import time

    with socket.socket() as s:  # a free local port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.time()
    done = _pipeline("--demo", "--only", "explore-crema-d", "--scheduler", f"tcp://127.0.0.1:{port}")
    _one_line_error(done)
    assert "no Dask scheduler answers" in done.stderr and time.time() - t0 < 60
    done = _pipeline("--demo", "--only", "explore-crema-d", "--scheduler", "http://nowhere")
    _one_line_error(done)


def test_the_embedded_cluster_listens_on_loopback_only():
    from ser_lib import pipeline

    from ser_lib.pipeline.run import _dask_client

    client, cluster = _dask_client(1, None)
    try:
        addresses = [cluster.scheduler_address, *(w["host"] for w in client.scheduler_info()["workers"].values())]
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        assert all("127.0.0.1" in a for a in addresses), addresses
    finally:
        client.close()
        cluster.close()


# --- caches --------------------------------------------------------------------------------------

def test_a_truncated_feature_cache_is_named_and_recomputed(tmp_path):
    from ser_lib.features import clipcache

    def compute(path):
        return {"x": np.full(3, len(path), dtype=np.float32)}

    store = tmp_path / "features" / "f.npz"
    paths = [str(tmp_path / f"clip{k}.wav") for k in range(4)]
    for p in paths:
        Path(p).write_bytes(b"x")
    keys, first = clipcache.cached_map(paths, compute, store=store, names=("x",), n_jobs=1, progress=False)
    store.write_bytes(store.read_bytes()[:100])  # truncated
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        keys2, again = clipcache.cached_map(paths, compute, store=store, names=("x",), n_jobs=1, progress=False)
    assert any(str(store) in str(w.message) and "recomputing" in str(w.message) for w in caught)
    assert keys2 == keys and all(np.array_equal(again[k]["x"], first[k]["x"]) for k in keys)
    assert not list(store.parent.glob("*.tmp"))


def test_a_truncated_audit_record_is_named_and_recomputed(tmp_path, tiny_crema):
    from ser_lib.data import audio, corpus

    clips, _ = corpus.corpus_table("crema-d", tiny_crema)
    clips = clips.head(3)
    first = audio.audit_clips(clips, cache=tmp_path, n_jobs=1, progress=False, warn=False)
    victim = sorted((tmp_path / "audit").glob("*.json"))[0]
    victim.write_text(victim.read_text()[:10])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = audio.audit_clips(clips, cache=tmp_path, n_jobs=1, progress=False, warn=False)
    assert any(victim.name in str(w.message) for w in caught)
    assert again["duration_s"].tolist() == first["duration_s"].tolist()
