"""Argument checks shared by every layer: a bool is not a count, nor a number."""

from __future__ import annotations

import math
from numbers import Integral, Real

from .constraints import make_constraint

__all__ = ["check_params", "is_integer", "is_missing", "is_number"]


def is_integer(value):
    """Whether ``value`` is an integer (Python or numpy), ``True``/``False`` excluded."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def is_missing(value):
    """Whether ``value`` (an entry of an object array) is a missing value: None, a
    float NaN, or pandas' ``NA`` (whose truth value is ambiguous, a TypeError)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:
        return True
    except ValueError:  # an array as a value: not missing, refused where it is used
        return False


def is_number(value):
    """Whether ``value`` is a real number (Python or numpy) that a float holds
    finitely; booleans excluded (``10**400`` is an integer but not such a number)."""
    if not isinstance(value, Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_params(params, constraints, *, caller):
    """Check a function's arguments against scikit-learn-style constraints, all at once.

    The one way functions validate their arguments: the same constraint
    vocabulary as an estimator's ``_parameter_constraints`` (``Interval``,
    ``StrOptions``, types, ``None``, ``"boolean"``, ...; from
    :mod:`sklearn_ser.utils.constraints`, which needs no scikit-learn), but every bad
    argument of the call is named in a single ``ValueError``, as skorch's
    ``_validate_params`` does.

    Parameters
    ----------
    params : dict
        ``{name: value}`` of the call.
    constraints : dict
        ``{name: [constraint, ...]}``; a value is valid if it meets any of its
        name's constraints. Names without constraints are not checked.
    caller : str
        The function's name, which starts the message.

    Raises
    ------
    ValueError
        ``"<caller>: a=0 must be an int in the range [1, inf); b='x' must be
        ..."``, naming every bad argument.
    """
    problems = []
    for name, value in params.items():
        if name not in constraints:
            continue
        allowed = [make_constraint(constraint) for constraint in constraints[name]]
        if not any(constraint.is_satisfied_by(value) for constraint in allowed):
            shown = [str(constraint) for constraint in allowed if not constraint.hidden]
            problems.append(f"{name}={value!r} must be " + " or ".join(shown))
    if problems:
        raise ValueError(f"{caller}: " + "; ".join(problems))
