"""3-D log-Mel front end: pure functions, chunked container, transformer."""

from ._logmel import (
    deltas,
    frame_count,
    frame_signal,
    log_mel_3d,
    log_mel_spectrogram,
    mel_filterbank,
)

__all__ = [
    "deltas",
    "frame_count",
    "frame_signal",
    "log_mel_3d",
    "log_mel_spectrogram",
    "mel_filterbank",
]
