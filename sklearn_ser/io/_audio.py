"""Decode any supported audio source into one mono waveform at a target rate.

A *source* is one of

- a path (``str``, ``bytes`` or :class:`os.PathLike`, in any encoding) to a
  regular file that libsndfile reads (WAV in 8/16/24/32-bit PCM or float,
  FLAC, OGG, ...);
- an open binary file object;
- a 1-D numpy array or a list of numbers, taken to be at the requested
  ``sample_rate``;
- a ``(array, sample_rate)`` pair, resampled when its rate differs.

Every failure raises an exception whose message names the source, so an error
in a corpus of thousands of files points at the one to fix. Sample rates
outside :data:`~sklearn_ser.io.SAMPLE_RATE_RANGE` and sources that would
decode or resample to more than :data:`~sklearn_ser.io.MAX_SOURCE_SAMPLES`
samples are refused before the work is done.
"""

from __future__ import annotations

import os
from math import gcd
from numbers import Integral, Real

import numpy as np

from ..exceptions import AudioFileError, InvalidSignalError
from ..utils import check_params, is_number
from ..utils.constraints import Interval, StrOptions
from ._decode import read_audio_file
from ._files import check_regular_file, display_name
from ._limits import MAX_SOURCE_SAMPLES, SAMPLE_RATE_RANGE

__all__ = ["RESAMPLERS", "check_audio_path", "load_audio", "resample", "source_name"]

#: Resampling engines of :func:`resample`, the first the default.
RESAMPLERS = ("soxr", "scipy")
_RATE = Interval(Real, *SAMPLE_RATE_RANGE, closed="both")
_RESAMPLE_CONSTRAINTS = {"resampler": [StrOptions(set(RESAMPLERS))],
                         "orig_sample_rate": [_RATE], "target_sample_rate": [_RATE]}
_LOAD_CONSTRAINTS = {"sample_rate": [Interval(Integral, *SAMPLE_RATE_RANGE, closed="both"),
                                     None]}
#: Widths of integer PCM tried, narrowest first, for integers that carry no width
#: of their own (int64: Python lists of ints, numpy's default integer).
_PCM_BITS = (16, 24, 32)


def source_name(source, index=None) -> str:
    """Return a short human-readable name for an audio source.

    Parameters
    ----------
    source : path, file object, array or (array, sample_rate)
        The audio source.
    index : int, optional
        Position of the source in a collection, used for in-memory signals.

    Returns
    -------
    name : str
        The path for files, the file object's ``name`` when it has one,
        otherwise ``"signal #index"``.
    """
    if isinstance(source, (str, bytes, os.PathLike)):
        return display_name(source)
    name = getattr(source, "name", None)
    if isinstance(name, (str, bytes, os.PathLike)):
        return display_name(name)
    where = "" if index is None else f" #{index}"
    if hasattr(source, "read"):
        return f"file object{where}"
    return f"signal{where}"


def resample(signal, orig_sample_rate, target_sample_rate, *, resampler=RESAMPLERS[0]):
    """Resample a 1-D signal from one rate to another.

    Parameters
    ----------
    signal : np.ndarray [shape=(n_samples,)]
        Floating point waveform.
    orig_sample_rate, target_sample_rate : int
        Rates in Hz, each within :data:`~sklearn_ser.io.SAMPLE_RATE_RANGE`
        (1,000 to 384,000 Hz).
    resampler : {"soxr", "scipy"}, default="soxr"
        ``"soxr"`` uses libsoxr at its "HQ" setting (20-bit precision); it is
        about 3x faster than scipy and has a higher stop-band attenuation
        (figures in ``docs/benchmarks.md``). ``"scipy"`` uses
        :func:`scipy.signal.resample_poly` with its default Kaiser window,
        which is what the paper's ``python_speech_features`` pipeline implies.

    Returns
    -------
    resampled : np.ndarray [shape=(round(n_samples * target / orig),)]
        Same dtype as ``signal``.

    Raises
    ------
    ValueError
        A rate outside the range, an unknown resampler, or an output longer
        than :data:`~sklearn_ser.io.MAX_SOURCE_SAMPLES` (checked before it is
        computed).
    """
    check_params({"resampler": resampler, "orig_sample_rate": orig_sample_rate,
                  "target_sample_rate": target_sample_rate},
                 _RESAMPLE_CONSTRAINTS, caller="resample")
    orig_sample_rate = int(orig_sample_rate)
    target_sample_rate = int(target_sample_rate)
    if orig_sample_rate == target_sample_rate:
        return signal
    problem = _resampling_problem(len(signal), orig_sample_rate, target_sample_rate)
    if problem:
        raise ValueError(f"resample: {problem}")
    if resampler == "soxr":
        import soxr

        # libsoxr runs "HQ" in single precision whatever the input type, so a
        # float32 input gives the float64 call's exact output ~20 % faster. A
        # libsoxr built for double precision would differ; tests/test_io.py checks.
        out = soxr.resample(np.asarray(signal, dtype=np.float32), orig_sample_rate,
                            target_sample_rate, quality="HQ")
    else:
        from scipy.signal import resample_poly

        g = gcd(orig_sample_rate, target_sample_rate)
        out = resample_poly(signal, target_sample_rate // g, orig_sample_rate // g)
    return np.asarray(out, dtype=signal.dtype)


def _resampling_problem(n_samples, orig_sample_rate, target_sample_rate):
    """Why ``n_samples`` cannot be resampled (its output too long), or None."""
    n_out = -(-n_samples * target_sample_rate // orig_sample_rate)
    if n_out <= MAX_SOURCE_SAMPLES:
        return None
    return (f"{n_samples:,} samples at {orig_sample_rate} Hz would become {n_out:,} at "
            f"{target_sample_rate} Hz, more than the {MAX_SOURCE_SAMPLES:,} one source may be "
            "resampled to")


def check_audio_path(path, name):
    """Raise the error a path gets when it cannot hold audio: missing
    (``FileNotFoundError``), unreadable (``PermissionError``), a directory, a
    named pipe, a device or empty (:class:`AudioFileError`). Nothing is opened.

    Parameters
    ----------
    path : str, bytes or os.PathLike
    name : str
        The file's name in the message.
    """
    status = check_regular_file(path, what="audio file", error=AudioFileError, name=name)
    if status.st_size == 0:
        raise AudioFileError(f"cannot decode audio file '{name}': the file is empty (0 bytes)")


def _pcm_scale(array, name):
    """``(centre, scale)`` that map integer PCM ``array`` to [-1, 1].

    A type of 32 bits or fewer says its width: divided by ``2 ** (bits - 1)``
    as libsndfile does (unsigned is offset by half its range). int64, what a
    Python list of ints becomes, says nothing: its range chooses the
    narrowest of 16-, 24- and 32-bit PCM that holds it (``[-32768, 32767]``
    is 16-bit), rather than dividing samples by 2**63 into silence.
    """
    info = np.iinfo(array.dtype)
    if array.dtype.itemsize < 8:
        centre = 0 if array.dtype.kind == "i" else (int(info.max) + 1) // 2
        return centre, float(max(-int(info.min), centre))
    low, high = int(array.min()), int(array.max())
    for bits in _PCM_BITS:
        if -(2 ** (bits - 1)) <= low and high < 2 ** (bits - 1):
            return 0, float(2 ** (bits - 1))
    raise InvalidSignalError(
        f"{name}: integer samples from {low} to {high} do not fit 32-bit PCM, so their scale "
        "is unknown; give floats in [-1, 1] (e.g. x / np.abs(x).max()) or an array of the "
        "PCM type they were recorded in (np.int16, np.int32)"
    )


def _as_signal(array, name, dtype):
    """Validate an in-memory signal and convert integer PCM to [-1, 1]."""
    array = np.asarray(array)
    if array.ndim != 1:
        raise InvalidSignalError(
            f"{name}: expected a 1-D waveform, got an array of shape {array.shape}; "
            "mix multi-channel audio down to mono first (e.g. signal.mean(axis=1))"
        )
    if array.dtype.kind == "f":
        return array.astype(dtype, copy=False)
    if array.dtype.kind in "iu":
        if array.size == 0:
            return array.astype(dtype)
        centre, scale = _pcm_scale(array, name)
        return ((array.astype(np.float64) - centre) / scale).astype(dtype)
    raise InvalidSignalError(
        f"{name}: expected a floating point or integer PCM waveform, got dtype {array.dtype}"
    )


def _count_non_finite(signal):
    """NaN and inf samples in ``signal``, without a mask the size of a long signal:
    a NaN or an inf makes the sum non-finite, and only then are they counted
    (a finite sum that overflows counts none)."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(signal, dtype=np.float64)
    if np.isfinite(total):
        return 0
    return int(signal.size - np.count_nonzero(np.isfinite(signal)))


def _trim_zeros(signal, name):
    """``signal`` without its leading and trailing exact zeros (a view)."""
    nonzero = np.flatnonzero(signal)
    if nonzero.size == 0:
        raise InvalidSignalError(
            f"{name}: every one of its {signal.size} samples is 0 (digital silence); "
            "trim_zeros would leave nothing"
        )
    return signal[nonzero[0] : nonzero[-1] + 1]


def load_audio(source, *, sample_rate=16000, resampler=RESAMPLERS[0], dtype=np.float64,
               trim_zeros=False, name=None):
    """Load one audio source as a mono waveform at ``sample_rate``.

    Parameters
    ----------
    source : str, bytes, os.PathLike, binary file object, np.ndarray, list or (np.ndarray, int)
        Where the audio comes from (see the module docstring). Integer
        samples are PCM: a numpy type of 32 bits or fewer is divided by its
        range, as libsndfile does (int16 by 32768); int64 (a Python list of
        ints) by the narrowest of 16-, 24- and 32-bit PCM that holds its
        values; wider values are refused.
    sample_rate : int or None, default=16000
        Target rate in Hz, 1,000 to 384,000. A bare array is taken to be at
        this rate already. ``None`` keeps a file's own rate (arrays then need
        an explicit rate).
    resampler : {"soxr", "scipy"}, default="soxr"
        Resampling engine, see :func:`resample`.
    dtype : numpy dtype, default=np.float64
        Floating point type of the returned samples.
    trim_zeros : bool, default=False
        Drop the leading and trailing samples that are exactly 0 (digital
        silence, e.g. a corpus padded or cut to a fixed length) before
        resampling. Inner zeros are kept.
    name : str, optional
        Name used in error messages; defaults to :func:`source_name`.

    Returns
    -------
    signal : np.ndarray [shape=(n_samples,)]
        Samples in [-1, 1] for PCM input, at ``sample_rate`` Hz.

    Raises
    ------
    FileNotFoundError
        The path does not exist.
    PermissionError
        The file cannot be read; the message names it.
    sklearn_ser.exceptions.AudioFileError
        A directory, a named pipe or a device (refused unopened); an empty,
        truncated or non-audio file; a header whose sample rate is outside
        1,000 to 384,000 Hz; a file that decodes or resamples to more than
        :data:`~sklearn_ser.io.MAX_SOURCE_SAMPLES` samples (a ``ValueError``).
    sklearn_ser.exceptions.InvalidSignalError
        An empty signal, NaN or inf samples, an all-zero signal with
        ``trim_zeros=True``, an array of the wrong rank or dtype, integers
        too wide for PCM, a pair's rate outside the range, or a signal that
        would resample to more than ``MAX_SOURCE_SAMPLES`` (a ``ValueError``).
    ValueError
        ``sample_rate`` or ``resampler`` is not valid.
    """
    check_params({"sample_rate": sample_rate}, _LOAD_CONSTRAINTS, caller="load_audio")
    if name is None:
        name = source_name(source)
    dtype = np.dtype(dtype)
    from_file = isinstance(source, (str, bytes, os.PathLike)) or hasattr(source, "read")
    if from_file:
        signal, source_rate = read_audio_file(source, name, dtype)
    elif isinstance(source, tuple):
        if len(source) != 2:
            raise InvalidSignalError(
                f"{name}: a tuple source must be (array, sample_rate), got a tuple of "
                f"{len(source)} items"
            )
        if isinstance(source[1], bool) or not isinstance(source[1], Real):
            raise InvalidSignalError(
                f"{name}: the sample rate of an (array, sample_rate) pair must be a number "
                f"in Hz, got {source[1]!r} ({type(source[1]).__name__})"
            )
        signal = _as_signal(source[0], name, dtype)
        source_rate = source[1]
        if not is_number(source_rate) or source_rate <= 0 or int(source_rate) != source_rate:
            raise InvalidSignalError(
                f"{name}: sample_rate must be a positive integer in Hz, got {source_rate!r}"
            )
        low, high = SAMPLE_RATE_RANGE
        if not low <= source_rate <= high:
            raise InvalidSignalError(
                f"{name}: sample_rate={source_rate!r} Hz is outside the {low:,} to {high:,} Hz "
                "this toolkit reads"
            )
        source_rate = int(source_rate)
    elif isinstance(source, np.ndarray) or isinstance(source, list):
        if sample_rate is None:
            raise InvalidSignalError(
                f"{name}: a bare array has no sample rate; pass (array, sample_rate) "
                "or set sample_rate"
            )
        signal, source_rate = _as_signal(source, name, dtype), sample_rate
    else:
        raise InvalidSignalError(
            f"{name}: unsupported audio source of type {type(source).__name__}; expected a "
            "path, a binary file object, a 1-D array or an (array, sample_rate) pair"
        )
    if signal.size == 0:
        raise InvalidSignalError(f"{name}: the signal is empty (0 samples)")
    n_bad = _count_non_finite(signal)
    if n_bad:
        raise InvalidSignalError(f"{name}: the signal holds {n_bad} NaN or inf samples")
    if trim_zeros:
        signal = _trim_zeros(signal, name)
    if sample_rate is None:
        return signal
    problem = _resampling_problem(signal.size, int(source_rate), int(sample_rate))
    if problem:
        error = AudioFileError if from_file else InvalidSignalError
        raise error(f"{name}: {problem}; cut it into shorter parts")
    out = resample(signal, source_rate, sample_rate, resampler=resampler)
    if out.size == 0:
        raise InvalidSignalError(
            f"{name}: {signal.size} samples at {source_rate} Hz leave none at {sample_rate} Hz"
        )
    return out
