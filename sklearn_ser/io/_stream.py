"""An audio file as a stream of mono blocks at a target rate, in bounded memory.

:func:`stream_audio` gives the samples :func:`~sklearn_ser.io.load_audio`
returns for a path, block by block, however long the file: the same mixing,
the same edge trimming, and resampling that carries its state from block to
block.
"""

from __future__ import annotations

from math import gcd
from numbers import Integral

import numpy as np

from ..exceptions import AudioFileError, InvalidSignalError
from ..utils import check_params
from ..utils.constraints import Interval, StrOptions
from ._audio import RESAMPLERS, check_audio_path
from ._decode import check_rate, mono_mix
from ._files import display_name, open_regular_file
from ._limits import SAMPLE_RATE_RANGE

__all__ = ["STREAM_BLOCK_SAMPLES", "stream_audio"]

#: Samples of the file read at a time (4 s at 16 kHz).
STREAM_BLOCK_SAMPLES = 1 << 16


def _mono_blocks(audio, start, stop, dtype, block_samples, name):
    """Samples ``start:stop`` of an open ``SoundFile``, mixed to mono, block by block."""
    import soundfile as sf

    position = start
    while position < stop:
        try:
            if position == start:
                audio.seek(start)
            block = audio.read(min(block_samples, stop - position), dtype=dtype.name,
                               always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioFileError(f"cannot decode audio file '{name}': {exc}") from exc
        if not len(block):  # a header that overstates the length
            return
        position += len(block)
        if not np.isfinite(block).all():
            raise InvalidSignalError(f"{name}: the signal holds NaN or inf samples")
        yield mono_mix(block, dtype)  # as the whole-file reader mixes them


def _nonzero_bounds(audio, dtype, block_samples, name):
    """First and one past the last sample of the mono mix that is not exactly 0."""
    first = last = None
    position = 0
    for block in _mono_blocks(audio, 0, audio.frames, dtype, block_samples, name):
        nonzero = np.flatnonzero(block)
        if nonzero.size:
            if first is None:
                first = position + int(nonzero[0])
            last = position + int(nonzero[-1]) + 1
        position += len(block)
    if first is None:
        raise InvalidSignalError(
            f"{name}: every one of its {position} samples is 0 (digital silence); "
            "trim_zeros would leave nothing")
    return first, last


def _resampled(blocks, orig, target, resampler, dtype):
    """The blocks resampled from ``orig`` to ``target`` Hz as one signal.

    ``"soxr"`` streams through libsoxr, whose output equals its one-call
    resampling of the whole signal bit for bit. ``"scipy"`` applies
    :func:`scipy.signal.resample_poly` to overlapping stretches: each output
    sample is computed from the same input samples as in the whole-signal call
    (to float rounding).
    """
    if resampler == "soxr":
        import soxr

        stream = soxr.ResampleStream(orig, target, 1, dtype="float32", quality="HQ")
        pending = next(blocks, None)
        while pending is not None:
            following = next(blocks, None)
            out = stream.resample_chunk(np.asarray(pending, dtype=np.float32),
                                        last=following is None)
            if len(out):
                yield np.asarray(out, dtype=dtype)
            pending = following
        return
    yield from _resampled_poly(blocks, orig, target, dtype)


def _resampled_poly(blocks, orig, target, dtype):
    from scipy.signal import resample_poly

    g = gcd(orig, target)
    up, down = target // g, orig // g
    # resample_poly's filter reaches 10 * max(up, down) upsampled samples each
    # side; the margin, in input samples and a multiple of down, covers it
    margin = down * (-(-(10 * max(up, down) // up + 2) // down))
    buffer = np.zeros(0, dtype)
    buffer_start = 0  # input index of buffer[0]
    done_in = 0  # input samples whose outputs are given, a multiple of down
    total = 0
    for block in blocks:
        buffer = np.concatenate([buffer, block])
        total += len(block)
        ready = (total - margin) // down * down  # outputs up to here are final
        if ready > done_in:
            yield _poly_part(buffer, buffer_start, done_in, ready, up, down, margin,
                             resample_poly)
            done_in = ready
            keep = max(done_in - margin, 0)
            buffer = buffer[keep - buffer_start :]
            buffer_start = keep
    n_out = -(-total * up // down)
    if done_in * up // down < n_out:
        yield _poly_part(buffer, buffer_start, done_in, total, up, down, margin, resample_poly,
                         n_out=n_out)


def _poly_part(buffer, buffer_start, first, stop, up, down, margin, resample_poly, n_out=None):
    """Outputs of input samples ``first:stop`` (``first`` a multiple of ``down``)."""
    begin = max(first - margin, 0)  # a multiple of down: the phases line up
    end = min(stop + margin, buffer_start + len(buffer))
    out = resample_poly(buffer[begin - buffer_start : end - buffer_start], up, down)
    skip = (first - begin) * up // down
    count = (n_out if n_out is not None else stop * up // down) - first * up // down
    return np.asarray(out[skip : skip + count], dtype=buffer.dtype)


_CONSTRAINTS = {
    "sample_rate": [Interval(Integral, *SAMPLE_RATE_RANGE, closed="both")],
    "resampler": [StrOptions(set(RESAMPLERS))],
    "block_samples": [Interval(Integral, 1, 1 << 24, closed="both")],
    "trim_zeros": ["boolean"],
}


def _open(path, name):
    """``(file, SoundFile)`` of ``path``, or the error naming it; both closed on error."""
    import soundfile as sf

    file = open_regular_file(path, what="audio file", error=AudioFileError, name=name)
    try:
        audio = sf.SoundFile(file)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        file.close()
        raise AudioFileError(f"cannot decode audio file '{name}': {exc}") from exc
    try:
        check_rate(audio.samplerate, name)
        if audio.frames == 0:
            raise InvalidSignalError(f"{name}: the signal is empty (0 samples)")
    except (AudioFileError, InvalidSignalError):
        audio.close()
        file.close()
        raise
    return file, audio


def stream_audio(path, *, sample_rate, resampler=RESAMPLERS[0], dtype=np.float32,
                 trim_zeros=False, block_samples=STREAM_BLOCK_SAMPLES, name=None):
    """Mono blocks of an audio file at ``sample_rate``, read as they are consumed.

    Together the blocks are the signal :func:`~sklearn_ser.io.load_audio`
    returns for ``path`` with the same arguments; memory is bounded by
    ``block_samples``, whatever the file's length.

    Parameters
    ----------
    path : str, bytes or os.PathLike
        An audio file that soundfile reads (a regular file only).
    sample_rate : int
        Rate of the blocks, in Hz, 1,000 to 384,000.
    resampler : {"soxr", "scipy"}, default="soxr"
        As in :func:`~sklearn_ser.io.resample`.
    dtype : {np.float32, np.float64}, default=np.float32
        Floating point type of the blocks.
    trim_zeros : bool, default=False
        Leave out the file's leading and trailing exact zeros (found by a
        first pass over the file).
    block_samples : int, default=STREAM_BLOCK_SAMPLES
        Samples of the file read at a time, 1 to 2**24.
    name : str, optional
        The file's name in messages.

    Returns
    -------
    blocks : generator of np.ndarray [shape=(n_samples_b,)]
        The arguments and the file's header are checked now (the file is
        then closed again); the file is opened anew and read as the blocks
        are consumed, and closed when they end or the generator is closed.

    Raises
    ------
    ValueError
        An argument out of range, named.
    FileNotFoundError, PermissionError, sklearn_ser.exceptions.AudioFileError
        Naming the file: missing, unreadable, not a regular file, not audio,
        or a sample rate outside :data:`~sklearn_ser.io.SAMPLE_RATE_RANGE`.
    sklearn_ser.exceptions.InvalidSignalError
        A file without samples; when consumed, also one of digital silence
        only with ``trim_zeros``, NaN or inf samples, or too few samples to
        leave one at ``sample_rate``.
    """
    check_params({"sample_rate": sample_rate, "resampler": resampler,
                  "block_samples": block_samples, "trim_zeros": trim_zeros},
                 _CONSTRAINTS, caller="stream_audio")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"stream_audio: dtype={dtype} must be float32 or float64")
    name = display_name(path) if name is None else name
    check_audio_path(path, name)
    file, audio = _open(path, name)  # the header's errors now, before any block
    audio.close()
    file.close()
    return _blocks(path, int(sample_rate), resampler, dtype, trim_zeros, int(block_samples),
                   name)


def _blocks(path, sample_rate, resampler, dtype, trim_zeros, block_samples, name):
    file, audio = _open(path, name)
    with file, audio:
        start, stop = 0, audio.frames
        if trim_zeros:
            start, stop = _nonzero_bounds(audio, dtype, block_samples, name)
        blocks = _mono_blocks(audio, start, stop, dtype, block_samples, name)
        if audio.samplerate != sample_rate:
            blocks = _resampled(blocks, audio.samplerate, sample_rate, resampler, dtype)
        given = 0
        for block in blocks:
            given += len(block)
            yield block
        if not given:
            raise InvalidSignalError(f"{name}: {stop - start} samples at {audio.samplerate} Hz "
                                     f"leave none at {sample_rate} Hz")
