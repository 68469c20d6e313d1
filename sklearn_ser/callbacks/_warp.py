"""Vocal tract length perturbation of training chunks along the Mel axis, as a skorch callback."""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
from skorch.callbacks import Callback

from ..features import FRONT_END_DEFAULTS, check_front_end, hz_to_mel, mel_centres
from ..utils.constraints import Interval
from ..utils.validation import check_params

__all__ = ["MAX_WARP", "MelWarp", "warp_mel_bands"]

#: The largest ``max_warp`` of :class:`MelWarp`: factors from 0.5 to 1.5.
MAX_WARP = 0.5


def _check_factors(factors, n_chunks):
    factors = np.asarray(factors, dtype=np.float64)
    if factors.shape != (n_chunks,):
        raise ValueError(f"warp_mel_bands: factors must hold one number per chunk, shape "
                         f"({n_chunks},), got shape {factors.shape}")
    bad = ~(np.isfinite(factors) & (factors > 0))
    if bad.any():
        raise ValueError(f"warp_mel_bands: factors must be finite numbers > 0; {bad.sum()} of "
                         f"{n_chunks} are not, the first {float(factors[bad][0])!r}")
    return factors


def warp_mel_bands(chunks, factors, *, f_min=FRONT_END_DEFAULTS["f_min"],
                   f_max=FRONT_END_DEFAULTS["f_max"]):
    """Move each chunk's Mel pattern from frequency ``f`` to ``factor * f``, in place.

    A simplified vocal tract length perturbation (Jaitly and Hinton 2013) on
    Mel features: band ``k`` of a warped chunk takes the value the chunk had
    at ``centre_k / factor``, linearly interpolated between the two nearest
    band centres on the Mel scale; a source below the first centre or above
    the last takes that edge band's value (where VTLP bends its warp at a
    boundary frequency instead). On standardised chunks what moves is each
    band's deviation from its mean, not the mean spectrum itself.

    Parameters
    ----------
    chunks : torch.Tensor [shape=(batch, channels, frames, n_mels)], floating point
        Chunks of Mel bands between ``f_min`` and ``f_max``; every channel and
        frame of a chunk is warped alike. Computed in float32 at least (outside
        any autocast), written back in the tensor's own dtype.
    factors : array-like [shape=(batch,)]
        Warp factor of every chunk, finite and > 0: above 1 moves the pattern
        up (a shorter vocal tract), below 1 down.
    f_min, f_max : float
        Edges of the filterbank that made the chunks, in Hz.

    Returns
    -------
    chunks : torch.Tensor
        The same tensor, warped.

    Raises
    ------
    TypeError
        If ``chunks`` is not a floating-point 4-D torch tensor.
    ValueError
        Naming ``factors``, ``f_min`` or ``f_max`` when they are out of range.
    """
    if not isinstance(chunks, torch.Tensor) or chunks.ndim != 4 \
            or not chunks.is_floating_point():
        raise TypeError("warp_mel_bands: chunks must be a floating-point torch.Tensor of shape "
                        "(batch, channels, frames, n_mels), got "
                        + (f"a {chunks.dtype} tensor of shape {tuple(chunks.shape)}"
                           if isinstance(chunks, torch.Tensor) else type(chunks).__name__))
    check_front_end({"f_min": f_min, "f_max": f_max}, caller="warp_mel_bands")
    factors = _check_factors(factors, len(chunks))
    n_mels = chunks.shape[-1]
    if n_mels < 2 or len(chunks) == 0:
        return chunks
    centres = mel_centres(n_mels=n_mels, f_min=f_min, f_max=f_max)
    mel = hz_to_mel(centres)
    source = hz_to_mel(centres[None, :] / factors[:, None])
    position = np.clip((source - mel[0]) / (mel[1] - mel[0]), 0, n_mels - 1)
    lower = np.minimum(np.floor(position), n_mels - 2)
    index = torch.as_tensor(lower, dtype=torch.long, device=chunks.device)
    index = index[:, None, None, :].expand(chunks.shape)
    with torch.autocast(chunks.device.type, enabled=False):
        work = chunks if chunks.dtype in (torch.float32, torch.float64) else chunks.float()
        weight = torch.as_tensor(position - lower, dtype=work.dtype, device=chunks.device)
        warped = torch.lerp(work.gather(-1, index), work.gather(-1, index + 1),
                            weight[:, None, None, :])
        return chunks.copy_(warped)


class MelWarp(Callback):
    """Warp the Mel axis of each *training* chunk by a random factor (VTLP).

    A skorch callback that changes the voice rather than the emotion: every
    chunk of a training batch gets a factor drawn uniformly in ``[1 -
    max_warp, 1 + max_warp]`` and its Mel pattern is moved from ``f`` to
    ``factor * f`` (:func:`warp_mel_bands`), as a shorter or longer vocal
    tract would move it; the time axis is left alone. Validation and
    prediction batches are untouched. The band edges and count are read from
    the front end the classifier was fitted on (``front_end_``); on plain
    arrays, the front end's defaults with the batch's band count. Randomness
    comes from torch's global generator, which the classifier's
    ``random_state`` seeds, so runs stay repeatable. With
    :class:`SpecAugment` as well, put this one first, so that the masks are
    drawn on the warped chunks.

    Parameters
    ----------
    max_warp : float, default=0.1
        Largest relative change of frequency, in [0, 0.5]; VTLP's usual
        0.1 warps between 0.9 and 1.1; 0 warps nothing.
    probability : float, default=1.0
        Probability that a batch is warped at all, in [0, 1].

    Attributes
    ----------
    band_ : tuple of float
        ``(f_min, f_max)`` in Hz of the chunks being trained on, read when
        training begins.
    n_mels_ : int or None
        Their band count (None on plain arrays: the batch's).
    """

    _parameter_constraints = {
        "max_warp": [Interval(Real, 0, MAX_WARP, closed="both")],
        "probability": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, max_warp=0.1, probability=1.0):
        self.max_warp = max_warp
        self.probability = probability

    def _check(self):
        check_params({name: getattr(self, name) for name in self._parameter_constraints},
                     self._parameter_constraints, caller=type(self).__name__)

    def initialize(self):
        self._check()
        return self

    def on_train_begin(self, net, **kwargs):
        # again here: set_params on a built net and partial_fit skip initialize()
        self._check()
        front_end = getattr(net, "front_end_", None) or {}
        self.band_ = tuple(float(front_end.get(name, FRONT_END_DEFAULTS[name]))
                           for name in ("f_min", "f_max"))
        self.n_mels_ = front_end.get("n_mels")

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training or self.max_warp == 0 or torch.rand(()) >= self.probability:
            return
        chunks = batch[0]
        if not isinstance(chunks, torch.Tensor):  # pragma: no cover - skorch collates tensors
            return
        if self.n_mels_ is not None and chunks.shape[-1] != self.n_mels_:
            raise ValueError(f"MelWarp: the batch has {chunks.shape[-1]} Mel bands, but the "
                             f"front end the classifier was fitted on makes "
                             f"n_mels={self.n_mels_}")
        factors = 1.0 + self.max_warp * (2.0 * torch.rand(len(chunks), dtype=torch.float64) - 1.0)
        f_min, f_max = self.band_
        warp_mel_bands(chunks, factors.numpy(), f_min=f_min, f_max=f_max)
