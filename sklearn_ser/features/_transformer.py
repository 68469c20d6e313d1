"""`LogMel3DTransformer`: audio sources in, normalised 3-D log-Mel chunks out."""

from __future__ import annotations

import os
import sys
import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._version import add_version, check_version
from ..exceptions import ShortSignalWarning
from ..io._audio import RESAMPLERS, load_audio, source_name
from ..utils import caller_stacklevel
from ._chunked import ChunkedFeatures, chunk_count
from ._logmel import WINDOWS, log_mel_3d_batch, samples_per

__all__ = ["LogMel3DTransformer"]

#: Files decoded and put through the FFT together by one worker call.
_FILES_PER_GROUP = 32


def _as_source_list(X):
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
    if issparse(X):
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


def _warn_short_signals(groups, sources, X, frame_length, sample_rate):
    """Pass the groups through, then warn once (ShortSignalWarning) naming the
    utterances that gave a single frame, i.e. no more than ``frame_length``
    samples: too little audio for the task, and usually a wrong input."""
    short = []
    first = 0
    for group in groups:
        n_frames = np.diff(group[1])
        short.extend((first + np.flatnonzero(n_frames == 1)).tolist())
        first += len(n_frames)
        yield group
    if not short:
        return
    names = ", ".join(source_name(sources[i], i) for i in short[:5])
    message = (
        f"{len(short)} of {len(sources)} utterance(s) are no longer than one analysis frame "
        f"({frame_length} samples, {1000 * frame_length / sample_rate:g} ms at {sample_rate} "
        f"Hz), so each gives a single zero-padded frame, far too little audio to recognise "
        f"an emotion from: {names}{f' and {len(short) - 5} more' if len(short) > 5 else ''}."
    )
    if getattr(X, "ndim", None) == 2:
        message += (
            f" X is a 2-D array of shape {X.shape}, read as one signal per row; a "
            "multichannel signal as soundfile.read returns it, (n_samples, n_channels), goes "
            "in as [(x.mean(axis=1), sample_rate)], or pass the file's path."
        )
    warnings.warn(message, ShortSignalWarning, stacklevel=caller_stacklevel())


def _extract_group(sources, first_index, load_params, feature_params):
    """Decode a group of sources and compute their 3-D log-Mel features together.

    Returns ``(features, frame_offsets)`` as from
    :func:`~sklearn_ser.features._logmel.log_mel_3d_batch`, cast to float32.
    """
    signals = [
        load_audio(source, name=source_name(source, first_index + i), **load_params)
        for i, source in enumerate(sources)
    ]
    # The front end's stages work frame by frame in a fixed order (no BLAS), so the
    # bits depend neither on the thread count nor on the grouping: every n_jobs
    # gives the same output.
    features, frame_offsets = log_mel_3d_batch(signals, **feature_params)
    return features.astype(np.float32, copy=False), frame_offsets


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


class LogMel3DTransformer(TransformerMixin, BaseEstimator):
    """3-channel log-Mel front end of Pham, Dang and Nguyen (JAEC 2020), chunked.

    Each utterance is decoded and resampled to ``sample_rate``, turned into
    static, delta and delta-delta log-Mel channels exactly as
    ``python_speech_features`` computes them (paper eq. 1-5, see
    :mod:`sklearn_ser.features._logmel`), normalised with statistics learned
    in :meth:`fit`, and cut into chunks of ``chunk_frames`` frames (300 frames
    = 3 s by default, the paper's 300 x 40 x 3 input).

    Parameters
    ----------
    sample_rate : int, default=16000
        Rate in Hz every source is resampled to. Bare arrays are taken to be
        at this rate.
    n_mels : int, default=40
        Number of Mel filters.
    n_fft : int, default=512
        FFT size in samples.
    frame_seconds : float, default=0.025
        Frame (window) length in seconds.
    hop_seconds : float, default=0.010
        Frame hop in seconds.
    f_min, f_max : float, default=300.0, 8000.0
        Filterbank range in Hz; ``f_max <= sample_rate / 2``.
    preemphasis : float, default=0.97
        Pre-emphasis coefficient.
    window : {"rectangular", "hamming", "hann"}, default="rectangular"
        Frame window. The paper does not name one; psf's default is rectangular.
    delta_width : int, default=2
        ``N`` of the delta regression (eq. 5).
    chunk_frames : int, default=300
        Frames per chunk (300 frames of 10 ms = 3 s).
    chunk_hop_frames : int or None, default=None
        Hop between chunk starts in frames; ``None`` means ``chunk_frames``
        (no overlap). Smaller values give overlapping chunks, larger ones
        skip the frames between chunks.
    max_chunks : int or None, default=None
        Keep at most this many chunks per utterance (the first ones); bounds
        the memory a very long outlier can take.
    normalize : bool, default=True
        Standardise each (channel, Mel bin) with the mean and standard
        deviation of the real frames seen in :meth:`fit`. Padding frames are
        set to 0 after normalisation, i.e. to the training mean.
    resampler : {"soxr", "scipy"}, default="soxr"
        Resampling engine (see :func:`sklearn_ser.io.resample`).
    trim_zeros : bool, default=False
        Drop each source's leading and trailing samples that are exactly 0
        (digital silence, as in a corpus padded or cut to a fixed length)
        before resampling and framing. Left in, they become frames at the log floor
        (log(eps) = -36), far below speech, which inflate the statistics;
        trimmed, the utterance is shorter and its last chunk is padded
        instead. Off by default: psf (and the paper) frame every sample.
    precision : {"float32", "float64"}, default="float32"
        Precision of the feature computation. ``"float64"`` reproduces psf to
        round-off; the output is float32 either way.
    n_jobs : int or None, default=None
        Parallel workers (joblib) for decoding and feature extraction;
        ``None`` means 1 unless in a ``joblib.parallel_backend`` context.
    verbose : int, default=0
        When > 0, a progress line on stderr as groups of files are done
        (``[LogMel3DTransformer] 96/535 files``).

    Attributes
    ----------
    mean_ : np.ndarray [shape=(3, n_mels)]
        Mean of every (channel, Mel bin) over the real frames seen in fit
        (zeros when ``normalize=False``).
    scale_ : np.ndarray [shape=(3, n_mels)]
        Standard deviation of the same, with zeros replaced by 1 (ones when
        ``normalize=False``).
    n_frames_seen_ : int
        Real frames the statistics were computed from.
    chunk_shape_ : tuple of int
        ``(3, chunk_frames, n_mels)``, the shape of every output chunk.

    Notes
    -----
    :meth:`transform` returns a :class:`~sklearn_ser.features.ChunkedFeatures`:
    one entry per input utterance (so ``y`` stays aligned in a ``Pipeline``);
    ``np.asarray(X_out[i])`` is utterance ``i``'s chunks of shape
    ``(n_chunks_i, 3, chunk_frames, n_mels)``, float32, first chunk first.
    An utterance gives ``1 + ceil(max(n_frames - chunk_frames, 0) / chunk_hop_frames)``
    chunks, the last one zero-padded; ``n_frames`` follows psf's framing. A
    hop longer than the chunk skips the frames between chunks and never
    starts a chunk past the last frame (:func:`~sklearn_ser.features.chunk_count`).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ser import LogMel3DTransformer
    >>> signals = np.random.default_rng(0).standard_normal((2, 16000)) * 0.1
    >>> X = LogMel3DTransformer().fit_transform(signals)
    >>> len(X), X[0].shape
    (2, (1, 3, 300, 40))
    """

    _parameter_constraints: dict = {
        "sample_rate": [Interval(Integral, 1, None, closed="left")],
        "n_mels": [Interval(Integral, 1, None, closed="left")],
        "n_fft": [Interval(Integral, 1, None, closed="left")],
        "frame_seconds": [Interval(Real, 0, None, closed="neither")],
        "hop_seconds": [Interval(Real, 0, None, closed="neither")],
        "f_min": [Interval(Real, 0, None, closed="left")],
        "f_max": [Interval(Real, 0, None, closed="neither")],
        "preemphasis": [Interval(Real, 0, 1, closed="both")],
        "window": [StrOptions(set(WINDOWS))],
        "delta_width": [Interval(Integral, 1, None, closed="left")],
        "chunk_frames": [Interval(Integral, 1, None, closed="left")],
        "chunk_hop_frames": [Interval(Integral, 1, None, closed="left"), None],
        "max_chunks": [Interval(Integral, 1, None, closed="left"), None],
        "normalize": ["boolean"],
        "resampler": [StrOptions(set(RESAMPLERS))],
        "trim_zeros": ["boolean"],
        "precision": [StrOptions({"float32", "float64"})],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
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
        delta_width=2,
        chunk_frames=300,
        chunk_hop_frames=None,
        max_chunks=None,
        normalize=True,
        resampler="soxr",
        trim_zeros=False,
        precision="float32",
        n_jobs=None,
        verbose=0,
    ):
        self.sample_rate = sample_rate
        self.n_mels = n_mels
        self.n_fft = n_fft
        self.frame_seconds = frame_seconds
        self.hop_seconds = hop_seconds
        self.f_min = f_min
        self.f_max = f_max
        self.preemphasis = preemphasis
        self.window = window
        self.delta_width = delta_width
        self.chunk_frames = chunk_frames
        self.chunk_hop_frames = chunk_hop_frames
        self.max_chunks = max_chunks
        self.normalize = normalize
        self.resampler = resampler
        self.trim_zeros = trim_zeros
        self.precision = precision
        self.n_jobs = n_jobs
        self.verbose = verbose

    # -- validation and extraction ---------------------------------------
    def _check_consistency(self):
        if not self.f_min < self.f_max <= self.sample_rate / 2:
            raise ValueError(
                f"need f_min < f_max <= sample_rate/2, got f_min={self.f_min}, "
                f"f_max={self.f_max}, sample_rate={self.sample_rate}"
            )
        frame_length = samples_per(self.frame_seconds, self.sample_rate)
        if self.n_fft < frame_length:
            raise ValueError(
                f"n_fft={self.n_fft} must be >= the frame length of {frame_length} samples "
                f"(frame_seconds={self.frame_seconds} at sample_rate={self.sample_rate})"
            )
        if samples_per(self.hop_seconds, self.sample_rate) < 1:
            raise ValueError(
                f"hop_seconds={self.hop_seconds} is shorter than one sample at "
                f"sample_rate={self.sample_rate}"
            )

    def _feature_params(self):
        return dict(
            sample_rate=self.sample_rate,
            n_mels=self.n_mels,
            n_fft=self.n_fft,
            frame_seconds=self.frame_seconds,
            hop_seconds=self.hop_seconds,
            f_min=self.f_min,
            f_max=self.f_max,
            preemphasis=self.preemphasis,
            window=self.window,
            delta_width=self.delta_width,
            dtype=np.dtype(self.precision),
        )

    def _extract(self, X, *, lazy=False):
        """Features of every source, as (features (3, F, M), frame_offsets) groups.

        A list, or with ``lazy=True`` a generator that computes the groups as
        they are consumed (in order), so ``transform`` holds one group's raw
        features at a time.
        """
        sources = _as_source_list(X)
        if not sources:
            raise ValueError("X contains no audio sources: found 0 utterances (need at least 1)")
        load_params = dict(
            sample_rate=self.sample_rate,
            resampler=self.resampler,
            dtype=np.dtype(self.precision),
            trim_zeros=self.trim_zeros,
        )
        feature_params = self._feature_params()
        # Groups do not depend on n_jobs, so every setting gives identical bits.
        group_size = _FILES_PER_GROUP
        starts = range(0, len(sources), group_size)
        jobs = (
            delayed(_extract_group)(sources[s : s + group_size], s, load_params, feature_params)
            for s in starts
        )
        if effective_n_jobs(self.n_jobs) == 1:
            groups = (function(*args, **kwargs) for function, args, kwargs in jobs)
        else:
            groups = Parallel(n_jobs=self.n_jobs, return_as="generator")(jobs)
        if self.verbose:
            groups = _with_progress(groups, len(sources))
        frame_length = samples_per(self.frame_seconds, self.sample_rate)
        groups = _warn_short_signals(groups, sources, X, frame_length, self.sample_rate)
        return groups if lazy else list(groups)

    # -- statistics and chunking -----------------------------------------
    def _fit_statistics(self, groups):
        n_frames = sum(int(features.shape[1]) for features, _ in groups)
        if self.normalize:
            total = sum(features.sum(axis=1, dtype=np.float64) for features, _ in groups)
            total_sq = sum(
                np.einsum("cfm,cfm->cm", features, features, dtype=np.float64)
                for features, _ in groups
            )
            mean = total / n_frames
            variance = np.maximum(total_sq / n_frames - mean**2, 0.0)
            scale = np.sqrt(variance)
            scale[scale < 10 * np.finfo(np.float32).eps] = 1.0
        else:
            mean = np.zeros((3, self.n_mels))
            scale = np.ones((3, self.n_mels))
        self.mean_ = mean
        self.scale_ = scale
        self.n_frames_seen_ = n_frames
        self.chunk_shape_ = (3, self.chunk_frames, self.n_mels)

    def _chunk_layout(self, frame_offsets):
        """Where every chunk of a group's utterances reads its frames.

        Returns ``(chunk_offsets, frame_index, real_frames)``: utterance ``u``
        owns chunks ``chunk_offsets[u]:chunk_offsets[u + 1]``; ``frame_index``
        ``(n_chunks, chunk_frames)`` holds the group frame behind every chunk
        frame, and ``n_frames_total`` (one past the last frame) where the
        chunk is padded; ``real_frames`` counts each chunk's real frames.
        """
        chunk_frames = self.chunk_frames
        hop = self.chunk_hop_frames or chunk_frames
        lengths = np.diff(frame_offsets)
        n_chunks = chunk_count(lengths, chunk_frames, hop)
        if self.max_chunks is not None:
            n_chunks = np.minimum(n_chunks, self.max_chunks)
        chunk_offsets = np.concatenate([[0], np.cumsum(n_chunks)])
        owner = np.repeat(np.arange(len(lengths)), n_chunks)
        first_frame = (np.arange(chunk_offsets[-1]) - chunk_offsets[owner]) * hop
        real_frames = np.clip(lengths[owner] - first_frame, 0, chunk_frames)
        frame_index = (frame_offsets[owner] + first_frame)[:, None] + np.arange(chunk_frames)
        frame_index[np.arange(chunk_frames)[None, :] >= real_frames[:, None]] = frame_offsets[-1]
        return chunk_offsets, frame_index, real_frames

    def _chunk(self, groups):
        """Normalise and cut every utterance into zero-padded chunks.

        A list of groups (``fit_transform``) is written straight into one
        output array; a generator (``transform``, one group's raw features in
        memory at a time) is chunked group by group and joined at the end.
        """
        mean = self.mean_.astype(np.float32)[:, None, :]
        inv_scale = (1.0 / self.scale_).astype(np.float32)[:, None, :]
        chunk_shape = (3, self.chunk_frames, self.n_mels)

        def fill(features, frame_index, out):
            # Normalise the group's real frames once and append a zero frame,
            # which every padding position reads: one gather per channel then
            # writes each chunk whole, padding included.
            n_frames = features.shape[1]
            normalised = np.empty((features.shape[0], n_frames + 1, features.shape[2]),
                                  np.float32)
            np.subtract(features, mean, out=normalised[:, :n_frames])
            normalised[:, :n_frames] *= inv_scale
            normalised[:, n_frames] = 0.0
            for channel, source in enumerate(normalised):
                np.take(source, frame_index, axis=0, out=out[:, channel], mode="clip")

        if isinstance(groups, list):
            layouts = [self._chunk_layout(frame_offsets) for _, frame_offsets in groups]
            starts = np.cumsum([0] + [len(real) for _, _, real in layouts])
            chunks = np.empty((starts[-1], *chunk_shape), np.float32)
            for (features, _), (_, frame_index, _), start, stop in zip(
                groups, layouts, starts[:-1], starts[1:], strict=True
            ):
                fill(features, frame_index, chunks[start:stop])
            counts = np.concatenate([np.diff(offsets) for offsets, _, _ in layouts])
            return ChunkedFeatures(
                chunks,
                np.concatenate([[0], np.cumsum(counts)]),
                np.concatenate([real for _, _, real in layouts]),
            )
        parts = []
        for features, frame_offsets in groups:
            chunk_offsets, frame_index, real_frames = self._chunk_layout(frame_offsets)
            chunks = np.empty((len(real_frames), *chunk_shape), np.float32)
            fill(features, frame_index, chunks)
            parts.append(ChunkedFeatures(chunks, chunk_offsets, real_frames))
        return parts[0] if len(parts) == 1 else ChunkedFeatures.concatenate(parts)

    # -- scikit-learn API --------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the per-(channel, Mel bin) normalisation statistics.

        Parameters
        ----------
        X : sequence of audio sources, or array [shape=(n_utterances, n_samples)]
            Paths, binary file objects, 1-D arrays at ``sample_rate``, or
            ``(array, sample_rate)`` pairs; a 2-D float array is read as one
            equal-length signal per row.
        y : ignored

        Returns
        -------
        self : LogMel3DTransformer
        """
        self._check_consistency()
        self._fit_statistics(self._extract(X))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit the statistics and transform ``X``, extracting the features once."""
        self._check_consistency()
        groups = self._extract(X)
        self._fit_statistics(groups)
        return self._chunk(groups)

    def transform(self, X):
        """Compute normalised, chunked 3-D log-Mel features.

        Parameters
        ----------
        X : sequence of audio sources
            As in :meth:`fit`.

        Returns
        -------
        X_out : ChunkedFeatures
            ``len(X_out) == len(X)``; ``X_out[i]`` has shape
            ``(n_chunks_i, 3, chunk_frames, n_mels)``, float32.
        """
        check_is_fitted(self, "mean_")
        return self._chunk(self._extract(X, lazy=True))

    def __getstate__(self):
        return add_version(super().__getstate__())

    def __setstate__(self, state):
        check_version(state, type(self).__name__)
        # Parameters added since the first release, at the value older models had.
        state.setdefault("trim_zeros", False)
        super().__setstate__(state)

    def set_output(self, *, transform=None):
        """scikit-learn's ``set_output`` API, for ``Pipeline.set_output``.

        Parameters
        ----------
        transform : {"default", None}
            The output is always :class:`~sklearn_ser.ChunkedFeatures`
            (ragged chunks per utterance), which a pandas or polars frame
            cannot hold; ``"pandas"`` and ``"polars"`` are refused.

        Returns
        -------
        self : LogMel3DTransformer
        """
        if transform is not None and transform != "default":
            raise ValueError(
                f"{type(self).__name__}.set_output(transform={transform!r}): the output is "
                "ChunkedFeatures (each utterance's chunks), which a data frame cannot hold; "
                "only 'default' and None are accepted"
            )
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []
        return tags
