"""Audio input: decode, mix down, convert and resample to one waveform.

The one place the toolkit reads audio: the front end, the corpus loaders and
the timeline take sources through :func:`load_audio`, and check a path with
:func:`check_audio_path` before reading it in blocks.
"""

from ._audio import RESAMPLERS, check_audio_path, load_audio, resample, source_name
from ._wav import read_wav

__all__ = ["RESAMPLERS", "check_audio_path", "load_audio", "read_wav", "resample", "source_name"]
