"""Exceptions raised by :mod:`sklearn_ser`.

Each exception mixes in the built-in or scikit-learn exception that callers
already catch, in the manner of skorch (``NotInitializedError`` is also a
``NotFittedError``), so ``except ValueError`` keeps working.
"""

from sklearn.exceptions import NotFittedError

__all__ = [
    "AudioFileError",
    "InvalidSignalError",
    "NotFittedError",
    "SklearnSerError",
]


class SklearnSerError(Exception):
    """Base class of every error raised by sklearn_ser."""


class AudioFileError(SklearnSerError, ValueError):
    """An audio file cannot be decoded (not audio, empty, truncated, a folder).

    The message always names the file and carries the decoder's reason.
    """


class InvalidSignalError(SklearnSerError, ValueError):
    """A signal is empty, has the wrong rank or dtype, or holds NaN or inf."""
