"""sklearn_ser.datasets.load_dataset: datasets by name.

The oracles are the loaders themselves (``load_dataset(name, root)`` must give
what the named loader gives) and ``make_emotional_speech`` for the demo corpus.
"""

import numpy as np
import pytest
import soundfile as sf

from sklearn_ser.datasets import (
    CORPORA,
    DATASETS,
    DEMO_DEFAULTS,
    load_audio_folder,
    load_cremad,
    load_dataset,
    load_emodb,
    load_ravdess,
    make_emotional_speech,
)

#: A file of each corpus's layout, and the loader that reads it.
LAYOUTS = {
    "emodb": ("wav/03a01Wa.wav", load_emodb),
    "cremad": ("AudioWAV/1001_DFA_ANG_XX.wav", load_cremad),
    "ravdess": ("Actor_01/03-01-05-01-01-01-01.wav", load_ravdess),
    "folder": ("anger/spk1_a.wav", load_audio_folder),
}


def write_corpus(root, name):
    """One short tone in the layout of corpus ``name``, plus a broken file to skip."""
    path, _ = LAYOUTS[name]
    for relative in (path, f"{path[:-4]}X-bad.wav"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
    sf.write(root / path, np.sin(np.arange(400) / 5.0) * 0.1, 8000)
    (root / f"{path[:-4]}X-bad.wav").write_bytes(b"RIFF....WAVEjunk")
    return root


def test_the_names_are_the_corpora_then_demo():
    assert DATASETS == ("emodb", "cremad", "ravdess", "folder", "demo")
    assert tuple(CORPORA) == DATASETS[:-1]
    assert {name: loader for name, (_, loader) in LAYOUTS.items()} == dict(CORPORA)
    with pytest.raises(TypeError):
        CORPORA["mine"] = load_emodb  # read-only: one table for every caller


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_a_corpus_by_name_is_its_loader_with_the_same_arguments(name, tmp_path):
    root = write_corpus(tmp_path, name)
    _, loader = LAYOUTS[name]
    expected = loader(root, on_error="skip")
    data = load_dataset(name, root, on_error="skip")
    assert sorted(data) == sorted(expected)
    for key in ("filenames", "target", "groups", "target_names"):
        np.testing.assert_array_equal(data[key], expected[key])
    assert len(data.skipped) == 1 and data.skipped == expected.skipped
    with pytest.raises(ValueError, match=r"X-bad\.wav"):  # the loader's default: raise
        load_dataset(name, root)


def test_the_demo_corpus_is_make_emotional_speech_with_its_defaults():
    data = load_dataset("demo")
    X, y, groups = make_emotional_speech(**DEMO_DEFAULTS)
    np.testing.assert_array_equal(data.data, X)
    np.testing.assert_array_equal(data.target, y)
    np.testing.assert_array_equal(data.groups, groups)
    assert len(y) == DEMO_DEFAULTS["n_samples"] == 240
    assert data.target_names.tolist() == sorted(set(y))
    assert len(data.target_names) == DEMO_DEFAULTS["n_classes"]
    assert data.sample_rate == DEMO_DEFAULTS["sample_rate"] and data.skipped == []
    assert "filenames" not in data  # waveforms, made in memory
    np.testing.assert_array_equal(load_dataset("demo").data, X)  # the same on every call


def test_the_demo_corpus_takes_make_emotional_speechs_arguments():
    data = load_dataset("demo", n_samples=12, n_classes=3, duration=0.5, random_state=7)
    X, y, groups = make_emotional_speech(12, n_classes=3, duration=0.5, random_state=7)
    np.testing.assert_array_equal(data.data, X)
    np.testing.assert_array_equal(data.target, y)
    np.testing.assert_array_equal(data.groups, groups)
    with pytest.raises(ValueError, match="n_classes"):  # the generator's own check
        load_dataset("demo", n_classes=9)


def test_demo_defaults_are_make_emotional_speechs_but_the_size_and_seed():
    from inspect import signature

    defaults = {name: parameter.default
                for name, parameter in signature(make_emotional_speech).parameters.items()}
    assert dict(DEMO_DEFAULTS) == {**defaults, "n_samples": 240, "random_state": 0}


@pytest.mark.parametrize("name", ["EmoDB", "iemocap", "", None, 3])
def test_an_unknown_name_is_named_with_the_choices(name):
    with pytest.raises(ValueError) as info:
        load_dataset(name, "corpus")
    message = str(info.value)
    assert repr(name) in message
    assert all(choice in message for choice in DATASETS)


def test_a_corpus_needs_a_root_and_the_demo_takes_none(tmp_path):
    with pytest.raises(ValueError, match="'emodb' dataset needs root"):
        load_dataset("emodb")
    with pytest.raises(ValueError, match="takes no root"):
        load_dataset("demo", tmp_path)
