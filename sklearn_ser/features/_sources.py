"""From audio sources to normalised chunks under a set of front-end parameters.

The one code path of the features: :class:`~sklearn_ser.features.LogMel3DTransformer`
calls these with its own parameters, the light predictor
(:mod:`sklearn_ser.runtime`) with a bundle's, so both compute the same bits.
Needs numpy, soundfile and the resampler only.
"""

from __future__ import annotations

import numpy as np

from ..utils import is_missing
from ._chunking import chunk_groups, standardize_speakers, standardize_utterances
from ._extraction import as_source_list, extract_groups
from ._params import FEATURE_PARAMS, normalizes_by_speaker, samples_per

__all__ = ["chunk_utterances", "extract_utterances", "feature_settings", "speaker_codes"]


def _plain(value):
    """A numpy scalar as the Python value it holds (a record compares across JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def feature_settings(params, names=FEATURE_PARAMS):
    """The settings of ``params`` that decide what a chunk holds, as plain values.

    Parameters
    ----------
    params : mapping
        The front end's parameters (``LogMel3DTransformer.get_params()``).
    names : sequence of str, default=FEATURE_PARAMS
        The settings to take (numpy scalars become the Python values they hold,
        as JSON stores them).

    Returns
    -------
    settings : dict
        ``{name: value}`` of ``names``.
    """
    return {name: _plain(params[name]) for name in names}


def speaker_codes(groups, n_utterances, *, caller):
    """The speaker of every utterance as codes ``0..n_speakers - 1``, first seen first.

    Parameters
    ----------
    groups : array-like [shape=(n_utterances,)]
        Any hashable speaker id per utterance (strings, integers), as
        scikit-learn's ``groups``.
    n_utterances : int
        Utterances of the ``X`` beside it.
    caller : str
        Named in the errors, e.g. ``"LogMel3DTransformer.transform"``.

    Returns
    -------
    codes : np.ndarray [shape=(n_utterances,)], int64

    Raises
    ------
    ValueError
        ``groups`` is missing, not one id per utterance, or holds a missing
        value (None, NaN) or an unhashable one.
    """
    if groups is None:
        raise ValueError(
            f"{caller}: normalize='speaker' needs the speaker of every utterance, "
            "groups=[...]; in a Pipeline, enable scikit-learn's metadata routing "
            "(sklearn.set_config(enable_metadata_routing=True)) and pass groups to fit and "
            "to predict, e.g. pipe.predict(X, groups=speakers); to cross-validate, use "
            "sklearn_ser.evaluation.cross_validate_report(..., groups=speakers) (a "
            "scikit-learn scorer does not pass groups to predict)"
        )
    values = np.asarray(groups, dtype=object)
    if values.ndim != 1 or len(values) != n_utterances:
        raise ValueError(f"{caller}: groups has shape {values.shape}; expected one speaker "
                         f"per utterance, shape ({n_utterances},)")
    index = {}
    codes = np.empty(n_utterances, dtype=np.int64)
    for position, speaker in enumerate(values):
        if is_missing(speaker):
            raise ValueError(f"{caller}: groups[{position}] is {speaker!r}: every utterance "
                             "needs a speaker")
        try:
            codes[position] = index.setdefault(speaker, len(index))
        except TypeError:
            raise ValueError(f"{caller}: groups[{position}] is a {type(speaker).__name__}, "
                             "not a speaker id (a string or an integer)") from None
    return codes


def extract_utterances(X, params, *, lazy=False, speakers=None, speed=1.0, noise_seed=None):
    """Features of every source of ``X``, as ``(features, frame_offsets)`` groups.

    Parameters
    ----------
    X : sequence of audio sources
        Paths, binary file objects, 1-D arrays at ``params["sample_rate"]``,
        or ``(array, sample_rate)`` pairs.
    params : mapping
        The front end's parameters, already checked (every key of
        :data:`~sklearn_ser.features.FRONT_END_DEFAULTS`).
    lazy : bool, default=False
        Return a generator that computes the groups as they are consumed (in
        order), so that one group's raw features are in memory at a time
        (not with ``normalize="speaker"``, which needs every group first).
    speakers : np.ndarray [shape=(n_utterances,)] or None, default=None
        The codes of :func:`speaker_codes`; needed by ``normalize="speaker"``.
    speed : float, default=1.0
        Speed factor: each source is resampled to ``sample_rate / speed``
        and read as if at ``sample_rate`` (a training copy of
        ``speed_perturbation``); 1 reads the recordings as they are.
    noise_seed : int or None, default=None
        With an int, white noise is added to every source at an SNR drawn
        from ``params["noise_snr"]`` (a training copy of ``noise_snr``), each
        source's from the stream of ``(noise_seed, its index)``; None adds none.

    Returns
    -------
    groups : list or iterator of (np.ndarray, np.ndarray)
        float32 features of shape ``(3, n_frames_total, n_mels)`` and the
        group's utterance offsets; with ``normalize="utterance"``, each
        utterance standardised by its own frames, with ``"speaker"`` by its
        speaker's.
    """
    dtype = np.dtype(params["precision"])
    if speed != 1.0:  # a bare signal is at sample_rate: a pair, to be resampled too
        X = [(source, params["sample_rate"]) if isinstance(source, (np.ndarray, list))
             else source for source in as_source_list(X)]
    groups = extract_groups(
        X,
        load_params=dict(sample_rate=round(params["sample_rate"] / speed),
                         resampler=params["resampler"],
                         dtype=dtype, trim_zeros=params["trim_zeros"]),
        feature_params=dict(
            sample_rate=params["sample_rate"], n_mels=params["n_mels"], n_fft=params["n_fft"],
            frame_seconds=params["frame_seconds"], hop_seconds=params["hop_seconds"],
            f_min=params["f_min"], f_max=params["f_max"], preemphasis=params["preemphasis"],
            window=params["window"], delta_width=params["delta_width"], dtype=dtype,
        ),
        frame_length=samples_per(params["frame_seconds"], params["sample_rate"]),
        n_jobs=params["n_jobs"],
        verbose=params["verbose"],
        noise=None if noise_seed is None else (*map(float, params["noise_snr"]), noise_seed),
    )
    if params["normalize"] == "utterance":
        groups = ((standardize_utterances(features, offsets), offsets)
                  for features, offsets in groups)
    elif normalizes_by_speaker(params["normalize"]):
        if speakers is None:
            raise ValueError("normalize='speaker' needs the speaker codes of the utterances")
        return standardize_speakers(list(groups), speakers)
    return groups if lazy else list(groups)


def chunk_utterances(groups, params, *, mean, scale, speakers=None):
    """Normalise and cut the groups of :func:`extract_utterances` into chunks.

    Parameters
    ----------
    groups : list or iterator of (np.ndarray, np.ndarray)
        As :func:`extract_utterances` returns them.
    params : mapping
        The front end's parameters (``chunk_frames``, ``chunk_hop_frames``,
        ``max_chunks`` and those of :func:`feature_settings`).
    mean, scale : np.ndarray [shape=(3, n_mels)]
        The fitted normalisation statistics.
    speakers : np.ndarray [shape=(n_utterances,)], int, or None, default=None
        The speaker codes of :func:`speaker_codes`, recorded in the output.

    Returns
    -------
    X_out : ChunkedFeatures
        float32 chunks of shape ``(3, chunk_frames, n_mels)``, its
        ``front_end`` set to :func:`feature_settings` of ``params`` and its
        ``speakers`` to ``speakers``.
    """
    out = chunk_groups(
        groups, mean=mean, scale=scale, chunk_frames=params["chunk_frames"],
        hop_frames=params["chunk_hop_frames"] or params["chunk_frames"],
        max_chunks=params["max_chunks"],
    )
    out.front_end = feature_settings(params)
    out.speakers = speakers
    return out
