"""Shared docstring fragments: a parameter described once, in every docstring that takes it."""

from __future__ import annotations

import re

__all__ = ["Substitution"]


class Substitution:
    """Decorator filling ``{name}`` fields of a docstring with shared fragments.

    imbalanced-learn's ``Substitution``, with two differences that suit
    numpydoc: a field alone on its line takes that line's indentation for
    every line of its fragment (so one fragment serves a function's and a
    class's docstring alike), and braces that name no fragment (a set of
    choices such as ``{"soxr", "scipy"}``) are left as they are.

    Parameters
    ----------
    **fragments : str
        ``{name: text}``; the text's continuation lines are indented relative
        to its first line.

    Examples
    --------
    >>> @Substitution(rate="sample_rate : int\\n    In Hz.")
    ... def f(sample_rate):
    ...     '''Do nothing.
    ...
    ...     Parameters
    ...     ----------
    ...     {rate}
    ...     '''
    >>> print(f.__doc__.splitlines()[4:6])
    ['    sample_rate : int', '        In Hz.']
    """

    def __init__(self, **fragments):
        self.fragments = fragments

    def __call__(self, obj):
        if obj.__doc__:  # None under python -OO
            doc = obj.__doc__
            for name, text in self.fragments.items():
                doc = re.sub(
                    rf"^([ \t]*)\{{{re.escape(name)}\}}",
                    lambda match, text=text: match.group(1)
                    + text.replace("\n", "\n" + match.group(1)),
                    doc,
                    flags=re.MULTILINE,
                )
            obj.__doc__ = doc
        return obj
