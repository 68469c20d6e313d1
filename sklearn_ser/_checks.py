"""Type tests that parameter checks share: a bool is not a count, nor a number."""

from __future__ import annotations

import math
from numbers import Integral, Real

__all__ = ["is_integer", "is_number"]


def is_integer(value):
    """Whether ``value`` is an integer (Python or numpy), ``True``/``False`` excluded."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def is_number(value):
    """Whether ``value`` is a real number (Python or numpy) that a float holds
    finitely; booleans excluded (``10**400`` is an integer but not such a number)."""
    if not isinstance(value, Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False
