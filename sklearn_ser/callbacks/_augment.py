"""SpecAugment-style masking and mixup of training chunks, as skorch callbacks."""

from __future__ import annotations

from numbers import Real

import torch
from skorch.callbacks import Callback

__all__ = ["Mixup", "SpecAugment", "mask_chunks"]


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
