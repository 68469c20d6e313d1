"""Crash-safe checkpoints and exact resumption of an interrupted training run.

- :class:`AtomicCheckpoint` is skorch's ``Checkpoint`` with crash-safe writes
  and the state of torch's random generator.
- :class:`ResumeFromCheckpoint` loads the last checkpoint when training
  begins and trains only the epochs that are left.
- :class:`RecordTrainData` records what a run trains on, so that a resume
  on other data is refused.
- :func:`resumable_callbacks` puts them together.
"""


from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback, Checkpoint, EarlyStopping
from skorch.history import History

from ..exceptions import CheckpointError, MissingBestWeightsWarning, TrainingInterruptedWarning
from ._atomic import AtomicCheckpoint, _folder
from ._reading import check_checkpoint_file, read_checkpoint_file, read_json
from ._train_data import (
    TRAIN_DATA_FILE,
    RecordTrainData,
    _fingerprint,
    _fingerprint_file,
    _write_fingerprint,
)

__all__ = [
    "ResumeFromCheckpoint",
    "resumable_callbacks",
]

def _restore_best_scores(net):
    """Give the scoring callbacks the best scores of a loaded history.

    skorch's scoring callbacks read the history in ``on_train_begin``, before
    a checkpoint is loaded (``PassthroughScoring`` not at all), so without
    this the first resumed epoch always counts as the best.
    """
    for _, callback in net.callbacks_:
        if not hasattr(callback, "best_score_") or not hasattr(callback, "lower_is_better"):
            continue
        name = getattr(callback, "name_", None) or getattr(callback, "name", None)
        if not isinstance(name, str):
            continue
        for row in reversed(net.history):
            if row.get(f"{name}_best") and name in row:
                callback.best_score_ = row[name]
                break


def _replay_early_stopping(callback, history):
    """``EarlyStopping``'s counters after the epochs of ``history``, as it kept them.

    Follows skorch's documented rule from the callback's public parameters
    (``monitor``, ``lower_is_better``, ``threshold``, ``threshold_mode``): a
    score improves when it beats the best score so far by more than
    ``threshold`` (a fraction of the score when ``threshold_mode="rel"``).
    """
    lower = callback.lower_is_better
    misses, best_epoch = 0, 0
    threshold = np.inf if lower else -np.inf
    for row in history:
        score = row.get(callback.monitor)
        if score is None:
            continue
        if (score < threshold) if lower else (score > threshold):
            misses, best_epoch = 0, row["epoch"]
            change = callback.threshold * score if callback.threshold_mode == "rel" \
                else callback.threshold
            threshold = score - change if lower else score + change
        else:
            misses += 1
    return {"misses_": misses, "dynamic_threshold_": threshold, "best_epoch_": best_epoch}


def _best_module_weights(net, checkpoint, epoch):
    """The module weights of ``epoch`` from a best-epoch checkpoint next to ``checkpoint``.

    ``None`` unless a checkpoint with a ``monitor`` in the same folder holds
    exactly that epoch (its saved history ends there).
    """
    for _, other in net.callbacks_:
        if (not isinstance(other, Checkpoint) or other is checkpoint or other.monitor is None
                or other.dirname != checkpoint.dirname or not isinstance(other.f_params, str)
                or not isinstance(other.f_history, str)):
            continue
        folder = other.dirname or os.curdir
        history_file = os.path.join(folder, other.fn_prefix + other.f_history)
        params_file = os.path.join(folder, other.fn_prefix + other.f_params)
        if not (os.path.exists(history_file) and os.path.exists(params_file)):
            continue
        history = read_checkpoint_file(history_file, read_json)
        if not isinstance(history, list) or len(history) != epoch:
            continue
        if other.use_safetensors:
            from safetensors.torch import load_file

            # load_state_dict moves them to the net's device
            return read_checkpoint_file(params_file, lambda f: load_file(f, device="cpu"))
        return read_checkpoint_file(params_file, lambda f: torch.load(
            f, weights_only=True, map_location="cpu"))
    return None


class ResumeFromCheckpoint(Callback):
    """Load the last checkpoint when training begins; train only the epochs left.

    Unlike skorch's ``LoadInitState``, which trains ``max_epochs`` more
    epochs on top of the loaded ones, ``max_epochs`` stays the length of the
    whole run: a run interrupted after epoch ``k`` resumes at epoch ``k + 1``
    and ends with ``len(net.history) == max_epochs``, like an uninterrupted
    run (with :class:`AtomicCheckpoint`, which also restores the random
    generator, it computes the same weights). A finished run is not trained
    further. The module, the criterion (the contrastive centers), the
    optimizer state and the history are loaded with skorch's ``load_params``
    (``torch.load(weights_only=True)``); the best scores of the scoring
    callbacks are restored from the history, so the first resumed epoch is
    not taken for the best one.

    When training starts afresh, the size and a hash of ``X`` and ``y`` are
    written to ``<fn_prefix>train_data.json``; resuming on other data is an
    error, so two runs (two cross-validation folds) sharing a folder fail
    loudly instead of one "resuming" the other.

    Loading happens once per ``initialize``: ``fit`` (with the default
    ``warm_start=False``) loads, a following ``partial_fit`` does not, so
    resume with ``fit``. Without a checkpoint on disk training starts afresh;
    a checkpoint with a history but a missing file is an error.

    skorch catches ``KeyboardInterrupt`` (Ctrl-C, or a callback such as
    ``EarlyStopping`` raising it) inside ``fit``, runs ``on_train_end`` and
    returns the net as it is, possibly in the middle of an epoch. Only the
    checkpoint of the last complete epoch is used to resume, never the
    half-trained state (which is why :func:`resumable_callbacks` does not use
    skorch's ``TrainEndCheckpoint``, which would save it).

    An ``EarlyStopping`` callback resumes where it was: its miss count,
    threshold and best epoch are replayed from the loaded history, a run
    that had already stopped early is not trained further, and with
    ``load_best=True`` the best epoch's weights come from the best-epoch
    checkpoint of the same folder (``checkpoint_best`` of
    :func:`resumable_callbacks`) when it holds that very epoch (give
    ``EarlyStopping`` ``threshold=0`` so both mark the same epochs);
    otherwise a :class:`MissingBestWeightsWarning` says that the final
    weights may not be the best epoch's. Put ``EarlyStopping`` *after* the
    checkpoint callbacks: it ends training by raising in ``on_epoch_end``, so
    a checkpoint listed after it would miss the last epoch.

    Every file of the checkpoint must be a regular file (a named pipe or a
    device is refused unopened), and one that cannot be read (corrupted, cut
    short, written for another network) is a :class:`CheckpointError` naming
    it. So is a checkpoint without ``train_data.json`` (written before the
    data were recorded, or by another tool): nothing would show that it was
    made on this fit's data.

    Parameters
    ----------
    checkpoint : skorch.callbacks.Checkpoint
        The checkpoint saved every epoch (``monitor=None``); its ``f_history``
        must be set: the history says how many epochs are done.
    check_data : bool, default=True
        Refuse to resume unless ``train_data.json`` shows that the checkpoint
        was made on this fit's ``X`` and ``y``. False resumes without the
        check, for data you know to be the same.

    Attributes
    ----------
    resumed_from_epoch_ : int or None
        Epochs found in the checkpoint when training began; None if none was.
    completed_epochs_ : int
        Complete epochs in the history (the last checkpoint's epoch).
    target_epochs_ : int
        Epochs the history should hold when the current ``fit`` ends.
    interrupted_ : bool
        Whether the last ``fit`` stopped before ``target_epochs_`` other than
        by ``EarlyStopping``; a :class:`TrainingInterruptedWarning` is issued
        then.
    """

    def __init__(self, checkpoint, *, check_data=True):
        self.checkpoint = checkpoint
        self.check_data = check_data

    def initialize(self):
        if getattr(self.checkpoint, "f_history", None) is None:
            raise ValueError(
                "ResumeFromCheckpoint needs a checkpoint that saves the history "
                "(f_history is None): the history says how many epochs are done"
            )
        self.did_load_ = False
        self.early_stopping_state_ = []
        self.resumed_from_epoch_ = None
        self.interrupted_ = False
        self.total_epochs_ = None
        self.completed_epochs_ = 0
        self.target_epochs_ = 0
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.total_epochs_ = net.max_epochs
        self.completed_epochs_ = len(net.history)
        self.target_epochs_ = len(net.history) + net.max_epochs
        if self.did_load_:
            return
        self.did_load_ = True
        if not os.path.lexists(self.checkpoint.f_history_):
            _write_fingerprint(self.checkpoint, X, y)
            return
        # the history first: the other files' names may be formatted from it
        history = read_checkpoint_file(self.checkpoint.f_history_, History.from_file)
        previous, net.history = net.history, history
        try:
            files = self._checkpoint_files(net)
            self._check_fingerprint(X, y)
        except BaseException:
            net.history = previous
            raise
        self._load(net, files)
        _restore_best_scores(net)
        self.resumed_from_epoch_ = done = len(net.history)
        self.completed_epochs_ = done
        self.target_epochs_ = max(done, self.total_epochs_)
        self._replay_early_stopping(net, done)
        # fit_loop reads max_epochs once, right after on_train_begin: lend it
        # the epochs left and give the user's value back at the first epoch.
        net.max_epochs = self.target_epochs_ - done
        if net.verbose:
            print(f"Resumed from the checkpoint of epoch {done} in {_folder(self.checkpoint)!r}; "
                  f"{net.max_epochs} of {self.total_epochs_} epochs left.")

    def _checkpoint_files(self, net):
        """``{skorch argument: path}`` of the checkpoint's files, each there and regular."""
        try:
            formatted = self.checkpoint.get_formatted_files(net)
        except (IndexError, KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(
                f"{self.checkpoint.f_history_!r} does not hold the history of a training run "
                f"({type(exc).__name__}: {exc}). Delete the checkpoint folder to start afresh."
            ) from exc
        files = {key: os.fspath(path) for key, path in formatted.items()
                 if isinstance(path, (str, os.PathLike)) and key not in ("f_pickle", "f_history")}
        for path in files.values():
            if not os.path.exists(path):
                raise FileNotFoundError(
                    f"The checkpoint in {_folder(self.checkpoint)!r} is incomplete: "
                    f"{self.checkpoint.f_history_!r} exists but {path!r} does not. "
                    "Restore the file, or delete the checkpoint to start afresh."
                )
            check_checkpoint_file(path)
        return files

    def _check_fingerprint(self, X, y):
        if not self.check_data:
            return
        folder = _folder(self.checkpoint)
        way_out = (f"Delete {folder!r} to start afresh; or, if you are sure that this fit "
                   "trains on the checkpoint's data, resume without the check: "
                   "ResumeFromCheckpoint(..., check_data=False) (with resumable_callbacks, "
                   "set_params(callbacks__resume__check_data=False)).")
        path = _fingerprint_file(self.checkpoint)
        if not os.path.lexists(path):
            raise CheckpointError(
                f"The checkpoint in {folder!r} has no {TRAIN_DATA_FILE}, the record of the "
                "data it was trained on, so nothing shows that this fit trains on the same "
                f"data (resuming on other data would mix two runs). {way_out}"
            )
        fingerprint = _fingerprint(X, y)
        if fingerprint is None:
            raise CheckpointError(
                f"This fit's training data ({type(X).__name__}) cannot be fingerprinted, so "
                f"they cannot be checked against the checkpoint in {folder!r}. {way_out}"
            )
        saved = read_checkpoint_file(path, read_json)
        if not isinstance(saved, dict):
            raise CheckpointError(f"{path!r} is not a record of training data. {way_out}")
        if saved != fingerprint:
            if saved.get("n_samples") == fingerprint["n_samples"]:
                difference = (f"the same number of samples ({fingerprint['n_samples']}) with "
                              "other values: another split, or features from another "
                              "front-end version or machine")
            else:
                difference = (f"{saved.get('n_samples')} samples there, "
                              f"{fingerprint['n_samples']} in this fit")
            raise CheckpointError(
                f"The checkpoint in {folder!r} belongs to a run on other "
                f"training data ({difference}). Give every run its own checkpoint folder "
                "(one per cross-validation fold or grid point), or delete this one to start "
                "afresh."
            )

    def _load(self, net, files):
        """Module, criterion and optimizer (the history is in already), then torch's
        generator state, each file read on its own so that one that cannot be read
        is named."""
        use_safetensors = self.checkpoint.use_safetensors
        for key, path in files.items():
            read_checkpoint_file(path, lambda f, key=key: net.load_params(
                **{key: f}, use_safetensors=use_safetensors))
        rng_file = getattr(self.checkpoint, "rng_state_file_", None)
        if rng_file and os.path.lexists(rng_file):
            state = read_checkpoint_file(rng_file, lambda f: torch.load(f, weights_only=True))
            try:
                torch.set_rng_state(state["cpu"])
                if "cuda" in state and torch.cuda.is_available():
                    torch.cuda.set_rng_state_all(state["cuda"])
            except (TypeError, KeyError, RuntimeError) as exc:
                raise CheckpointError(
                    f"{rng_file!r} does not hold torch's generator states ({exc}). Delete it "
                    "to resume with a fresh random stream, or the folder to start afresh."
                ) from exc

    def _replay_early_stopping(self, net, done):
        """Counters (and best weights) of every EarlyStopping, from the loaded run."""
        self.early_stopping_state_ = []
        for _, callback in net.callbacks_:
            if not isinstance(callback, EarlyStopping) or callback.monitor is None:
                continue
            state = _replay_early_stopping(callback, net.history)
            state["best_model_weights_"] = None
            if callback.load_best and state["best_epoch_"]:
                weights = _best_module_weights(net, self.checkpoint, state["best_epoch_"])
                if weights is None:
                    warnings.warn(
                        f"Resuming at epoch {done}: the weights of the best epoch so far "
                        f"({state['best_epoch_']}) are not in a checkpoint of "
                        f"{_folder(self.checkpoint)!r}, so EarlyStopping(load_best=True) "
                        "can only restore a best epoch reached after the resume.",
                        MissingBestWeightsWarning, stacklevel=3,
                    )
                state["best_model_weights_"] = weights
            self.early_stopping_state_.append((callback, state))
            if state["misses_"] >= callback.patience:
                self.target_epochs_ = done  # it had stopped early: the run is over
        self._apply_early_stopping()

    def _apply_early_stopping(self):
        # EarlyStopping resets itself in on_train_begin, which may run after
        # this callback's: the state is set again until the first epoch begins.
        for callback, state in self.early_stopping_state_:
            for name, value in state.items():
                setattr(callback, name, value)

    def _give_back_max_epochs(self, net):
        if self.total_epochs_ is not None:
            net.max_epochs = self.total_epochs_

    def on_epoch_begin(self, net, **kwargs):
        self._give_back_max_epochs(net)
        self._apply_early_stopping()
        self.early_stopping_state_ = []

    def on_epoch_end(self, net, **kwargs):
        self.completed_epochs_ = len(net.history)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self._give_back_max_epochs(net)
        self._apply_early_stopping()  # no epoch ran: a run that had stopped early
        self.early_stopping_state_ = []
        stopped_early = any(
            isinstance(callback, EarlyStopping) and getattr(callback, "misses_", 0)
            >= callback.patience for _, callback in net.callbacks_
        )
        self.interrupted_ = self.completed_epochs_ < self.target_epochs_ and not stopped_early
        if self.interrupted_:
            warnings.warn(
                f"Training stopped after {self.completed_epochs_} complete epochs of "
                f"{self.target_epochs_}. Call fit again with the same callbacks to resume "
                f"from the checkpoint in {_folder(self.checkpoint)!r}.",
                TrainingInterruptedWarning, stacklevel=2,
            )


def resumable_callbacks(checkpoint_dir, *, resume=True, monitor=None,
                        load_best=False, check_data=True):
    """Callbacks that checkpoint every epoch and resume an interrupted run.

    Parameters
    ----------
    checkpoint_dir : str or PathLike
        Folder of the checkpoints (created if needed), one per run. The last
        epoch's state is in ``params.pt``, ``optimizer.pt``, ``criterion.pt``,
        ``history.json`` and ``rng_state.pt``; the best epoch's in
        ``best_params.pt``, ``best_criterion.pt``, ``best_history.json``;
        ``train_data.json`` identifies the training data.
    resume : bool, default=True
        Load the last checkpoint, if any, when ``fit`` begins. With False a
        run starts afresh and overwrites the folder's checkpoints epoch by
        epoch (and its ``train_data.json``, so that a later resume checks
        its data against this run's).
    monitor : str or None, default=None
        History key that marks the best epoch, for a second checkpoint of the
        best epoch's weights: ``"valid_loss_best"`` with a validation split
        (``train_split``); None (for a net that trains on all its data, the
        classifiers' default) keeps the last epoch's checkpoint only.
    load_best : bool, default=False
        Load the best checkpoint's weights into the net when training ends.
    check_data : bool, default=True
        Resume only when the folder's ``train_data.json`` shows the same
        training data (see :class:`ResumeFromCheckpoint`).

    Returns
    -------
    callbacks : list of (str, Callback)
        ``("checkpoint_best", AtomicCheckpoint(monitor=monitor, ...))`` (when
        ``monitor`` is set), ``("checkpoint", AtomicCheckpoint(monitor=None,
        ...))`` and ``("resume", ResumeFromCheckpoint(...))`` (with
        ``resume=False``: ``("train_data", RecordTrainData(...))``):
        pass them as ``callbacks=`` (named, so ``callbacks__checkpoint__...``
        reaches them). The classifiers already stop on a non-finite loss
        (their default ``finite_loss`` callback).

    Examples
    --------
    >>> from sklearn_ser import ADCRNNClassifier
    >>> from sklearn_ser.callbacks import resumable_callbacks
    >>> clf = ADCRNNClassifier(callbacks=resumable_callbacks("runs/emodb"))
    """
    dirname = os.fspath(Path(checkpoint_dir))
    callbacks = []
    if monitor is not None:
        callbacks.append(("checkpoint_best", AtomicCheckpoint(
            monitor=monitor, dirname=dirname, fn_prefix="best_", f_optimizer=None,
            load_best=load_best, save_rng_state=False,
        )))
    # After the best checkpoint, so the history it saves has this epoch's event.
    last = AtomicCheckpoint(monitor=None, dirname=dirname, event_name=None)
    callbacks.append(("checkpoint", last))
    callbacks.append(("resume", ResumeFromCheckpoint(last, check_data=check_data)) if resume
                     else ("train_data", RecordTrainData(last)))
    return callbacks
