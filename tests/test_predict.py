"""Saved model → same probabilities after loading; the predict CLI on generated audio and bad files."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from ser_lib.features import features as F
from ser_lib.models import predict as P
from ser_lib.models.models import build

LABELS = ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = build("cnn1d", (314, 1), 6, learning_rate=1e-3)  # untrained weights suffice for these checks
    path = P.save_model(model, tmp_path_factory.mktemp("m") / "crema-d", corpus="crema-d", labels=LABELS,
                        features=["rms", "zcr"], feature_settings=F.DEFAULTS, experiment="test")
    return model, path


@pytest.fixture(scope="module")
def audio_files(tmp_path_factory, tiny_crema):
    d = tmp_path_factory.mktemp("audio")
    y, sr = sf.read(sorted((tiny_crema / "AudioWAV").glob("*.wav"))[0], dtype="float32")
    f = {}
    f["mono"] = d / "mono.wav"
    sf.write(f["mono"], y, sr)
    import librosa
    f["stereo44k"] = d / "stereo44k.flac"
    y44 = librosa.resample(y, orig_sr=sr, target_sr=44100)
    sf.write(f["stereo44k"], np.stack([y44, 0.5 * y44], axis=1), 44100)
    f["long"] = d / "long.ogg"
    sf.write(f["long"], np.tile(y, 20)[: sr * 12], sr, format="OGG", subtype="VORBIS")  # 12 s
    for k, other in enumerate(sorted((tiny_crema / "AudioWAV").glob("*.wav"))[1:4]):  # distinct speech-like clips
        f[f"clip{k}"] = d / f"clip{k}.wav"
        sf.write(f[f"clip{k}"], *sf.read(other, dtype="float32"))
    f["silent"] = d / "silent.wav"
    sf.write(f["silent"], np.zeros(sr, dtype="float32"), sr)
    f["empty"] = d / "empty.wav"
    f["empty"].write_bytes(b"")
    f["corrupt"] = d / "corrupt.wav"
    f["corrupt"].write_bytes(b"RIFF....WAVEnot really")
    f["missing"] = d / "missing.wav"
    return f


def test_saved_then_loaded_model_gives_the_same_probabilities(saved, audio_files):
    model, path = saved
    loaded, meta = P.load_model(path)
    assert meta["labels"] == LABELS and meta["features"] == ["rms", "zcr"] and meta["window_samples"] == 80080
    y, _ = P.load_clip(audio_files["mono"])
    X = P.model_inputs(y, meta)
    np.testing.assert_allclose(model.predict(X, verbose=0), loaded.predict(X, verbose=0), rtol=1e-6, atol=1e-7)
    direct = P.predict([audio_files["mono"]], model=model, meta=meta)[0]
    via_path = P.predict(audio_files["mono"], model_path=path)[0]
    assert direct["emotion"] == via_path["emotion"]
    for lab in LABELS:
        assert direct["probabilities"][lab] == pytest.approx(via_path["probabilities"][lab], abs=1e-6)
    assert sum(direct["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


def test_windows():
    assert P.windows(np.ones(100), 300).shape == (1, 300)
    w = P.windows(np.arange(1000.0), 400)
    assert w.shape == (4, 400) and w[0, 0] == 0 and w[-1, -1] == 999  # 50 % overlap, last aligned to the end


def test_long_stereo_and_bad_files(saved, audio_files):
    model, path = saved
    _, meta = P.load_model(path)
    res = {r["file"].split("/")[-1]: r for r in P.predict([str(p) for p in audio_files.values()], model=model, meta=meta)}
    assert res["long.ogg"]["windows"] == 4 and res["mono.wav"]["windows"] == 1
    assert res["stereo44k.flac"]["emotion"] in LABELS
    assert "all-silent" in res["silent.wav"]["error"]
    assert "empty" in res["empty.wav"]["error"]
    assert "corrupt" in res["corrupt.wav"]["error"]
    assert "not found" in res["missing.wav"]["error"]


def test_cli(saved, audio_files):
    _, path = saved
    cmd = [sys.executable, "-m", "ser_lib", "predict", str(audio_files["mono"]), str(audio_files["silent"]),
           str(audio_files["stereo44k"]), "--model", str(path), "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1  # one bad file → non-zero exit, the others still predicted
    results = json.loads(done.stdout)
    assert [("error" in r) for r in results] == [False, True, False]
    assert "silent.wav: all-silent" in done.stderr and done.stderr.count("error:") == 1
    table = subprocess.run(cmd[:-1], capture_output=True, text=True, timeout=300)
    assert "emotion" in table.stdout.splitlines()[0] and "error: all-silent" in table.stdout


def test_missing_model(tmp_path, audio_files):
    done = subprocess.run([sys.executable, "-m", "ser_lib", "predict", str(audio_files["mono"]), "--model",
                           str(tmp_path / "none.keras")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "no such file" in done.stderr


# --- the shipped default model (pickle-free linear bundle) -------------------------------------

def test_shipped_default_model_loads_without_corpus_or_report():
    from ser_lib.models.bundle import Bundle

    model, meta = P.load_model()
    assert isinstance(model, Bundle) and P.DEFAULT_MODEL.is_file()
    assert meta["trained_on"]["data"] == "real" and meta["trained_on"]["corpus"] == "crema-d+ravdess"
    assert meta["labels"] == LABELS and set(model.arrays) == {"global", "speaker", "neutral"} and model.calibrated
    expected = meta["scores"]["expected"]  # the same recipe's test figures, as measured (see README)
    assert set(expected) == {"crema-d", "ravdess"}
    for figures in expected.values():
        assert figures["global"]["ua"] > 0.4 and figures["cross_corpus"]["ua"] > 0.1
    for mode, cal in meta["calibration"].items():  # chosen on validation actors, stated
        assert cal["temperature"] > 0 and 0 <= cal["threshold"] <= 1 and meta["chosen"][mode]["validation_clips"] > 0


def test_default_predicts_with_probabilities_one_recording_alone_or_a_speakers_batch(audio_files, tmp_path):
    one = P.predict([audio_files["mono"]])
    assert one[0]["emotion"] in LABELS and one[0]["mode"].startswith("single recording")
    assert "warning" not in one[0] and "scores" not in one[0]
    p = one[0]["probabilities"]
    assert list(p) == LABELS and abs(sum(p.values()) - 1) < 1e-9 and all(0 <= v <= 1 for v in p.values())
    assert one[0]["confidence"] == max(p.values()) and one[0]["uncertain"] == (one[0]["confidence"] < one[0]["threshold"])
    assert "uncertain: top probability below" in P.format_table(one)
    files = [audio_files["mono"], audio_files["clip0"], audio_files["clip1"], audio_files["clip2"], audio_files["silent"]]
    batch = P.predict(files, same_speaker=True)
    assert [("error" in r) for r in batch] == [False, False, False, False, True]
    assert batch[0]["mode"] == "same speaker: 4 recordings normalised together"
    assert abs(sum(batch[0]["probabilities"].values()) - 1) < 1e-9
    few = P.predict([audio_files["mono"], audio_files["clip0"], audio_files["silent"]], same_speaker=True)
    assert all("error" in r for r in few) and "at least 4 distinct usable recordings" in few[0]["error"]


def test_neutral_references_enrol_the_speaker_and_too_few_are_refused(audio_files):
    refs = [audio_files["clip0"], audio_files["clip1"], audio_files["clip2"]]
    alone = P.predict([audio_files["mono"]])[0]
    enrolled = P.predict([audio_files["mono"]], neutral=refs)[0]
    assert enrolled["mode"] == "neutral reference: the mean of 3 neutral recordings of the speaker subtracted"
    assert abs(sum(enrolled["probabilities"].values()) - 1) < 1e-9
    assert enrolled["probabilities"] != alone["probabilities"]  # the reference moved the features
    few = P.predict([audio_files["mono"]], neutral=[audio_files["clip0"], audio_files["clip0"], audio_files["silent"]])[0]
    assert "--neutral needs at least 3" in few["error"] and "silent.wav" in few["error"]  # the refused reference is named
    with pytest.raises(ValueError, match="either --same-speaker or --neutral"):
        P.predict([audio_files["mono"]], neutral=refs, same_speaker=True)
    base = [sys.executable, "-m", "ser_lib", "predict", str(audio_files["mono"])]
    done = subprocess.run(base + ["--neutral", *map(str, refs)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "mode: neutral reference" in done.stdout
    both = subprocess.run(base + ["--same-speaker", "--neutral", *map(str, refs)], capture_output=True, text=True,
                          timeout=120)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


def test_cli_same_speaker(audio_files):
    base = [sys.executable, "-m", "ser_lib", "predict"]
    four = [str(audio_files[k]) for k in ("mono", "clip0", "clip1", "clip2")]
    done = subprocess.run(base + four + ["--same-speaker"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "mode: same speaker: 4 recordings normalised together" in done.stdout
    alone = subprocess.run(base + [str(audio_files["mono"]), "--same-speaker"], capture_output=True, text=True,
                           timeout=300)
    assert alone.returncode == 1 and "error:" in alone.stderr and "needs at least 4" in alone.stderr
    assert "Traceback" not in alone.stderr


def test_tampered_default_is_refused_in_one_line(tmp_path, audio_files):
    import shutil

    for suffix in (".json", ".npz"):
        shutil.copy(P.DEFAULT_MODEL.with_suffix(suffix), tmp_path / ("m" + suffix))
    data = bytearray((tmp_path / "m.npz").read_bytes())
    data[100] ^= 0x01
    (tmp_path / "m.npz").write_bytes(bytes(data))
    done = subprocess.run([sys.executable, "-m", "ser_lib", "predict", str(audio_files["mono"]), "--model",
                           str(tmp_path / "m.json")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "checksum" in done.stderr


def test_a_model_trained_on_synthetic_data_says_so_loudly(tmp_path, audio_files):
    model = build("cnn1d", (314, 1), 6, learning_rate=1e-3)
    path = P.save_model(model, tmp_path / "demo", corpus="crema-d", labels=LABELS, features=["rms", "zcr"],
                        feature_settings=F.DEFAULTS, experiment="demo", data="synthetic")
    res = P.predict([audio_files["mono"]], model_path=path)[0]
    assert res["warning"] == P.SYNTHETIC_WARNING
    assert P.SYNTHETIC_WARNING in P.format_table([res]).splitlines()[0]
    done = subprocess.run([sys.executable, "-m", "ser_lib", "predict", str(audio_files["mono"]), "--model", str(path)],
                          capture_output=True, text=True, timeout=300)
    assert "SYNTHETIC" in done.stderr
    with pytest.raises(ValueError, match="openSMILE linear models only"):
        P.predict([audio_files["mono"]], model_path=path, same_speaker=True)
