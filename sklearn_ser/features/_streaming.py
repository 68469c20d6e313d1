"""One audio file's normalised chunks, block by block: what the front end's
``transform`` gives for it, in memory bounded by the block, whatever its length."""

from __future__ import annotations

import warnings

import numpy as np

from ..exceptions import InvalidSignalError, ShortSignalWarning, SignalRangeWarning
from ..io import display_name, stream_audio
from ..utils import caller_stacklevel, check_params, is_integer
from ._chunked import chunk_count
from ._chunking import _moments, _standardize
from ._deltas import deltas
from ._extraction import LOUD_PEAK
from ._framing import frame_count
from ._logmel import _log_mel_stack
from ._params import (
    FRONT_END_CONSTRAINTS,
    FRONT_END_DEFAULTS,
    FUNCTION_DEFAULTS,
    front_end_problems,
    normalizes_by_speaker,
    samples_per,
)

__all__ = ["CHUNKS_PER_BLOCK", "stream_chunks"]

#: Chunks handed on together (with 2-s chunks, 128 s of audio).
CHUNKS_PER_BLOCK = 64


def _with_last(items):
    """``(item, is_last)`` for every item of an iterator."""
    items = iter(items)
    pending = next(items, _END)
    while pending is not _END:
        following = next(items, _END)
        yield pending, following is _END
        pending = following


_END = object()


def _static_frames(signal_blocks, params, dtype, name):
    """Log-Mel frames of a signal given in blocks: those of the whole signal.

    Pre-emphasis carries the previous block's last sample; a block's frames
    are computed from the pre-emphasised samples they span, with no padding
    but the whole signal's own at its end, so each frame has the bits it has
    in :func:`~sklearn_ser.features.log_mel_3d_batch`.
    """
    rate = params["sample_rate"]
    frame_length = samples_per(params["frame_seconds"], rate)
    hop = samples_per(params["hop_seconds"], rate)
    coefficient = dtype.type(params["preemphasis"])
    settings = {key: params[key] for key in ("sample_rate", "n_mels", "n_fft", "frame_seconds",
                                             "hop_seconds", "f_min", "f_max", "window")}
    settings.update(preemphasis=0.0, dtype=dtype, block_frames=FUNCTION_DEFAULTS["block_frames"])

    def frames(samples, count):
        return _log_mel_stack([samples], 1, **settings)[0][0][:count]

    buffer, start = np.zeros(0, dtype), 0  # samples start:start + len(buffer), emphasised
    previous, total, done, peak = None, 0, 0, 0.0
    for block in signal_blocks:
        block = np.asarray(block, dtype)
        if not len(block):
            continue
        peak = max(peak, float(np.abs(block).max()))
        emphasised = block.copy()
        emphasised[1:] -= np.multiply(block[:-1], coefficient)
        if previous is not None:
            emphasised[0] -= previous * coefficient
        previous = block[-1]
        skip = min(max(start - total, 0), len(block))  # samples between frames (hop > frame)
        buffer = np.concatenate([buffer, emphasised[skip:]])
        total += len(block)
        ready = (total - frame_length) // hop + 1 if total >= frame_length else 0
        if ready > done:
            stop = (ready - 1) * hop + frame_length
            yield frames(buffer[done * hop - start : stop - start], ready - done)
            done, start_next = ready, ready * hop
            buffer = buffer[min(start_next - start, len(buffer)) :]
            start = start_next
    if total == 0:
        raise InvalidSignalError(f"{name}: the signal is empty (0 samples)")
    if peak > LOUD_PEAK:
        warnings.warn(f"{name} holds samples far outside [-1, 1], where audio lives (peak "
                      f"{peak:.6g}): a model trained on audio in [-1, 1] would predict nonsense",
                      SignalRangeWarning, stacklevel=caller_stacklevel())
    if total <= frame_length:
        warnings.warn(f"{name} is no longer than one analysis frame ({frame_length} samples, "
                      f"{1000 * frame_length / rate:g} ms at {rate} Hz), so it gives a single "
                      "zero-padded frame, far too little audio to recognise an emotion from",
                      ShortSignalWarning, stacklevel=caller_stacklevel())
    n_frames = int(frame_count(total, frame_length, hop))
    if n_frames > done:  # the tail, zero-padded as the whole signal's
        needed = (n_frames - done - 1) * hop + frame_length
        tail = np.zeros(needed, dtype)
        tail[: min(len(buffer), needed)] = buffer[:needed]
        yield frames(tail, n_frames - done)


def _three_channels(static_blocks, width):
    """Static, delta and delta-delta channels, ``(3, n_frames_b, n_mels)`` blocks.

    A frame's delta-delta reads the static frames up to ``2 * width`` away: a
    block is given out once that much context follows it (or the signal
    ends), computed with ``2 * width`` frames of context before it.
    """
    context = 2 * width
    held, start, done = None, 0, 0  # held: static frames start:start + len(held)
    for static, last in _with_last(static_blocks):
        held = static if held is None else np.concatenate([held, static])
        end = start + len(held)
        stop = end if last else end - context
        if stop <= done:
            continue
        stack = np.empty((3, *held.shape), held.dtype)
        stack[0] = held
        deltas(held, width=width, out=stack[1])
        deltas(stack[1], width=width, out=stack[2])
        yield stack[:, done - start : stop - start]
        done = stop
        keep = max(done - context, start)
        held, start = held[keep - start :], keep


def _standardised(first_pass, second_pass):
    """The blocks of ``second_pass()`` standardised with the moments of those of
    ``first_pass``, summed block by block, as
    :func:`~sklearn_ser.features.standardize_utterances` standardises a whole
    utterance with its own."""
    moments = None
    for block in first_pass:
        block = block.astype(np.float32, copy=False)
        found = _moments(block, np.array([0, block.shape[1]]))
        moments = found if moments is None else [a + b for a, b in zip(moments, found,
                                                                        strict=True)]
    for block in second_pass():
        block = block.astype(np.float32)
        yield _standardize(block, np.array([0, block.shape[1]]), *moments)


def _chunk_blocks(feature_blocks, *, mean, scale, chunk_frames, hop, max_chunks,
                  chunks_per_block):
    """Normalised, zero-padded chunks of the frames, ``chunks_per_block`` at a time."""
    mean = mean.astype(np.float32)[:, None, :]
    inv_scale = (1.0 / scale).astype(np.float32)[:, None, :]
    held, start, total = None, 0, 0  # held: normalised frames start:start + len
    next_chunk, out, real = 0, [], []
    limit = max_chunks if max_chunks is not None else np.inf
    for block, last in _with_last(feature_blocks):
        block = block.astype(np.float32, copy=False)
        normalised = np.subtract(block, mean)
        normalised *= inv_scale
        skip = min(max(start - total, 0), normalised.shape[1])  # frames between chunks
        normalised = normalised[:, skip:]
        held = normalised if held is None else np.concatenate([held, normalised], axis=1)
        total += block.shape[1]
        count = int(chunk_count(total, chunk_frames, hop)) if last else np.inf
        while next_chunk < min(limit, count):
            first = next_chunk * hop
            if not last and first + chunk_frames > total:
                break
            chunk = np.zeros((held.shape[0], chunk_frames, held.shape[2]), np.float32)
            frames = held[:, first - start : first - start + chunk_frames]
            chunk[:, : frames.shape[1]] = frames
            out.append(chunk)
            real.append(min(max(total - first, 0), chunk_frames))
            next_chunk += 1
            if len(out) == chunks_per_block:
                yield np.stack(out), np.array(real, np.int64)
                out, real = [], []
        if next_chunk >= limit:
            break
        start_next = next_chunk * hop
        held, start = held[:, min(start_next - start, held.shape[1]) :], start_next
    if out:
        yield np.stack(out), np.array(real, np.int64)


def _checked(params, mean, scale, chunks_per_block):
    """``params`` as a dict once every argument of :func:`stream_chunks` is valid."""
    params = dict(params)
    missing = sorted(set(FRONT_END_DEFAULTS) - set(params))
    if missing:
        raise ValueError(f"stream_chunks: params lacks {missing}: pass the front end's "
                         "get_params()")
    check_params(params, FRONT_END_CONSTRAINTS, caller="stream_chunks")
    problems = front_end_problems(params)
    if problems:
        raise ValueError("stream_chunks: " + "; ".join(problems))
    if normalizes_by_speaker(params["normalize"]):
        raise ValueError("stream_chunks: a front end with normalize='speaker' needs all of a "
                         "speaker's audio first; it cannot read a file block by block")
    if not (is_integer(chunks_per_block) and chunks_per_block >= 1):
        raise ValueError(f"stream_chunks: chunks_per_block={chunks_per_block!r} must be an "
                         "integer >= 1")
    for label, value in (("mean", mean), ("scale", scale)):
        shape = getattr(value, "shape", None)
        if shape != (3, params["n_mels"]) or not np.isfinite(value).all() \
                or (label == "scale" and not (value > 0).all()):
            raise ValueError(f"stream_chunks: {label} must be a finite array of shape (3, "
                             f"{params['n_mels']}){', > 0' if label == 'scale' else ''}, "
                             f"the fitted front end's {label}_; got shape {shape}")
    return params


def stream_chunks(path, params, *, mean, scale, chunks_per_block=CHUNKS_PER_BLOCK):
    """The normalised chunks of one audio file, computed block by block.

    Together the blocks hold the chunks :class:`~sklearn_ser.LogMel3DTransformer`'s
    ``transform([path])`` gives, bit for bit with the default
    ``normalize=True`` or ``False`` (to float rounding with
    ``normalize="utterance"``, whose statistics a first pass over the file
    sums block by block). Memory is bounded by the blocks, not by the file.

    Parameters
    ----------
    path : str or os.PathLike
        An audio file that soundfile reads.
    params : mapping
        The front end's parameters (``LogMel3DTransformer.get_params()``).
    mean, scale : np.ndarray [shape=(3, n_mels)]
        The fitted normalisation statistics.
    chunks_per_block : int, default=CHUNKS_PER_BLOCK
        Chunks per block given out.

    Returns
    -------
    blocks : generator of (np.ndarray, np.ndarray)
        ``(chunks [shape=(n_b, 3, chunk_frames, n_mels)], n_frames [shape=(n_b,)])``,
        float32 chunks in order and each one's real (not padding) frames.
        The file is opened and checked now, and read as the blocks are
        consumed.

    Raises
    ------
    ValueError
        A parameter, ``mean``, ``scale`` or ``chunks_per_block`` that is
        not valid, or ``normalize="speaker"``, which needs all of a speaker's
        audio first.
    FileNotFoundError, PermissionError, sklearn_ser.exceptions.AudioFileError
        As :func:`sklearn_ser.io.stream_audio`.
    """
    params = _checked(params, mean, scale, chunks_per_block)
    dtype = np.dtype(params["precision"])
    name = display_name(path)

    def features():
        signal = stream_audio(path, sample_rate=params["sample_rate"],
                              resampler=params["resampler"], dtype=dtype,
                              trim_zeros=params["trim_zeros"], name=name)
        return _three_channels(_static_frames(signal, params, dtype, name),
                               params["delta_width"])

    blocks = features()  # opens and checks the file now
    if params["normalize"] == "utterance":
        blocks = _standardised(blocks, features)
    return _chunk_blocks(blocks, mean=mean, scale=scale, chunk_frames=params["chunk_frames"],
                         hop=params["chunk_hop_frames"] or params["chunk_frames"],
                         max_chunks=params["max_chunks"], chunks_per_block=chunks_per_block)
