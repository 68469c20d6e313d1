"""Where and how a network runs: the device (``device="auto"``), the autocast of
training and of inference (``precision``, ``predict_precision``), and the
classifier's own forked random stream (``random_state``)."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

import torch
from skorch.utils import to_device

from ..exceptions import StopRequested
from ..utils.choices import PRECISIONS, PREDICT_PRECISIONS

__all__ = [
    "RuntimeMixin",
    "autocast_dtype",
    "bfloat16_to_float32",
    "chunk_memory_format",
    "float32_default",
    "noting_sigint",
    "predict_autocast_dtype",
    "resolve_device",
]

_NO_BATCH = object()  # end of forward_iter's loader


def resolve_device(device):
    """Turn ``"auto"`` into ``"cuda"`` when a GPU is visible, else ``"cpu"``.

    Parameters
    ----------
    device : str or torch.device or None
        ``"auto"``, or a device, returned unchanged (``"cpu"``, ``"cuda:1"``,
        a ``torch.device``, ``None``).

    Returns
    -------
    device : str or torch.device or None
    """
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _bfloat16_is_native(device_type):
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type == "cpu":
        # True on CPUs with AVX512-BF16 / AMX (oneDNN's own test), where bf16
        # matmuls and convolutions run natively rather than emulated.
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def predict_autocast_dtype(predict_precision):
    """The dtype inference autocasts to, or ``None`` for plain float32.

    Parameters
    ----------
    predict_precision : {"float32", "bfloat16"}

    Returns
    -------
    dtype : torch.dtype or None
    """
    if predict_precision not in PREDICT_PRECISIONS:
        raise ValueError(
            f"predict_precision={predict_precision!r} must be one of {PREDICT_PRECISIONS}"
        )
    return torch.bfloat16 if predict_precision == "bfloat16" else None


def autocast_dtype(precision, device):
    """The dtype training autocasts to, or ``None`` for plain float32.

    Parameters
    ----------
    precision : {"auto", "float32", "bfloat16"}
        ``"auto"`` chooses bfloat16 where the device computes it natively
        (CUDA with bf16 support, CPUs with AVX512-BF16 or AMX) and float32
        elsewhere. Master weights stay float32 in every case.
    device : str or torch.device
        The resolved device.

    Returns
    -------
    dtype : torch.dtype or None
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r} must be one of {PRECISIONS}")
    device_type = torch.device(device or "cpu").type
    if precision == "float32":
        return None
    if precision == "bfloat16":
        return torch.bfloat16
    return torch.bfloat16 if _bfloat16_is_native(device_type) else None


# Devices whose convolutions run faster on channels-last (NHWC) chunks. On a
# CPU, oneDNN then runs its blocked convolutions without reordering every
# activation: measured through ``fit`` on the full-width ADCRNN (interleaved
# A/B, ``benchmarks/bench_training.py``, AMD EPYC with AVX512-BF16, 2 threads),
# training 1.12x faster in float32 and 1.13x under bfloat16 autocast, inference
# 1.18x, with the same float32 outputs to 1.5e-8. Devices not measured keep
# torch's default layout.
_CHANNELS_LAST_DEVICES = frozenset({"cpu"})


def chunk_memory_format(device):
    """The memory layout a batch of chunks is given to the network in.

    Parameters
    ----------
    device : str or torch.device or None
        Where the network runs (``None``: the CPU).

    Returns
    -------
    memory_format : torch.memory_format
        ``torch.channels_last`` where it was measured to be faster (the CPU),
        else ``torch.contiguous_format``. The layout changes no value, only
        the speed of the convolutions.
    """
    device_type = torch.device(device or "cpu").type
    if device_type in _CHANNELS_LAST_DEVICES:
        return torch.channels_last
    return torch.contiguous_format


def bfloat16_to_float32(output):
    """``output`` (a tensor, or a tuple of them) with bfloat16 tensors cast to float32."""
    if isinstance(output, tuple):
        return tuple(bfloat16_to_float32(part) for part in output)
    if isinstance(output, torch.Tensor) and output.dtype == torch.bfloat16:
        return output.float()
    return output


@contextmanager
def float32_default():
    """torch's default dtype at float32 while the network and criterion are built,
    whatever the caller set: their weights are drawn as in a float32 process."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


@contextmanager
def noting_sigint():
    """Note whether Ctrl-C (SIGINT) arrives during the block.

    Yields a list that holds ``True`` once SIGINT has arrived. The handler in
    place keeps doing what it did (Python's raises ``KeyboardInterrupt``); this
    only tells a real Ctrl-C from a callback's own ``KeyboardInterrupt``
    (skorch's ``EarlyStopping`` ends training that way). Outside the main
    thread, or where SIGINT is ignored, nothing is installed.
    """
    seen = []
    previous = signal.getsignal(signal.SIGINT) \
        if threading.current_thread() is threading.main_thread() else None
    if not callable(previous):  # another thread, SIG_IGN, SIG_DFL, or not Python's
        yield seen
        return

    def note(signum, frame):
        try:
            return previous(signum, frame)
        except KeyboardInterrupt:  # the handler chose to stop: a handler may not
            seen.append(True)
            raise

    signal.signal(signal.SIGINT, note)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


class RuntimeMixin:
    """The device, autocast and random-stream behaviour of the chunked classifiers.

    Mixed into a skorch ``NeuralNet`` subclass (before it in the bases): keeps
    the ``device`` parameter as asked (``"auto"`` stays ``"auto"``, the device
    in use is ``device_``), autocasts the forward pass (``precision`` in
    training, ``predict_precision`` in evaluation), and runs initialisation
    and training on a stream forked from torch's and seeded from
    ``random_state``.
    """

    def _resolve_runtime(self):
        """``device_`` and ``autocast_dtype_`` from the parameters, in ``initialize``."""
        device = resolve_device(self.__dict__.get("device"))
        self.device_ = str(device) if isinstance(device, torch.device) else device
        self.autocast_dtype_ = autocast_dtype(self.precision, self.device)

    @contextmanager
    def _random_stream(self, *, fresh, keep):
        """torch's generators (weights, shuffling, dropout) seeded from
        ``random_state`` for the block, and the caller's left as they were.

        ``fresh`` seeds them; otherwise the stream kept by the last training
        (``keep=True``) goes on. ``random_state=None`` uses torch's global
        generators as they are, which the caller may have seeded. The CPU's
        and a CUDA device's generators are forked; another accelerator's (MPS,
        XPU) is seeded as ``torch.manual_seed`` seeds it, and not restored.
        """
        if self.random_state is None:
            yield
            return
        device = torch.device(self.device_ if getattr(self, "device_", None) else "cpu")
        cuda = []
        if device.type == "cuda":
            cuda = [device.index if device.index is not None else torch.cuda.current_device()]
        with torch.random.fork_rng(devices=cuda):
            kept = None if fresh else self.__dict__.get("_random_stream_state_")
            # a fresh stream, or a net pickled without one (or without this GPU's):
            # seeded from random_state, and the epochs done, so a later call draws anew
            # int(): a generator's manual_seed takes no numpy integer (grids often hold them)
            seed = int(self.random_state) + (0 if fresh else len(self.history))
            if kept is None:
                torch.random.default_generator.manual_seed(seed)
                if device.type not in ("cpu", "cuda", "meta"):
                    torch.manual_seed(seed)  # mps, xpu, ...: seeded, not forked
            else:
                torch.set_rng_state(kept[0])
            for position, index in enumerate(cuda):
                if kept is not None and position < len(kept[1]):
                    torch.cuda.set_rng_state(kept[1][position], index)
                else:
                    torch.cuda.default_generators[index].manual_seed(seed)
            try:
                yield
            finally:
                if keep:
                    # ends in "_": a fitted attribute, not one of skorch's parameters
                    self._random_stream_state_ = (
                        torch.get_rng_state(),
                        [torch.cuda.get_rng_state(index) for index in cuda],
                    )

    # The parameter ``device`` lives in ``__dict__["device"]`` untouched by fit
    # (scikit-learn's check_dont_overwrite_parameters); skorch reads
    # ``self.device`` wherever it moves data or modules, and gets the device
    # "auto" resolved to once the net is built.
    @property
    def device(self):
        requested = self.__dict__.get("device")
        if isinstance(requested, str) and requested == "auto":
            return self.__dict__.get("device_", requested)
        return requested

    @device.setter
    def device(self, value):
        self.__dict__["device"] = value
        if "device_" in self.__dict__ and value is not None:
            # a built net runs where it is now told to (torch has no "auto" device);
            # an unbuilt one resolves it in initialize
            self._set_device_(resolve_device(value))

    def _set_device_(self, device):
        """Where a built net now runs, and the autocast that device calls for
        (bfloat16 under ``precision="auto"`` only where it is native)."""
        if isinstance(device, torch.device):
            device = str(device)  # device_ is a string
        self.__dict__["device_"] = device
        if "autocast_dtype_" in self.__dict__:
            self.autocast_dtype_ = autocast_dtype(self.precision, device)

    def get_params(self, deep=True, **kwargs):
        params = super().get_params(deep=deep, **kwargs)
        params["device"] = self.__dict__.get("device")  # what was asked for, not what it became
        return params

    def load_params(self, *args, **kwargs):
        """skorch's ``load_params``; a ``device="auto"`` parameter stays ``"auto"``
        (skorch writes the device it mapped the weights to into it)."""
        requested = self.__dict__.get("device")
        try:
            return super().load_params(*args, **kwargs)
        finally:
            self._keep_auto_device(requested)

    def _keep_auto_device(self, requested):
        """After skorch wrote the device it mapped tensors to into ``device``:
        that device becomes ``device_``, and a requested ``"auto"`` stays the
        parameter (any other value is skorch's to change, as skorch does)."""
        mapped = self.__dict__.get("device")
        unmapped = mapped is None or (isinstance(mapped, str) and mapped == "auto")
        if "device_" in self.__dict__ and not unmapped:  # skorch loaded nothing: "auto" stays
            self._set_device_(mapped)
        if isinstance(requested, str) and requested == "auto":
            self.__dict__["device"] = "auto"

    def set_params(self, **kwargs):
        built = getattr(self, "initialized_", False)
        result = super().set_params(**kwargs)
        if "precision" in kwargs and built:
            # a built net autocasts with what initialize resolved: resolve the new value
            self.autocast_dtype_ = autocast_dtype(self.precision, self.device)
        return result

    def _restore_device(self, state):
        """Prepare a pickled ``state`` for skorch's ``__setstate__``; returns the
        ``device`` parameter to keep afterwards (:meth:`_keep_auto_device`)."""
        requested = state.get("device")
        auto = isinstance(requested, str) and requested == "auto"
        if auto and "device_" in state:
            # A net trained with device="auto" re-resolves where it is loaded,
            # so a GPU-trained model loads on a CPU-only machine without fuss.
            state["device_"] = resolve_device("auto")
            state["autocast_dtype_"] = autocast_dtype(state["precision"], state["device_"])
        # skorch's unpickling maps the tensors to state["device"], which must be a
        # real device: the resolved one (an unfitted net, as joblib's loky and dask
        # pickle clones, has no tensors yet, so any real device does).
        if auto:
            state["device"] = state.get("device_", "cpu")
        return requested

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's ``fit_loop``; a :class:`~sklearn_ser.exceptions.StopRequested`
        is kept, for ``partial_fit`` to raise again once skorch has ended training."""
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except StopRequested as stop:
            self.__dict__["_stop_requested_"] = stop
            raise

    def infer(self, x, **fit_params):
        """Forward pass under autocast when a reduced precision is in use:
        ``precision``'s in training mode, ``predict_precision``'s in evaluation
        mode (prediction and the validation pass); a batch of chunks in the
        device's faster memory layout (:func:`chunk_memory_format`)."""
        # device=None (skorch's "do not move"): where the module's weights are
        weight = next(self.module_.parameters(), None)
        device_type = torch.device(self.device).type if self.device is not None \
            else (weight.device.type if weight is not None else "cpu")
        if isinstance(x, torch.Tensor) and x.dim() == 4:
            x = x.contiguous(memory_format=self._chunk_memory_format(device_type))
        if self.module_.training:
            dtype = getattr(self, "autocast_dtype_", None)
        else:
            dtype = predict_autocast_dtype(self.predict_precision)
        if dtype is None:
            return super().infer(x, **fit_params)
        with torch.autocast(device_type=device_type, dtype=dtype):
            return super().infer(x, **fit_params)

    def _chunk_memory_format(self, device_type):
        """The layout :meth:`infer` gives the chunks in (one place to compare layouts)."""
        return chunk_memory_format(device_type)

    def forward_iter(self, X, training=False, device="cpu"):
        """skorch's ``forward_iter``, with the DataLoader started on a fork of
        torch's CPU generator.

        Starting a DataLoader draws its base seed from torch's global
        generator, so skorch's inference would move the caller's random
        stream (and a later ``torch.rand`` would give other numbers after a
        ``predict``). The seed only seeds loader workers, which inference has
        no use for (and a shuffled inference loader, which then draws the
        same order every call): drawing it from a fork leaves the caller's
        generator as it was. Training's own loaders are unchanged; a scoring
        callback that predicts during training without skorch's caching
        (``EpochScoring(..., use_caching=False)``) no longer draws from the
        training stream, so such a seeded run gives other numbers than
        before. As for training's fork, the generator's state is restored
        afterwards: another thread's draws in between are undone.
        """
        dataset = self.get_dataset(X)
        iterator = self.get_iterator(dataset, training=training)
        with torch.random.fork_rng(devices=[]):
            # A DataLoader draws its seeds when it starts: in iter(), or at the
            # first batch for a loader whose __iter__ is a generator (accelerate's).
            # Only the start is on the fork, not the forward passes, so
            # forward_iter(training=True) still draws new dropout masks each call.
            batches = iter(iterator)
            batch = next(batches, _NO_BATCH)
        while batch is not _NO_BATCH:
            yield to_device(self.evaluation_step(batch, training=training), device=device)
            batch = next(batches, _NO_BATCH)
