"""3-D log-Mel front end: pure functions, chunked container, transformer."""

from ._chunked import ChunkedFeatures, chunk_count
from ._logmel import (
    deltas,
    frame_count,
    frame_signal,
    log_mel_3d,
    log_mel_3d_batch,
    log_mel_spectrogram,
    log_mel_spectrogram_batch,
    mel_filterbank,
)
from ._pooling import UtteranceStatistics
from ._transformer import LogMel3DTransformer

__all__ = [
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
