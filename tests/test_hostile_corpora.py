"""One recording under two labels, and files that are no files, in a corpus folder.

Each test's name starts with its kind: ``crash_or_hang``, ``silent`` or ``confusing``.
"""

from __future__ import annotations

import os
import shutil
import warnings

import numpy as np
import pytest
import soundfile as sf

from sklearn_ser.datasets import load_audio_folder, load_emodb

RATE = 8000


def write(path, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, 0.1 * np.random.default_rng(seed).standard_normal(RATE // 4), RATE)
    return path


@pytest.fixture
def corpus(tmp_path):
    for i, label in enumerate(["anger", "joy", "anger", "joy"]):
        write(tmp_path / label / f"spk{i % 2}_{i}.wav", seed=i)
    return tmp_path


def test_silent_a_file_hard_linked_under_two_labels_is_refused(corpus):
    """A symlinked duplicate was refused, a hard-linked one loaded twice with two labels."""
    first = corpus / "anger" / "spk0_0.wav"
    second = corpus / "joy" / "spk0_linked.wav"
    try:
        os.link(first, second)
    except OSError:
        pytest.skip("this file system has no hard links")
    with pytest.raises(ValueError, match=rf"the file {second} is the file {first} \(a hard "
                                         r"link: one file, two names\)"):
        load_audio_folder(corpus)


def test_silent_a_byte_identical_copy_under_another_label_is_refused(corpus):
    copy = corpus / "joy" / "spk0_copy.wav"
    shutil.copyfile(corpus / "anger" / "spk0_0.wav", copy)
    with pytest.raises(ValueError, match=rf"{copy} holds the same bytes as .*spk0_0\.wav, but "
                                         r"its label is 'joy', not 'anger'.*remove the copy"):
        load_audio_folder(corpus)
    with pytest.raises(ValueError, match="holds the same bytes"):  # with or without decoding
        load_audio_folder(corpus, check_files=False)


def test_silent_a_copy_under_another_speaker_is_named_and_one_under_the_same_is_kept(corpus):
    copy = corpus / "anger" / "spk1_copy.wav"
    shutil.copyfile(corpus / "anger" / "spk0_0.wav", copy)
    with pytest.warns(UserWarning, match=rf"1 file\(s\) hold the same bytes as a file of another "
                                         rf"group: {copy} \(group '1'\) is .*spk0_0\.wav "
                                         r"\(group '0'\)\. A split by group") as record:
        load_audio_folder(corpus, groups=r"spk(\d)_")
    assert record[0].filename == __file__
    copy.rename(corpus / "anger" / "spk0_copy.wav")  # the same label and speaker: no leak
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_audio_folder(corpus, groups=r"spk(\d)_").filenames) == 5


def test_silent_the_corpus_loaders_refuse_copies_too(tmp_path):
    anger = write(tmp_path / "wav" / "03a01Wa.wav", seed=0)
    shutil.copyfile(anger, tmp_path / "wav" / "03a01Fa.wav")  # the same take as happiness
    # files in sorted order: the later one is named first
    with pytest.raises(ValueError, match=r"03a01Wa\.wav holds the same bytes as .*03a01Fa\.wav, "
                                         r"but its label is 'anger', not 'happiness'"):
        load_emodb(tmp_path)
