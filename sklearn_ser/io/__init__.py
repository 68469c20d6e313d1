"""Audio input: decode, mix down, convert and resample to one waveform."""

from ._audio import load_audio, resample, source_name

__all__ = ["load_audio", "resample", "source_name"]
