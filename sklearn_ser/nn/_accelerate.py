"""ADCRNN / ACRNN classifiers trained through Hugging Face Accelerate (multi-GPU, mixed precision).

skorch's :class:`skorch.hf.AccelerateMixin` hands device placement, data
sharding, gradient synchronisation and mixed precision to an
``accelerate.Accelerator``; these classes put it in front of our chunked
classifiers. Launch a script that fits one with
``accelerate launch --multi_gpu --num_processes 2 train.py`` for data-parallel
training on two GPUs (see docs/scaling.md).

Reconciling the mixin with :class:`~sklearn_ser.nn.ChunkedNeuralNetClassifier`:

- ``device=None``: the accelerator places module, criterion and batches;
  ``device="auto"`` (or any device) is refused while it does.
- ``precision="float32"``: mixed precision is the accelerator's
  (``Accelerator(mixed_precision="bf16")``, or ``"fp16"`` with loss scaling
  on CUDA); our own autocast in ``infer`` stays off so the two do not nest.
  The inherited ``get_loss`` casts the outputs to float32 before the
  criterion.
- ``random_state`` seeds torch before the parts are built, as in the parent
  (the mixin's ``initialize`` does not call the parent's).
- A criterion without trainable parameters (``criterion__aux=None``) is not
  wrapped: ``DistributedDataParallel`` refuses such a module.
- At the end of ``fit`` every process takes the main process's buffers
  (BatchNorm running statistics), so all replicas hold one model; then the
  module is unwrapped (``unwrap_after_train=True``) and prediction runs in
  float32 on ``accelerator.device``, gathered over the processes.
- ``verbose=0`` silences the epoch log, which the mixin's ``accelerator.print``
  sink would otherwise print regardless.
"""

from __future__ import annotations

import torch
from skorch.hf import AccelerateMixin
from skorch.utils import noop

from ._acrnn import ACRNN
from ._acrnn_classifier import ACRNNClassifier
from ._adcrnn import ADCRNN
from ._adcrnn_classifier import ADCRNNClassifier

__all__ = ["AcceleratedACRNNClassifier", "AcceleratedADCRNNClassifier"]


class ChunkedAccelerateMixin(AccelerateMixin):
    """:class:`skorch.hf.AccelerateMixin` adapted to the chunked classifiers.

    ``AccelerateMixin.initialize`` rebuilds the parts itself instead of
    calling the parent's, so the parent's checks, ``device_``,
    ``autocast_dtype_`` and seeding are done here first.
    """

    @staticmethod
    def _check_precision(name, precision):
        if precision != "float32":
            raise ValueError(
                f"{name}={precision!r}: with Accelerate, choose mixed precision on the "
                f"accelerator, e.g. Accelerator(mixed_precision='bf16'), and keep "
                f"{name}='float32'"
            )

    def set_params(self, **kwargs):
        """As the parent's; ``precision`` and ``predict_precision`` stay
        ``"float32"`` (the accelerator's ``mixed_precision`` chooses the autocast)."""
        names = [name for name in ("precision", "predict_precision") if name in kwargs]
        if names and getattr(self, "initialized_", False):
            for name in names:
                self._check_precision(name, kwargs[name])
            result = super().set_params(**kwargs)
            self.autocast_dtype_ = None
            return result
        return super().set_params(**kwargs)

    def initialize(self):
        """Check the precision and device, seed torch, then build and ``prepare`` the parts."""
        self._validate_own_params()
        self._check_precision("precision", self.precision)
        self._check_precision("predict_precision", self.predict_precision)
        requested = self.__dict__.get("device")  # the parameter, not the device in use
        if requested is not None and self.accelerator.device_placement:
            raise ValueError(
                f"device={requested!r}: the accelerator places the model and the batches "
                "(device_placement=True); set device=None"
            )
        self.device_ = str(self.accelerator.device)
        self.autocast_dtype_ = None
        with self._random_stream(fresh=True, keep=False):
            return super().initialize()

    def _set_device_(self, device):
        # The accelerator places the model and the batches: the device it chose
        # stays device_ whatever skorch writes into ``device`` (load_params sets
        # it to "cpu" for a moment).
        if "device_" in self.__dict__ and self.accelerator.device_placement:
            device = str(self.accelerator.device)
        super()._set_device_(device)

    def _initialize_callbacks(self):
        # The mixin's "auto" sink, accelerator.print, is not `print`, so PrintLog
        # would print whatever `verbose` says: silence it for verbose=0, and keep
        # the parameter as the user set it (the mixin overwrites it).
        requested = self.callbacks__print_log__sink
        if isinstance(requested, str) and requested == "auto" and not self.verbose:
            self.callbacks__print_log__sink = noop
        try:
            return super()._initialize_callbacks()
        finally:
            self.callbacks__print_log__sink = requested

    def _initialize_accelerator(self):
        # DistributedDataParallel refuses a module without trainable parameters,
        # such as the criterion with criterion__aux=None: keep those out of
        # accelerator.prepare (the mixin skips anything that is not a Module)
        # and only move them to the accelerator's device.
        frozen = {}
        for name in self._criteria:
            criterion = getattr(self, name + "_")
            if isinstance(criterion, torch.nn.Module) and not any(
                parameter.requires_grad for parameter in criterion.parameters()
            ):
                if self.accelerator.device_placement:
                    criterion = criterion.to(self.accelerator.device)
                frozen[name] = criterion
                setattr(self, name + "_", None)
        try:
            return super()._initialize_accelerator()
        finally:
            for name, criterion in frozen.items():
                setattr(self, name + "_", criterion)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Give every process the main process's buffers, then unwrap (skorch)."""
        self._broadcast_buffers()
        return super().on_train_end(net, X=X, y=y, **kwargs)

    def _broadcast_buffers(self):
        # DDP broadcasts buffers before each training forward, but each process
        # then updates its BatchNorm running statistics with its own last batch:
        # without this the replicas would predict differently after fit.
        if self.accelerator.num_processes == 1:
            return
        from accelerate.utils import broadcast

        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module):
                for buffer in module.buffers():
                    buffer.copy_(broadcast(buffer, from_process=0))


class AcceleratedADCRNNClassifier(ChunkedAccelerateMixin, ADCRNNClassifier):
    """:class:`~sklearn_ser.nn.ADCRNNClassifier` trained through an ``accelerate.Accelerator``.

    Data-parallel training on several GPUs (one process per GPU, started by
    ``accelerate launch``), mixed precision chosen on the accelerator, and
    the same scikit-learn interface: ``fit`` on chunks, ``predict_proba``
    per utterance, string labels. Built on skorch's experimental
    :class:`skorch.hf.AccelerateMixin`.

    Parameters
    ----------
    module : class or torch.nn.Module, default=ADCRNN
        The network; widths go through ``module__*`` parameters.
    accelerator : accelerate.Accelerator
        Decides the device(s), the processes and the mixed precision
        (``Accelerator(mixed_precision="bf16")``); ``Accelerator(cpu=True)``
        forces the CPU. Required.
    device : None, default=None
        Left to the accelerator; any other value raises ``ValueError`` while
        the accelerator places tensors (``device_placement=True``).
    precision : {"float32"}, default="float32"
        Autocast of our own ``infer``; must stay ``"float32"``, mixed
        precision being the accelerator's.
    unwrap_after_train : bool, default=True
        Restore the plain module and criterion after ``fit`` (what pickling
        needs); ``False`` keeps them wrapped for ``partial_fit`` under mixed
        precision.
    **kwargs
        Every other parameter of :class:`~sklearn_ser.nn.ChunkedNeuralNetClassifier`
        (``lr``, ``batch_size``, ``max_epochs``, ``random_state``,
        ``aggregate``, ``train_split``, ``module__*``, ``criterion__*``, ...)
        and of skorch's ``NeuralNet``.

    Attributes
    ----------
    device_ : str
        ``str(accelerator.device)`` at initialisation.
    classes_ : np.ndarray [shape=(n_classes,)]
        The original label values, sorted (also when ``classes`` lists them
        in another order), as scikit-learn's classifiers and scorers expect;
        the columns of ``predict_proba`` follow it.

    Notes
    -----
    With ``N`` processes each one draws ``batch_size`` chunks, so an
    optimiser step sees ``N * batch_size`` chunks; scale ``lr`` or
    ``batch_size`` accordingly. Prediction is gathered over the processes
    (``accelerator.gather_for_metrics``), so every process gets every row.

    Examples
    --------
    >>> from accelerate import Accelerator
    >>> clf = AcceleratedADCRNNClassifier(accelerator=Accelerator(), max_epochs=20,
    ...                                   random_state=0)  # doctest: +SKIP
    """

    def __init__(
        self,
        module=ADCRNN,
        *args,
        accelerator,
        device=None,
        precision="float32",
        unwrap_after_train=True,
        **kwargs,
    ):
        super().__init__(
            module,
            *args,
            accelerator=accelerator,
            device=device,
            precision=precision,
            unwrap_after_train=unwrap_after_train,
            **kwargs,
        )


class AcceleratedACRNNClassifier(ChunkedAccelerateMixin, ACRNNClassifier):
    """:class:`~sklearn_ser.nn.ACRNNClassifier` trained through an ``accelerate.Accelerator``.

    The ACRNN baseline (Chen et al., IEEE SPL 2018) with the set-up of
    :class:`AcceleratedADCRNNClassifier`.

    Parameters
    ----------
    module : class or torch.nn.Module, default=ACRNN
        The network; widths go through ``module__*`` parameters.
    accelerator : accelerate.Accelerator
        Decides the device(s), the processes and the mixed precision. Required.
    device : None, default=None
        Left to the accelerator.
    precision : {"float32"}, default="float32"
        Must stay ``"float32"``; mixed precision is the accelerator's.
    unwrap_after_train : bool, default=True
        Restore the plain module and criterion after ``fit``.
    **kwargs
        Every other parameter of :class:`~sklearn_ser.nn.ChunkedNeuralNetClassifier`
        and of skorch's ``NeuralNet``.
    """

    def __init__(
        self,
        module=ACRNN,
        *args,
        accelerator,
        device=None,
        precision="float32",
        unwrap_after_train=True,
        **kwargs,
    ):
        super().__init__(
            module,
            *args,
            accelerator=accelerator,
            device=device,
            precision=precision,
            unwrap_after_train=unwrap_after_train,
            **kwargs,
        )
