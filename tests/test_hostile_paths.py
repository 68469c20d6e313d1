"""Paths that are no regular files, and files that cannot be read, wherever the toolkit
reads one (audio, model files, checkpoints, corpus folders): refused before they are
opened, at once, with the file named.

Each test's name starts with its kind: ``crash_or_hang`` (a named pipe used to block
forever) or ``confusing`` (an unreadable file was "System error.").
"""

from __future__ import annotations

import json
import os
import sys
import threading

import numpy as np
import pytest
import soundfile as sf

from sklearn_ser import ADCRNNClassifier, LogMel3DTransformer
from sklearn_ser.callbacks import resumable_callbacks
from sklearn_ser.datasets import load_audio_folder
from sklearn_ser.exceptions import AudioFileError, CheckpointError, ModelFileError
from sklearn_ser.io import check_audio_path, load_audio, read_wav
from sklearn_ser.persistence import load, load_model

RATE = 16000
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and devices are POSIX")


def finishes(call, seconds=10.0):
    """``call()``'s exception (or its result), failing the test if it blocks."""
    outcome = {}

    def run():
        try:
            outcome["result"] = call()
        except BaseException as exc:  # handed back to the test
            outcome["result"] = exc

    thread = threading.Thread(target=run, daemon=True)  # left behind if it blocks
    thread.start()
    thread.join(seconds)
    assert "result" in outcome, f"still blocked after {seconds} s"
    return outcome["result"]


def tiny_chunks():
    signals = [0.1 * np.random.default_rng(i).standard_normal(12800) for i in range(4)]
    return LogMel3DTransformer(chunk_frames=40, n_mels=16).fit_transform(signals)


def resume(folder):
    net = ADCRNNClassifier(module__conv_channels=2, module__dilated_channels=4,
                           module__linear_units=8, module__lstm_units=4,
                           module__embedding_dim=4, max_epochs=1, batch_size=4, verbose=0,
                           callbacks=resumable_callbacks(folder))
    return net.fit(tiny_chunks(), ["anger", "joy"] * 2)


def checkpoint_with_a_fifo(folder, name):
    """A checkpoint folder whose file ``name`` is a named pipe (the others are read only
    after every file is found regular)."""
    folder.mkdir()
    (folder / "history.json").write_text(json.dumps(
        [{"epoch": 1, "batches": [{"train_loss": 1.0}], "train_loss": 1.0}]))
    for other in ("params.pt", "optimizer.pt", "criterion.pt", "train_data.json"):
        (folder / other).write_bytes(b"")
    (folder / name).unlink()
    os.mkfifo(folder / name)


AUDIO_CALLS = {
    "load_audio": load_audio,
    "check_audio_path": lambda path: check_audio_path(path, str(path)),
    "read_wav": read_wav,
    "LogMel3DTransformer.fit": lambda path: LogMel3DTransformer().fit([path]),
}
MODEL_CALLS = {"load_model": load_model, "persistence.load": load}


@posix_only
@pytest.mark.parametrize("call", [*AUDIO_CALLS, *MODEL_CALLS])
def test_crash_or_hang_a_named_pipe_is_refused_without_waiting_for_a_writer(call, tmp_path):
    fifo = tmp_path / ("pipe.wav" if call in AUDIO_CALLS else "model.sser")
    os.mkfifo(fifo)
    read = {**AUDIO_CALLS, **MODEL_CALLS}[call]
    error = finishes(lambda: read(fifo))
    what, kind = ("audio file", AudioFileError) if call in AUDIO_CALLS else (
        "model file", ModelFileError)
    assert isinstance(error, kind)
    assert f"'{fifo}' is a named pipe (FIFO), not {'an' if what[0] == 'a' else 'a'} {what}" \
        in str(error)


@posix_only
@pytest.mark.parametrize("call", ["load_audio", "load_model", "persistence.load"])
def test_crash_or_hang_a_device_is_refused_unread(call):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    error = finishes(lambda: {**AUDIO_CALLS, **MODEL_CALLS}[call]("/dev/zero"))
    assert isinstance(error, AudioFileError | ModelFileError)
    assert "'/dev/zero' is a character device" in str(error)


@posix_only
@pytest.mark.parametrize("name", ["history.json", "params.pt", "train_data.json"])
def test_crash_or_hang_a_named_pipe_in_a_checkpoint_is_refused_unopened(name, tmp_path):
    folder = tmp_path / "run"
    checkpoint_with_a_fifo(folder, name)
    error = finishes(lambda: resume(folder))
    assert isinstance(error, CheckpointError)
    assert f"'{folder / name}' is a named pipe (FIFO), not a checkpoint file" in str(error)


@posix_only
def test_crash_or_hang_a_named_pipe_in_a_corpus_is_left_out_unopened(tmp_path):
    for i, label in enumerate(["anger", "joy"]):
        (tmp_path / label).mkdir()
        sf.write(tmp_path / label / "a.wav", 0.1 * np.random.default_rng(i).standard_normal(800),
                 8000)
    os.mkfifo(tmp_path / "joy" / "pipe.wav")
    data = finishes(lambda: load_audio_folder(tmp_path))
    assert sorted(data.target) == ["anger", "joy"]


@pytest.fixture
def locked(tmp_path, monkeypatch):
    """A function that makes ``os.open`` refuse one path, as for a file of another user
    (the suite may run as root, for whom no permission bit is ever refused)."""
    def lock(path):
        real_open = os.open

        def refuse(target, *args, **kwargs):
            if os.fspath(target) == str(path):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(target, *args, **kwargs)

        monkeypatch.setattr(os, "open", refuse)
        return path
    return lock


@pytest.mark.parametrize("name", ["clip.wav", "clip.flac"])
@pytest.mark.parametrize("read", ["read_wav", "load_audio", "LogMel3DTransformer.fit"])
def test_confusing_an_unreadable_audio_file_is_a_permission_error_naming_it(
        name, read, tmp_path, locked):
    """The WAV fast path swallowed the error and libsndfile called it "System error."."""
    path = tmp_path / name
    sf.write(path, np.zeros(800), RATE, format="WAV" if name.endswith("wav") else "FLAC")
    locked(path)
    with pytest.raises(PermissionError, match=r"permission denied: cannot read the audio file: "
                                              rf"'.*{name}'") as info:
        AUDIO_CALLS[read](path)
    assert info.value.filename == str(path)


def test_confusing_an_unreadable_model_file_is_a_permission_error_naming_it(tmp_path, locked):
    path = tmp_path / "model.sser"
    path.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip archive
    locked(path)
    for read in MODEL_CALLS.values():
        with pytest.raises(PermissionError, match=r"cannot read the model file: '.*model\.sser'"):
            read(path)


def test_confusing_folders_named_like_files(tmp_path):
    for name, read, message in (
            ("clip.wav", load_audio, "is a directory, not an audio file"),
            ("model.sser", load_model, "is a directory, not a model file")):
        (tmp_path / name).mkdir()
        with pytest.raises((AudioFileError, ModelFileError), match=rf"{name}' {message}"):
            read(tmp_path / name)
