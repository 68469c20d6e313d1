"""The constraint vocabulary of :func:`~sklearn_ser.utils.check_params`.

The same words as scikit-learn's ``_parameter_constraints`` (``Interval``,
``StrOptions``, ``Options``, types, ``None``, ``"boolean"``, ``"verbose"``)
and the same messages, defined here so that the front end and the audio
input check their arguments without importing scikit-learn: the light
predictor (:mod:`sklearn_ser.runtime`) runs where scikit-learn is not
installed. :func:`as_sklearn` turns a table of them into scikit-learn's own
objects, for an estimator whose ``_parameter_constraints`` scikit-learn reads.

One difference, on purpose: a ``bool`` never satisfies an :class:`Interval`
(``True`` is an ``Integral`` to Python, not a count to a user).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

__all__ = ["Interval", "Options", "StrOptions", "as_sklearn", "make_constraint"]


class Interval:
    """Numbers of ``type`` (``Integral`` or ``Real``) between ``left`` and ``right``.

    Parameters
    ----------
    type : {numbers.Integral, numbers.Real}
        ``Integral`` admits integers only; ``Real`` admits any real number.
    left, right : float or None
        The bounds; ``None`` is unbounded on that side.
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the interval.
    """

    hidden = False

    def __init__(self, type, left, right, *, closed):
        if type not in (Integral, Real) or closed not in ("left", "right", "both", "neither"):
            raise ValueError(f"Interval({type!r}, closed={closed!r}) is not a valid interval")
        self.type, self.left, self.right, self.closed = type, left, right, closed

    def is_satisfied_by(self, value):
        if isinstance(value, bool) or not isinstance(value, self.type) or value != value:
            return False  # a bool, another type, or NaN
        if self.left is not None:
            if value < self.left or (value == self.left and self.closed in ("right", "neither")):
                return False
        if self.right is not None:
            if value > self.right or (value == self.right and self.closed in ("left", "neither")):
                return False
        return True

    def __str__(self):
        kind = "an int" if self.type is Integral else "a float"
        left = "-inf" if self.left is None else self._bound(self.left)
        right = "inf" if self.right is None else self._bound(self.right)
        opening = "[" if self.closed in ("left", "both") and self.left is not None else "("
        closing = "]" if self.closed in ("right", "both") and self.right is not None else ")"
        return f"{kind} in the range {opening}{left}, {right}{closing}"

    def _bound(self, bound):
        return str(int(bound)) if self.type is Integral else str(float(bound))


class Options:
    """Values of ``type`` among ``options``."""

    hidden = False

    def __init__(self, type, options):
        self.type, self.options = type, frozenset(options)

    def is_satisfied_by(self, value):
        return isinstance(value, self.type) and value in self.options

    def __str__(self):
        shown = ", ".join(repr(option) for option in sorted(self.options, key=repr))
        return f"a {self.type.__name__} among {{{shown}}}"


class StrOptions(Options):
    """Strings among ``options``."""

    def __init__(self, options):
        super().__init__(str, options)


class _Type:
    """Instances of a type (scikit-learn's ``_InstancesOf``)."""

    hidden = False

    def __init__(self, type):
        self.type = type

    def is_satisfied_by(self, value):
        return isinstance(value, self.type)

    def __str__(self):
        names = {Integral: "int", Real: "float"}
        module, name = self.type.__module__, self.type.__qualname__
        shown = names.get(self.type, name if module == "builtins" else f"{module}.{name}")
        return f"an instance of {shown!r}"


class _Boolean:
    hidden = False

    def is_satisfied_by(self, value):
        return isinstance(value, (bool, np.bool_))

    def __str__(self):
        return "an instance of 'bool' or an instance of 'numpy.bool'"


class _Verbose:
    hidden = False

    def is_satisfied_by(self, value):
        return isinstance(value, (bool, np.bool_)) or (
            isinstance(value, Integral) and value >= 0)

    def __str__(self):
        return "an int in the range [0, inf), an instance of 'bool' or an instance of 'numpy.bool'"


class _NoneValue:
    hidden = False

    def is_satisfied_by(self, value):
        return value is None

    def __str__(self):
        return "None"


def make_constraint(constraint):
    """The object that checks one entry of a constraint list."""
    if constraint is None:
        return _NoneValue()
    if constraint == "boolean":
        return _Boolean()
    if constraint == "verbose":
        return _Verbose()
    if isinstance(constraint, type):
        return _Type(constraint)
    if hasattr(constraint, "is_satisfied_by"):
        return constraint
    raise ValueError(f"unknown constraint {constraint!r}")


def as_sklearn(constraints):
    """A ``{name: [constraint, ...]}`` table in scikit-learn's own objects, for an
    estimator's ``_parameter_constraints`` (imports scikit-learn)."""
    from sklearn.utils._param_validation import Interval as SkInterval
    from sklearn.utils._param_validation import Options as SkOptions
    from sklearn.utils._param_validation import StrOptions as SkStrOptions

    def convert(constraint):
        if isinstance(constraint, Interval):
            return SkInterval(constraint.type, constraint.left, constraint.right,
                              closed=constraint.closed)
        if isinstance(constraint, StrOptions):
            return SkStrOptions(set(constraint.options))
        if isinstance(constraint, Options):
            return SkOptions(constraint.type, set(constraint.options))
        return constraint

    return {name: [convert(c) for c in allowed] for name, allowed in constraints.items()}
