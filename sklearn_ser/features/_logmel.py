"""Pure, vectorised 3-D log-Mel features: static, delta and delta-delta.

These functions reproduce ``python_speech_features`` (psf) 0.6, the tool of
Pham, Dang and Nguyen (JAEC 2020), to float64 round-off: ``logfbank`` for the
static channel (the paper's eq. 1-4) and ``delta`` for the dynamic channels
(eq. 5), with no Python loop over frames.

Two choices the paper leaves open follow psf's defaults and are documented
here so that they are deliberate:

- **window**: psf frames with a rectangular window (``winfunc=np.ones``);
  ``"hamming"`` and ``"hann"`` are available as options.
- **log of zero energy**: psf replaces an exactly-zero Mel energy by the
  float64 machine epsilon before the log (giving ``log(eps) = -36.04``), and
  so do we. A positive energy below ``eps`` is logged as it is (in float32,
  near-silent frames reach about -60), as psf does.
"""

from __future__ import annotations

import inspect
from functools import lru_cache

import numpy as np

__all__ = [
    "LOG_ENERGY_FLOOR",
    "deltas",
    "frame_count",
    "frame_signal",
    "hz_to_mel",
    "log_mel_3d",
    "log_mel_spectrogram",
    "mel_filterbank",
    "mel_to_hz",
    "samples_per",
]

#: Energy floor applied before the log (float64 machine epsilon, as in psf).
LOG_ENERGY_FLOOR = float(np.finfo(np.float64).eps)

WINDOWS = ("rectangular", "hamming", "hann")


def hz_to_mel(frequency_hz):
    """Mel scale of the paper's eq. 3: ``m = 2595 log10(1 + f / 700)``."""
    return 2595.0 * np.log10(1.0 + np.asarray(frequency_hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel):
    """Inverse of :func:`hz_to_mel`: ``f = 700 (10^(m / 2595) - 1)``."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def samples_per(seconds, sample_rate):
    """Number of samples in ``seconds`` at ``sample_rate``, rounded half up as psf does."""
    return int(np.floor(seconds * sample_rate + 0.5))


@lru_cache(maxsize=32)
def _mel_filterbank_cached(sample_rate, n_fft, n_mels, f_min, f_max):
    mel_points = np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2)
    # psf rounds the filter edges down to FFT bins: floor((n_fft + 1) f / sr).
    edges = np.floor((n_fft + 1) * mel_to_hz(mel_points) / sample_rate)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    bins = np.arange(n_fft // 2 + 1, dtype=np.float64)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        rising = np.where((bins >= left) & (bins < centre), (bins - left) / (centre - left), 0.0)
        falling = np.where(
            (bins >= centre) & (bins < right), (right - bins) / (right - centre), 0.0
        )
    weights = rising + falling
    weights.setflags(write=False)
    return weights


def mel_filterbank(*, sample_rate=16000, n_fft=512, n_mels=40, f_min=300.0, f_max=8000.0):
    """Triangular Mel filterbank (paper eq. 2-3), as built by psf's ``get_filterbanks``.

    Parameters
    ----------
    sample_rate : int
        Sampling rate in Hz.
    n_fft : int
        FFT size in samples.
    n_mels : int
        Number of triangular filters.
    f_min, f_max : float
        Edges of the lowest and highest filter in Hz; ``f_max <= sample_rate / 2``.

    Returns
    -------
    weights : np.ndarray [shape=(n_mels, n_fft // 2 + 1)], read-only
        Filter ``m`` rises linearly from bin ``f(m-1)`` to 1 at ``f(m)`` and falls
        back to 0 at ``f(m+1)`` (eq. 2). Cached per parameter set.
    """
    if not 0 <= f_min < f_max <= sample_rate / 2:
        raise ValueError(
            f"need 0 <= f_min < f_max <= sample_rate/2, got f_min={f_min}, "
            f"f_max={f_max}, sample_rate={sample_rate}"
        )
    return _mel_filterbank_cached(
        int(sample_rate), int(n_fft), int(n_mels), float(f_min), float(f_max)
    )


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
        In samples.

    Returns
    -------
    n_frames : np.ndarray of int64
    """
    n_samples = np.asarray(n_samples, dtype=np.int64)
    extra = np.maximum(n_samples - frame_length, 0)
    return 1 + (extra + hop_length - 1) // hop_length


def frame_signal(signal, frame_length, hop_length):
    """Cut a 1-D signal into overlapping frames, zero-padding the tail (psf ``framesig``).

    Parameters
    ----------
    signal : np.ndarray [shape=(n_samples,)]
    frame_length, hop_length : int
        In samples.

    Returns
    -------
    frames : np.ndarray [shape=(frame_count(n_samples), frame_length)]
        A read-only strided view on a padded copy of ``signal``.
    """
    n_frames = int(frame_count(signal.shape[-1], frame_length, hop_length))
    padded_length = (n_frames - 1) * hop_length + frame_length
    padded = np.zeros(padded_length, dtype=signal.dtype)
    padded[: signal.shape[-1]] = signal
    return np.lib.stride_tricks.sliding_window_view(padded, frame_length)[::hop_length]


@lru_cache(maxsize=16)
def _window(name, length, dtype):
    if name == "rectangular":
        return None
    from scipy.signal import get_window

    # Symmetric windows, like numpy.hamming / numpy.hanning used with psf.
    return get_window(name, length, fftbins=False).astype(dtype)


@lru_cache(maxsize=32)
def _sparse_projection(sample_rate, n_fft, n_mels, f_min, f_max, dtype):
    """The filterbank divided by ``n_fft``, as a read-only CSR matrix ``(n_mels, n_bins)``.

    A triangular filterbank is mostly zeros (438 of the paper's 40 x 257
    weights are not), and scipy's CSR product sums each frame's bins in one
    fixed order, with no BLAS kernel whose blocking depends on the frame's
    position: the Mel energies of a frame are the same bits in any batch.
    """
    import scipy.sparse

    weights = mel_filterbank(
        sample_rate=sample_rate, n_fft=n_fft, n_mels=n_mels, f_min=f_min, f_max=f_max
    )
    projection = scipy.sparse.csr_matrix((weights / n_fft).astype(dtype))
    for array in (projection.data, projection.indices, projection.indptr):
        array.setflags(write=False)
    return projection


def _slot_layout(lengths, frame_length, hop_length):
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
    n_frames = frame_count(lengths, frame_length, hop_length)
    n_slots = -(-((n_frames - 1) * hop_length + frame_length) // hop_length)
    frame_offsets = np.concatenate([[0], np.cumsum(n_frames)])
    slot_offsets = np.concatenate([[0], np.cumsum(n_slots)])
    owner = np.repeat(np.arange(len(n_frames)), n_frames)
    frame_slots = slot_offsets[owner] + np.arange(frame_offsets[-1]) - frame_offsets[owner]
    return frame_offsets, slot_offsets, frame_slots


def _preemphasise_into(padded, signals, starts, coefficient):
    """Write ``y[n] = x[n] - a x[n-1]`` (``y[0] = x[0]``) of each signal into
    ``padded[start:start + len(x)]``, signal by signal so that no tail leaks
    into the next signal; the product goes through one scratch row, freed on return."""
    scratch = np.empty(max((len(signal) for signal in signals), default=1), dtype=padded.dtype)
    for signal, start in zip(signals, starts, strict=True):
        target = padded[start : start + len(signal)]
        target[:] = signal
        target[1:] -= np.multiply(target[:-1], coefficient, out=scratch[: len(signal) - 1])


def _log_mel_stack(
    signals,
    n_channels,
    *,
    sample_rate,
    n_mels,
    n_fft,
    frame_seconds,
    hop_seconds,
    f_min,
    f_max,
    preemphasis,
    window,
    dtype,
    block_frames,
):
    """:func:`log_mel_spectrogram_batch` written into channel 0 of a new
    ``(n_channels, n_frames_total, n_mels)`` array, so callers can fill the
    other channels in place (no stacking copy). Every parameter is required
    here: the defaults live in :func:`log_mel_spectrogram_batch` only."""
    dtype = np.dtype(dtype)
    if dtype.newbyteorder("=") not in (np.float32, np.float64):
        raise ValueError(f"dtype={dtype.str!r} must be float32 or float64")
    dtype = dtype.newbyteorder("=")
    frame_length = samples_per(frame_seconds, sample_rate)
    hop_length = samples_per(hop_seconds, sample_rate)
    if n_fft < frame_length:
        raise ValueError(
            f"n_fft={n_fft} must be >= the frame length of {frame_length} samples "
            f"(frame_seconds={frame_seconds} at {sample_rate} Hz)"
        )
    if window not in WINDOWS:
        raise ValueError(f"window={window!r} must be one of {WINDOWS}")
    lengths = np.array([len(signal) for signal in signals], dtype=np.int64)
    if lengths.size and lengths.min() < 1:
        raise ValueError("every signal needs at least one sample")
    frame_offsets, slot_offsets, frame_slots = _slot_layout(lengths, frame_length, hop_length)
    n_slots = int(slot_offsets[-1])
    coefficient = dtype.type(preemphasis)
    padded = np.zeros(n_slots * hop_length + frame_length, dtype=dtype)
    _preemphasise_into(padded, signals, slot_offsets[:-1] * hop_length, coefficient)
    # Slot k's frame is padded[k * hop_length :][:frame_length]: a strided view.
    slot_frames = np.lib.stride_tricks.sliding_window_view(padded, frame_length)[
        : n_slots * hop_length : hop_length
    ]
    taper = _window(window, frame_length, dtype)
    # |X|^2 W^T / n_fft (eq. 1-3): the magnitude squared, as psf computes it, then
    # projected; the 1/n_fft of eq. 1 is folded into the sparse matrix.
    # (mel_filterbank first: it checks the range and names the values as given.)
    mel_filterbank(sample_rate=sample_rate, n_fft=n_fft, n_mels=n_mels, f_min=f_min, f_max=f_max)
    projection = _sparse_projection(
        int(sample_rate), int(n_fft), int(n_mels), float(f_min), float(f_max), dtype
    )
    slot_log_mel = np.empty((n_slots, n_mels), dtype=dtype)
    # Frames are copied into a zero-padded (block, n_fft) buffer, which spares
    # the FFT its own padding copy.
    buffer = np.zeros((min(block_frames, max(n_slots, 1)), n_fft), dtype=dtype)
    power_buffer = np.empty((buffer.shape[0], n_fft // 2 + 1), dtype=dtype)
    spectrum_buffer = np.empty(power_buffer.shape, dtype=np.result_type(dtype, np.complex64))
    import torch  # here, not at the top: `import sklearn_ser` stays free of torch

    # torch runs on the caller's torch.get_num_threads(); no BLAS is called, so
    # no BLAS thread pool spins next to torch's.
    for block in range(0, n_slots, block_frames):
        frames = buffer[: min(block_frames, n_slots - block)]
        frames[:, :frame_length] = slot_frames[block : block + block_frames]
        if taper is not None:
            frames[:, :frame_length] *= taper
        # torch's FFT (MKL on x86) runs twice as fast as scipy's pocketfft here.
        spectrum = spectrum_buffer[: len(frames)]
        torch.fft.rfft(torch.from_numpy(frames), dim=-1, out=torch.from_numpy(spectrum))
        power = np.abs(spectrum, out=power_buffer[: len(frames)])
        np.square(power, out=power)
        # (W / n_fft) P^T: (n_mels, block), logged in this layout (contiguous,
        # so torch's vectorised log applies) and written out transposed.
        energies = projection @ power.T
        energies[energies == 0] = LOG_ENERGY_FLOOR
        energies_tensor = torch.from_numpy(energies)
        torch.log(energies_tensor, out=energies_tensor)
        slot_log_mel[block : block + block_frames] = energies.T
    del padded, slot_frames  # before the output is allocated: a lower peak for long files
    stack = np.empty((n_channels, frame_offsets[-1], n_mels), dtype=dtype)
    # frame_slots < n_slots by construction; "clip" writes straight into the output
    # ("raise" would go through a temporary of the output's size).
    np.take(slot_log_mel, frame_slots, axis=0, out=stack[0], mode="clip")
    return stack, frame_offsets


def log_mel_spectrogram_batch(
    signals,
    *,
    sample_rate=16000,
    n_mels=40,
    n_fft=512,
    frame_seconds=0.025,
    hop_seconds=0.010,
    f_min=300.0,
    f_max=8000.0,
    preemphasis=0.97,
    window="rectangular",
    dtype=np.float32,
    block_frames=512,
):
    """Log-Mel filterbank energies of many signals (paper eq. 1-4; psf ``logfbank``).

    Each signal is pre-emphasised, ``y[n] = x[n] - a x[n-1]`` with ``y[0] = x[0]``,
    framed (tail zero-padded, see :func:`frame_count`), windowed, and turned into
    a power spectrum ``P = |FFT_{n_fft}(frame)|^2 / n_fft`` (eq. 1). The Mel
    energies ``E = P W^T`` (eq. 2-3, ``W`` from :func:`mel_filterbank`) have
    exact zeros replaced by :data:`LOG_ENERGY_FLOOR`, as psf does, and are
    logged (eq. 4). The frames of all signals go through the FFT together, in
    blocks of ``block_frames``, so short files cost no per-file overhead.

    The FFT and the log are torch's (MKL on x86 CPUs: the FFT is twice as fast
    as scipy's pocketfft on these frames; ``docs/benchmarks.md``) and use
    ``torch.get_num_threads()`` threads, which this function leaves alone (on
    two cores, two threads ran as fast as one on an idle machine and 2.2x
    slower with the other core busy). The Mel projection is a sparse product
    (scipy's CSR, the filterbank's non-zero weights only) that sums each
    frame's bins in one fixed order, and no BLAS is called. So the bits of a
    frame depend neither on torch's thread count nor on its position in a
    block: a signal gives the same output alone, inside any batch, and for
    any ``block_frames``.

    Parameters
    ----------
    signals : sequence of np.ndarray [shape=(n_samples_u,)]
        Waveforms at ``sample_rate``, any lengths >= 1.
    sample_rate : int
        In Hz.
    n_mels : int
        Number of Mel filters.
    n_fft : int
        FFT size in samples; must be at least the frame length.
    frame_seconds, hop_seconds : float
        Frame length and hop in seconds (rounded half up to whole samples).
    f_min, f_max : float
        Filterbank range in Hz.
    preemphasis : float
        Pre-emphasis coefficient ``a``; 0 disables it.
    window : {"rectangular", "hamming", "hann"}
        Frame window; psf's default is rectangular.
    dtype : {np.float32, np.float64}
        Precision of the computation. float64 matches psf to round-off;
        float32 (the default) is faster and agrees to about 1e-3 except in
        near-silent bins.
    block_frames : int
        Frames per FFT block (bounds the temporary memory).

    Returns
    -------
    log_mel : np.ndarray [shape=(n_frames_total, n_mels)]
        Natural log of the Mel energies of all frames, signal after signal.
    frame_offsets : np.ndarray [shape=(n_signals + 1,)], int64
        Signal ``u`` owns rows ``frame_offsets[u]:frame_offsets[u + 1]``.
    """
    params = {name: value for name, value in locals().items() if name != "signals"}
    stack, frame_offsets = _log_mel_stack(signals, 1, **params)
    return stack[0], frame_offsets


#: The front end's settings and their defaults: the paper's (Pham et al. 2020).
_LOG_MEL_DEFAULTS = {
    name: parameter.default
    for name, parameter in inspect.signature(log_mel_spectrogram_batch).parameters.items()
    if parameter.default is not inspect.Parameter.empty
}


def log_mel_spectrogram(signal, **params):
    """Log-Mel filterbank energies of one signal; see :func:`log_mel_spectrogram_batch`.

    Parameters
    ----------
    signal : np.ndarray [shape=(n_samples,)]
        Waveform at the ``sample_rate`` given in ``params``.
    **params
        Keyword arguments of :func:`log_mel_spectrogram_batch`; ``dtype``
        defaults to float64 here (psf-exact).

    Returns
    -------
    log_mel : np.ndarray [shape=(n_frames, n_mels)]
    """
    params.setdefault("dtype", np.float64)
    return log_mel_spectrogram_batch([np.asarray(signal)], **params)[0]


def deltas(features, *, width=2, frame_offsets=None, out=None):
    """Regression deltas over time (paper eq. 5; psf ``delta``).

    ``d_t = sum_{n=1}^{N} n (c_{t+n} - c_{t-n}) / (2 sum_{n=1}^{N} n^2)``, where
    frames beyond either end of an utterance repeat its edge frame.

    Parameters
    ----------
    features : np.ndarray [shape=(n_frames_total, n_features)]
        Frames of one or several utterances, stacked along axis 0.
    width : int
        ``N``, the number of frames on each side (the paper uses 2).
    frame_offsets : np.ndarray [shape=(n_utterances + 1,)], optional
        Utterance boundaries as returned by :func:`log_mel_spectrogram_batch`;
        by default all frames form one utterance.
    out : np.ndarray, optional
        Where to write the result (same shape and dtype as ``features``, not
        overlapping it).

    Returns
    -------
    d : np.ndarray, same shape and dtype as ``features``
    """
    if width < 1:
        raise ValueError(f"width={width} must be a positive integer")
    features = np.asarray(features)
    n_total = features.shape[0]
    if frame_offsets is None:
        frame_offsets = np.array([0, n_total])
    scale = features.dtype.type(1.0 / (2 * sum(n * n for n in range(1, width + 1))))
    if out is None:
        out = np.empty_like(features)
    # Treat the stacked utterances as one long sequence (cheap slices): right for
    # every frame at least `width` from both ends of the stack ...
    n_inner = max(n_total - 2 * width, 0)
    inner = out[width : width + n_inner]

    def ahead(n):
        return features[width + n : width + n + n_inner]

    def behind(n):
        return features[width - n : width - n + n_inner]

    # Accumulate from the widest lag down, adding the n = 1 lag's two terms
    # straight in: inner = N (c+N - c-N) + ... + c+1 - c-1. For N = 2 that is
    # five passes over the frames and no temporary (a product per lag took nine).
    np.subtract(ahead(width), behind(width), out=inner)
    inner *= features.dtype.type(width)
    for n in range(width - 1, 1, -1):  # a loop over the N lags, not over frames
        inner += features.dtype.type(n) * (ahead(n) - behind(n))
    if width > 1:
        inner += ahead(1)
        inner -= behind(1)
    inner *= scale
    # ... then redo the frames within `width` of an utterance edge (the two ends
    # of the stack included), with the
    # neighbours clamped to their own utterance (edge repetition).
    first, stop = frame_offsets[:-1], frame_offsets[1:]
    near_edge = np.concatenate(
        [
            (first[:, None] + np.arange(width)).ravel(),
            (stop[:, None] - 1 - np.arange(width)).ravel(),
        ]
    )
    owner = np.tile(np.repeat(np.arange(len(first)), width), 2)
    keep = (near_edge >= first[owner]) & (near_edge < stop[owner])
    near_edge, owner = near_edge[keep], owner[keep]
    fixed = np.zeros((near_edge.size, *features.shape[1:]), dtype=features.dtype)
    for n in range(1, width + 1):
        ahead = features[np.minimum(near_edge + n, stop[owner] - 1)]
        behind = features[np.maximum(near_edge - n, first[owner])]
        fixed += features.dtype.type(n) * (ahead - behind)
    out[near_edge] = fixed * scale
    return out


def log_mel_3d_batch(signals, *, delta_width=2, **log_mel_params):
    """Static, delta and delta-delta log-Mel channels of many signals.

    Parameters
    ----------
    signals : sequence of np.ndarray [shape=(n_samples_u,)]
    delta_width : int
        ``N`` of eq. 5, used for both deltas.
    **log_mel_params
        Passed to :func:`log_mel_spectrogram_batch`.

    Returns
    -------
    features : np.ndarray [shape=(3, n_frames_total, n_mels)]
        Channel 0 the static log-Mel, 1 its delta, 2 the delta of the delta.
    frame_offsets : np.ndarray [shape=(n_signals + 1,)]
    """
    unknown = set(log_mel_params) - set(_LOG_MEL_DEFAULTS)
    if unknown:
        raise TypeError(f"log_mel_3d_batch() got unexpected keyword arguments {sorted(unknown)}")
    params = {**_LOG_MEL_DEFAULTS, **log_mel_params}
    stacked, frame_offsets = _log_mel_stack(signals, 3, **params)
    deltas(stacked[0], width=delta_width, frame_offsets=frame_offsets, out=stacked[1])
    deltas(stacked[1], width=delta_width, frame_offsets=frame_offsets, out=stacked[2])
    return stacked, frame_offsets


def log_mel_3d(signal, *, delta_width=2, **log_mel_params):
    """Static, delta and delta-delta log-Mel channels of one signal (float64 by default).

    Parameters
    ----------
    signal : np.ndarray [shape=(n_samples,)]
        Waveform.
    delta_width : int
        ``N`` of eq. 5, used for both deltas.
    **log_mel_params
        Keyword arguments of :func:`log_mel_spectrogram_batch`.

    Returns
    -------
    features : np.ndarray [shape=(3, n_frames, n_mels)]
    """
    log_mel_params.setdefault("dtype", np.float64)
    return log_mel_3d_batch([np.asarray(signal)], delta_width=delta_width, **log_mel_params)[0]
