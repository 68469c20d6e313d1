"""3-D log-Mel front end: pure functions, chunked container, transformer.

:data:`FRONT_END_DEFAULTS` holds every parameter of
:class:`LogMel3DTransformer` and its default (the paper's), read-only: the
transformer, the functions and the command line take their defaults from it.
"""

from ._chunked import ChunkedFeatures, chunk_count
from ._deltas import deltas
from ._framing import frame_count, frame_signal
from ._logmel import log_mel_3d, log_mel_3d_batch, log_mel_spectrogram, log_mel_spectrogram_batch
from ._mel import mel_filterbank
from ._params import FRONT_END_DEFAULTS
from ._pooling import UtteranceStatistics
from ._transformer import LogMel3DTransformer

__all__ = [
    "FRONT_END_DEFAULTS",
    "ChunkedFeatures",
    "LogMel3DTransformer",
    "UtteranceStatistics",
    "chunk_count",
    "deltas",
    "frame_count",
    "frame_signal",
    "log_mel_3d",
    "log_mel_3d_batch",
    "log_mel_spectrogram",
    "log_mel_spectrogram_batch",
    "mel_filterbank",
]
