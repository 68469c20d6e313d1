"""Damaged, odd and foreign checkpoints: resuming never hangs, never continues on data
it cannot vouch for, and every failure is a CheckpointError naming the file and the way
out (never torch's advice to turn its safety check off).

Each test's name starts with its kind: ``crash_or_hang``, ``silent`` or ``confusing``.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from sklearn_ser import ADCRNNClassifier, LogMel3DTransformer
from sklearn_ser.callbacks import resumable_callbacks
from sklearn_ser.exceptions import CheckpointError

TINY = dict(module__conv_channels=2, module__dilated_channels=4, module__linear_units=8,
            module__lstm_units=4, module__embedding_dim=4, max_epochs=1, batch_size=4,
            random_state=0, verbose=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    signals = [0.1 * rng.standard_normal(12800) for _ in range(6)]
    return (LogMel3DTransformer(chunk_frames=40, n_mels=16).fit_transform(signals),
            np.array(["anger", "joy"] * 3))


def make_net(folder, **callbacks_options):
    return ADCRNNClassifier(**TINY, callbacks=resumable_callbacks(folder, **callbacks_options))


@pytest.fixture(scope="module")
def finished(data, tmp_path_factory):
    """The folder of a finished one-epoch run."""
    folder = tmp_path_factory.mktemp("run")
    make_net(folder).fit(*data)
    return folder


@pytest.fixture
def folder(finished, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    return copy


def resume_fails(folder, data, message):
    with pytest.raises(CheckpointError, match=message) as info:
        make_net(folder).fit(*data)
    assert isinstance(info.value, ValueError)
    return info.value


def test_the_untouched_checkpoint_resumes(folder, data):
    net = make_net(folder).fit(*data)
    assert dict(net.callbacks_)["resume"].resumed_from_epoch_ == 1


# -- confusing: torch's unpickling error, JSON errors ---------------------------------------

DAMAGE = {
    "params.pt of garbage": ("params.pt", lambda data: b"\x80\x04garbage" + data[:40]),
    "params.pt cut short": ("params.pt", lambda data: data[: len(data) // 2]),
    "optimizer.pt emptied": ("optimizer.pt", lambda data: b""),
    "criterion.pt of text": ("criterion.pt", lambda data: b"not a checkpoint\n" * 10),
    "rng_state.pt of garbage": ("rng_state.pt", lambda data: bytes(64)),
    "history.json cut short": ("history.json", lambda data: data[: len(data) // 2]),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_confusing_a_damaged_file_is_named_without_unsafe_advice(case, folder, data):
    """A corrupt params.pt gave torch's UnpicklingError, advising weights_only=False."""
    name, damage = DAMAGE[case]
    path = folder / name
    path.write_bytes(damage(path.read_bytes()))
    error = resume_fails(folder, data, rf"checkpoint file '{path}': .*Delete the checkpoint "
                                       r"folder to start afresh")
    assert "weights_only" not in str(error)
    if "torch can read safely" in str(error):
        assert error.__cause__ is None and error.__suppress_context__  # no advice below either


@pytest.mark.parametrize("record", [b"{not json", b"[1, 2]"])
def test_confusing_a_damaged_data_record_is_named(record, folder, data):
    (folder / "train_data.json").write_bytes(record)
    resume_fails(folder, data, r"train_data\.json")


# -- silent: resuming without proof that the data are the same ------------------------------

def test_silent_no_data_record_is_refused_with_the_way_out(folder, data):
    """Without train_data.json, a resume on another corpus continued silently."""
    (folder / "train_data.json").unlink()
    resume_fails(folder, data, rf"checkpoint in '{folder}' has no train_data\.json, .*Delete "
                               rf".*check_data=False")
    net = make_net(folder, check_data=False).fit(*data)  # the way out, for the same data
    assert dict(net.callbacks_)["resume"].resumed_from_epoch_ == 1
    net = make_net(folder).set_params(callbacks__resume__check_data=False).fit(*data)
    assert dict(net.callbacks_)["resume"].resumed_from_epoch_ == 1


def test_silent_other_data_is_still_refused(folder, data):
    X, y = data
    error = resume_fails(folder, (X, y[::-1]), r"belongs to a run on other training data")
    assert isinstance(error, CheckpointError)


def test_confusing_a_history_of_another_shape_is_named(folder, data):
    """skorch formats the files' names from the history: an odd one was an IndexError."""
    (folder / "history.json").write_text('[{"epoch": 1, "batches": []}]')
    resume_fails(folder, data, r"history\.json' does not hold the history of a training run")
