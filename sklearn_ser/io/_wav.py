"""A fast path for plain RIFF/WAVE files: parse the header, convert the samples with numpy.

Most corpora (Emo-DB, CREMA-D, RAVDESS) are 16-bit PCM WAV. Decoding them
through libsndfile costs more than their resampling's share of the front end
(half a millisecond a file, mostly call and buffer overhead), so
:func:`read_wav` reads the header's chunks, then the samples in blocks of
1 MiB, each converted with one numpy operation straight into the output (so
a long file never sits in memory twice). It gives the same numbers as
``soundfile.read`` (the tests compare them bit for bit) and handles only
what it is sure of: 8-bit unsigned, 16- and 32-bit integer PCM and 32/64-bit
float WAV, plain or ``WAVE_FORMAT_EXTENSIBLE``. For anything else (other
containers, 24-bit, compressed formats, a malformed header) it returns
``None`` and the caller falls back to libsndfile, whose error messages
describe broken files.
"""

from __future__ import annotations

import io
import os
import struct

import numpy as np

from ..exceptions import AudioFileError
from ._files import open_regular_file

__all__ = ["WavLayout", "read_wav", "read_wav_frames", "wav_layout"]

_PCM, _FLOAT, _EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
# The rest of KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT after their 16-bit format tag:
# {0000tttt-0000-0010-8000-00AA00389B71}, as stored in the file.
_SUBTYPE_TAIL = bytes.fromhex("0000" "0000" "1000" "800000aa00389b71")
_MAX_CHANNELS = 1024  # libsndfile's limit: more is an error there
# Sample layout per (format, bits): numpy dtype, offset and the scale to [-1, 1)
# that libsndfile uses (its normalisation divides by 2 ** (bits - 1)).
_LAYOUTS = {
    (_PCM, 8): ("u1", 128.0, 1 / 128),
    (_PCM, 16): ("<i2", 0.0, 1 / 32768),
    (_PCM, 32): ("<i4", 0.0, 1 / 2147483648),
    (_FLOAT, 32): ("<f4", 0.0, None),
    (_FLOAT, 64): ("<f8", 0.0, None),
}


#: Raw bytes converted at a time: bounds the temporary memory of a long file.
_BLOCK_BYTES = 1 << 20


class WavLayout:
    """Where a WAV file's samples are and how they are stored.

    Attributes
    ----------
    sample_type : str
        numpy dtype of one stored sample.
    offset, scale : float or None
        libsndfile's conversion to [-1, 1): ``(value - offset) * scale``.
    channels, sample_rate, n_frames : int
        As the header gives them; ``n_frames`` counts the whole frames the
        file actually holds.
    data_start : int
        Byte of the first sample, from where the file object stood.
    """

    def __init__(self, sample_type, offset, scale, channels, sample_rate, n_frames, data_start):
        self.sample_type, self.offset, self.scale = sample_type, offset, scale
        self.channels, self.sample_rate, self.n_frames = channels, sample_rate, n_frames
        self.data_start = data_start


def _size(handle):
    """Bytes in the open file ``handle`` (without moving it)."""
    try:
        return os.fstat(handle.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        position = handle.tell()
        end = handle.seek(0, io.SEEK_END)
        handle.seek(position)
        return end


def _format(data, start, size):
    """``(format, channels, rate, block_align, bits)`` of a ``fmt `` chunk, or None."""
    if size < 16 or start + 16 > len(data):
        return None
    tag, channels, rate, _, block_align, bits = struct.unpack_from("<HHIIHH", data, start)
    if tag == _EXTENSIBLE:
        if size < 40 or start + 40 > len(data) or data[start + 26 : start + 40] != _SUBTYPE_TAIL:
            return None
        tag = struct.unpack_from("<H", data, start + 24)[0]  # the sub-format GUID's first field
    return tag, channels, rate, block_align, bits


def wav_layout(handle):
    """The :class:`WavLayout` of the WAV file open in ``handle``, or ``None``.

    Reads the chunk headers only (a few dozen bytes), from where ``handle``
    stands; ``None`` for anything :func:`read_wav` leaves to libsndfile.
    """
    base = handle.tell()
    header = handle.read(12)
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        return None  # another container: not read any further here
    file_size = _size(handle) - base
    position, layout = 12, None
    while position + 8 <= file_size:  # every chunk is at least 8 bytes: bounded by the size
        handle.seek(base + position)
        chunk_id, size = struct.unpack("<4sI", handle.read(8))
        start = position + 8
        if chunk_id == b"fmt ":
            layout = _format(handle.read(min(size, 40)), 0, size)
            if layout is None:
                return None
        elif chunk_id == b"data":
            break
        position = start + size + (size & 1)  # chunks are padded to an even size
    else:
        return None
    if layout is None:
        return None
    tag, channels, rate, block_align, bits = layout
    if (tag, bits) not in _LAYOUTS or not 1 <= channels <= _MAX_CHANNELS or rate < 1:
        return None
    if block_align != channels * bits // 8:
        return None
    n_frames = min(size, file_size - start) // block_align
    if n_frames < 1:
        return None  # libsndfile says why an empty or headless file is wrong
    sample_type, offset, scale = _LAYOUTS[(tag, bits)]
    return WavLayout(sample_type, offset, scale, channels, int(rate), n_frames, base + start)


def read_wav_frames(handle, layout, dtype, *, mono=False):
    """The samples of a WAV file described by ``layout``, converted block by block.

    Parameters
    ----------
    handle : binary file object
        The file of :func:`wav_layout`.
    layout : WavLayout
    dtype : np.float32 or np.float64
    mono : bool, default=False
        Mix the channels down (their mean) block by block: the output is then
        1-D, and a file of many channels never sits in memory whole.

    Returns
    -------
    samples : np.ndarray [shape=(n_frames, channels) or (n_frames,)]
        Fewer frames than ``layout.n_frames`` if the file shrank meanwhile.
    """
    dtype = np.dtype(dtype)
    channels = layout.channels
    frame_bytes = channels * np.dtype(layout.sample_type).itemsize
    out = np.empty((layout.n_frames,) if mono else (layout.n_frames, channels), dtype)
    # one channel, or all of them kept: the samples convert straight into the output
    direct = out.reshape(layout.n_frames, -1) if channels == 1 or not mono else None
    per_block = max(1, _BLOCK_BYTES // frame_bytes)
    handle.seek(layout.data_start)
    done = 0
    while done < layout.n_frames:
        raw = handle.read(min(per_block, layout.n_frames - done) * frame_bytes)
        count = len(raw) // frame_bytes
        if count == 0:
            break
        samples = np.frombuffer(raw, dtype=layout.sample_type, count=count * channels)
        block = direct[done : done + count] if direct is not None else np.empty(
            (count, channels), dtype)
        block.reshape(-1)[:] = samples
        if layout.offset:
            block -= layout.offset
        if layout.scale is not None:
            block *= dtype.type(layout.scale)
        if direct is None:
            # Mixed as listeners hear a centred mix: the mean of the channels.
            out[done : done + count] = block.mean(axis=1, dtype=dtype)
        done += count
    return out[:done]


def read_wav(path, dtype=np.float64):
    """Samples and rate of a plain PCM or float WAV file, or ``None`` if it is not one.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        The file (a file object is read from where it stands).
    dtype : numpy dtype, default=np.float64
        Type of the returned samples; only float32 and float64 are decoded
        here (``None`` for others).

    Returns
    -------
    (samples, sample_rate) or None
        ``samples`` has shape ``(n_frames, n_channels)``, values as
        ``soundfile.read(path, dtype=dtype, always_2d=True)`` gives them. A
        data chunk that is shorter than its header says (a cut file) yields
        the whole frames that are there, as libsndfile does. ``None`` means
        "not a file this reader is sure of": use libsndfile, whose errors say
        what is wrong.

    Raises
    ------
    FileNotFoundError, PermissionError
        The path is missing or cannot be read; the message names it.
    sklearn_ser.exceptions.AudioFileError
        The path is a folder, a named pipe or a device (refused unopened).
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        return None
    if hasattr(path, "read"):
        layout = wav_layout(path)
        return None if layout is None else (read_wav_frames(path, layout, dtype),
                                            layout.sample_rate)
    with open_regular_file(path, what="audio file", error=AudioFileError) as handle:
        return read_wav(handle, dtype)
