"""Emotions over time in a long recording: sliding windows, read block by block.

``predict_timeline(model, path)`` yields ``(start, end, probabilities)`` for
windows of the model's chunk length (3 s by default) every ``hop_seconds``,
reading the file in blocks so memory does not grow with its length;
``predict_file(model, path)`` gives the whole file's probabilities the same way.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from . import features
from .exceptions import AudioFileError, InvalidSignalError, ShortSignalWarning
from .features import chunk_count
from .io import SAMPLE_RATE_RANGE, check_audio_path, display_name, load_audio, open_regular_file
from .utils.validation import is_integer, is_number

__all__ = ["WINDOWS_PER_BLOCK", "predict_file", "predict_timeline", "supports_predict_file",
           "window_bounds"]

#: Windows read, decoded and classified together; with 3-s windows every 1 s
#: a block spans 18 s of audio, whatever the length of the file.
WINDOWS_PER_BLOCK = 16

def window_bounds(n_samples, window, hop):
    """Start and stop sample of every window: ``1 + ceil(max(n - window, 0) / hop)`` windows.

    Windows start every ``hop`` samples; the last one may end early at the
    end of the file (the front end pads it, as it pads an utterance's last
    chunk). A file shorter than a window gives one window, the whole file.
    With ``hop > window`` the samples between windows are skipped and no
    window starts at or past the end. This is the front end's chunk count
    (:func:`~sklearn_ser.features.chunk_count`), in samples instead of frames.

    Parameters
    ----------
    n_samples : int
        Length of the file in samples.
    window, hop : int
        Window length and hop in samples.

    Returns
    -------
    starts, stops : np.ndarray [shape=(n_windows,)], int
        Sample bounds of every window, ``stops <= n_samples``.
    """
    n_windows = int(chunk_count(n_samples, window, hop))
    starts = np.arange(n_windows, dtype=np.int64) * hop
    return starts, np.minimum(starts + window, n_samples)


def predict_timeline(model, path, *, window_seconds=None, hop_seconds=1.0,
                     windows_per_block=WINDOWS_PER_BLOCK):
    """Class probabilities of sliding windows over an audio file, read block by block.

    Parameters
    ----------
    model : Pipeline or sklearn_ser.runtime.Bundle
        A fitted ``Pipeline`` whose first step is a
        :class:`~sklearn_ser.LogMel3DTransformer` (as saved by ``sklearn-ser
        train``), or an exported model loaded by
        :func:`sklearn_ser.runtime.load_bundle`.
    path : str or os.PathLike
        Audio file of any length that soundfile reads.
    window_seconds : float or None, default=None
        Window length; ``None`` is the model's chunk, ``chunk_frames *
        hop_seconds`` of its front end (3 s for the paper's 300 frames), so
        each window is one chunk.
    hop_seconds : float, default=1.0
        Time between window starts.
    windows_per_block : int, default=16
        Windows decoded and classified together. Memory is bounded by
        ``(windows_per_block - 1) * hop + window`` seconds of audio and the
        features of ``windows_per_block`` windows.

    Returns
    -------
    rows : generator of (float, float, np.ndarray [shape=(n_classes,)])
        Per window, its start and end in seconds of the file's time and its
        class probabilities (columns follow ``model.classes_``), as
        ``model.predict_proba`` gives for the window's samples. The
        arguments and the file are checked when this is called; the audio is
        read as the rows are consumed.

    Notes
    -----
    Window bounds are counted in the file's own samples; each window is
    mixed to mono and resampled on its own with :func:`sklearn_ser.io.load_audio`,
    so a window's result equals ``model.predict_proba([(samples, file_rate)])``
    for its samples, and a file no longer than one window gives exactly
    ``model.predict_proba([path])``. With a front end that has
    ``trim_zeros=True``, each window's edge zeros are dropped before
    resampling, as for a file, and a window of nothing but digital silence
    gets a row of NaN (it holds no speech to classify).
    """
    import soundfile as sf

    front_end = _front_end_params(model)
    if features.normalizes_by_speaker(front_end["normalize"]):
        raise ValueError(
            "a timeline takes its windows one block at a time, and a model whose front end "
            "has normalize='speaker' needs all of a speaker's audio first: predict the "
            "windows with model.predict_proba(windows, groups=speakers) instead")
    if window_seconds is None:
        window_seconds = front_end["chunk_frames"] * front_end["hop_seconds"]
    if not (is_number(window_seconds) and window_seconds > 0
            and is_number(hop_seconds) and hop_seconds > 0):
        raise ValueError(
            f"window_seconds={window_seconds} and hop_seconds={hop_seconds} must be finite "
            "numbers > 0"
        )
    if window_seconds <= front_end["frame_seconds"]:
        raise ValueError(
            f"window_seconds={window_seconds} is no longer than one analysis frame of the "
            f"model's front end ({front_end['frame_seconds']:g} s): each window would be a single "
            "zero-padded frame"
        )
    path = Path(path)
    check_audio_path(path, str(path))  # the front end's errors: missing, a folder, empty
    try:
        with open_regular_file(path, what="audio file", error=AudioFileError) as file:
            info = sf.info(file)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(f"cannot decode audio file '{path}': {exc}") from exc
    low, high = SAMPLE_RATE_RANGE
    if not low <= info.samplerate <= high:
        raise AudioFileError(f"audio file '{path}' says its rate is {info.samplerate} Hz, "
                             f"outside {low}..{high} Hz")
    if info.frames == 0:
        raise InvalidSignalError(f"audio file '{path}' holds no samples")
    if info.frames <= front_end["frame_seconds"] * info.samplerate:
        warnings.warn(
            f"audio file '{path}' holds {info.frames} samples ({info.frames / info.samplerate:g} "
            f"s), no longer than one analysis frame: its one window is a single zero-padded "
            "frame, far too little audio to recognise an emotion from",
            ShortSignalWarning, stacklevel=2,
        )
    # Validated now; the generator below reads the file only as it is consumed.
    return _timeline_rows(model, path, front_end, window_seconds, hop_seconds, windows_per_block)


def _front_end_params(model, what="a timeline"):
    """The parameters of ``model``'s front end: a bundle's, or its first step's
    (``what`` needs them, for the message)."""
    params = getattr(model, "front_end_params", None)
    if params is not None:  # an exported model (sklearn_ser.runtime.Bundle)
        return params
    steps = getattr(model, "steps", None)
    front_end = steps[0][1] if steps else None
    # the transformer's class, imported only for a Pipeline (it needs scikit-learn)
    if not isinstance(front_end, features.LogMel3DTransformer):
        raise ValueError(
            f"{what} needs a Pipeline whose first step is a LogMel3DTransformer, such as "
            "the models saved by 'sklearn-ser train', or an exported model "
            "(sklearn_ser.runtime.load_bundle)"
        )
    return front_end.get_params(deep=False)


def _timeline_rows(model, path, front_end, window_seconds, hop_seconds, windows_per_block):
    import soundfile as sf


    dtype = np.dtype(front_end["precision"])
    trim = front_end["trim_zeros"]
    n_classes = len(model.classes_)
    with open_regular_file(path, what="audio file", error=AudioFileError) as file, \
            sf.SoundFile(file) as audio:
        rate = audio.samplerate
        window = max(round(window_seconds * rate), 1)
        hop = max(round(hop_seconds * rate), 1)
        starts, stops = window_bounds(audio.frames, window, hop)
        for first in range(0, len(starts), windows_per_block):
            block_starts = starts[first : first + windows_per_block]
            block_stops = stops[first : first + windows_per_block]
            if hop > window:  # windows apart: read each alone, never the gaps between them
                windows = [_read(audio, int(a), int(b), dtype)
                           for a, b in zip(block_starts, block_stops, strict=True)]
            else:  # blocks overlap by window - hop samples: every window is whole in one
                offset = int(block_starts[0])
                block = _read(audio, offset, int(block_stops[-1]), dtype)
                windows = [block[a - offset : b - offset]
                           for a, b in zip(block_starts, block_stops, strict=True)]
            # With trim_zeros, a window of digital silence has nothing left to classify.
            silent = [trim and not samples.any() for samples in windows]
            signals = [
                load_audio((samples, rate), sample_rate=front_end["sample_rate"],
                           resampler=front_end["resampler"], dtype=dtype, trim_zeros=trim,
                           name=f"{path} at {a / rate:.2f} s")
                for a, samples, skip in zip(block_starts, windows, silent, strict=True)
                if not skip
            ]
            with warnings.catch_warnings():
                # a short last window is the tail of a longer file (checked as a whole above)
                warnings.simplefilter("ignore", ShortSignalWarning)
                proba = iter(model.predict_proba(signals) if signals else ())
            for a, b, skip in zip(block_starts, block_stops, silent, strict=True):
                yield a / rate, b / rate, np.full(n_classes, np.nan) if skip else next(proba)


def _read(audio, start, stop, dtype):
    """Samples ``start:stop`` of an open ``SoundFile``, mixed to mono."""
    audio.seek(start)
    block = audio.read(stop - start, dtype=dtype.name, always_2d=True)
    return block.mean(axis=1, dtype=dtype) if block.shape[1] > 1 else block[:, 0]


def _chunk_scorers(model):
    """The front end's parameters and statistics, and ``[(chunk_proba, aggregate), ...]``
    with their weights: one scorer per network (several for a soft vote)."""
    params = _front_end_params(model, "predict_file")
    if features.normalizes_by_speaker(params["normalize"]):
        raise ValueError("a model whose front end has normalize='speaker' needs all of a "
                         "speaker's audio first; it cannot read a file block by block")
    if hasattr(model, "front_end_params"):  # an exported model (sklearn_ser.runtime.Bundle)
        return params, model.mean_, model.scale_, [
            (lambda chunks, _: model.predict_chunk_proba(chunks), model.aggregate)], None
    steps = model.steps
    front_end, clf = steps[0][1], steps[-1][1]
    from sklearn.utils.validation import check_is_fitted  # a Pipeline's: scikit-learn is there

    check_is_fitted(front_end)
    settings = features.feature_settings(params)
    vote = getattr(clf, "voting", None) == "soft" and hasattr(clf, "estimators_")
    members = clf.estimators_ if vote else [clf]
    if len(steps) != 2 or not members or not all(
            hasattr(member, "predict_chunk_proba") for member in members):
        raise ValueError(
            "predict_file needs a Pipeline of a LogMel3DTransformer and a network that "
            "scores chunks (ADCRNNClassifier, ACRNNClassifier, or a soft vote of them), "
            "or an exported model; predict other pipelines with model.predict_proba([path])")

    def scorer(member):
        def chunk_proba(chunks, n_frames):
            offsets = np.array([0, len(chunks)])
            return member.predict_chunk_proba(features.ChunkedFeatures(
                chunks, offsets, n_frames, front_end=settings))
        return chunk_proba, member.aggregate

    weights = None
    if vote and clf.weights is not None:  # the vote's weights of the networks it kept
        weights = [weight for (_, member), weight in zip(clf.estimators, clf.weights,
                                                         strict=True) if member != "drop"]
    return (params, front_end.mean_, front_end.scale_,
            [scorer(member) for member in members], weights)


def supports_predict_file(model):
    """Whether :func:`predict_file` takes ``model``.

    Parameters
    ----------
    model : object
        Anything; a fitted ``Pipeline`` of the kind :func:`predict_file`
        describes, or an exported model, gives True.

    Returns
    -------
    supported : bool
    """
    try:
        _chunk_scorers(model)
    except ValueError:
        return False
    return True


def predict_file(model, path, *, chunks_per_block=features.CHUNKS_PER_BLOCK):
    """Class probabilities of one audio file of any length, read block by block.

    The probabilities ``model.predict_proba([path])[0]`` gives, computed from
    the same chunks (:func:`sklearn_ser.features.stream_chunks`: bit for bit
    the front end's) run through the network ``chunks_per_block`` at a
    time, so memory is bounded by the block whatever the file's length;
    ``model.predict_proba`` holds the whole file's signal and chunks at once.

    Parameters
    ----------
    model : Pipeline or sklearn_ser.runtime.Bundle
        A fitted ``Pipeline([("features", LogMel3DTransformer), ("clf",
        network)])``, the network an :class:`~sklearn_ser.ADCRNNClassifier`,
        an :class:`~sklearn_ser.ACRNNClassifier` or a soft vote of them (the
        models ``sklearn-ser train`` saves), or an exported model.
    path : str or os.PathLike
        Audio file that soundfile reads.
    chunks_per_block : int, default=64
        Chunks computed and classified together.

    Returns
    -------
    proba : np.ndarray [shape=(n_classes,)]
        float64, summing to 1; columns follow ``model.classes_``.

    Raises
    ------
    ValueError
        Another kind of pipeline, or a front end with ``normalize="speaker"``.
    FileNotFoundError, PermissionError, sklearn_ser.exceptions.AudioFileError
        Naming the file.
    """
    if not (is_integer(chunks_per_block) and chunks_per_block >= 1):
        raise ValueError(f"chunks_per_block={chunks_per_block!r} must be an integer >= 1")
    params, mean, scale, scorers, weights = _chunk_scorers(model)
    blocks = features.stream_chunks(path, params, mean=mean, scale=scale,
                                    chunks_per_block=int(chunks_per_block))
    parts, n_frames = [[] for _ in scorers], []
    for chunks, real in blocks:
        n_frames.append(real)
        for part, (chunk_proba, _) in zip(parts, scorers, strict=True):
            part.append(np.asarray(chunk_proba(chunks, real), dtype=np.float64))
    n_frames = np.concatenate(n_frames)
    offsets = np.array([0, len(n_frames)])
    rows = [features.aggregate_chunk_proba(np.concatenate(part), offsets, n_frames,
                                           aggregate=aggregate, where=display_name(path))[0]
            for part, (_, aggregate) in zip(parts, scorers, strict=True)]
    return rows[0] if len(rows) == 1 else np.average(rows, axis=0, weights=weights)
