"""The loss of a training batch: the criterion, mixup's mix of two targets, and
the distillation from teachers, networks of the same settings trained first
(the chunked classifiers' ``n_teachers``)."""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from sklearn.base import clone
from skorch.callbacks import Checkpoint, LoadInitState, TrainEndCheckpoint
from skorch.utils import to_tensor

from ..callbacks import RecordTrainData, ResumeFromCheckpoint

__all__ = ["TrainingLossMixin", "distillation_loss"]

#: Callbacks a teacher is trained without: they read or write a run's files, which
#: are the distilled network's.
_RUN_FILES = (Checkpoint, TrainEndCheckpoint, LoadInitState, ResumeFromCheckpoint,
              RecordTrainData)


def distillation_loss(logits, teacher_logits, temperature):
    """Hinton et al.'s (2015) soft-target loss of a batch.

    ``T**2 * KL(p || q)``, averaged over the batch, where ``p`` is the mean of
    the teachers' softmax at temperature ``T`` and ``q`` the network's. The
    factor ``T**2`` keeps the gradients' scale that of the cross-entropy
    whatever the temperature.

    Parameters
    ----------
    logits : torch.Tensor [shape=(batch, n_classes)]
        The network's logits.
    teacher_logits : sequence of torch.Tensor [shape=(batch, n_classes)]
        Each teacher's logits for the same batch.
    temperature : float
        ``T``, above 0; higher values spread the teachers' probabilities
        over more classes.

    Returns
    -------
    loss : torch.Tensor [shape=()]
        float32.
    """
    target = torch.stack([F.softmax(t.float() / temperature, dim=1)
                          for t in teacher_logits]).mean(dim=0)
    log_q = F.log_softmax(logits.float() / temperature, dim=1)
    return temperature ** 2 * F.kl_div(log_q, target, reduction="batchmean")


def _without_run_files(callbacks):
    if not callbacks or callbacks == "disable":
        return callbacks
    kept = [item for item in callbacks
            if not isinstance(item[1] if isinstance(item, tuple) else item, _RUN_FILES)]
    return kept or None


class TrainingLossMixin:
    """The chunked classifiers' loss, with ``n_teachers`` and ``distill_temperature``.

    ``fit`` calls :meth:`_teaching` around the training: with ``n_teachers``
    above 0 it first trains that many networks of the same settings on the
    same data, seeded ``random_state + 1``, ``random_state + 2``, ...; while
    this network trains, :meth:`get_loss` adds their
    :func:`distillation_loss`. The teachers are dropped when ``fit`` ends.
    """

    @contextlib.contextmanager
    def _teaching(self, X, y, fit_params, *, fresh):
        """Train the teachers on ``(X, y)`` when ``fit`` builds the network anew
        (``fresh``), and keep their networks for the block."""
        if not (fresh and self.n_teachers):
            yield
            return
        seed = self.random_state
        if seed is not None and seed + self.n_teachers > 2**32 - 1:
            raise ValueError(
                f"{type(self).__name__}: random_state={seed} with n_teachers="
                f"{self.n_teachers} seeds the last teacher with {seed + self.n_teachers}, "
                "above 2**32 - 1"
            )
        modules = []
        for i in range(self.n_teachers):
            if self.verbose:
                print(f"{type(self).__name__}: teacher {i + 1} of {self.n_teachers}", flush=True)
            teacher = clone(self).set_params(
                n_teachers=0, random_state=None if seed is None else seed + 1 + i,
                callbacks=_without_run_files(self.callbacks))
            teacher.fit(X, y, **fit_params)
            modules.append(teacher.module_.eval())
        if self.verbose:
            print(f"{type(self).__name__}: the distilled network", flush=True)
        self._teachers_ = modules
        try:
            yield
        finally:
            del self._teachers_

    def _teacher_loss(self, logits, X):
        """The distillation term of a training batch ``X``, or None without teachers."""
        teachers = self.__dict__.get("_teachers_")
        if not teachers:
            return None
        X = to_tensor(X, device=self.device)
        dtype = getattr(self, "autocast_dtype_", None)
        autocast = (torch.autocast(device_type=X.device.type, dtype=dtype) if dtype is not None
                    else contextlib.nullcontext())
        with torch.no_grad(), autocast:
            teacher_logits = [teacher(X)[0] for teacher in teachers]
        return distillation_loss(logits, teacher_logits, self.distill_temperature)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Criterion on float32 outputs (autocast may give bfloat16); a training
        batch mixed by :class:`~sklearn_ser.callbacks.Mixup` gets :meth:`mixed_loss`;
        with teachers (``n_teachers``), a training batch adds their distillation loss."""
        logits, embedding = y_pred
        y_true = to_tensor(y_true, device=self.device)
        output = (logits.float(), embedding.float())
        mix = self.__dict__.get("batch_mix_") if training else None
        loss = self.criterion_(output, y_true) if mix is None \
            else self.mixed_loss(output, y_true, *mix)
        taught = self._teacher_loss(logits, X) if training else None
        return loss if taught is None else loss + taught

    def mixed_loss(self, output, y_true, perm, lam):
        """The loss of a batch mixed as ``lam * x + (1 - lam) * x[perm]`` (``Mixup``)."""
        return (lam * self.criterion_(output, y_true)
                + (1.0 - lam) * self.criterion_(output, y_true[perm.to(y_true.device)]))
