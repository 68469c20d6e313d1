"""Helpers shared by every layer of the toolkit: argument checks, where warnings point.

A leaf of the package: it imports only ``sklearn_ser._version`` and
``sklearn_ser.exceptions``, and every other package may import it.
"""

from ._stacklevel import caller_stacklevel
from .validation import check_params, is_integer, is_number

__all__ = ["caller_stacklevel", "check_params", "is_integer", "is_number"]
