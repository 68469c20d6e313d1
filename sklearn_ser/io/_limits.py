"""How much one audio source may make the toolkit read and compute.

A file's header is data like any other: one that claims 1 Hz, or 2**36
samples, must not turn a 4 kB file into gigabytes. These limits are checked
before the samples are read or resampled; ``docs/reliability.md`` lists them
with the front end's.
"""

__all__ = ["MAX_SOURCE_SAMPLES", "SAMPLE_RATE_RANGE"]

#: Lowest and highest sample rate in Hz that a source may have and that audio is
#: resampled to: from below telephone speech (8 kHz) to the highest studio rate
#: (384 kHz). A header outside it is corrupt or hostile; a ratio within it
#: (at most 384) bounds how much resampling can multiply a signal.
SAMPLE_RATE_RANGE = (1_000, 384_000)

#: The most samples one source may decode to (after mixing down to mono) or be
#: resampled to: 2**28, i.e. 4.6 hours at 16 kHz or 1.5 hours at 48 kHz, 1 GiB
#: in float32. Longer recordings go through :mod:`sklearn_ser.timeline`, which
#: reads a file block by block.
MAX_SOURCE_SAMPLES = 2**28
