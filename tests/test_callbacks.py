"""Training that survives: non-finite losses, KeyboardInterrupt, SIGKILL, resuming."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, EarlyStopping
from skorch.dataset import ValidSplit

from sklearn_ser import ADCRNNClassifier, LogMel3DTransformer
from sklearn_ser.callbacks import (
    AtomicCheckpoint,
    CosineAnnealing,
    RecordTrainData,
    ResumeFromCheckpoint,
    StopOnNonFiniteLoss,
    resumable_callbacks,
)
from sklearn_ser.exceptions import (
    MissingBestWeightsWarning,
    NonFiniteLossError,
    SklearnSerError,
    TrainingInterruptedWarning,
)

TINY = dict(
    module__conv_channels=4, module__dilated_channels=8, module__linear_units=16,
    module__lstm_units=8, module__embedding_dim=8, module__dropout=0.0,
)
MAX_EPOCHS = 4


def tone_features(n_per_class=5, seed=0):
    """Quiet 150 Hz against loud 500 Hz tones, 0.5-2.5 s, as 60-frame x 20-Mel chunks."""
    rng = np.random.default_rng(seed)
    signals, labels = [], []
    for label, f0, amplitude in (("sadness", 150.0, 0.05), ("anger", 500.0, 0.5)):
        for _ in range(n_per_class):
            t = np.arange(int(rng.uniform(0.5, 2.5) * 16000)) / 16000
            signals.append(amplitude * np.sin(2 * np.pi * f0 * rng.uniform(0.9, 1.1) * t)
                           + 0.005 * rng.standard_normal(t.size))
            labels.append(label)
    features = LogMel3DTransformer(chunk_frames=60, n_mels=20).fit_transform(signals)
    return features, np.array(labels)


def make_net(checkpoint_dir=None, *extra_callbacks, **params):
    """The run every resume test repeats: 4 epochs, shuffled batches, 20 % validation.

    lr=0.1 makes the validation loss go down then up, so the best epoch is
    not always the last one.
    """
    callbacks = [*(resumable_callbacks(checkpoint_dir, monitor="valid_loss_best")
                   if checkpoint_dir else []),
                 *extra_callbacks]
    defaults = dict(lr=0.1, max_epochs=MAX_EPOCHS, batch_size=8, random_state=0, verbose=0,
                    precision="float32", iterator_train__shuffle=True, callbacks=callbacks,
                    train_split=ValidSplit(5, stratified=True))
    return ADCRNNClassifier(**{**TINY, **defaults, **params})


def state(net):
    """Every tensor that defines the trained net: module, criterion (centers)."""
    return {f"{name}.{key}": value.detach().clone()
            for name in ("module_", "criterion_")
            for key, value in getattr(net, name).state_dict().items()}


def optimizer_state(net):
    """Adam's step counts and moments of every parameter, flat."""
    return {f"{index}.{key}": value.clone()
            for index, moments in net.optimizer_.state_dict()["state"].items()
            for key, value in moments.items()}


def assert_same_state(first, second):
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key


@pytest.fixture(scope="module")
def data():
    return tone_features()


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    """An uninterrupted run with checkpoints, and its checkpoint folder."""
    X, y = data
    folder = tmp_path_factory.mktemp("reference")
    net = make_net(folder).fit(X, y)
    return net, folder


class AtBatch(Callback):
    """Calls ``action(net, batch)`` once, at the start or end of one training batch."""

    def __init__(self, epoch, batch_index, action, when="begin"):
        self.epoch = epoch
        self.batch_index = batch_index
        self.action = action
        self.when = when

    def initialize(self):
        self.done_ = False
        return self

    def _maybe(self, net, batch, training, when):
        if (training and when == self.when and not self.done_
                and len(net.history) == self.epoch
                and len(net.history[-1]["batches"]) - 1 == self.batch_index):
            self.done_ = True
            self.action(net, batch)

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        self._maybe(net, batch, training, "begin")

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        self._maybe(net, batch, training, "end")


class AtEpochEnd(Callback):
    """Calls ``action(net)`` once, at the end of one epoch."""

    def __init__(self, epoch, action):
        self.epoch = epoch
        self.action = action

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            self.action(net)


class CentersAtResume(Callback):
    """Records the centers as training (re)starts, after the checkpoint is loaded."""

    def initialize(self):
        self.centers_ = None
        return self

    def on_epoch_begin(self, net, **kwargs):
        if self.centers_ is None:
            self.centers_ = net.criterion_.center_loss.centers.detach().clone()


def keyboard_interrupt(*args):
    raise KeyboardInterrupt


# -- non-finite losses ------------------------------------------------------------------------

def test_nan_input_stops_at_its_batch_and_keeps_the_previous_state(data):
    X, y = data
    snapshots = {}

    def poison(net, batch):
        snapshots["state"] = state(net)
        snapshots["optimizer"] = optimizer_state(net)
        batch[0][0, 0, 5, 3] = float("nan")  # one value of one chunk of the batch

    net = make_net(None, ("poison", AtBatch(2, 1, poison)), ("finite", StopOnNonFiniteLoss()),
                   lr=3e-3, train_split=None)
    with pytest.raises(NonFiniteLossError, match=r"epoch 2, batch 1 \(counted from 0\)") as info:
        net.fit(X, y)
    error = info.value
    assert (error.epoch, error.batch_index) == (2, 1)
    assert isinstance(error, SklearnSerError)
    assert isinstance(error, FloatingPointError) and isinstance(error, RuntimeError)
    assert "input batch itself holds NaN" in str(error)
    # No step was taken: parameters, centers, batch-norm statistics and the
    # optimizer's moments are those left by batch 0 of epoch 2.
    assert_same_state(state(net), snapshots["state"])
    assert_same_state(optimizer_state(net), snapshots["optimizer"])
    assert all(torch.isfinite(value).all() for value in state(net).values())


def test_divergence_names_the_learning_rate_and_keeps_finite_weights(data):
    X, y = data
    # Activations overflow first: the batch-norm statistics of batch 1 turn
    # inf in the forward pass, and are put back.
    net = make_net(None, ("finite", StopOnNonFiniteLoss()), lr=1e12,
                   optimizer=torch.optim.SGD, train_split=None)
    with pytest.raises(NonFiniteLossError,
                       match=r"buffers in .*running_var.*lower the learning rate \(lr=1e\+12\)"):
        net.fit(X, y)
    assert all(torch.isfinite(value).all() for value in state(net).values())


def test_an_overflowing_update_is_named(data):
    X, y = data
    net = make_net(None, ("finite", StopOnNonFiniteLoss()), lr=float("inf"),
                   optimizer=torch.optim.SGD, train_split=None)
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, batch 0 .*the update made "
                                                 r".*cannot be put back"):
        net.fit(X, y)


def test_a_finite_run_is_left_unchanged(data):
    X, y = data
    plain = make_net(None, max_epochs=1).fit(X, y)
    checked = make_net(None, ("finite", StopOnNonFiniteLoss()), max_epochs=1).fit(X, y)
    assert_same_state(state(plain), state(checked))


# -- checkpoints and resuming -----------------------------------------------------------------

def test_uninterrupted_run_checkpoints_last_and_best(reference):
    net, folder = reference
    assert len(net.history) == MAX_EPOCHS
    valid_loss = net.history[:, "valid_loss"]
    best_epoch = int(np.argmin(valid_loss)) + 1
    assert best_epoch < MAX_EPOCHS  # lr=0.1 overfits: the best epoch is not the last one
    last = json.loads((folder / "history.json").read_text())
    best = json.loads((folder / "best_history.json").read_text())
    assert len(last) == MAX_EPOCHS and len(best) == best_epoch
    params = torch.load(folder / "params.pt", weights_only=True)
    for key, value in net.module_.state_dict().items():
        assert torch.equal(params[key], value)
    criterion = torch.load(folder / "criterion.pt", weights_only=True)
    assert torch.equal(criterion["center_loss.centers"], net.criterion_.center_loss.centers)
    assert "state" in torch.load(folder / "optimizer.pt", weights_only=True)
    assert not list(folder.glob("*.tmp"))
    resume = dict(net.callbacks_)["resume"]
    assert resume.resumed_from_epoch_ is None and not resume.interrupted_


@pytest.mark.parametrize("interrupt", ["after epoch 2", "in epoch 3, batch 1"])
def test_keyboard_interrupt_then_fit_resumes_to_the_same_model(interrupt, data, reference,
                                                               tmp_path):
    X, y = data
    reference_net, reference_folder = reference
    if interrupt == "after epoch 2":
        stop = AtEpochEnd(2, keyboard_interrupt)
    else:  # Ctrl-C in the middle of an epoch, when skorch has a half-filled history row
        stop = AtBatch(3, 1, keyboard_interrupt, when="end")
    net = make_net(tmp_path, ("stop", stop), ("probe", CentersAtResume()))
    # skorch catches a callback's KeyboardInterrupt: fit returns, and we warn.
    with pytest.warns(TrainingInterruptedWarning, match="after 2 complete epochs of 4"):
        net.fit(X, y)
    assert dict(net.callbacks_)["resume"].interrupted_
    assert len(json.loads((tmp_path / "history.json").read_text())) == 2
    saved_centers = torch.load(tmp_path / "criterion.pt",
                               weights_only=True)["center_loss.centers"]

    stop.epoch = 0  # do not interrupt again
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.fit(X, y)  # warm_start=False: re-initialise, then load the checkpoint
    resume = dict(net.callbacks_)["resume"]
    assert resume.resumed_from_epoch_ == 2 and not resume.interrupted_
    assert torch.equal(dict(net.callbacks_)["probe"].centers_, saved_centers)
    assert len(net.history) == MAX_EPOCHS and net.max_epochs == MAX_EPOCHS
    # The random generator is restored too: the same weights as without interruption.
    assert_same_state(state(net), state(reference_net))
    assert net.history[:, "valid_loss"] == pytest.approx(reference_net.history[:, "valid_loss"])
    # Epoch 3 is worse than epoch 2; without restoring the best score it
    # would count as the best and overwrite the best checkpoint.
    assert net.history[:, "valid_loss_best"] == reference_net.history[:, "valid_loss_best"]
    for name in ("best_params.pt", "best_criterion.pt"):
        expected = torch.load(reference_folder / name, weights_only=True)
        assert_same_state(torch.load(tmp_path / name, weights_only=True), expected)


@pytest.mark.parametrize("schedule_first", [False, True])
def test_a_resumed_run_stays_on_its_cosine_schedule(schedule_first, data, tmp_path):
    X, y = data
    schedule = ("lr_schedule", CosineAnnealing())
    uninterrupted = make_net(None, schedule).fit(X, y)
    stop = AtEpochEnd(2, keyboard_interrupt)
    callbacks = resumable_callbacks(tmp_path, monitor="valid_loss_best")
    callbacks = [schedule, *callbacks] if schedule_first else [*callbacks, schedule]
    net = make_net(None, *callbacks, ("stop", stop))
    with pytest.warns(TrainingInterruptedWarning):
        net.fit(X, y)
    stop.epoch = 0
    net.fit(X, y)
    assert dict(net.callbacks_)["resume"].resumed_from_epoch_ == 2
    rates = net.history[:, "event_lr"]
    assert rates == pytest.approx(uninterrupted.history[:, "event_lr"], rel=1e-12)
    assert rates[0] == pytest.approx(0.1) and rates[-1] < rates[2] < rates[1] < rates[0]
    assert_same_state(state(net), state(uninterrupted))


def stopping():
    return ("early_stopping", EarlyStopping(patience=1, load_best=True))


@pytest.fixture(scope="module")
def stopped_reference(data, tmp_path_factory):
    """An uninterrupted run that early stopping ends, and its checkpoint folder."""
    X, y = data
    folder = tmp_path_factory.mktemp("stopped")
    net = make_net(folder, stopping(), max_epochs=12, lr=0.2).fit(X, y)
    assert len(net.history) < 12  # it did stop early
    return net, folder


def test_a_resumed_run_keeps_its_early_stopping_counters_and_best_weights(
        data, stopped_reference, tmp_path):
    X, y = data
    reference, _ = stopped_reference
    best_epoch = dict(reference.callbacks_)["early_stopping"].best_epoch_
    assert 1 < best_epoch < len(reference.history)
    # interrupted after the best epoch, before early stopping fires
    stop = AtEpochEnd(best_epoch, keyboard_interrupt)
    net = make_net(tmp_path, stopping(), ("stop", stop), max_epochs=12, lr=0.2)
    with pytest.warns(TrainingInterruptedWarning):
        net.fit(X, y)
    stop.epoch = 0
    net.fit(X, y)
    assert dict(net.callbacks_)["resume"].resumed_from_epoch_ == best_epoch
    assert len(net.history) == len(reference.history)  # stopped at the same epoch
    assert dict(net.callbacks_)["early_stopping"].best_epoch_ == best_epoch
    assert_same_state({k: v for k, v in state(net).items() if k.startswith("module_")},
                      {k: v for k, v in state(reference).items() if k.startswith("module_")})


def test_a_run_that_stopped_early_is_not_trained_again(data, stopped_reference):
    X, y = data
    reference, folder = stopped_reference
    net = make_net(folder, stopping(), max_epochs=12, lr=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.fit(X, y)
    assert len(net.history) == len(reference.history)
    # the best epoch's weights, read back from the best checkpoint
    assert_same_state({k: v for k, v in state(net).items() if k.startswith("module_")},
                      {k: v for k, v in state(reference).items() if k.startswith("module_")})


def test_resuming_without_the_best_weights_on_disk_says_so(data, stopped_reference, tmp_path):
    X, y = data
    reference, _ = stopped_reference
    best_epoch = dict(reference.callbacks_)["early_stopping"].best_epoch_
    stop = AtEpochEnd(best_epoch, keyboard_interrupt)
    no_best = resumable_callbacks(tmp_path, monitor=None)  # no best-epoch checkpoint
    net = make_net(None, *no_best, stopping(), ("stop", stop), max_epochs=12, lr=0.2)
    with pytest.warns(TrainingInterruptedWarning, match="after"):
        net.fit(X, y)
    stop.epoch = 0
    with pytest.warns(MissingBestWeightsWarning, match=f"best epoch so far \\({best_epoch}\\)"):
        net.fit(X, y)
    assert len(net.history) == len(reference.history)


TRAIN_UNTIL_KILLED = textwrap.dedent("""
    import sys, time
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_callbacks import AtEpochEnd, make_net
    from sklearn_ser import ChunkedFeatures

    data = np.load({data!r})
    X = ChunkedFeatures(data["chunks"], data["offsets"], data["n_frames"])

    def signal_and_hang(net):
        open({marker!r}, "w").close()  # the checkpoint of this epoch is on disk
        time.sleep(300)

    make_net({folder!r}, ("hang", AtEpochEnd(2, signal_and_hang))).fit(X, data["y"])
""")


def test_killed_process_resumes_from_its_last_checkpoint(data, reference, tmp_path):
    X, y = data
    folder, marker, data_file = tmp_path / "run", tmp_path / "ready", tmp_path / "data.npz"
    np.savez(data_file, chunks=X.chunks, offsets=X.offsets, n_frames=X.n_frames, y=y)
    script = TRAIN_UNTIL_KILLED.format(
        tests=os.path.dirname(__file__), data=str(data_file), marker=str(marker),
        folder=str(folder))
    # One torch thread, as the suite's conftest sets in this process.
    process = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "training never reached epoch 2"
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    assert len(json.loads((folder / "history.json").read_text())) == 2
    saved_centers = torch.load(folder / "criterion.pt", weights_only=True)["center_loss.centers"]

    net = make_net(folder, ("probe", CentersAtResume())).fit(X, y)
    assert dict(net.callbacks_)["resume"].resumed_from_epoch_ == 2
    assert torch.equal(dict(net.callbacks_)["probe"].centers_, saved_centers)
    assert len(net.history) == MAX_EPOCHS
    np.testing.assert_allclose(net.predict_proba(X), reference[0].predict_proba(X),
                               rtol=1e-5, atol=1e-6)


def test_a_finished_run_is_not_trained_again(data, reference):
    X, y = data
    net = make_net(reference[1]).fit(X, y)
    assert dict(net.callbacks_)["resume"].resumed_from_epoch_ == MAX_EPOCHS
    assert len(net.history) == MAX_EPOCHS
    assert_same_state(state(net), state(reference[0]))


def test_resuming_on_other_data_is_an_error(data, reference):
    X, y = data
    assert (reference[1] / "train_data.json").exists()
    with pytest.raises(ValueError, match=r"other training data \(the same number of samples "
                                         rf"\({len(X)}\) with other values.*own checkpoint folder"):
        make_net(reference[1]).fit(X, y[::-1])  # a cross-validation fold sharing the folder
    with pytest.raises(ValueError, match=rf"other training data \({len(X)} samples there, "
                                         rf"{len(X) - 1} in this fit\)"):
        make_net(reference[1]).fit(X[1:], y[1:])


def test_a_run_without_resume_still_records_its_data_for_a_later_resume(data, tmp_path):
    # `sklearn-ser train --checkpoint-dir D` then `... --resume` on another corpus
    # used to continue silently: only a resuming run recorded its training data.
    X, y = data
    fresh = ADCRNNClassifier(**{**TINY, "max_epochs": 1, "verbose": 0, "random_state": 0,
                                "callbacks": resumable_callbacks(tmp_path, resume=False)})
    fresh.fit(X, y)
    assert "train_data" in dict(fresh.callbacks_)
    assert (tmp_path / "train_data.json").exists()
    with pytest.raises(ValueError, match=r"other training data \(the same number of samples"):
        make_net(tmp_path).fit(X, y[::-1])
    # Unhashable training data cannot vouch for itself: the earlier record goes.
    RecordTrainData(AtomicCheckpoint(monitor=None, dirname=str(tmp_path))).on_train_begin(
        fresh, X=object(), y=None)
    assert not (tmp_path / "train_data.json").exists()


def test_an_incomplete_checkpoint_is_an_error(data, reference, tmp_path):
    X, y = data
    for name in ("history.json", "optimizer.pt", "criterion.pt"):
        (tmp_path / name).write_bytes((reference[1] / name).read_bytes())
    with pytest.raises(FileNotFoundError, match=r"incomplete.*params\.pt"):
        make_net(tmp_path).fit(X, y)


def test_a_failed_checkpoint_write_keeps_the_previous_one(reference, tmp_path, monkeypatch):
    net, _ = reference
    checkpoint = AtomicCheckpoint(monitor=None, dirname=str(tmp_path)).initialize()
    checkpoint.save_model(net)
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    assert set(before) == {"params.pt", "optimizer.pt", "criterion.pt", "history.json",
                           "rng_state.pt"}

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.warns(RuntimeWarning, match="No space left.*previous checkpoint .* is intact"):
        checkpoint.save_model(net)
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before


def test_resumable_callbacks_layout(tmp_path):
    callbacks = dict(resumable_callbacks(tmp_path, monitor="valid_loss_best"))
    assert list(callbacks) == ["checkpoint_best", "checkpoint", "resume"]
    assert callbacks["resume"].checkpoint is callbacks["checkpoint"]
    assert callbacks["checkpoint"].monitor is None
    assert callbacks["checkpoint_best"].f_optimizer is None
    fresh = dict(resumable_callbacks(tmp_path, resume=False, monitor=None))
    assert list(fresh) == ["checkpoint", "train_data"]
    assert fresh["train_data"].checkpoint is fresh["checkpoint"]
    with pytest.raises(ValueError, match="f_history"):
        ResumeFromCheckpoint(AtomicCheckpoint(f_history=None)).initialize()


def test_training_without_a_validation_split(data, tmp_path):
    X, y = data
    callbacks = resumable_callbacks(tmp_path, monitor=None)
    net = make_net(None, *callbacks, ("stop", AtEpochEnd(1, keyboard_interrupt)),
                   train_split=None, max_epochs=2)
    with pytest.warns(TrainingInterruptedWarning):
        net.fit(X, y)
    dict(net.callbacks_)["stop"].epoch = 0
    net.fit(X, y)
    assert len(net.history) == 2 and "valid_loss" not in net.history[-1]
    assert not (tmp_path / "best_params.pt").exists()

