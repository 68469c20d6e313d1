"""Datasets by name: :func:`load_dataset` and the name -> loader table."""

from __future__ import annotations

from inspect import Parameter, signature
from types import MappingProxyType

import numpy as np
from sklearn.utils import Bunch

from ._cremad import load_cremad
from ._emodb import load_emodb
from ._folder import load_audio_folder
from ._ravdess import load_ravdess
from ._synthetic import make_emotional_speech

__all__ = ["CORPORA", "DATASETS", "DEMO_DEFAULTS", "load_dataset"]

#: Corpus name -> loader of a local copy; each takes the corpus folder first.
CORPORA = MappingProxyType({
    "emodb": load_emodb,
    "cremad": load_cremad,
    "ravdess": load_ravdess,
    "folder": load_audio_folder,
})

#: Every name :func:`load_dataset` takes: the corpora, then ``"demo"``, the
#: synthetic corpus of :func:`make_emotional_speech`, made in memory.
DATASETS = (*CORPORA, "demo")

#: The arguments of :func:`make_emotional_speech` that ``load_dataset("demo")``
#: uses when not given (read-only): that function's defaults, with 240
#: utterances and a fixed seed, so that the demo corpus is the same on every call.
DEMO_DEFAULTS = MappingProxyType({
    **{name: parameter.default
       for name, parameter in signature(make_emotional_speech).parameters.items()
       if parameter.default is not Parameter.empty},
    "n_samples": 240,
    "random_state": 0,
})

_DEMO_DESCR = """\
Synthetic emotional speech (sklearn_ser.datasets.make_emotional_speech):
speech-like utterances whose prosody follows the emotion, made in memory.
Results on it say nothing about real corpora."""


def _load_demo(**params):
    """The demo corpus as a Bunch shaped like a corpus loader's, with waveforms as ``data``."""
    params = {**DEMO_DEFAULTS, **params}
    X, y, groups = make_emotional_speech(**params)
    return Bunch(
        data=X,
        target=y,
        target_names=np.unique(y),
        groups=groups,
        sample_rate=params["sample_rate"],
        skipped=[],
        DESCR=_DEMO_DESCR,
    )


def load_dataset(name, root=None, **kwargs):
    """Load a dataset by name: a local copy of a corpus, or the synthetic demo corpus.

    Parameters
    ----------
    name : {"emodb", "cremad", "ravdess", "folder", "demo"}
        ``"emodb"``, ``"cremad"``, ``"ravdess"``: :func:`load_emodb`,
        :func:`load_cremad`, :func:`load_ravdess`; ``"folder"``:
        :func:`load_audio_folder` (labels from the folder tree); ``"demo"``:
        :func:`make_emotional_speech` with :data:`DEMO_DEFAULTS`.
    root : str or os.PathLike or None, default=None
        The corpus folder; needed by every corpus, refused by ``"demo"``
        (made in memory).
    **kwargs
        The keyword arguments of the loader (``on_error``, ``check_files``,
        ``label``, ``groups``, ... for a corpus; ``n_samples``, ``n_classes``,
        ``random_state``, ... for ``"demo"``).

    Returns
    -------
    data : sklearn.utils.Bunch
        A corpus loader's Bunch (``filenames``, ``target``, ``target_names``,
        ``groups``, ``skipped``, ``DESCR`` and the corpus's metadata). For
        ``"demo"``: ``data`` (np.ndarray [shape=(n_samples, n_signal_samples)],
        float32 waveforms at ``sample_rate`` Hz) instead of ``filenames``,
        with ``target``, ``target_names``, ``groups`` (speaker ids),
        ``sample_rate``, ``skipped`` (always empty) and ``DESCR``.

    Raises
    ------
    ValueError
        ``name`` is not one of :data:`DATASETS` (the message names it and
        the choices); ``root`` is missing for a corpus or given for
        ``"demo"``; or the loader's own errors.
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"load_dataset: unknown dataset {name!r}; choose one of "
                         f"{', '.join(DATASETS)}")
    if name == "demo":
        if root is not None:
            raise ValueError(f"load_dataset: the 'demo' dataset is synthetic speech made in "
                             f"memory and takes no root (got root={root!r})")
        return _load_demo(**kwargs)
    if root is None:
        raise ValueError(f"load_dataset: the {name!r} dataset needs root, the folder of "
                         "its local copy")
    return CORPORA[name](root, **kwargs)
