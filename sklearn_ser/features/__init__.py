"""3-D log-Mel front end: pure functions, chunked container, transformer.

:data:`FRONT_END_DEFAULTS` holds every parameter of
:class:`LogMel3DTransformer` and its default (the paper's), read-only: the
transformer, the functions and the command line take their defaults from it.
:data:`FRONT_END_LIMITS` bounds every parameter that sizes the work, and
:data:`FEATURE_PARAMS` names those that decide what a chunk holds (a
classifier refuses chunks from a front end whose settings differ).
"""

from ._chunked import ChunkedFeatures, chunk_count, front_end_difference
from ._deltas import deltas
from ._framing import frame_count, frame_signal
from ._logmel import log_mel_3d, log_mel_3d_batch, log_mel_spectrogram, log_mel_spectrogram_batch
from ._mel import mel_filterbank
from ._params import (
    FEATURE_PARAMS,
    FRONT_END_DEFAULTS,
    FRONT_END_LIMITS,
    MAX_CHUNK_OVERLAP,
    samples_per,
)
from ._pooling import UtteranceStatistics
from ._transformer import LogMel3DTransformer

__all__ = [
    "FEATURE_PARAMS",
    "FRONT_END_DEFAULTS",
    "FRONT_END_LIMITS",
    "MAX_CHUNK_OVERLAP",
    "ChunkedFeatures",
    "LogMel3DTransformer",
    "UtteranceStatistics",
    "chunk_count",
    "deltas",
    "frame_count",
    "frame_signal",
    "front_end_difference",
    "log_mel_3d",
    "log_mel_3d_batch",
    "log_mel_spectrogram",
    "log_mel_spectrogram_batch",
    "mel_filterbank",
    "samples_per",
]
