"""Audio input: decode, mix down, convert and resample to one waveform.

The one place the toolkit reads audio: the front end, the corpus loaders and
the timeline take sources through :func:`load_audio`, and check a path with
:func:`check_audio_path` before reading it in blocks, and
:func:`stream_audio` gives a long file block by block. Every file the toolkit
reads (audio, model files, checkpoints) is opened with
:func:`open_regular_file`, which refuses folders, named pipes and devices
unopened.
"""

from ._archive import check_format, parse_json, read_stored_members, write_stored_members
from ._audio import RESAMPLERS, check_audio_path, load_audio, resample, source_name
from ._files import check_regular_file, display_name, file_kind, open_regular_file
from ._limits import MAX_SOURCE_SAMPLES, SAMPLE_RATE_RANGE
from ._stream import STREAM_BLOCK_SAMPLES, stream_audio
from ._wav import read_wav

__all__ = [
    "MAX_SOURCE_SAMPLES",
    "RESAMPLERS",
    "SAMPLE_RATE_RANGE",
    "STREAM_BLOCK_SAMPLES",
    "check_audio_path",
    "check_format",
    "check_regular_file",
    "display_name",
    "file_kind",
    "load_audio",
    "open_regular_file",
    "parse_json",
    "read_stored_members",
    "read_wav",
    "resample",
    "source_name",
    "stream_audio",
    "write_stored_members",
]
