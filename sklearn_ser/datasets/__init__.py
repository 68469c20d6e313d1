"""Corpus loaders and a synthetic emotional speech generator.

The loaders read a local copy of a corpus (never the network) and return a
:class:`sklearn.utils.Bunch` of file names, labels (English emotion names),
speaker groups and metadata, all read from file names.
:func:`make_emotional_speech` synthesises a small labelled corpus in memory.
"""

from ._cremad import load_cremad
from ._emodb import load_emodb
from ._folder import load_audio_folder
from ._ravdess import load_ravdess
from ._synthetic import make_emotional_speech

__all__ = [
    "load_audio_folder",
    "load_cremad",
    "load_emodb",
    "load_ravdess",
    "make_emotional_speech",
]
