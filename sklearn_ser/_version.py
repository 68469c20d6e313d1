"""The toolkit's version, and the stamp its estimators put into their pickled state.

At the bottom of the package with :mod:`sklearn_ser.exceptions`, the only
module it imports.
"""

from __future__ import annotations

import warnings

from .exceptions import SklearnSerVersionWarning

__all__ = ["VERSION_KEY", "__version__", "add_version", "check_version", "current_version"]

__version__ = "0.1.0.dev0"

#: Key the estimators add to their pickled state (as scikit-learn's ``_sklearn_version``).
VERSION_KEY = "_sklearn_ser_version"


def current_version():
    """The running version, read at call time (so that it can be patched in tests)."""
    return __version__


def add_version(state):
    """A copy of a pickled ``state`` dict stamped with the running sklearn_ser version."""
    return {**state, VERSION_KEY: current_version()}


def check_version(state, estimator_name):
    """Remove the version stamp from ``state``; warn if it is not the running version.

    A state without a stamp comes from a version before the stamp existed.
    """
    original = state.pop(VERSION_KEY, "unknown (before 0.1.0)")
    current = current_version()
    if original != current:
        warnings.warn(
            SklearnSerVersionWarning(
                estimator_name=estimator_name,
                original_sklearn_ser_version=original,
                current_sklearn_ser_version=current,
            ),
            stacklevel=3,
        )
