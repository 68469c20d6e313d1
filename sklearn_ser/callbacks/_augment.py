"""SpecAugment-style masking of training chunks, as a skorch callback."""

from __future__ import annotations

import torch
from skorch.callbacks import Callback

__all__ = ["SpecAugment", "mask_chunks"]


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
