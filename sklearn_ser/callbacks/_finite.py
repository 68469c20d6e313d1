"""Stop training at the first non-finite loss, gradient or statistic, before the weights."""


from __future__ import annotations

import torch
from skorch.callbacks import Callback

from ..exceptions import NonFiniteLossError

__all__ = ["StopOnNonFiniteLoss"]


def _listing(names, shown=4):
    """``"a, b, c, d and 3 more"``."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _all_finite(tensors):
    """One device sync for the whole list instead of one per tensor."""
    return bool(torch.stack([torch.isfinite(t).all() for t in tensors]).all())


class StopOnNonFiniteLoss(Callback):
    """Stop training with :class:`NonFiniteLossError` at the first NaN/inf.

    Checked in ``on_grad_computed``, after the backward pass and before the
    optimizer step: every gradient, and every buffer of the module and the
    criterion (the batch-norm running statistics, which the forward pass has
    just updated). If one is NaN or inf, the buffers are put back and the
    error raised before the step, so the module's and the criterion's state
    dicts (the centers included) and the optimizer's state are exactly those
    left by the previous batch, all finite; the ``.grad`` fields keep the
    faulty gradients for inspection.

    Checked again in ``on_batch_end``: the loss, and the parameters after the
    step. A finite gradient times a huge learning rate can overflow a weight
    (e.g. SGD with ``lr=1e30``); the error then says that the weights of that
    batch's update are not finite, as they cannot be put back.

    The message names the epoch and batch, the loss components of
    :class:`~sklearn_ser.nn.CenterAugmentedLoss`, the tensors at fault, and
    whether the input batch holds NaN/inf (check the features) or not (the
    optimisation diverged: lower ``lr``, clip gradients).
    """

    def __init__(self):
        """No parameters: every check is always on (they cost one pass over the gradients)."""

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        # The forward pass updates the batch-norm statistics before any
        # gradient exists: keep a copy (a few thousand numbers) to put back.
        self.buffers_ = [
            (buffer, buffer.detach().clone()) for _, buffer in self._named_buffers(net)
        ] if training else []

    def on_grad_computed(self, net, named_parameters, batch=None, training=False, **kwargs):
        tensors = [(name, param.grad) for name, param in named_parameters
                   if param.grad is not None]
        n_grads = len(tensors)
        tensors += list(self._named_buffers(net))
        if not tensors or _all_finite([tensor for _, tensor in tensors]):
            return
        bad = [(index < n_grads, name) for index, (name, tensor) in enumerate(tensors)
               if not bool(torch.isfinite(tensor).all())]
        with torch.no_grad():
            for buffer, saved in getattr(self, "buffers_", []):
                buffer.copy_(saved)
        bad_grads = [name for is_grad, name in bad if is_grad]
        bad_buffers = [name for is_grad, name in bad if not is_grad]
        what = "; ".join(
            f"non-finite {label} in {_listing(names)}"
            for label, names in (("gradients", bad_grads), ("buffers", bad_buffers)) if names
        )
        raise self._error(net, batch, what)

    def on_batch_end(self, net, batch=None, training=False, loss=None, **kwargs):
        if not training:
            return
        self.buffers_ = []
        if loss is not None and not bool(torch.isfinite(loss).all()):
            raise self._error(net, batch, f"loss = {float(loss)}", before_step=False)
        params = list(net.get_all_learnable_params())
        if params and not _all_finite([param for _, param in params]):
            bad = [name for name, param in params if not bool(torch.isfinite(param).all())]
            raise self._error(net, batch, f"the update made {_listing(bad)} non-finite",
                              before_step=None)

    @staticmethod
    def _named_buffers(net):
        for name in ("module_", "criterion_"):
            module = getattr(net, name, None)
            if isinstance(module, torch.nn.Module):
                yield from module.named_buffers()

    @staticmethod
    def _error(net, batch, what, *, before_step=True):
        epoch = len(net.history)
        batch_index = len(net.history[-1]["batches"]) - 1
        criterion = getattr(net, "criterion_", None)
        components = ""
        if getattr(criterion, "last_ce_", None) is not None:
            components = (f" (cross-entropy = {criterion.last_ce_}, "
                          f"auxiliary loss = {criterion.last_aux_})")
        inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
        if isinstance(inputs, torch.Tensor) and not _all_finite([inputs]):
            advice = ("The input batch itself holds NaN or inf values: check the features "
                      "(np.isfinite(X.chunks).all()) and the audio they come from.")
        else:
            reduced = getattr(net, "autocast_dtype_", None) is not None
            advice = (f"The inputs are finite, so the optimisation diverged: lower the "
                      f"learning rate (lr={net.lr:g}) or clip gradients "
                      f"(skorch.callbacks.GradientNormClipping)"
                      + (", or train with precision='float32'." if reduced else "."))
        state = {
            True: "The weights are those after the previous batch.",
            False: "The gradients were finite, so the weights are too.",
            None: "These weights cannot be put back.",
        }[before_step]
        return NonFiniteLossError(
            f"Training stopped at epoch {epoch}, batch {batch_index} (counted from 0): "
            f"{what}{components}. {advice} {state}",
            epoch=epoch, batch_index=batch_index,
        )
