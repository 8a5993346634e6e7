import shutil

import pandas as pd
import pytest

from ser_lib.data import corpus
from ser_lib.config import CORPUS_EMOTIONS


def test_parse_crema_d_name():
    assert corpus.parse_crema_d_name("1001_DFA_ANG_XX") == {
        "actor": 1001, "sentence": "DFA", "emotion": "ANG", "level": "XX"}
    assert corpus.parse_crema_d_name("1091_WSI_SAD_HI")["level"] == "HI"


@pytest.mark.parametrize("bad", ["1040_ITH_SAD_X", "1001_DFA_XXX_XX", "abc", "1001_DFA_ANG_XX_1", ""])
def test_parse_crema_d_name_rejects(bad):
    with pytest.raises(ValueError, match="does not parse as CREMA-D"):
        corpus.parse_crema_d_name(bad)


def test_parse_ravdess_name():
    info = corpus.parse_ravdess_name("03-01-06-01-02-01-12")
    assert info["emotion"] == "FEA" and info["actor"] == 12 and info["sex"] == "female"
    assert info["statement"] == 2 and info["intensity_name"] == "normal"
    assert info["modality"] == 3 and info["vocal_channel"] == 1 and info["repetition"] == 1
    assert corpus.parse_ravdess_name("03-01-05-02-01-02-01")["sex"] == "male"


@pytest.mark.parametrize("bad", ["03-01-09-01-02-01-12", "03-01-06-01-02-01", "3-1-6-1-2-1-12", "03-01-06-03-02-01-12"])
def test_parse_ravdess_name_rejects(bad):
    with pytest.raises(ValueError):
        corpus.parse_ravdess_name(bad)


def test_crema_d_table_from_synthetic(tiny_crema):
    clips, skipped = corpus.crema_d_table(tiny_crema)
    assert len(clips) == 4 * 6 * 2 and skipped.empty
    assert set(clips["emotion"]) == set(CORPUS_EMOTIONS["crema-d"])
    assert clips["sex"].isin(["male", "female"]).all()  # joined from VideoDemographics.csv
    assert clips["age"].notna().all()
    assert clips["human_vote"].isna().all()  # the synthetic corpus has no ratings


def test_ravdess_table_from_synthetic(tiny_ravdess):
    clips, skipped = corpus.ravdess_table(tiny_ravdess)
    assert skipped.empty
    # neutral has 2 slots per actor here (normal intensity only), the 7 others 2 each too
    assert set(clips["emotion"]) == set(CORPUS_EMOTIONS["ravdess"])
    assert {"modality", "vocal_channel", "emotion_id", "intensity", "statement", "repetition", "actor", "sex"} <= set(clips.columns)
    assert (clips.loc[clips.actor % 2 == 1, "sex"] == "male").all()


def test_stem_matching_any_extension_and_bad_names(tmp_path, tiny_crema):
    root = tmp_path / "crema-d"
    shutil.copytree(tiny_crema, root)
    wavs = sorted((root / "AudioWAV").glob("*.wav"))
    # Same clip as .flac too: WAV preferred, the other listed as duplicate.
    shutil.copy(wavs[0], wavs[0].with_suffix(".flac"))
    # A name that does not parse.
    shutil.copy(wavs[1], root / "AudioWAV" / "9001_ITH_SAD_X.wav")
    # An Opus-like extension with another stem is indexed too.
    shutil.copy(wavs[2], root / "AudioWAV" / "9099_IEO_NEU_XX.ogg")
    clips, skipped = corpus.crema_d_table(root)
    assert wavs[0].stem in set(clips["clip"])
    assert clips.set_index("clip").loc[wavs[0].stem, "path"].endswith(".wav")
    assert "9099_IEO_NEU_XX" in set(clips["clip"])
    reasons = dict(zip(skipped["clip"], skipped["reason"]))
    assert "does not parse" in reasons["9001_ITH_SAD_X"]
    assert "duplicate" in reasons[wavs[0].stem]


def test_human_vote_codes(tmp_path, tiny_crema):
    root = tmp_path / "crema-d"
    shutil.copytree(tiny_crema, root)
    clips, _ = corpus.crema_d_table(root)
    names = list(clips["clip"][:3])
    pd.DataFrame({"FileName": names, "VoiceVote": ["A", "N:S", "H"], "VoiceLevel": [50, 40, 60]}).to_csv(
        root / "meta" / "summaryTable.csv")
    clips, _ = corpus.crema_d_table(root)
    votes = clips.set_index("clip")["human_vote"]
    assert list(votes[names]) == ["ANG", "tie", "HAP"]
    assert votes.drop(names).isna().all()


def test_empty_folder_raises(tmp_path):
    with pytest.raises(corpus.CorpusNotFoundError):
        corpus.crema_d_table(tmp_path)
    with pytest.raises(ValueError, match="unknown corpus"):
        corpus.corpus_table("iemocap", tmp_path)


def test_resolve_corpus_falls_back_to_synthetic(tmp_path):
    root, synthetic = corpus.resolve_corpus("ravdess", data_root_dir=tmp_path / "none", cache=tmp_path / "c",
                                            demo_size="tiny")
    assert synthetic and (root / ".synthetic.json").is_file()
    real_like = tmp_path / "dr"
    shutil.copytree(root, real_like / "ravdess")
    assert corpus.resolve_corpus("ravdess", data_root_dir=real_like, cache=tmp_path / "c")[1]
    (real_like / "ravdess" / ".synthetic.json").unlink()
    root2, synthetic2 = corpus.resolve_corpus("ravdess", data_root_dir=real_like, cache=tmp_path / "c")
    assert not synthetic2 and root2 == (real_like / "ravdess").resolve()
