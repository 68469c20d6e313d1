"""sklearn_ser.persistence.save / load / looks_like_pickle: the format follows the name.

Oracles: :mod:`zipfile` (the safe format is a zip, a pickle is not), joblib's
own ``load`` and the safe ``load_model`` reading what ``save`` wrote, and the
model's own predictions before saving.
"""

import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest

from sklearn_ser.datasets import make_emotional_speech
from sklearn_ser.exceptions import ModelFileError
from sklearn_ser.persistence import (
    is_pickle_name,
    load,
    load_model,
    looks_like_pickle,
    save,
    save_model,
)
from sklearn_ser.pipeline import build_pipeline


@pytest.fixture(scope="module")
def data():
    X, y, _ = make_emotional_speech(8, n_classes=2, n_speakers=2, duration=0.5, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def model(data):
    pipe = build_pipeline("paper", width="tiny", max_epochs=1, chunk_frames=50,
                          precision="float32", verbose=0)
    return pipe.fit(*data)


class _RunsOnLoad:
    """A pickle that creates a file when it is loaded."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


@pytest.mark.parametrize(("name", "pickled"), [
    ("m.joblib", True), ("m.PKL", True), ("m.pickle", True), ("m.joblib.gz", True),
    ("m.pkl.bz2", True), ("m.sser", False), ("m.gz", False), ("m.joblib.sser", False),
    ("model", False), ("m.zip", False),
])
def test_which_model_names_are_pickles(name, pickled):
    assert is_pickle_name(name) is pickled


@pytest.mark.parametrize(("name", "pickled"), [
    ("m.joblib", True), ("m.pkl.gz", True), ("m.pickle.xz", True),
    ("m.sser", False), ("model", False),
])
def test_save_writes_the_format_of_the_name_and_load_reads_it_back(name, pickled, model, data,
                                                                   tmp_path):
    path = save(model, tmp_path / name)
    assert path == tmp_path / name
    assert zipfile.is_zipfile(path) is not pickled
    # each format's own reader reads it: joblib for a pickle, load_model otherwise
    reread = joblib.load(path) if pickled else load_model(path)
    loaded = load(path)
    X = data[0][:3]
    np.testing.assert_allclose(reread.predict_proba(X), model.predict_proba(X), rtol=1e-6)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=1e-6)


@pytest.mark.parametrize("compress", [None, "zlib", "gzip", "bz2", "xz", "lzma"])
def test_joblib_pickles_look_like_pickles(compress, tmp_path):
    path = tmp_path / "m.bin"
    joblib.dump({"a": 1}, path, compress=compress and (compress, 3))
    assert looks_like_pickle(path)


def test_other_files_do_not_look_like_pickles(model, tmp_path):
    safe = save_model(model, tmp_path / "m.sser")
    text, empty = tmp_path / "notes.txt", tmp_path / "empty"
    text.write_text("hello")
    empty.write_bytes(b"")
    for path in (safe, text, empty, tmp_path / "missing", tmp_path):
        assert not looks_like_pickle(path)


@pytest.mark.parametrize("name", ["model.sser", "model", "m.joblib.sser"])
def test_load_never_unpickles_a_file_not_named_like_a_pickle(name, tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / name
    joblib.dump(_RunsOnLoad(str(marker)), evil, compress=("gzip", 3) if name == "model" else 0)
    with pytest.raises(ModelFileError, match="looks like a pickle") as info:
        load(evil)
    assert str(evil) in str(info.value) and ".joblib" in str(info.value)
    assert not marker.exists()


def test_a_safe_file_named_like_a_pickle_goes_to_the_safe_loader(model, data, tmp_path):
    path = (tmp_path / "m.joblib")
    path.write_bytes(save_model(model, tmp_path / "m.sser").read_bytes())
    X = data[0][:2]
    np.testing.assert_allclose(load(path).predict_proba(X), model.predict_proba(X), rtol=1e-6)


def test_load_names_a_missing_file_a_folder_and_a_broken_pickle(tmp_path):
    with pytest.raises(FileNotFoundError, match="model file not found") as info:
        load(tmp_path / "none.joblib")
    assert info.value.filename == str(tmp_path / "none.joblib")
    with pytest.raises(ModelFileError, match="is a folder, not a saved model"):
        load(tmp_path)
    broken = tmp_path / "broken.joblib"
    broken.write_text("not a pickle")
    with pytest.raises(ModelFileError, match="cannot load model file") as info:
        load(broken)
    assert str(broken) in str(info.value)


def test_load_refuses_a_device_for_a_pickle(model, tmp_path):
    path = save(model, tmp_path / "m.joblib")
    with pytest.raises(ValueError, match="device='cpu' applies to the safe format"):
        load(path, device="cpu")
    assert load(save(model, tmp_path / "m.sser"), device="cpu")[-1].device == "cpu"
