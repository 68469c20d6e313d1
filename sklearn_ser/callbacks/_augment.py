"""SpecAugment-style masking of training chunks, as a skorch callback."""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
from skorch.callbacks import Callback

from ..features import FRONT_END_DEFAULTS, hz_to_mel, mel_centres

__all__ = ["MelWarp", "Mixup", "SpecAugment", "mask_chunks", "warp_mel_bands"]


def _band_mask(n_items, axis_length, n_masks, max_width, generator, device):
    """Boolean ``(n_items, axis_length)``: ``n_masks`` random bands of width 0..max_width."""
    if n_masks == 0 or max_width == 0:
        return torch.zeros(n_items, axis_length, dtype=torch.bool, device=device)
    widths = torch.randint(0, max_width + 1, (n_items, n_masks), generator=generator)
    starts = (torch.rand(n_items, n_masks, generator=generator)
              * (axis_length - widths + 1).clamp(min=1)).long()
    position = torch.arange(axis_length)[None, None, :]
    inside = (position >= starts[..., None]) & (position < (starts + widths)[..., None])
    return inside.any(dim=1).to(device)


def mask_chunks(chunks, *, time_masks=2, time_width=20, freq_masks=2, freq_width=5,
                generator=None):
    """Zero random time and frequency bands of every chunk, in place (Park et al. 2019).

    Parameters
    ----------
    chunks : torch.Tensor [shape=(batch, channels, frames, n_mels)]
        Normalised chunks; 0 is the training mean, so a masked band looks
        like an average frame rather than silence.
    time_masks, freq_masks : int
        Number of bands per chunk along time and along the Mel axis.
    time_width, freq_width : int
        Largest band width, in frames and in Mel bins (each band's width is
        uniform in ``0..width``). The same bands apply to all three channels.
    generator : torch.Generator, optional
        Source of randomness (torch's global generator by default).

    Returns
    -------
    chunks : torch.Tensor
        The same tensor, masked.
    """
    batch, _, frames, n_mels = chunks.shape
    time = _band_mask(batch, frames, time_masks, time_width, generator, chunks.device)
    freq = _band_mask(batch, n_mels, freq_masks, freq_width, generator, chunks.device)
    masked = time[:, None, :, None] | freq[:, None, None, :]
    return chunks.masked_fill_(masked, 0.0)


class SpecAugment(Callback):
    """Mask random time and Mel bands of each *training* batch (SpecAugment).

    A skorch callback: add it with ``callbacks=[("augment", SpecAugment())]``;
    validation and prediction batches are left untouched. Randomness comes
    from torch's global generator, which the classifier's ``random_state``
    seeds, so runs stay repeatable.

    Parameters
    ----------
    time_masks : int, default=2
        Time bands per chunk.
    time_width : int, default=20
        Largest time band, in frames (20 frames = 0.2 s).
    freq_masks : int, default=2
        Mel bands per chunk.
    freq_width : int, default=5
        Largest Mel band, in bins.
    probability : float, default=1.0
        Probability that a batch is augmented at all.
    """

    def __init__(self, time_masks=2, time_width=20, freq_masks=2, freq_width=5,
                 probability=1.0):
        self.time_masks = time_masks
        self.time_width = time_width
        self.freq_masks = freq_masks
        self.freq_width = freq_width
        self.probability = probability

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training or torch.rand(()) >= self.probability:
            return
        chunks = batch[0]
        if not isinstance(chunks, torch.Tensor):  # pragma: no cover - skorch collates tensors
            return
        mask_chunks(chunks, time_masks=self.time_masks, time_width=self.time_width,
                    freq_masks=self.freq_masks, freq_width=self.freq_width)


class Mixup(Callback):
    """Train on convex mixes of pairs of chunks and of their labels (Zhang et al. 2018).

    Each *training* batch is replaced, in place, by ``lam * x + (1 - lam) *
    x[perm]``, with ``lam`` drawn from ``Beta(alpha, alpha)`` once per batch
    and ``perm`` a random pairing of the batch's chunks; the classifier's
    loss becomes ``lam * loss(y) + (1 - lam) * loss(y[perm])`` (the
    auxiliary center loss included, on the mixed embeddings). Validation and
    prediction batches are untouched. A regulariser that smooths the
    decision boundaries between emotions rather than changing a voice;
    randomness comes from torch's global generator, which the classifier's
    ``random_state`` seeds, so runs stay repeatable.

    Parameters
    ----------
    alpha : float, default=0.2
        Both parameters of the Beta distribution of ``lam``, > 0: small
        values keep most mixes close to one of the two chunks.
    probability : float, default=1.0
        Probability that a batch is mixed at all, in [0, 1].

    Notes
    -----
    The classifiers of the toolkit (:class:`~sklearn_ser.ADCRNNClassifier`
    and the others built on ``ChunkedNeuralNetClassifier``) read the pairing
    in their ``get_loss``; with another net the inputs would be mixed but
    not the labels, so it is refused when training begins.
    """

    def __init__(self, alpha=0.2, probability=1.0):
        self.alpha = alpha
        self.probability = probability

    def initialize(self):
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, Real) \
                or not 0 < self.alpha < float("inf"):
            raise ValueError(f"Mixup: alpha={self.alpha!r} must be a finite number > 0")
        if isinstance(self.probability, bool) or not isinstance(self.probability, Real) \
                or not 0 <= self.probability <= 1:
            raise ValueError(f"Mixup: probability={self.probability!r} must be a number "
                             "in [0, 1]")
        return self

    def on_train_begin(self, net, **kwargs):
        if not hasattr(net, "mixed_loss"):
            raise TypeError(f"Mixup needs a classifier whose loss mixes the labels too "
                            f"(ADCRNNClassifier, ACRNNClassifier); {type(net).__name__} "
                            "has no mixed_loss")

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        net.__dict__.pop("batch_mix_", None)
        if not training or torch.rand(()) >= self.probability:
            return
        chunks = batch[0]
        if not isinstance(chunks, torch.Tensor):  # pragma: no cover - skorch collates tensors
            return
        beta = torch.distributions.Beta(torch.tensor(float(self.alpha)),
                                        torch.tensor(float(self.alpha)))
        lam = float(beta.sample())
        perm = torch.randperm(len(chunks))
        chunks.copy_(lam * chunks + (1.0 - lam) * chunks[perm])
        net.__dict__["batch_mix_"] = (perm, lam)

    def on_batch_end(self, net, **kwargs):
        net.__dict__.pop("batch_mix_", None)


def warp_mel_bands(chunks, factors, *, f_min=FRONT_END_DEFAULTS["f_min"],
                   f_max=FRONT_END_DEFAULTS["f_max"]):
    """Move each chunk's spectrum from frequency ``f`` to ``factor * f``, in place.

    Vocal tract length perturbation (Jaitly and Hinton 2013) on Mel features:
    band ``k`` of a warped chunk takes the value the chunk had at
    ``centre_k / factor``, linearly interpolated between the two nearest
    bands on the Mel scale; sources outside the first and last band's centre
    take that band's value. A factor above 1 stretches the spectrum upward
    (a shorter vocal tract), below 1 compresses it.

    Parameters
    ----------
    chunks : torch.Tensor [shape=(batch, channels, frames, n_mels)]
        Chunks of Mel bands between ``f_min`` and ``f_max``; every channel is
        warped alike.
    factors : array-like [shape=(batch,)]
        Warp factor of every chunk, > 0.
    f_min, f_max : float
        Edges of the filterbank that made the chunks, in Hz.

    Returns
    -------
    chunks : torch.Tensor
        The same tensor, warped.
    """
    n_mels = chunks.shape[-1]
    factors = np.asarray(factors, dtype=np.float64).reshape(-1)
    if len(factors) != len(chunks) or not np.all(factors > 0):
        raise ValueError(f"warp_mel_bands: factors must hold one number > 0 per chunk "
                         f"({len(chunks)}), got {factors!r}")
    if n_mels < 2:
        return chunks
    centres = mel_centres(n_mels, f_min, f_max)
    mel = hz_to_mel(centres)
    source = hz_to_mel(centres[None, :] / factors[:, None])
    position = np.clip((source - mel[0]) / (mel[1] - mel[0]), 0, n_mels - 1)
    lower = np.minimum(np.floor(position).astype(np.int64), n_mels - 2)
    upper_weight = position - lower
    # weights[b, j, k]: how much of source band j goes into band k of chunk b.
    weights = np.zeros((len(chunks), n_mels, n_mels))
    rows, columns = np.indices(lower.shape)
    np.add.at(weights, (rows, lower, columns), 1.0 - upper_weight)
    np.add.at(weights, (rows, lower + 1, columns), upper_weight)
    weights = torch.as_tensor(weights, dtype=chunks.dtype, device=chunks.device)
    return chunks.copy_(torch.einsum("bctj,bjk->bctk", chunks, weights))


class MelWarp(Callback):
    """Warp the Mel axis of each *training* chunk by a random factor (VTLP).

    A skorch callback that changes the voice, not the emotion: every chunk of
    a training batch gets a factor drawn uniformly in ``[1 - max_warp, 1 +
    max_warp]`` and its spectrum is moved from ``f`` to ``factor * f``
    (:func:`warp_mel_bands`), as a shorter or longer vocal tract would move
    it; the time axis and the loudness are left alone. Validation and
    prediction batches are untouched. The band edges are read from the front
    end the classifier was fitted on (``front_end_``), the front end's
    defaults when it was fitted on plain arrays. Randomness comes from
    torch's global generator, which the classifier's ``random_state`` seeds,
    so runs stay repeatable.

    Parameters
    ----------
    max_warp : float, default=0.1
        Largest relative change of frequency, in [0, 0.5]; VTLP's usual
        0.1 warps between 0.9 and 1.1.
    probability : float, default=1.0
        Probability that a batch is warped at all, in [0, 1].
    """

    def __init__(self, max_warp=0.1, probability=1.0):
        self.max_warp = max_warp
        self.probability = probability

    def initialize(self):
        for name, value, high in (("max_warp", self.max_warp, 0.5),
                                  ("probability", self.probability, 1.0)):
            if isinstance(value, bool) or not isinstance(value, Real) \
                    or not 0 <= value <= high:
                raise ValueError(f"MelWarp: {name}={value!r} must be a number in [0, {high:g}]")
        return self

    def on_train_begin(self, net, **kwargs):
        front_end = getattr(net, "front_end_", None) or FRONT_END_DEFAULTS
        self.band_ = (float(front_end.get("f_min", FRONT_END_DEFAULTS["f_min"])),
                      float(front_end.get("f_max", FRONT_END_DEFAULTS["f_max"])))

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training or self.max_warp == 0 or torch.rand(()) >= self.probability:
            return
        chunks = batch[0]
        if not isinstance(chunks, torch.Tensor):  # pragma: no cover - skorch collates tensors
            return
        factors = 1.0 + self.max_warp * (2.0 * torch.rand(len(chunks), dtype=torch.float64) - 1.0)
        f_min, f_max = self.band_
        warp_mel_bands(chunks, factors.numpy(), f_min=f_min, f_max=f_max)
