"""Helpers shared by every layer of the toolkit: argument checks, shared choices,
where warnings point.

A leaf of the package: it imports only ``sklearn_ser._version`` and
``sklearn_ser.exceptions``, and every other package may import it.
"""

from ._stacklevel import caller_stacklevel
from .choices import AGGREGATES, PRECISIONS, PREDICT_PRECISIONS
from .validation import check_params, is_integer, is_missing, is_number

__all__ = [
    "AGGREGATES",
    "PRECISIONS",
    "PREDICT_PRECISIONS",
    "caller_stacklevel", "check_params", "is_integer", "is_missing", "is_number"]
