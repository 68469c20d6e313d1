"""The model-file format: names, limits, allow-lists, JSON conversion."""


from __future__ import annotations

import contextlib
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from ..exceptions import ModelFileError, SklearnSerVersionWarning  # noqa: F401 (re-exported)
from ..io import open_regular_file, parse_json
from ..utils.validation import is_number

FORMAT_NAME = "sklearn_ser.model"
#: Bumped when a file written now could not be read by an older load_model.
#: A file states the lowest version that reads it: 1 for one network, 2 for a
#: soft vote of networks (``VotingClassifier``), which version 1 cannot read.
FORMAT_VERSION = 2
VOTE_FORMAT_VERSION = 2
METADATA_MEMBER = "metadata.json"
WEIGHTS_MEMBER = "weights.safetensors"
_MAX_METADATA_BYTES = 1 << 20  # a genuine metadata.json is a few kB
#: A genuine metadata.json nests 8 levels deep (a vote's member's split); its
#: integers are sizes and counts, well within 64 bits.
_MAX_METADATA_DEPTH = 16
_MAX_METADATA_INT_DIGITS = 18

#: Extensions of joblib pickles; the command line saves any other name in the safe format.
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
#: Endings after which joblib compresses a pickle (``model.joblib.gz``).
COMPRESSION_SUFFIXES = (".z", ".gz", ".bz2", ".xz", ".lzma")


def is_pickle_name(path):
    """Whether ``path`` is named like a joblib pickle: it ends in one of
    :data:`PICKLE_SUFFIXES`, optionally followed by one of joblib's
    :data:`COMPRESSION_SUFFIXES`."""
    suffixes = [suffix.lower() for suffix in Path(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes.pop()
    return bool(suffixes) and suffixes[-1] in PICKLE_SUFFIXES


#: First bytes of a pickle (protocol 2 and later) and of joblib's compressed
#: files (zlib, gzip, bz2, xz, lzma).
_PICKLE_MAGIC = (b"\x80", b"\x78", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x5d\x00\x00")


def looks_like_pickle(path):
    """Whether the file ``path`` begins like a pickle (protocol 2 and later) or
    like one of joblib's compressed files (zlib, gzip, bz2, xz, lzma).

    Parameters
    ----------
    path : str or os.PathLike
        The file; only its first 6 bytes are read.

    Returns
    -------
    looks_like_pickle : bool
        False for a file that cannot be read (missing, a folder, a named pipe
        or a device, none of which is opened) and for a zip archive such as
        the safe format.
    """
    with contextlib.suppress(OSError, ModelFileError), \
            open_regular_file(path, what="model file", error=ModelFileError) as file:
        return file.read(6).startswith(_PICKLE_MAGIC)
    return False


#: Class names a file may name, mapped to where the class lives in sklearn_ser.
_TRANSFORMERS = ("LogMel3DTransformer",)
_CLASSIFIERS = ("ADCRNNClassifier", "ACRNNClassifier")
_MODULES = ("ADCRNN", "ACRNN")
_CRITERIA = ("CenterAugmentedLoss",)
#: A final step that is a soft vote of ``_CLASSIFIERS`` (``build_pipeline(n_seeds=N)``).
_VOTE = "VotingClassifier"
#: Member names of a vote: what ``build_pipeline`` gives ("seed0"), as scikit-learn
#: parameter prefixes (no "__") and tensor-key parts (no ".").
_MEMBER_NAME = r"[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*"
_MAX_MEMBERS = 64

#: Parameters never restored from a file: ``torch_load_kwargs`` could turn off
#: ``weights_only`` for later ``load_params`` calls, ``memory`` would make a
#: Pipeline read and write joblib pickles in a folder the file chooses.
_NEVER_RESTORED = ("torch_load_kwargs", "memory")
#: Settings of how a model runs rather than of the model: worker processes,
#: DataLoader workers, torch.compile. Not saved, and ignored in a file, so a
#: file cannot start processes or a compiler on the machine that loads it;
#: the loading script sets them (``set_params``) if it wants them.
_RUNTIME_ONLY = ("n_jobs", "compile")
_RUNTIME_ONLY_SUFFIXES = ("__num_workers", "__multiprocessing_context", "__pin_memory",
                          "__pin_memory_device", "__persistent_workers", "__prefetch_factor",
                          "__timeout", "__worker_init_fn")


def _runtime_only(key):
    """Whether parameter ``key`` is one of the :data:`_RUNTIME_ONLY` settings."""
    return key in _RUNTIME_ONLY or (key.startswith("iterator_")
                                    and key.endswith(_RUNTIME_ONLY_SUFFIXES))


def member_names_problem(names):
    """Why ``names`` cannot name the members of a stored vote, or ``None``."""
    import re

    from sklearn.ensemble import VotingClassifier

    reserved = set(VotingClassifier(estimators=[]).get_params(deep=False))
    if not 1 <= len(names) <= _MAX_MEMBERS:
        return f"a vote holds 1 to {_MAX_MEMBERS} networks, not {len(names)}"
    bad = [name for name in names if not isinstance(name, str)
           or not re.fullmatch(_MEMBER_NAME, name) or name in reserved]
    if bad:
        return (f"member names must be identifiers like 'seed0' (letters, digits, single "
                f"underscores; not a VotingClassifier parameter), got {bad!r}")
    if len(set(names)) != len(names):
        return f"member names {names!r} repeat"
    return None


def _weights_problem(weights, n_members):
    """Why ``weights`` are not a vote's weights for ``n_members`` networks, or ``None``."""
    if weights is None:
        return None
    ok = isinstance(weights, (list, tuple)) and len(weights) == n_members and all(
        is_number(w) for w in weights)
    if ok:
        try:
            values = np.array([float(w) for w in weights])
        except OverflowError:
            ok = False
        else:
            with np.errstate(over="ignore"):
                total = values.sum()
            ok = bool(np.isfinite(values).all() and (values >= 0).all()
                      and np.isfinite(total) and total > 0)
    return None if ok else (f"weights={weights!r} must be {n_members} finite non-negative "
                            "numbers, one per member, not all 0")


# -- parameters <-> JSON --------------------------------------------------------------------

def parse_metadata(raw):
    """The content of a model file's ``metadata.json``, or a ValueError saying what is
    wrong (:func:`sklearn_ser.io.parse_json` within a genuine file's bounds)."""
    return parse_json(raw, max_depth=_MAX_METADATA_DEPTH, max_int_digits=_MAX_METADATA_INT_DIGITS)


class _NotJSON(Exception):
    pass


def _to_json(value):
    """``value`` as plain JSON data (numpy/torch numbers and 1-D arrays included)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        if not np.isfinite(value):
            raise _NotJSON
        return float(value)
    if hasattr(value, "tolist") and getattr(value, "ndim", None) in (0, 1):
        return _to_json(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _to_json(item) for key, item in value.items()}
    raise _NotJSON


def _split_params(estimator, handled=()):
    """JSON-able parameters, and the names of those that are not (dropped)."""
    params, dropped = {}, []
    for key, value in estimator.get_params(deep=False).items():
        if key.startswith("_") or key in handled or key in _NEVER_RESTORED \
                or _runtime_only(key):
            continue
        try:
            params[key] = _to_json(value)
        except _NotJSON:
            dropped.append(key)
    return params, dropped


