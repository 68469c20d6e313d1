"""Decode a path or a binary file object into one mono waveform, within the limits.

The file is opened here (:func:`~sklearn_ser.io.open_regular_file`), its
header read, and its sample rate and length checked against
:data:`~sklearn_ser.io.SAMPLE_RATE_RANGE` and
:data:`~sklearn_ser.io.MAX_SOURCE_SAMPLES` before any sample is: a header that
claims 1 Hz or 2**36 frames is refused, never allocated. The samples are
then read and mixed down block by block, so a file of many channels or one
whose header does not know its length (a streamed FLAC) costs its mono
samples and one block, never more.
"""

from __future__ import annotations

import io
import os

import numpy as np
import soundfile as sf

from ..exceptions import AudioFileError
from ._files import open_regular_file
from ._limits import MAX_SOURCE_SAMPLES, SAMPLE_RATE_RANGE
from ._wav import read_wav_frames, wav_layout

__all__ = ["check_rate", "mono_mix", "read_audio_file"]

#: Samples (frames x channels) read from libsndfile at a time.
_BLOCK_SAMPLES = 1 << 20
#: What libsndfile reports as the length of a stream that does not state it.
_UNKNOWN_LENGTH = 2**63 - 1


def check_rate(rate, name):
    low, high = SAMPLE_RATE_RANGE
    if not low <= rate <= high:
        raise AudioFileError(
            f"cannot decode audio file '{name}': its header gives a sample rate of {rate} Hz, "
            f"outside the {low:,} to {high:,} Hz this toolkit reads (a corrupt or edited "
            "header?); resample the file with an audio editor if the rate is real"
        )


def _too_long(name, n_frames, rate, *, at_least=False):
    hours = n_frames / rate / 3600
    return AudioFileError(
        f"audio file '{name}' holds {'more than ' if at_least else ''}{n_frames:,} samples "
        f"({hours:.2g} h at {rate} Hz), more than the {MAX_SOURCE_SAMPLES:,} one source may "
        "decode to: cut it into shorter files, or read it block by block with "
        "sklearn_ser.timeline.predict_file (or predict_timeline, over time)"
    )


def mono_mix(block, dtype):
    """The channels of ``block`` (``(n_frames, n_channels)``) mixed as listeners hear a
    centred mix: their mean, in ``dtype``."""
    return block.mean(axis=1, dtype=dtype) if block.shape[1] > 1 else block[:, 0]


def _read_blocks(audio, name, dtype):
    """Every frame of an open ``soundfile.SoundFile``, mixed to mono block by block."""
    claimed, rate = audio.frames, audio.samplerate
    known = claimed != _UNKNOWN_LENGTH
    if known and claimed > MAX_SOURCE_SAMPLES:
        raise _too_long(name, claimed, rate)
    # np.empty reserves address space only: a header that overstates its length
    # costs no memory beyond the samples actually read
    out = np.empty(claimed if known else 0, dtype)
    per_block = max(1, _BLOCK_SAMPLES // audio.channels)
    parts, done = [], 0
    while True:
        block = audio.read(per_block, dtype=dtype.name, always_2d=True)
        count = len(block)
        if not count:
            break
        if done + count > MAX_SOURCE_SAMPLES:
            raise _too_long(name, MAX_SOURCE_SAMPLES, rate, at_least=True)
        mono = mono_mix(block, dtype)
        if done + count <= len(out):
            out[done : done + count] = mono
        else:
            parts.append(mono)
        done += count
    if parts:
        return np.concatenate([out[: min(done, len(out))], *parts])
    return out[:done] if done == len(out) else out[:done].copy()


def _read_libsndfile(handle, name, dtype, position):
    """``(mono samples, rate)`` of an open binary file, through libsndfile."""
    try:
        audio = sf.SoundFile(handle)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        reason = str(exc).strip() or type(exc).__name__
        if position:
            reason += f" (read from byte {position}, where the file object stood)"
        raise AudioFileError(f"cannot decode audio file '{name}': {reason}") from exc
    with audio:
        check_rate(audio.samplerate, name)
        try:
            samples = _read_blocks(audio, name, dtype)
        except (sf.LibsndfileError, RuntimeError) as exc:
            hint = ("; its header does not state its length, which libsndfile needs: "
                    "re-encode it (flac or ffmpeg write the length)"
                    if audio.frames == _UNKNOWN_LENGTH else "")
            raise AudioFileError(f"cannot decode audio file '{name}': {exc}{hint}") from exc
        return samples, int(audio.samplerate)


def _position(source):
    """Position of a seekable file object, or None (a stream that cannot seek)."""
    try:
        return source.tell() if source.seekable() else None
    except (AttributeError, OSError, ValueError):
        return None


def read_audio_file(source, name, dtype):
    """Decode a path or a binary file object; return ``(mono samples, rate)``.

    Parameters
    ----------
    source : str, bytes, os.PathLike or binary file object
        A path is opened here (a regular file only); a file object is read
        from where it stands and put back there, so the same objects can go
        through ``fit``, then ``transform`` or ``predict``.
    name : str
        The source's name in messages.
    dtype : np.dtype
        float32 or float64.

    Returns
    -------
    samples : np.ndarray [shape=(n_frames,)]
        The channels' mean, at the file's rate.
    sample_rate : int

    Raises
    ------
    FileNotFoundError, PermissionError
        Naming the file.
    sklearn_ser.exceptions.AudioFileError
        A folder, FIFO or device; an empty, truncated or non-audio file; a
        sample rate outside :data:`SAMPLE_RATE_RANGE`; more than
        :data:`MAX_SOURCE_SAMPLES` frames.
    """
    if isinstance(source, (str, bytes, os.PathLike)):
        with open_regular_file(source, what="audio file", error=AudioFileError,
                               name=name) as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                raise AudioFileError(
                    f"cannot decode audio file '{name}': the file is empty (0 bytes)")
            layout = wav_layout(handle) if dtype in (np.float32, np.float64) else None
            if layout is None:
                handle.seek(0)
                return _read_libsndfile(handle, name, dtype, None)
            check_rate(layout.sample_rate, name)
            if layout.n_frames > MAX_SOURCE_SAMPLES:
                raise _too_long(name, layout.n_frames, layout.sample_rate)
            return read_wav_frames(handle, layout, dtype, mono=True), layout.sample_rate
    if isinstance(source, io.TextIOBase):
        raise AudioFileError(
            f"cannot decode audio file '{name}': it is open in text mode; open it in binary "
            f"mode, open(path, 'rb'), or pass the path itself"
        )
    position = _position(source)
    try:
        return _read_libsndfile(source, name, dtype, position)
    finally:
        if position is not None:
            source.seek(position)
