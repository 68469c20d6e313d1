"""Tests of the corpus loaders, against the corpora's own documentation.

The oracles are the label tables of each corpus (the Emo-DB README shipped
with the data, the CREMA-D sample's README, the RAVDESS file-naming
convention of Livingstone and Russo 2018) and hand-built folder trees.
"""

from __future__ import annotations

import os
import re
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sklearn_ser.datasets import load_audio_folder, load_cremad, load_emodb, load_ravdess
from sklearn_ser.exceptions import AudioFileError

# Tables of the README shipped with the Emo-DB data.
EMODB_EMOTION_COUNTS = {
    "anger": 127,
    "boredom": 81,
    "disgust": 46,
    "fear": 69,
    "happiness": 71,
    "sadness": 62,
    "neutral": 79,
}
EMODB_LETTERS = {
    "W": "anger",
    "L": "boredom",
    "E": "disgust",
    "A": "fear",
    "F": "happiness",
    "T": "sadness",
    "N": "neutral",
}
EMODB_SPEAKERS = {  # speaker: (sex, files)
    "03": ("male", 49),
    "08": ("female", 58),
    "09": ("female", 43),
    "10": ("male", 38),
    "11": ("male", 55),
    "12": ("male", 35),
    "13": ("female", 61),
    "14": ("female", 69),
    "15": ("male", 56),
    "16": ("female", 71),
}
CREMAD_CODES = {
    "ANG": "anger",
    "DIS": "disgust",
    "FEA": "fear",
    "HAP": "happiness",
    "NEU": "neutral",
    "SAD": "sadness",
}
LOADERS = [load_emodb, load_cremad, load_ravdess, load_audio_folder]


def write_wav(path, *, seconds=0.05, sample_rate=8000):
    """Write a short tone, creating the folders: 220 Hz and a phase of its own for every
    path, so that two files are two recordings (the loaders refuse one recording under
    two labels)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    phase = zlib.crc32(str(path).encode()) / 2**32 * 2 * np.pi
    sf.write(path, 0.1 * np.sin(2 * np.pi * 220.0 * t + phase), sample_rate)
    return path


def write_garbage(path):
    """Write a file that has an audio name but is not audio."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a RIFF file" * 8)
    return path


def counts(values):
    labels, n = np.unique(values, return_counts=True)
    return dict(zip(labels.tolist(), n.tolist(), strict=True))


# --- Emo-DB, the real copy ----------------------------------------------------


def test_emodb_real_copy_matches_readme(emodb_root):
    data = load_emodb(emodb_root)
    assert len(data.filenames) == 535
    assert counts(data.target) == EMODB_EMOTION_COUNTS
    assert counts(data.groups) == {spk: n for spk, (_, n) in EMODB_SPEAKERS.items()}
    for speaker, (sex, _) in EMODB_SPEAKERS.items():
        assert set(data.sex[data.groups == speaker]) == {sex}
    assert data.target_names.tolist() == sorted(EMODB_EMOTION_COUNTS)
    assert data.skipped == []
    # Every array is aligned with filenames: re-read each name by hand.
    names = [Path(name).name for name in data.filenames]
    assert data.target.tolist() == [EMODB_LETTERS[name[5]] for name in names]
    assert data.groups.tolist() == [name[:2] for name in names]
    assert data.text.tolist() == [name[2:5] for name in names]
    assert data.version.tolist() == [name[6] for name in names]
    expected = sorted(os.path.abspath(p) for p in Path(emodb_root, "wav").glob("*.wav"))
    assert data.filenames.tolist() == expected
    assert "Burkhardt" in data.DESCR


def test_emodb_real_copy_without_decoding_gives_the_same_arrays(emodb_root):
    checked, listed = load_emodb(emodb_root), load_emodb(emodb_root, check_files=False)
    for key in ("filenames", "target", "groups", "text", "version", "sex"):
        np.testing.assert_array_equal(listed[key], checked[key])
    assert listed.DESCR == checked.DESCR


# --- Emo-DB layout, on small files ---------------------------------------------

EMODB_NAMES = ["03a01Wa.wav", "08b02Nb.wav", "10a05Tc.wav", "16b10Ld.wav"]


@pytest.fixture
def emodb_tmp(tmp_path):
    for i, name in enumerate(EMODB_NAMES):
        write_wav(tmp_path / "wav" / name, seconds=0.05 * (i + 1))
    (tmp_path / "README.md").write_text("not a wav file, ignored")
    return tmp_path


def test_emodb_fields_from_names(emodb_tmp):
    data = load_emodb(emodb_tmp)
    assert data.filenames.tolist() == [str(emodb_tmp / "wav" / n) for n in EMODB_NAMES]
    assert data.target.tolist() == ["anger", "neutral", "sadness", "boredom"]
    assert data.groups.tolist() == ["03", "08", "10", "16"]
    assert data.sex.tolist() == ["male", "female", "male", "female"]
    assert data.text.tolist() == ["a01", "b02", "a05", "b10"]
    assert data.version.tolist() == ["a", "b", "c", "d"]
    assert len(data.target_names) == 7  # the full Emo-DB list, not the 4 present
    assert "Loaded from" in data.DESCR and "4 files, 4 groups" in data.DESCR


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("notes.wav", "SSTTTEV"),
        ("03a01Xa.wav", "emotion code 'X'"),
        ("05a01Wa.wav", "speaker '05'"),
    ],
)
def test_emodb_bad_name_raises_naming_the_file(emodb_tmp, name, message):
    bad = write_wav(emodb_tmp / "wav" / name)
    with pytest.raises(ValueError, match=message) as info:
        load_emodb(emodb_tmp)
    assert str(bad) in str(info.value)


def test_emodb_unreadable_file_raises_the_io_error(emodb_tmp):
    bad = write_garbage(emodb_tmp / "wav" / "09a02Fa.wav")
    with pytest.raises(AudioFileError, match="cannot decode") as info:
        load_emodb(emodb_tmp)
    assert str(bad) in str(info.value)


def test_emodb_skip_drops_files_from_every_array(emodb_tmp):
    corrupt = write_garbage(emodb_tmp / "wav" / "09a02Fa.wav")  # sorts in the middle
    misnamed = write_wav(emodb_tmp / "wav" / "09a02Qa.wav")
    data = load_emodb(emodb_tmp, on_error="skip")
    assert [path for path, _ in data.skipped] == [str(corrupt), str(misnamed)]
    assert "cannot decode" in data.skipped[0][1] and "emotion code" in data.skipped[1][1]
    assert data.target.tolist() == ["anger", "neutral", "sadness", "boredom"]
    assert data.groups.tolist() == ["03", "08", "10", "16"]
    assert data.sex.tolist() == ["male", "female", "male", "female"]


def test_emodb_without_decoding_keeps_an_unreadable_file(emodb_tmp):
    corrupt = write_garbage(emodb_tmp / "wav" / "09a02Fa.wav")
    data = load_emodb(emodb_tmp, check_files=False)
    assert str(corrupt) in data.filenames.tolist()
    assert data.target[data.filenames.tolist().index(str(corrupt))] == "happiness"


def test_every_file_skipped_is_an_error(tmp_path):
    write_garbage(tmp_path / "wav" / "03a01Wa.wav")
    with pytest.raises(ValueError, match=r"no file of layout wav/SSTTTEV\.wav.*cannot decode"):
        load_emodb(tmp_path, on_error="skip")


# --- options and roots, shared by every loader ---------------------------------


@pytest.mark.parametrize("loader", LOADERS)
def test_invalid_on_error_names_the_parameter(loader, tmp_path):
    with pytest.raises(ValueError, match="on_error='ignore'"):
        loader(tmp_path, on_error="ignore")
    with pytest.raises(ValueError, match="check_files='yes'"):
        loader(tmp_path, check_files="yes")


@pytest.mark.parametrize("loader", LOADERS)
def test_missing_root_names_it(loader, tmp_path):
    missing = tmp_path / "no-such-corpus"
    with pytest.raises(FileNotFoundError, match="no-such-corpus"):
        loader(missing)


@pytest.mark.parametrize(
    ("loader", "layout"),
    [
        (load_emodb, "wav/SSTTTEV.wav"),
        (load_cremad, "AudioWAV/AAAA_SSS_EMO_LVL.wav"),
        (load_ravdess, "Actor_NN/MM-VV-EE-II-SS-RR-AA.wav"),
        (load_audio_folder, ".wav, .flac, .ogg"),
    ],
)
def test_root_without_the_layout_says_what_was_expected(loader, layout, tmp_path):
    (tmp_path / "notes.txt").write_text("no audio here")
    with pytest.raises(FileNotFoundError) as info:
        loader(tmp_path)
    assert layout in str(info.value) and str(tmp_path) in str(info.value)


# --- CREMA-D ------------------------------------------------------------------


def test_cremad_real_sample(cremad_root):
    data = load_cremad(cremad_root)
    assert len(data.filenames) == 12
    assert counts(data.groups) == {"1001": 6, "1002": 6}
    assert counts(data.target) == {emotion: 2 for emotion in CREMAD_CODES.values()}
    assert set(data.sentence) == {"DFA"} and set(data.intensity) == {"unspecified"}
    assert data.target_names.tolist() == sorted(CREMAD_CODES.values())
    names = [Path(name).name for name in data.filenames]
    assert data.target.tolist() == [CREMAD_CODES[name.split("_")[2]] for name in names]
    assert data.groups.tolist() == [name[:4] for name in names]
    assert "Cao" in data.DESCR


def test_cremad_intensity_and_bad_names(tmp_path):
    write_wav(tmp_path / "AudioWAV" / "1091_IEO_HAP_HI.wav")
    write_wav(tmp_path / "AudioWAV" / "1001_IEO_SAD_LO.wav")
    data = load_cremad(tmp_path)
    assert data.intensity.tolist() == ["low", "high"]
    assert data.target.tolist() == ["sadness", "happiness"]
    bad = write_wav(tmp_path / "AudioWAV" / "0999_IEO_HAP_HI.wav")
    with pytest.raises(ValueError, match="actor 0999"):
        load_cremad(tmp_path)
    assert load_cremad(tmp_path, on_error="skip").skipped[0][0] == str(bad)


# --- RAVDESS ------------------------------------------------------------------

# file: (emotion, intensity, statement, repetition, sex, vocal channel), read
# off the naming convention of Livingstone and Russo (2018) by hand.
RAVDESS_FILES = {
    "Actor_01/03-01-01-01-02-02-01.wav": ("neutral", "normal", "02", "02", "male", "speech"),
    "Actor_01/03-01-05-02-01-01-01.wav": ("anger", "strong", "01", "01", "male", "speech"),
    "Actor_01/03-02-03-01-01-01-01.wav": ("happiness", "normal", "01", "01", "male", "song"),
    "Actor_02/03-01-02-02-01-02-02.wav": ("calm", "strong", "01", "02", "female", "speech"),
    "Actor_02/03-01-08-01-02-01-02.wav": ("surprise", "normal", "02", "01", "female", "speech"),
    "Actor_02/03-02-04-02-02-02-02.wav": ("sadness", "strong", "02", "02", "female", "song"),
}


@pytest.fixture
def ravdess_root(tmp_path):
    for name in RAVDESS_FILES:
        write_wav(tmp_path / name)
    return tmp_path


@pytest.mark.parametrize("speech_only", [True, False])
def test_ravdess_fields_from_names(ravdess_root, speech_only):
    data = load_ravdess(ravdess_root, speech_only=speech_only)
    expected = {
        name: fields
        for name, fields in RAVDESS_FILES.items()
        if not speech_only or fields[-1] == "speech"
    }
    assert data.filenames.tolist() == [str(ravdess_root / name) for name in expected]
    columns = ("target", "intensity", "statement", "repetition", "sex", "vocal_channel")
    for column, values in zip(columns, zip(*expected.values(), strict=True), strict=True):
        assert data[column].tolist() == list(values), column
    assert data.groups.tolist() == [name[6:8] for name in expected]
    assert data.skipped == []  # song left out on purpose is not "skipped"
    assert data.target_names.tolist() == sorted(
        ["neutral", "calm", "happiness", "sadness", "anger", "fear", "disgust", "surprise"]
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Actor_02/03-01-05-01-01-01-01.wav", "actor 01 but the file is in Actor_02"),
        ("Actor_01/03-01-09-01-01-01-01.wav", "emotion code '09'"),
        ("Actor_01/03-01-05-01-01-01.wav", "MM-VV-EE-II-SS-RR-AA"),
    ],
)
def test_ravdess_bad_names(ravdess_root, name, message):
    bad = write_wav(ravdess_root / name)
    with pytest.raises(ValueError, match=message):
        load_ravdess(ravdess_root)
    data = load_ravdess(ravdess_root, on_error="skip")
    assert [path for path, _ in data.skipped] == [str(bad)]
    assert len(data.filenames) == 4


def test_ravdess_options(tmp_path):
    write_wav(tmp_path / "Actor_03" / "03-02-03-01-01-01-03.wav")  # song only
    with pytest.raises(ValueError, match="speech_only"):
        load_ravdess(tmp_path)
    assert load_ravdess(tmp_path, speech_only=False).sex.tolist() == ["male"]
    with pytest.raises(ValueError, match="speech_only='no'"):
        load_ravdess(tmp_path, speech_only="no")


# --- generic folder -----------------------------------------------------------


@pytest.fixture
def folder_root(tmp_path):
    write_wav(tmp_path / "anger" / "spk1_a.wav")
    write_wav(tmp_path / "anger" / "spk2_b.flac")
    write_wav(tmp_path / "neutral" / "deep" / "spk1_c.WAV")
    (tmp_path / "neutral" / "list.txt").write_text("ignored")
    write_garbage(tmp_path / "neutral" / "._spk1_c.wav")  # macOS resource fork: ignored
    write_garbage(tmp_path / ".cache" / "x.wav")  # hidden folder: ignored
    return tmp_path


def test_folder_labels_from_the_first_folder_under_the_root(folder_root):
    # As torchvision's ImageFolder: nesting below the label folder (sessions,
    # speakers) never becomes a label of its own.
    data = load_audio_folder(folder_root)
    assert data.filenames.tolist() == [
        str(folder_root / "anger" / "spk1_a.wav"),
        str(folder_root / "anger" / "spk2_b.flac"),
        str(folder_root / "neutral" / "deep" / "spk1_c.WAV"),
    ]
    assert data.target.tolist() == ["anger", "anger", "neutral"]
    assert data.target_names.tolist() == ["anger", "neutral"]
    assert data.groups is None
    assert "first folder under the root" in data.DESCR


def test_folder_follows_links_out_of_the_root_and_names_the_others(tmp_path):
    # Path.rglob does not enter a linked folder: a linked class vanished silently.
    store = tmp_path / "store"
    write_wav(store / "sad" / "spk1_s.wav")
    write_wav(store / "session2" / "spk2_a.wav")
    root = tmp_path / "corpus"
    write_wav(root / "anger" / "spk1_a.wav")
    (root / "sad").symlink_to(store / "sad", target_is_directory=True)
    (root / "anger" / "session2").symlink_to(store / "session2", target_is_directory=True)
    (root / "anger" / "loop").symlink_to(root, target_is_directory=True)  # a cycle
    (store / "session2" / "again").symlink_to(store, target_is_directory=True)  # one outside
    (root / "anger" / "up").symlink_to(tmp_path, target_is_directory=True)  # the root's parent
    with pytest.warns(UserWarning) as warned:
        data = load_audio_folder(root)
    messages = sorted(str(warning.message) for warning in warned)
    assert [message.split(":")[0] for message in messages] == [
        f"not following the link {root / 'anger' / link}" for link in ("loop", "session2/again",
                                                                         "up")]
    assert "leads back to a folder that holds the link (a cycle)" in messages[1]
    assert data.filenames.tolist() == [
        str(root / "anger" / "session2" / "spk2_a.wav"),
        str(root / "anger" / "spk1_a.wav"),
        str(root / "sad" / "spk1_s.wav"),
    ]
    assert data.target.tolist() == ["anger", "anger", "sad"]


def test_a_class_folder_linked_into_another_keeps_its_own_label(tmp_path):
    # The link sorted first: the sadness files were all labelled anger, and the
    # class vanished from target_names without a word.
    root = tmp_path / "corpus"
    for label in ("anger", "sadness"):
        for k in range(2):
            write_wav(root / label / f"spk{k}_{label}.wav")
    (root / "anger" / "more").symlink_to(root / "sadness", target_is_directory=True)
    with pytest.warns(UserWarning, match=r"anger/more: it leads to .*sadness"):
        data = load_audio_folder(root)
    assert data.target.tolist() == ["anger", "anger", "sadness", "sadness"]
    assert all("more" not in name for name in data.filenames)


@pytest.mark.parametrize("link", ["file", "folder"])
def test_a_file_or_folder_reached_by_two_paths_is_an_error(link, tmp_path):
    root = tmp_path / "corpus"
    sad = write_wav(root / "sadness" / "spk1_s.wav")
    write_wav(root / "anger" / "spk1_a.wav")
    if link == "file":  # the same audio as anger and as sadness
        (root / "anger" / "spk1_dup.wav").symlink_to(sad)
        first, second = root / "anger" / "spk1_dup.wav", sad
    else:  # two links to one folder outside the corpus
        write_wav(tmp_path / "store" / "spk2_x.wav")
        (root / "anger" / "x").symlink_to(tmp_path / "store", target_is_directory=True)
        (root / "sadness" / "x").symlink_to(tmp_path / "store", target_is_directory=True)
        first, second = root / "anger" / "x", root / "sadness" / "x"
    with pytest.raises(ValueError, match=rf"the {link} {re.escape(str(second))} is the {link} "
                                         rf"{re.escape(str(first))} \(through a symbolic link\)"):
        load_audio_folder(root)


def test_a_broken_link_is_reported_not_dropped(tmp_path, emodb_tmp):
    broken = emodb_tmp / "wav" / "03a01Ea.wav"  # the only disgust file, gone
    broken.symlink_to(tmp_path / "gone.wav")
    with pytest.raises(FileNotFoundError, match="a broken link") as info:
        load_emodb(emodb_tmp)
    assert info.value.filename == str(broken)
    data = load_emodb(emodb_tmp, on_error="skip")
    assert [path for path, _ in data.skipped] == [str(broken)]
    assert len(data.filenames) == len(EMODB_NAMES)


def test_hidden_files_are_not_corpus_files(emodb_tmp):
    (emodb_tmp / "wav" / "._03a01Wa.wav").write_bytes(b"\x00\x05\x16\x07")  # macOS metadata
    data = load_emodb(emodb_tmp)
    assert len(data.filenames) == len(EMODB_NAMES) and data.skipped == []


def test_a_root_one_level_too_deep_gets_the_parent_suggested(emodb_tmp):
    with pytest.raises(FileNotFoundError, match=rf"under {re.escape(str(emodb_tmp / 'wav'))}; "
                                                rf"give the folder that holds wav/, "
                                                rf"{re.escape(str(emodb_tmp))}$"):
        load_emodb(emodb_tmp / "wav")


def test_corpus_loaders_take_the_extension_in_any_case(emodb_tmp):
    # X.WAV is a corpus file like x.wav: loaded, not skipped.
    (emodb_tmp / "wav" / EMODB_NAMES[0]).rename(emodb_tmp / "wav" / "03a01Wa.WAV")
    data = load_emodb(emodb_tmp)
    assert len(data.filenames) == len(EMODB_NAMES) and data.skipped == []
    assert data.filenames[0].endswith("03a01Wa.WAV") and data.target[0] == "anger"


@pytest.mark.parametrize(
    ("label", "groups", "target", "expected_groups"),
    [
        (r"^(\w+)/", r"(spk\d+)_", ["anger", "anger", "neutral"], ["spk1", "spk2", "spk1"]),
        (
            r"anger|neutral",
            lambda rel: Path(rel).stem[-1],
            ["anger", "anger", "neutral"],
            list("abc"),
        ),
        (lambda rel: rel.split("/")[0].upper(), None, ["ANGER", "ANGER", "NEUTRAL"], None),
    ],
)
def test_folder_labels_and_groups_from_regex_or_callable(
    folder_root, label, groups, target, expected_groups
):
    data = load_audio_folder(folder_root, label=label, groups=groups)
    assert data.target.tolist() == target
    if expected_groups is None:
        assert data.groups is None
    else:
        assert data.groups.tolist() == expected_groups


def test_folder_regex_without_match(folder_root):
    with pytest.raises(ValueError, match=r"spk2_b\.flac.*label='spk1'"):
        load_audio_folder(folder_root, label="spk1")
    data = load_audio_folder(folder_root, label="spk1", on_error="skip")
    assert data.skipped[0][0] == str(folder_root / "anger" / "spk2_b.flac")
    assert data.target.tolist() == ["spk1", "spk1"]
    assert data.filenames.tolist()[1].endswith("spk1_c.WAV")


def test_folder_file_in_root_has_no_label(folder_root):
    loose = write_wav(folder_root / "loose.wav")
    with pytest.raises(ValueError, match="directly in the root") as info:
        load_audio_folder(folder_root)
    assert str(loose) in str(info.value)
    assert load_audio_folder(folder_root, on_error="skip").skipped[0][0] == str(loose)


def test_folder_options(folder_root):
    # the .wav files left out by extensions are named, not dropped silently
    with pytest.warns(UserWarning, match=r"^2 audio file\(s\) under .* are left out, since their "
                      r"names do not end in \.flac: .*spk1_a\.wav, .*spk1_c\.WAV\. To load them, "
                      r"add their endings to extensions= \(command line: --extensions \.flac "
                      r"\.wav\)$"):
        data = load_audio_folder(folder_root, extensions=".flac")
    assert data.target.tolist() == ["anger"]
    (folder_root / "anger" / "notes.txt").write_text("not audio: ignored without a word")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_audio_folder(folder_root).filenames) == 3
    with pytest.raises(ValueError, match="extensions=\\('wav',\\)"):
        load_audio_folder(folder_root, extensions=("wav",))
    with pytest.raises(TypeError, match="label must be"):
        load_audio_folder(folder_root, label=42)
    with pytest.raises(ValueError, match="not a valid regular expression"):
        load_audio_folder(folder_root, groups="(unclosed")
