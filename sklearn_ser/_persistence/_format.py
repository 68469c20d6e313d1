"""The model-file format: names, limits, errors, the version stamp, JSON conversion."""


from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np

from ..exceptions import SklearnSerError

FORMAT_NAME = "sklearn_ser.model"
#: Bumped when a file written now could not be read by an older load_model.
#: A file states the lowest version that reads it: 1 for one network, 2 for a
#: soft vote of networks (``VotingClassifier``), which version 1 cannot read.
FORMAT_VERSION = 2
VOTE_FORMAT_VERSION = 2
METADATA_MEMBER = "metadata.json"
WEIGHTS_MEMBER = "weights.safetensors"
_MAX_METADATA_BYTES = 1 << 20  # a genuine metadata.json is a few kB

#: Key the estimators add to their pickled state (as scikit-learn's ``_sklearn_version``).
VERSION_KEY = "_sklearn_ser_version"

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


def _member_names_problem(names):
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
        isinstance(w, Real) and not isinstance(w, bool) for w in weights)
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


class ModelFileError(SklearnSerError, ValueError):
    """A model file is truncated, corrupted, tampered with, or not a model file.

    Parameters
    ----------
    message : str
        Names the file and what is wrong with it.
    """

    def __init__(self, message):
        super().__init__(message)


class SklearnSerVersionWarning(UserWarning):
    """An estimator was saved by another version of sklearn_ser.

    Like scikit-learn's ``InconsistentVersionWarning``: issued when a pickle
    or a model file written by another version is loaded.

    Parameters
    ----------
    estimator_name : str
        The estimator's class name (for a model file, the file's path).
    original_sklearn_ser_version : str
        The version that saved it.
    current_sklearn_ser_version : str
        The running version.
    how : {"unpickle", "load"}, default="unpickle"
        Unpickling (suggests :func:`save_model` for files that outlive a
        version) or :func:`load_model`.
    """

    def __init__(self, *, estimator_name, original_sklearn_ser_version,
                 current_sklearn_ser_version, how="unpickle"):
        self.estimator_name = estimator_name
        self.original_sklearn_ser_version = original_sklearn_ser_version
        self.current_sklearn_ser_version = current_sklearn_ser_version
        self.how = how

    def __str__(self):
        advice = (
            " For a model that loads across versions, save it with sklearn_ser.save_model "
            f"under version {self.original_sklearn_ser_version} and load it with load_model."
            if self.how == "unpickle" else ""
        )
        return (
            f"Trying to {self.how} {self.estimator_name} from sklearn_ser version "
            f"{self.original_sklearn_ser_version} when using version "
            f"{self.current_sklearn_ser_version}. This might lead to breaking code or "
            f"invalid results. Use at your own risk.{advice}"
        )


def _current_version():
    from .. import __version__  # at call time: this module is imported by the package's own

    return __version__


# -- pickle: version stamp and check (used by the estimators' __getstate__/__setstate__) ----

def _add_version(state):
    """A copy of a pickled ``state`` dict stamped with the running sklearn_ser version."""
    return {**state, VERSION_KEY: _current_version()}


def _check_version(state, estimator_name):
    """Remove the version stamp from ``state``; warn if it is not the running version.

    A state without a stamp comes from a version before the stamp existed.
    """
    original = state.pop(VERSION_KEY, "unknown (before 0.1.0)")
    current = _current_version()
    if original != current:
        warnings.warn(
            SklearnSerVersionWarning(
                estimator_name=estimator_name,
                original_sklearn_ser_version=original,
                current_sklearn_ser_version=current,
            ),
            stacklevel=3,
        )


# -- parameters <-> JSON --------------------------------------------------------------------

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
        if key.startswith("_") or key in handled or key in _NEVER_RESTORED:
            continue
        try:
            params[key] = _to_json(value)
        except _NotJSON:
            dropped.append(key)
    return params, dropped


