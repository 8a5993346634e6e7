"""Audio loading and every bad-input case of the data layer."""

import warnings

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from ser_lib.data import audio

SR = 16000


def tone(seconds=0.5, sr=SR, channels=1, amp=0.3):
    t = np.arange(int(seconds * sr)) / sr
    y = amp * np.sin(2 * np.pi * 220 * t).astype(np.float32)
    return np.stack([y] * channels, axis=1) if channels > 1 else y


@pytest.fixture()
def bad_files(tmp_path):
    """One file per bad-input case, plus a good one."""
    f = {}
    f["good"] = tmp_path / "good.wav"
    sf.write(f["good"], tone(), SR)
    f["corrupt"] = tmp_path / "corrupt.wav"
    f["corrupt"].write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage that is not audio" * 3)
    f["empty"] = tmp_path / "empty.wav"
    f["empty"].write_bytes(b"")
    f["zero_frames"] = tmp_path / "zero_frames.wav"
    sf.write(f["zero_frames"], np.zeros(0, dtype=np.float32), SR)
    f["silent"] = tmp_path / "silent.wav"
    sf.write(f["silent"], np.zeros(SR, dtype=np.float32), SR)
    f["stereo"] = tmp_path / "stereo.wav"
    sf.write(f["stereo"], tone(channels=2), SR)
    f["rate96k"] = tmp_path / "rate96k.wav"
    sf.write(f["rate96k"], tone(sr=96000), 96000)
    f["aiff_as_wav"] = tmp_path / "aiff_as_wav.wav"
    sf.write(f["aiff_as_wav"], tone(), SR, format="AIFF")
    f["truncated"] = tmp_path / "truncated.flac"
    sf.write(f["truncated"], tone(2.0), SR, format="FLAC")
    f["truncated"].write_bytes(f["truncated"].read_bytes()[:200])
    return f


def test_good_clip(bad_files):
    y, sr = audio.load_clip(bad_files["good"])
    assert sr == SR and y.dtype == np.float32 and y.ndim == 1 and y.size == SR // 2


@pytest.mark.parametrize("case, reason", [
    ("corrupt", "unreadable or corrupt"),
    ("empty", "empty file"),
    ("zero_frames", "zero-length"),
    ("silent", "all-silent"),
    ("truncated", "corrupt"),
])
def test_fatal_cases_raise_clear_error(bad_files, case, reason):
    with pytest.raises(audio.BadClipError, match=reason) as info:
        audio.load_clip(bad_files[case])
    assert info.value.path.name == bad_files[case].name


def test_missing_file(tmp_path):
    with pytest.raises(audio.BadClipError, match="file not found"):
        audio.load_clip(tmp_path / "nope.wav")


def test_stereo_is_downmixed_with_note(bad_files):
    y, sr, notes = audio.load_clip(bad_files["stereo"], return_notes=True)
    assert y.ndim == 1 and y.size == SR // 2
    assert any("2 channels: down-mixed" in n for n in notes)
    y2, _ = audio.load_clip(bad_files["stereo"], mono=False)
    assert y2.shape == (2, SR // 2)


def test_unusual_rate_is_resampled_with_note(bad_files):
    y, sr, notes = audio.load_clip(bad_files["rate96k"], return_notes=True)
    assert sr == SR and abs(y.size - SR // 2) <= 1
    assert any("unusual sample rate 96000 Hz" in n for n in notes)
    # the 220 Hz tone survives resampling
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * SR / y.size - 220) < 5


def test_aiff_named_wav_is_read_with_note(bad_files):
    y, sr, notes = audio.load_clip(bad_files["aiff_as_wav"], return_notes=True)
    assert y.size == SR // 2
    assert any("AIFF content named .wav" in n for n in notes)


def test_keep_native_rate(bad_files):
    _, sr = audio.load_clip(bad_files["rate96k"], sr=None)
    assert sr == 96000


def test_audit_lists_every_case_and_goes_on(bad_files, tmp_path):
    clips = pd.DataFrame({"clip": list(bad_files), "path": [str(p) for p in bad_files.values()]})
    with pytest.warns(audio.BadClipWarning) as record:
        audited = audio.audit_clips(clips, cache=tmp_path / "cache", n_jobs=1, progress=False)
    assert len(audited) == len(bad_files)
    status = dict(zip(audited["clip"], audited["status"]))
    assert [k for k, v in status.items() if v == "ok"] == ["good", "stereo", "rate96k", "aiff_as_wav"]
    messages = " ".join(str(w.message) for w in record)
    for case in ("corrupt", "empty", "zero_frames", "silent", "truncated", "stereo", "rate96k", "aiff_as_wav"):
        assert case in messages
    problems = audio.problem_list(audited)
    assert set(problems.loc[problems.action == "skipped", "clip"]) == {"corrupt", "empty", "zero_frames", "silent", "truncated"}
    assert set(problems.loc[problems.action == "converted", "clip"]) == {"stereo", "rate96k", "aiff_as_wav"}
    row = audited.set_index("clip").loc["good"]
    assert row.duration_s == pytest.approx(0.5) and row.peak_dbfs == pytest.approx(20 * np.log10(0.3), abs=0.1)


def test_audit_cache_reused_and_invalidated(bad_files, tmp_path):
    clips = pd.DataFrame({"clip": ["good"], "path": [str(bad_files["good"])]})
    cache = tmp_path / "cache"
    first = audio.audit_clips(clips, cache=cache, progress=False)
    assert len(list((cache / "audit").glob("*.json"))) == 1
    sf.write(bad_files["good"], tone(seconds=1.0), SR)  # file changed → re-audited
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = audio.audit_clips(clips, cache=cache, progress=False)
    assert first.duration_s[0] == pytest.approx(0.5) and second.duration_s[0] == pytest.approx(1.0)
    assert len(list((cache / "audit").glob("*.json"))) == 2


def test_audit_requires_columns():
    with pytest.raises(ValueError, match="'clip' and 'path'"):
        audio.audit_clips(pd.DataFrame({"x": [1]}))
