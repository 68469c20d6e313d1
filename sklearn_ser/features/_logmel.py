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

The framing, the filterbank and the deltas live in their own modules; this
one runs them over a batch of signals.
"""

from __future__ import annotations

import inspect

import numpy as np

from ..utils.docstrings import Substitution
from ._deltas import deltas
from ._framing import preemphasise_into, slot_layout, window_taper
from ._mel import sparse_projection
from ._param_docs import FRONT_END_DOCS
from ._params import FRONT_END_DEFAULTS as _DEFAULTS
from ._params import FUNCTION_DEFAULTS, check_front_end, samples_per

__all__ = [
    "FFT_BLOCK_SAMPLES",
    "LOG_ENERGY_FLOOR",
    "log_mel_3d",
    "log_mel_3d_batch",
    "log_mel_spectrogram",
    "log_mel_spectrogram_batch",
]

#: Samples (frames x n_fft) that one block of the FFT holds at most, whatever
#: ``block_frames`` asks: 8 MiB of float64 frames, and twice that of spectrum.
FFT_BLOCK_SAMPLES = 1 << 20
#: Energy floor applied before the log (float64 machine epsilon, as in psf).
LOG_ENERGY_FLOOR = float(np.finfo(np.float64).eps)
#: Precision of the one-signal functions: psf's to round-off.
_ONE_SIGNAL_DTYPE = np.float64


def spectral_engine():
    """The library that computes the spectra and their logs: PyTorch where it is
    installed (its FFT, MKL on x86, runs twice as fast as numpy's pocketfft
    here), numpy where it is not, as in the light predictor's installs. The two
    agree to float32 round-off (``tests/test_logmel.py``).

    Returns
    -------
    torch : module or None
        ``torch``, or None for numpy.
    """
    try:
        import torch  # here, not at the top: `import sklearn_ser` stays free of torch
    except ImportError:
        return None
    return torch


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
    and taken as checked (:func:`~sklearn_ser.features._params.check_front_end`)."""
    dtype = np.dtype(dtype).newbyteorder("=")
    # however large n_fft, a block's FFT buffers stay within FFT_BLOCK_SAMPLES a row
    block_frames = min(block_frames, max(1, FFT_BLOCK_SAMPLES // int(n_fft)))
    frame_length = samples_per(frame_seconds, sample_rate)
    hop_length = samples_per(hop_seconds, sample_rate)
    lengths = np.array([len(signal) for signal in signals], dtype=np.int64)
    if lengths.size and lengths.min() < 1:
        raise ValueError("every signal needs at least one sample")
    frame_offsets, slot_offsets, frame_slots = slot_layout(lengths, frame_length, hop_length)
    n_slots = int(slot_offsets[-1])
    coefficient = dtype.type(preemphasis)
    padded = np.zeros(n_slots * hop_length + frame_length, dtype=dtype)
    preemphasise_into(padded, signals, slot_offsets[:-1] * hop_length, coefficient)
    # Slot k's frame is padded[k * hop_length :][:frame_length]: a strided view.
    slot_frames = np.lib.stride_tricks.sliding_window_view(padded, frame_length)[
        : n_slots * hop_length : hop_length
    ]
    taper = window_taper(window, frame_length, dtype)
    # |X|^2 W^T / n_fft (eq. 1-3): the magnitude squared, as psf computes it, then
    # projected; the 1/n_fft of eq. 1 is folded into the sparse matrix.
    projection = sparse_projection(
        int(sample_rate), int(n_fft), int(n_mels), float(f_min), float(f_max), dtype
    )
    slot_log_mel = np.empty((n_slots, n_mels), dtype=dtype)
    # Frames are copied into a zero-padded (block, n_fft) buffer, which spares
    # the FFT its own padding copy.
    buffer = np.zeros((min(block_frames, max(n_slots, 1)), n_fft), dtype=dtype)
    power_buffer = np.empty((buffer.shape[0], n_fft // 2 + 1), dtype=dtype)
    spectrum_buffer = np.empty(power_buffer.shape, dtype=np.result_type(dtype, np.complex64))
    torch = spectral_engine()
    # torch runs on the caller's torch.get_num_threads(); no BLAS is called, so
    # no BLAS thread pool spins next to torch's.
    for block in range(0, n_slots, block_frames):
        frames = buffer[: min(block_frames, n_slots - block)]
        frames[:, :frame_length] = slot_frames[block : block + block_frames]
        if taper is not None:
            frames[:, :frame_length] *= taper
        spectrum = spectrum_buffer[: len(frames)]
        if torch is not None:
            torch.fft.rfft(torch.from_numpy(frames), dim=-1, out=torch.from_numpy(spectrum))
        else:
            spectrum[...] = np.fft.rfft(frames, axis=-1)
        power = np.abs(spectrum, out=power_buffer[: len(frames)])
        np.square(power, out=power)
        # (W / n_fft) P^T: (n_mels, block), logged in this layout (contiguous,
        # so torch's vectorised log applies) and written out transposed.
        energies = projection @ power.T
        energies[energies == 0] = LOG_ENERGY_FLOOR
        if torch is not None:
            energies_tensor = torch.from_numpy(energies)
            torch.log(energies_tensor, out=energies_tensor)
        else:
            np.log(energies, out=energies)
        slot_log_mel[block : block + block_frames] = energies.T
    del padded, slot_frames  # before the output is allocated: a lower peak for long files
    stack = np.empty((n_channels, frame_offsets[-1], n_mels), dtype=dtype)
    # frame_slots < n_slots by construction; "clip" writes straight into the output
    # ("raise" would go through a temporary of the output's size).
    np.take(slot_log_mel, frame_slots, axis=0, out=stack[0], mode="clip")
    return stack, frame_offsets


@Substitution(**FRONT_END_DOCS)
def log_mel_spectrogram_batch(
    signals, *, sample_rate=_DEFAULTS["sample_rate"], n_mels=_DEFAULTS["n_mels"],
    n_fft=_DEFAULTS["n_fft"], frame_seconds=_DEFAULTS["frame_seconds"],
    hop_seconds=_DEFAULTS["hop_seconds"], f_min=_DEFAULTS["f_min"], f_max=_DEFAULTS["f_max"],
    preemphasis=_DEFAULTS["preemphasis"], window=_DEFAULTS["window"],
    dtype=FUNCTION_DEFAULTS["dtype"], block_frames=FUNCTION_DEFAULTS["block_frames"],
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
    {log_mel_settings}
    {dtype}
    {block_frames}

    Returns
    -------
    log_mel : np.ndarray [shape=(n_frames_total, n_mels)]
        Natural log of the Mel energies of all frames, signal after signal.
    frame_offsets : np.ndarray [shape=(n_signals + 1,)], int64
        Signal ``u`` owns rows ``frame_offsets[u]:frame_offsets[u + 1]``.

    Raises
    ------
    ValueError
        Naming every bad argument, or a signal without samples.
    """
    params = {name: value for name, value in locals().items() if name != "signals"}
    check_front_end(params, caller="log_mel_spectrogram_batch")
    stack, frame_offsets = _log_mel_stack(signals, 1, **params)
    return stack[0], frame_offsets


#: The settings of :func:`log_mel_spectrogram_batch` and their defaults.
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
    params.setdefault("dtype", _ONE_SIGNAL_DTYPE)
    return log_mel_spectrogram_batch([np.asarray(signal)], **params)[0]


@Substitution(**FRONT_END_DOCS)
def log_mel_3d_batch(signals, *, delta_width=_DEFAULTS["delta_width"], **log_mel_params):
    """Static, delta and delta-delta log-Mel channels of many signals.

    Parameters
    ----------
    signals : sequence of np.ndarray [shape=(n_samples_u,)]
    {delta_width}
    **log_mel_params
        Keyword arguments of :func:`log_mel_spectrogram_batch`, with its defaults.

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
    check_front_end({**params, "delta_width": delta_width}, caller="log_mel_3d_batch")
    stacked, frame_offsets = _log_mel_stack(signals, 3, **params)
    deltas(stacked[0], width=delta_width, frame_offsets=frame_offsets, out=stacked[1])
    deltas(stacked[1], width=delta_width, frame_offsets=frame_offsets, out=stacked[2])
    return stacked, frame_offsets


@Substitution(**FRONT_END_DOCS)
def log_mel_3d(signal, *, delta_width=_DEFAULTS["delta_width"], **log_mel_params):
    """Static, delta and delta-delta log-Mel channels of one signal (float64 by default).

    Parameters
    ----------
    signal : np.ndarray [shape=(n_samples,)]
        Waveform.
    {delta_width}
    **log_mel_params
        Keyword arguments of :func:`log_mel_spectrogram_batch`; ``dtype``
        defaults to float64 here (psf-exact).

    Returns
    -------
    features : np.ndarray [shape=(3, n_frames, n_mels)]
    """
    log_mel_params.setdefault("dtype", _ONE_SIGNAL_DTYPE)
    return log_mel_3d_batch([np.asarray(signal)], delta_width=delta_width, **log_mel_params)[0]
