"""Cosine learning-rate annealing over a whole run, as a stateless skorch callback."""

from __future__ import annotations

import math
from numbers import Real

from skorch.callbacks import Callback

__all__ = ["CosineAnnealing"]


class CosineAnnealing(Callback):
    """Anneal each parameter group's learning rate along a half cosine (Loshchilov & Hutter).

    In epoch ``t`` (0-based) of a run of ``T`` epochs, a group whose learning
    rate was set to ``lr_0`` trains with

    ``lr_t = lr_min + (lr_0 - lr_min) * (1 + cos(pi * t / T)) / 2``,
    ``lr_min = final_fraction * lr_0``,

    the values of ``torch.optim.lr_scheduler.CosineAnnealingLR(T_max=T,
    eta_min=lr_min)``. Unlike an ``LRScheduler`` built with a fixed
    ``T_max``, ``T`` is read from the net when training begins (the epochs in
    its history plus ``max_epochs``), so ``set_params(max_epochs=...)`` and a
    grid search over ``lr`` or ``max_epochs`` anneal over the run they
    configure. The rate is computed from the epoch number alone, so a run
    resumed from a checkpoint (:class:`~sklearn_ser.callbacks.ResumeFromCheckpoint`)
    continues on the same curve. Each group keeps its own ``lr_0`` (e.g. the
    centers' group of ``optimizer__param_groups``), remembered as the
    group's ``"initial_lr"`` as torch's schedulers do, which the optimizer's
    checkpoint saves. ``partial_fit`` (or ``warm_start=True``) starts a
    new run of ``len(history) + max_epochs`` epochs from ``lr_0``: the rate
    goes back up, as in a warm restart.

    Parameters
    ----------
    final_fraction : float, default=0.01
        ``lr_min / lr_0``, in [0, 1].
    event_name : str or None, default="event_lr"
        History key under which the first group's rate of each epoch is
        recorded (None records nothing).

    Attributes
    ----------
    total_epochs_ : int
        ``T`` of the current run.
    start_lrs_ : list of float
        Each group's rate when the current ``fit`` began.
    """

    def __init__(self, final_fraction=0.01, event_name="event_lr"):
        self.final_fraction = final_fraction
        self.event_name = event_name

    def initialize(self):
        if (not isinstance(self.final_fraction, Real)
                or not 0.0 <= self.final_fraction <= 1.0):
            raise ValueError(
                f"final_fraction={self.final_fraction!r} must be a number in [0, 1]"
            )
        self.total_epochs_ = None
        self.start_lrs_ = []
        return self

    def on_train_begin(self, net, **kwargs):
        self.total_epochs_ = len(net.history) + net.max_epochs
        self.start_lrs_ = [group["lr"] for group in net.optimizer_.param_groups]
        for group in net.optimizer_.param_groups:
            if not net.history:  # a fresh run starts from the rates as configured now
                group["initial_lr"] = group["lr"]
            group.setdefault("initial_lr", group["lr"])

    def on_epoch_begin(self, net, **kwargs):
        # The history row of this epoch exists already: it is epoch len - 1.
        epoch = len(net.history) - 1
        # A resumed run lends max_epochs the epochs left; the run's length is fixed.
        total = max(self.total_epochs_, epoch + 1)
        weight = (1.0 + math.cos(math.pi * epoch / total)) / 2.0
        for index, group in enumerate(net.optimizer_.param_groups):
            # a checkpoint saved without this schedule has no initial_lr
            start = group.setdefault("initial_lr", self.start_lrs_[index])
            floor = self.final_fraction * start
            group["lr"] = floor + (start - floor) * weight
        if self.event_name is not None:
            net.history.record(self.event_name, net.optimizer_.param_groups[0]["lr"])
