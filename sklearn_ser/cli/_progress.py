"""What a person sees while networks train: a line naming the recipe, device,
arithmetic and data before training; after the first epoch, the time left for
the whole run; skorch's progress bar within epochs, on a terminal only.

The callbacks here are the command line's own: they are added to the networks
for a run (:func:`add_progress_callbacks`) and taken out of a fitted model
before it is saved (:func:`remove_progress_callbacks`), so that a saved model
holds none of them.
"""

from __future__ import annotations

import sys

import numpy as np
from skorch.callbacks import Callback, EarlyStopping, ProgressBar

from ..nn import autocast_dtype, resolve_device
from ..recipes import describe_recipe
from ._console import duration, is_terminal, log, progress
from ._parser import PROG
from ._training import override_flags

__all__ = ["add_progress_callbacks", "log_training", "networks", "recipe_text",
           "remove_progress_callbacks"]

#: The names of the callbacks :func:`add_progress_callbacks` adds.
_NAMES = ("cli_time_left", "cli_progress_bar")


class _FirstEpoch(Callback):
    """Calls ``report(net)`` at the end of the first epoch of every fit."""

    def __init__(self, report):
        self.report = report

    def on_train_begin(self, net, **kwargs):
        self.waiting_ = True

    def on_epoch_end(self, net, **kwargs):
        if getattr(self, "waiting_", False):
            self.waiting_ = False
            self.report(net)


def _time_left(n_networks, runs):
    """``report(net)``: from the first epoch of the run's first network, the time
    the run's ``n_networks`` networks of ``net.max_epochs`` epochs need. The
    callback is cloned into every network; this function, shared by the clones,
    speaks once."""
    spoken = []

    def report(net):
        if spoken:
            return
        spoken.append(True)
        seconds = float(net.history[-1, "dur"])
        left = net.max_epochs - len(net.history) + (n_networks - 1) * net.max_epochs
        if left <= 0:
            return
        early = any(isinstance(cb, EarlyStopping) for _, cb in net.callbacks_)
        parts = f" ({' x '.join([*runs, f'{net.max_epochs} epochs'])})" if runs else ""
        log(f"{PROG}: the first epoch took {seconds:.1f} s: "
            f"{time_left(left * seconds, early=early)} left for "
            f"{'the other epoch' if left == 1 else f'the {left} other epochs'}{parts}")

    return report


def time_left(seconds, *, early=False):
    """``"about 4 min 05 s"``, ``"at most ..."`` when early stopping may end it
    sooner, ``"less than 1 s"`` for a run that is nearly done."""
    if seconds < 1:
        return "less than 1 s"
    return f"{'at most' if early else 'about'} {duration(seconds)}"


def networks(estimator):
    """The skorch networks of a pipeline's last step: the classifier, or a soft
    vote's members (those it was given and, once fitted, those it fitted)."""
    clf = estimator[-1]
    members = getattr(clf, "estimators", None)
    if members is None:
        return [clf]
    return [net for _, net in members] + list(getattr(clf, "estimators_", []))


def add_progress_callbacks(pipe, args, *, fits=1, fits_text=None):
    """Give every network of ``pipe`` the time-left report and, when stderr is a
    terminal, skorch's ``ProgressBar``; nothing with ``--quiet``.

    ``fits`` is how many times the pipeline is fitted in the run (the folds of
    a cross-validation), ``fits_text`` how the time-left line names them.
    """
    if not progress(args):
        return
    templates = networks(pipe)
    runs = [fits_text] if fits_text else []
    if len(templates) > 1:
        runs.append(f"{len(templates)} networks")
    extra = [("cli_time_left", _FirstEpoch(_time_left(fits * len(templates), runs)))]
    if is_terminal(sys.stderr):  # no bar's escape codes in a log file
        extra.append(("cli_progress_bar", ProgressBar()))
    for net in templates:
        net.callbacks = [*(net.callbacks or []), *extra]


def remove_progress_callbacks(model):
    """Take :func:`add_progress_callbacks`' callbacks out of every network of
    ``model``, fitted or not, as it was before they were added."""
    for net in networks(model):
        kept = [(name, cb) for name, cb in net.callbacks or [] if name not in _NAMES]
        net.callbacks = kept or None
        if hasattr(net, "callbacks_"):
            net.callbacks_ = [(name, cb) for name, cb in net.callbacks_ if name not in _NAMES]


def recipe_text(args):
    """The recipe and the flags given over it: ``cpu (adcrnn small, ...) with --width tiny``."""
    flags = override_flags(args)
    return describe_recipe(args.recipe) + (f" with {flags}" if flags else "")


def log_training(args, pipe, y, groups, *, what, recipe):
    """One line before training: the data, the ``recipe`` (text), and the device and
    arithmetic the first network trains with."""
    if not progress(args):
        return
    net = networks(pipe)[0]
    device = resolve_device(net.device)
    dtype = autocast_dtype(net.precision, device)
    arithmetic = "float32" if dtype is None else f"{str(dtype).removeprefix('torch.')} autocast"
    speakers = "" if groups is None else f", {len(np.unique(groups))} speakers"
    log(f"{what}: {len(y)} utterances, {len(np.unique(y))} classes{speakers}; recipe {recipe}; "
        f"on {device}, {arithmetic}")
