"""Framing as psf's ``framesig`` does it: frame counts, strided frames, windows,
and the layout that puts the frames of many signals on one grid."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ._params import check_front_end

__all__ = ["PREEMPHASIS_BLOCK", "frame_count", "frame_signal", "preemphasise_into", "slot_layout",
           "window_taper"]

#: Samples pre-emphasised at a time: bounds the scratch memory of a long signal.
PREEMPHASIS_BLOCK = 1 << 20


def _frame_count(n_samples, frame_length, hop_length):
    n_samples = np.asarray(n_samples, dtype=np.int64)
    extra = np.maximum(n_samples - frame_length, 0)
    return 1 + (extra + hop_length - 1) // hop_length


def frame_count(n_samples, frame_length, hop_length):
    """Number of frames psf's ``framesig`` makes from ``n_samples`` samples.

    One frame when the signal fits in a frame, else
    ``1 + ceil((n_samples - frame_length) / hop_length)``: the last frame is
    zero-padded, so no sample is dropped.

    Parameters
    ----------
    n_samples : int or np.ndarray of int
        Signal length(s) in samples; works element-wise on arrays.
    frame_length, hop_length : int
        In samples, each >= 1.

    Returns
    -------
    n_frames : np.ndarray of int64
    """
    check_front_end(dict(frame_length=frame_length, hop_length=hop_length), caller="frame_count")
    return _frame_count(n_samples, frame_length, hop_length)


def frame_signal(signal, frame_length, hop_length):
    """Cut a 1-D signal into overlapping frames, zero-padding the tail (psf ``framesig``).

    Parameters
    ----------
    signal : np.ndarray [shape=(n_samples,)]
    frame_length, hop_length : int
        In samples, each >= 1.

    Returns
    -------
    frames : np.ndarray [shape=(frame_count(n_samples), frame_length)]
        A read-only strided view on a padded copy of ``signal``.
    """
    check_front_end(dict(frame_length=frame_length, hop_length=hop_length), caller="frame_signal")
    n_frames = int(_frame_count(signal.shape[-1], frame_length, hop_length))
    padded_length = (n_frames - 1) * hop_length + frame_length
    padded = np.zeros(padded_length, dtype=signal.dtype)
    padded[: signal.shape[-1]] = signal
    return np.lib.stride_tricks.sliding_window_view(padded, frame_length)[::hop_length]


@lru_cache(maxsize=16)
def window_taper(name, length, dtype):
    """The frame window ``name`` of ``length`` samples, or None for the rectangular one."""
    if name == "rectangular":
        return None
    from scipy.signal import get_window

    # Symmetric windows, like numpy.hamming / numpy.hanning used with psf.
    return get_window(name, length, fftbins=False).astype(dtype)


def slot_layout(lengths, frame_length, hop_length):
    """Lay a batch of signals end to end so that all their frames start on one grid.

    Signal ``u`` gets a zero-padded region of ``n_slots[u] * hop_length``
    samples (enough for its last, zero-padded frame), so a frame starts at
    every multiple of ``hop_length`` of the concatenation: a "slot". The
    frames of signal ``u`` are the first ``frame_count`` slots of its region;
    the ``ceil(frame_length / hop_length) - 1`` slots after them straddle the
    next region and are dropped (two for the paper's 400 / 160 samples; they
    still cost an FFT each, which matters only for hops much shorter than the
    frame).

    Returns
    -------
    frame_offsets : np.ndarray [shape=(n_signals + 1,)]
        Signal ``u`` owns frames ``frame_offsets[u]:frame_offsets[u + 1]``.
    slot_offsets : np.ndarray [shape=(n_signals + 1,)]
        Signal ``u``'s region starts at sample ``slot_offsets[u] * hop_length``.
    frame_slots : np.ndarray [shape=(n_frames_total,)]
        The slot of every frame, signal after signal.
    """
    n_frames = _frame_count(lengths, frame_length, hop_length)
    n_slots = -(-((n_frames - 1) * hop_length + frame_length) // hop_length)
    frame_offsets = np.concatenate([[0], np.cumsum(n_frames)])
    slot_offsets = np.concatenate([[0], np.cumsum(n_slots)])
    owner = np.repeat(np.arange(len(n_frames)), n_frames)
    frame_slots = slot_offsets[owner] + np.arange(frame_offsets[-1]) - frame_offsets[owner]
    return frame_offsets, slot_offsets, frame_slots


def preemphasise_into(padded, signals, starts, coefficient):
    """Write ``y[n] = x[n] - a x[n-1]`` (``y[0] = x[0]``) of each signal into
    ``padded[start:start + len(x)]``, signal by signal so that no tail leaks
    into the next signal. The product goes through one scratch row of at most
    :data:`PREEMPHASIS_BLOCK` samples, block by block from the end (each block
    reads samples that are still ``x``), so a long signal costs no second copy."""
    longest = max((len(signal) for signal in signals), default=1)
    scratch = np.empty(min(longest, PREEMPHASIS_BLOCK), dtype=padded.dtype)
    for signal, start in zip(signals, starts, strict=True):
        target = padded[start : start + len(signal)]
        target[:] = signal
        for stop in range(len(signal), 1, -PREEMPHASIS_BLOCK):
            first = max(1, stop - PREEMPHASIS_BLOCK)
            target[first:stop] -= np.multiply(target[first - 1 : stop - 1], coefficient,
                                              out=scratch[: stop - first])
