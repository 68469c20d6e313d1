"""`LogMel3DTransformer`: audio sources in, normalised 3-D log-Mel chunks out."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._version import add_version, check_version
from ..exceptions import ShortSignalWarning, SignalRangeWarning
from ..utils import is_integer
from ..utils.constraints import as_sklearn
from ..utils.docstrings import Substitution
from ._chunked import ChunkedFeatures
from ._extraction import as_source_list
from ._param_docs import FRONT_END_DOCS
from ._params import (
    FRONT_END_CONSTRAINTS,
    front_end_problems,
    normalizes_by_speaker,
)
from ._params import FRONT_END_DEFAULTS as _DEFAULTS
from ._sources import chunk_utterances, extract_utterances, feature_settings, speaker_codes

__all__ = ["LogMel3DTransformer"]

#: The fitted statistics, arrays of shape (3, n_mels) in the persisted state.
_STATE_ARRAYS = ("mean_", "scale_")
#: The other fitted attributes, plain values in the persisted state.
_STATE_VALUES = ("n_frames_seen_", "chunk_shape_")


def _reusable(X):
    """``X``, or the items of an iterator as a list: the speakers' count and each
    speed's copies read ``X`` again. Anything else, a single path or file object
    included, goes on as given, for the front end's own errors."""
    if hasattr(X, "__len__") or hasattr(X, "read") or hasattr(X, "__array__"):
        return X
    try:
        return list(X)
    except TypeError:
        return X


def _check_state_array(name, value, n_mels):
    """``value`` as the fitted array ``name``, or a ValueError saying what is wrong."""
    if value is None:
        raise ValueError(f"the state holds no {name}")
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{name} is a {type(value).__name__}; expected a numpy array")
    # shape and dtype first: nothing the size of a bad array is allocated
    if value.shape != (3, n_mels) or value.dtype != np.float64:
        raise ValueError(f"{name} has shape {value.shape} and dtype {value.dtype}; "
                         f"expected (3, {n_mels}) float64 for n_mels={n_mels}")
    if not np.isfinite(value).all():
        raise ValueError(f"{name} holds NaN or inf")
    return value.copy()


@Substitution(**FRONT_END_DOCS)
class LogMel3DTransformer(TransformerMixin, BaseEstimator):
    """3-channel log-Mel front end of Pham, Dang and Nguyen (JAEC 2020), chunked.

    Each utterance is decoded and resampled to ``sample_rate``, turned into
    static, delta and delta-delta log-Mel channels exactly as
    ``python_speech_features`` computes them (paper eq. 1-5, see
    :func:`~sklearn_ser.features.log_mel_3d_batch`), normalised with statistics
    learned in :meth:`fit`, and cut into chunks of ``chunk_frames`` frames
    (the paper's 300 x 40 x 3 input by default).

    Parameters
    ----------
    {log_mel_settings}
    {delta_width}
    {chunk_frames}
    {chunk_hop_frames}
    {max_chunks}
    {normalize}
    {resampler}
    {trim_zeros}
    {speed_perturbation}
    {noise_snr}
    {random_state}
    {precision}
    {n_jobs}
    {verbose}

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
    ``(n_chunks_i, 3, chunk_frames, n_mels)``, float32, first chunk first;
    its ``front_end`` holds :meth:`feature_settings`, which a classifier
    records in ``fit`` and checks when it predicts.
    An utterance gives ``1 + ceil(max(n_frames - chunk_frames, 0) / chunk_hop_frames)``
    chunks, the last one zero-padded; ``n_frames`` follows psf's framing. A
    hop longer than the chunk skips the frames between chunks and never
    starts a chunk past the last frame (:func:`~sklearn_ser.features.chunk_count`).

    The parameters are checked in :meth:`fit`, each against
    ``_parameter_constraints`` and then together (``f_max <= sample_rate / 2``,
    ``n_fft`` at least one frame, frame and hop at least one sample).
    :meth:`__sklearn_ser_state__` and :meth:`__sklearn_ser_restore__` give a
    fitted transformer's state as plain values and arrays, and build one back
    from them (the safe model file).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ser import LogMel3DTransformer
    >>> signals = np.random.default_rng(0).standard_normal((2, 16000)) * 0.1
    >>> X = LogMel3DTransformer().fit_transform(signals)
    >>> len(X), X[0].shape
    (2, (1, 3, 300, 40))
    """

    _parameter_constraints: dict = as_sklearn(FRONT_END_CONSTRAINTS)
    # Under scikit-learn's metadata routing, the speakers reach fit and transform
    # without set_*_request (they are ignored unless normalize="speaker").
    __metadata_request__fit = {"groups": True}
    __metadata_request__transform = {"groups": True}

    def __init__(
        self,
        *,
        sample_rate=_DEFAULTS["sample_rate"],
        n_mels=_DEFAULTS["n_mels"],
        n_fft=_DEFAULTS["n_fft"],
        frame_seconds=_DEFAULTS["frame_seconds"],
        hop_seconds=_DEFAULTS["hop_seconds"],
        f_min=_DEFAULTS["f_min"],
        f_max=_DEFAULTS["f_max"],
        preemphasis=_DEFAULTS["preemphasis"],
        window=_DEFAULTS["window"],
        delta_width=_DEFAULTS["delta_width"],
        chunk_frames=_DEFAULTS["chunk_frames"],
        chunk_hop_frames=_DEFAULTS["chunk_hop_frames"],
        max_chunks=_DEFAULTS["max_chunks"],
        normalize=_DEFAULTS["normalize"],
        resampler=_DEFAULTS["resampler"],
        trim_zeros=_DEFAULTS["trim_zeros"],
        speed_perturbation=_DEFAULTS["speed_perturbation"],
        noise_snr=_DEFAULTS["noise_snr"],
        random_state=_DEFAULTS["random_state"],
        precision=_DEFAULTS["precision"],
        n_jobs=_DEFAULTS["n_jobs"],
        verbose=_DEFAULTS["verbose"],
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
        self.speed_perturbation = speed_perturbation
        self.noise_snr = noise_snr
        self.random_state = random_state
        self.precision = precision
        self.n_jobs = n_jobs
        self.verbose = verbose

    # -- validation and extraction ---------------------------------------
    def _validate_params(self):
        """Each parameter against ``_parameter_constraints`` (scikit-learn's check,
        run by ``fit``), then the parameters together, in one ``ValueError``."""
        super()._validate_params()
        problems = front_end_problems(self.get_params(deep=False))
        if problems:
            raise ValueError(f"{type(self).__name__}: " + "; ".join(problems))

    def _speakers(self, X, groups, caller):
        """Codes of ``groups`` with ``normalize="speaker"`` (checked before any audio is
        read), else None."""
        return speaker_codes(groups, len(as_source_list(X)), caller=f"{type(self).__name__}."
                             f"{caller}") if normalizes_by_speaker(self.normalize) else None

    def _extract(self, X, speakers, *, lazy=False, speed=1.0, noise_seed=None):
        """Features of every source, as (features (3, F, M), frame_offsets) groups
        (:func:`~sklearn_ser.features.extract_utterances` with these parameters)."""
        return extract_utterances(X, self.get_params(deep=False), lazy=lazy, speakers=speakers,
                                  speed=speed, noise_seed=noise_seed)

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

    def _chunk(self, groups, speakers):
        return chunk_utterances(groups, self.get_params(deep=False),
                                mean=self.mean_, scale=self.scale_, speakers=speakers)

    def feature_settings(self):
        """The settings that decide what a chunk holds, as plain values.

        Returns
        -------
        settings : dict
            ``{name: value}`` of :data:`~sklearn_ser.features.FEATURE_PARAMS`
            (sample rate, Mel bands, framing, filterbank edges, pre-emphasis,
            window, deltas, chunk length), as :meth:`transform` records them in
            its output's ``front_end``.
        """
        return feature_settings(self.get_params(deep=False))

    # -- scikit-learn API --------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, groups=None):
        """Learn the per-(channel, Mel bin) normalisation statistics.

        Parameters
        ----------
        X : sequence of audio sources, or array [shape=(n_utterances, n_samples)]
            Paths, binary file objects, 1-D arrays at ``sample_rate``, or
            ``(array, sample_rate)`` pairs; a 2-D float array is read as one
            equal-length signal per row.
        y : ignored
        groups : array-like [shape=(n_utterances,)] or None, default=None
            The speaker of every utterance (strings or integers), used by
            ``normalize="speaker"`` only. Requested by default under
            scikit-learn's metadata routing, so ``Pipeline``,
            ``cross_validate`` and ``GridSearchCV`` pass it on.

        Returns
        -------
        self : LogMel3DTransformer
        """
        self._fit_statistics(self._extract(X := _reusable(X), self._speakers(X, groups, "fit")))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, groups=None):
        """Fit the statistics and transform ``X``, extracting the features once.

        With ``speed_perturbation`` or ``noise_snr``, each utterance's entry
        also holds the chunks of its speed-perturbed copies, then of its
        noisy copy, after its own (the training side of a ``Pipeline``); the
        statistics come from the recordings as they are.
        """
        X = _reusable(X)  # read once per copy
        speakers = self._speakers(X, groups, "fit_transform")
        features = self._extract(X, speakers)
        self._fit_statistics(features)
        chunks = self._chunk(features, speakers)
        if not self.speed_perturbation and self.noise_snr is None:
            return chunks
        del features
        copies = [{"speed": float(speed)} for speed in self.speed_perturbation or ()]
        if self.noise_snr is not None:
            seed = check_random_state(self.random_state).randint(2**31)
            copies.append({"noise_seed": int(seed)})
        with warnings.catch_warnings():
            # the recordings' own warnings were given above, once
            warnings.simplefilter("ignore", ShortSignalWarning)
            warnings.simplefilter("ignore", SignalRangeWarning)
            copies = [self._chunk(self._extract(X, speakers, lazy=True, **copy), speakers)
                      for copy in copies]
        return ChunkedFeatures.join_utterances([chunks, *copies])

    def transform(self, X, groups=None):
        """Compute normalised, chunked 3-D log-Mel features.

        Parameters
        ----------
        X : sequence of audio sources
            As in :meth:`fit`.
        groups : array-like [shape=(n_utterances,)] or None, default=None
            The speaker of every utterance, needed by ``normalize="speaker"``:
            each speaker's statistics come from their utterances in ``X``
            (unlabelled audio only), so pass all of a speaker's utterances in
            one call.

        Returns
        -------
        X_out : ChunkedFeatures
            ``len(X_out) == len(X)``; ``X_out[i]`` has shape
            ``(n_chunks_i, 3, chunk_frames, n_mels)``, float32.
        """
        check_is_fitted(self, "mean_")
        X = _reusable(X)
        speakers = self._speakers(X, groups, "transform")
        return self._chunk(self._extract(X, speakers, lazy=True), speakers)

    def __getstate__(self):
        return add_version(super().__getstate__())

    def __setstate__(self, state):
        check_version(state, type(self).__name__)
        # Parameters added since the first release, at the value older models had.
        state.setdefault("trim_zeros", False)
        state.setdefault("speed_perturbation", None)
        state.setdefault("noise_snr", None)
        state.setdefault("random_state", None)
        super().__setstate__(state)

    # -- persisted state ---------------------------------------------------
    def __sklearn_ser_state__(self):
        """The fitted state as plain values and arrays, for a safe model file.

        The parameters are ``get_params()``; :meth:`__sklearn_ser_restore__`
        builds the transformer back from the three.

        Returns
        -------
        fitted : dict
            ``{"n_frames_seen_": int, "chunk_shape_": [3, chunk_frames, n_mels]}``,
            JSON-able.
        arrays : dict of np.ndarray
            ``{"mean_": ..., "scale_": ...}``, float64 copies of shape ``(3, n_mels)``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        """
        check_is_fitted(self, [*_STATE_ARRAYS, *_STATE_VALUES])
        fitted = {"n_frames_seen_": int(self.n_frames_seen_),
                  "chunk_shape_": [int(size) for size in self.chunk_shape_]}
        arrays = {name: np.array(getattr(self, name), dtype=np.float64) for name in _STATE_ARRAYS}
        return fitted, arrays

    @classmethod
    def __sklearn_ser_restore__(cls, params, fitted, arrays):
        """A fitted transformer from its parameters and :meth:`__sklearn_ser_state__`.

        The parameters are checked as :meth:`fit` checks them, then every
        fitted attribute against them; the arrays are copied.

        Parameters
        ----------
        params : dict
            ``{name: value}`` of the transformer's parameters (``get_params()``).
        fitted : dict
            ``{"n_frames_seen_": int, "chunk_shape_": [3, chunk_frames, n_mels]}``.
        arrays : dict of np.ndarray
            ``{"mean_": ..., "scale_": ...}``, finite float64 of shape
            ``(3, n_mels)``, ``scale_ > 0``.

        Returns
        -------
        transformer : LogMel3DTransformer
            Fitted: it transforms as the one the state was taken from.

        Raises
        ------
        ValueError
            Naming the parameter or attribute that is wrong and what was
            expected, e.g. ``"scale_ has values <= 0"``.
        """
        parts = {"params": (params, cls._get_param_names(), f"parameters of {cls.__name__}"),
                 "fitted": (fitted, _STATE_VALUES, "fitted values"),
                 "arrays": (arrays, _STATE_ARRAYS, "arrays")}
        for label, (part, known, what) in parts.items():
            if not isinstance(part, dict):
                raise ValueError(f"the state's {label} is a {type(part).__name__}, not a dict")
            unknown = sorted(set(part) - set(known))
            if unknown:
                raise ValueError(f"the state holds unknown {what}: {unknown}")
        transformer = cls(**params)
        transformer._validate_params()
        n_mels = transformer.n_mels
        mean, scale = (_check_state_array(name, arrays.get(name), n_mels)
                       for name in _STATE_ARRAYS)
        if not (scale > 0).all():
            raise ValueError("scale_ has values <= 0")
        n_frames = fitted.get("n_frames_seen_")
        if not is_integer(n_frames) or n_frames < 0:
            raise ValueError(f"n_frames_seen_={n_frames!r} is not a count")
        expected = [3, transformer.chunk_frames, n_mels]
        chunk_shape = fitted.get("chunk_shape_")
        if not (isinstance(chunk_shape, (list, tuple))
                and all(is_integer(size) for size in chunk_shape)
                and list(chunk_shape) == expected):
            raise ValueError(f"chunk_shape_={chunk_shape!r} does not match the parameters "
                             f"(expected {expected})")
        transformer.mean_, transformer.scale_ = mean, scale
        transformer.n_frames_seen_ = int(n_frames)
        transformer.chunk_shape_ = tuple(expected)
        return transformer

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
