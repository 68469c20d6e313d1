"""3-D log-Mel front end: pure functions, chunked container, transformer.

:data:`FRONT_END_DEFAULTS` holds every parameter of
:class:`LogMel3DTransformer` and its default (the paper's), read-only: the
transformer, the functions and the command line take their defaults from it.
:data:`FRONT_END_LIMITS` bounds every parameter that sizes the work, and
:data:`FEATURE_PARAMS` names those that decide what a chunk holds (a
classifier refuses chunks from a front end whose settings differ).
"""

from typing import TYPE_CHECKING

from ._aggregation import aggregate_chunk_proba, check_aggregate
from ._chunked import ChunkedFeatures, chunk_count, front_end_difference
from ._chunking import standardize_speakers, standardize_utterances
from ._deltas import deltas
from ._extraction import add_noise
from ._framing import frame_count, frame_signal
from ._logmel import log_mel_3d, log_mel_3d_batch, log_mel_spectrogram, log_mel_spectrogram_batch
from ._mel import hz_to_mel, mel_centres, mel_filterbank, mel_to_hz
from ._params import (
    FEATURE_PARAMS,
    FRONT_END_DEFAULTS,
    FRONT_END_LIMITS,
    MAX_CHUNK_OVERLAP,
    check_front_end,
    normalizes_by_speaker,
    samples_per,
)
from ._sources import chunk_utterances, extract_utterances, feature_settings
from ._streaming import CHUNKS_PER_BLOCK, stream_chunks

if TYPE_CHECKING:  # for documentation tools and type checkers; imported on first use below
    from ._pooling import UtteranceStatistics
    from ._transformer import LogMel3DTransformer

#: The estimators, imported on first use: the functions above need no scikit-learn.
_LAZY = {"LogMel3DTransformer": "._transformer", "UtteranceStatistics": "._pooling"}


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CHUNKS_PER_BLOCK",
    "FEATURE_PARAMS",
    "FRONT_END_DEFAULTS",
    "FRONT_END_LIMITS",
    "MAX_CHUNK_OVERLAP",
    "ChunkedFeatures",
    "LogMel3DTransformer",
    "UtteranceStatistics",
    "add_noise",
    "aggregate_chunk_proba",
    "check_aggregate",
    "check_front_end",
    "chunk_count",
    "chunk_utterances",
    "deltas",
    "extract_utterances",
    "feature_settings",
    "frame_count",
    "frame_signal",
    "front_end_difference",
    "hz_to_mel",
    "log_mel_3d",
    "log_mel_3d_batch",
    "log_mel_spectrogram",
    "log_mel_spectrogram_batch",
    "mel_centres",
    "mel_filterbank",
    "mel_to_hz",
    "normalizes_by_speaker",
    "samples_per",
    "standardize_speakers",
    "standardize_utterances",
    "stream_chunks",
]
