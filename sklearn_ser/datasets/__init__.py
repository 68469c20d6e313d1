"""Corpus loaders, a synthetic emotional speech generator, and datasets by name.

The loaders read a local copy of a corpus (never the network) and return a
:class:`sklearn.utils.Bunch` of file names, labels (English emotion names),
speaker groups and metadata, all read from file names.
:func:`make_emotional_speech` synthesises a small labelled corpus in memory.
:func:`load_dataset` reaches any of them by name (:data:`DATASETS`), as the
command line's ``--dataset`` does.
"""

from ._cremad import load_cremad
from ._emodb import load_emodb
from ._folder import load_audio_folder
from ._ravdess import load_ravdess
from ._registry import CORPORA, DATASETS, DEMO_DEFAULTS, load_dataset
from ._synthetic import make_emotional_speech

__all__ = [
    "CORPORA",
    "DATASETS",
    "DEMO_DEFAULTS",
    "load_audio_folder",
    "load_cremad",
    "load_dataset",
    "load_emodb",
    "load_ravdess",
    "make_emotional_speech",
]
