"""From the user's ``X`` to groups of raw 3-D log-Mel features: sources, decoding, workers."""

from __future__ import annotations

import os
import sys
import warnings
from numbers import Integral

import numpy as np

from ..exceptions import ShortSignalWarning, SignalRangeWarning
from ..io import load_audio, source_name
from ..utils import caller_stacklevel
from ._chunked import ChunkedFeatures
from ._logmel import log_mel_3d_batch

__all__ = ["FILES_PER_GROUP", "LOUD_PEAK", "add_noise", "as_source_list", "extract_groups"]

#: Files decoded and put through the FFT together by one worker call.
FILES_PER_GROUP = 32
#: A peak above this (18 dB over full scale) is no audio in [-1, 1]: most likely
#: integer PCM stored as floats. Such utterances draw a SignalRangeWarning.
LOUD_PEAK = 8.0


def as_source_list(X):
    """Turn ``X`` into a list of per-utterance audio sources, or explain why not."""
    if isinstance(X, (str, bytes, os.PathLike)):
        raise TypeError(
            f"X must be a sequence of audio sources (one per utterance), got a single "
            f"path {os.fsdecode(X)!r}; wrap it in a list: [path]"
        )
    if hasattr(X, "read"):
        raise TypeError("X must be a sequence of audio sources; wrap the file object in a list")
    if isinstance(X, ChunkedFeatures):
        raise TypeError(
            "X is already a ChunkedFeatures (the output of LogMel3DTransformer); "
            "pass audio sources (paths, arrays or (array, sample_rate) pairs) instead"
        )
    if isinstance(X, tuple) and len(X) == 2 and isinstance(X[1], Integral):
        raise TypeError(
            "X looks like one (array, sample_rate) pair; wrap it in a list: [(array, sample_rate)]"
        )
    sparse = sys.modules.get("scipy.sparse")  # loaded wherever a sparse matrix exists
    if sparse is not None and sparse.issparse(X):
        raise TypeError(
            "Sparse input is not supported: X must hold audio sources or dense signals"
        )
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):  # pandas Series / DataFrame
        X = X.to_numpy()
    if isinstance(X, np.ndarray) or (hasattr(X, "__array__") and not isinstance(X, (list, tuple))):
        X = np.asarray(X)
        if X.dtype.kind == "O" and X.ndim == 2:
            try:  # a 2-D object array of numbers holds signals too
                X = X.astype(np.float64)
            except (TypeError, ValueError) as exc:
                # a TypeError for an object that is no number at all (a dict), a
                # ValueError for a value that is not one ("abc"), as numpy says
                kind = TypeError if isinstance(exc, TypeError) else ValueError
                raise kind(
                    f"a 2-D object array must hold numbers (one signal per row): {exc}"
                ) from exc
        if X.dtype.kind == "c":
            raise ValueError("Complex data not supported: audio signals must be real-valued")
        if X.dtype.kind in "fiub":
            if X.ndim != 2:
                raise ValueError(
                    f"Expected 2D array of equal-length signals (one per row), got {X.ndim}D "
                    f"array of shape {X.shape} instead. Reshape your data, or wrap a single "
                    "1-D signal in a list: [signal]"
                )
            if X.shape[1] == 0:
                raise ValueError(
                    f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 "
                    "is required: every signal needs at least one sample"
                )
            return list(X)
        if X.ndim != 1:
            raise ValueError(
                f"Expected a 1-D array of audio sources (paths), got shape {X.shape}"
            )
        return list(X)
    try:
        sources = list(X)
    except TypeError as exc:
        raise TypeError(
            f"X must be a sequence of audio sources, got {type(X).__name__}"
        ) from exc
    return sources


def _names(sources, indices):
    """The first five sources named, and how many more there are."""
    names = ", ".join(source_name(sources[i], i) for i in indices[:5])
    return names + (f" and {len(indices) - 5} more" if len(indices) > 5 else "")


def _warn_about_signals(groups, sources, X, frame_length, sample_rate):
    """Pass the groups through as ``(features, frame_offsets)``, then warn once per
    kind, naming the utterances: a :class:`ShortSignalWarning` for those that gave
    a single frame (no more than ``frame_length`` samples: too little audio, and
    usually a wrong input), a :class:`SignalRangeWarning` for those whose samples
    reach beyond :data:`LOUD_PEAK`."""
    short, loud = [], []
    first = 0
    for features, frame_offsets, peaks in groups:
        n_frames = np.diff(frame_offsets)
        short.extend((first + np.flatnonzero(n_frames == 1)).tolist())
        loud.extend((first + index, peak) for index, peak in peaks)
        first += len(n_frames)
        yield features, frame_offsets
    if loud:
        indices = [index for index, _ in loud]
        peak = max(peak for _, peak in loud)
        warnings.warn(
            f"{len(loud)} of {len(sources)} utterance(s) hold samples far outside [-1, 1], "
            f"where audio lives (peaks up to {peak:.6g}): {_names(sources, indices)}. Their "
            "log-Mel features are shifted by the square of that scale, so a model trained on "
            "audio in [-1, 1] would predict nonsense. Integer PCM stored as floats (int16 "
            "samples cast with astype(float)) goes in divided by 32768, or as the integer "
            "array itself.", SignalRangeWarning, stacklevel=caller_stacklevel())
    if not short:
        return
    message = (
        f"{len(short)} of {len(sources)} utterance(s) are no longer than one analysis frame "
        f"({frame_length} samples, {1000 * frame_length / sample_rate:g} ms at {sample_rate} "
        f"Hz), so each gives a single zero-padded frame, far too little audio to recognise "
        f"an emotion from: {_names(sources, short)}."
    )
    if getattr(X, "ndim", None) == 2:
        message += (
            f" X is a 2-D array of shape {X.shape}, read as one signal per row; a "
            "multichannel signal as soundfile.read returns it, (n_samples, n_channels), goes "
            "in as [(x.mean(axis=1), sample_rate)], or pass the file's path."
        )
    warnings.warn(message, ShortSignalWarning, stacklevel=caller_stacklevel())


def add_noise(signal, snr_db, rng):
    """``signal`` plus white Gaussian noise at ``snr_db`` dB below its mean power.

    Parameters
    ----------
    signal : np.ndarray [shape=(n_samples,)]
        Floating point samples.
    snr_db : float
        Signal-to-noise ratio in dB: the noise's power is the signal's mean
        square divided by ``10 ** (snr_db / 10)``.
    rng : np.random.Generator
        Source of the noise.

    Returns
    -------
    noisy : np.ndarray
        A new array of ``signal``'s dtype; ``signal`` itself when it is all
        zeros (no power to measure an SNR against).
    """
    power = float(np.mean(np.square(signal, dtype=np.float64)))
    if power == 0.0:
        return signal
    scale = np.sqrt(power / 10.0 ** (snr_db / 10.0))
    return (signal + scale * rng.standard_normal(len(signal))).astype(signal.dtype)


def _noisy(signals, first_index, noise):
    """Each signal with its own noise: ``noise = (low_db, high_db, seed)``, the SNR
    drawn uniformly in dB from the stream of ``(seed, index)``, so the noise of an
    utterance does not depend on how the sources are grouped."""
    low, high, seed = noise
    noisy = []
    for i, signal in enumerate(signals):
        rng = np.random.default_rng([seed, first_index + i])
        noisy.append(add_noise(signal, rng.uniform(low, high), rng))
    return noisy


def _extract_group(sources, first_index, load_params, feature_params, noise=None):
    """Decode a group of sources and compute their 3-D log-Mel features together.

    Returns ``(features, frame_offsets, loud)``: the first two as from
    :func:`~sklearn_ser.features.log_mel_3d_batch`, cast to float32, and
    ``[(index in the group, peak), ...]`` of the sources whose peak exceeds :data:`LOUD_PEAK`
    (found here, where the signals are, and warned about by the caller, since a
    warning in a worker process is lost).
    """
    signals = [
        load_audio(source, name=source_name(source, first_index + i), **load_params)
        for i, source in enumerate(sources)
    ]
    if noise is not None:
        signals = _noisy(signals, first_index, noise)
    peaks = [max(float(signal.max()), -float(signal.min())) for signal in signals]
    loud = [(i, peak) for i, peak in enumerate(peaks) if peak > LOUD_PEAK]
    # The front end's stages work frame by frame in a fixed order (no BLAS), so the
    # bits depend neither on the thread count nor on the grouping: every n_jobs
    # gives the same output.
    features, frame_offsets = log_mel_3d_batch(signals, **feature_params)
    return features.astype(np.float32, copy=False), frame_offsets, loud


def _with_progress(groups, n_sources):
    """Pass the groups through, printing how many files are done on stderr: one
    line rewritten in place on a terminal; on anything else (a log file, a CI
    job), a line at each quarter of the files and at the end."""
    stderr = sys.stderr
    terminal = stderr is not None and hasattr(stderr, "isatty") and stderr.isatty()
    done = shown = 0
    for group in groups:
        done += len(group[1]) - 1
        finished = done >= n_sources
        message = f"[LogMel3DTransformer] {done}/{n_sources} files"
        if terminal:
            print("\r" + message, end="\n" if finished else "", file=stderr, flush=True)
        elif finished or 4 * done // n_sources > 4 * shown // n_sources:
            print(message, file=stderr, flush=True)
            shown = done
        yield group


def extract_groups(X, *, load_params, feature_params, frame_length, n_jobs, verbose,
                   noise=None):
    """Features of every source of ``X``, in groups computed in order as they are consumed.

    Parameters
    ----------
    X : sequence of audio sources
        As :meth:`LogMel3DTransformer.fit` takes it.
    load_params : dict
        Keyword arguments of :func:`sklearn_ser.io.load_audio` (``sample_rate``
        among them), the same for every source.
    feature_params : dict
        Keyword arguments of :func:`~sklearn_ser.features.log_mel_3d_batch`.
    frame_length : int
        Samples per frame, for the warning about one-frame utterances.
    n_jobs : int or None
        joblib workers; the groups, and so the bits, do not depend on it.
    verbose : int
        When > 0, a progress line on stderr.
    noise : tuple of (float, float, int) or None, default=None
        ``(low_db, high_db, seed)``: white noise added to every signal after
        it is loaded, at an SNR drawn for each from ``[low_db, high_db]``
        (:func:`add_noise`); None adds none.

    Returns
    -------
    groups : iterator of (np.ndarray, np.ndarray)
        ``(features, frame_offsets)`` per group of :data:`FILES_PER_GROUP`
        sources: float32 features of shape ``(3, n_frames_total, n_mels)``
        and the group's utterance offsets. The sources are checked now; the
        groups are computed as they are consumed.
    """
    sources = as_source_list(X)
    if not sources:
        raise ValueError("X contains no audio sources: found 0 utterances (need at least 1)")
    jobs = ((sources[s : s + FILES_PER_GROUP], s, load_params, feature_params, noise)
            for s in range(0, len(sources), FILES_PER_GROUP))
    # joblib only where it may run workers: n_jobs=None is one process unless a
    # joblib.parallel_config, which needs joblib imported, says otherwise
    if n_jobs == 1 or (n_jobs is None and "joblib" not in sys.modules):
        groups = (_extract_group(*args) for args in jobs)
    else:
        from joblib import Parallel, delayed, effective_n_jobs

        if effective_n_jobs(n_jobs) == 1:
            groups = (_extract_group(*args) for args in jobs)
        else:
            groups = Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_extract_group)(*args) for args in jobs)
    if verbose:
        groups = _with_progress(groups, len(sources))
    return _warn_about_signals(groups, sources, X, frame_length, load_params["sample_rate"])
