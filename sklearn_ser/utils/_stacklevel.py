"""Where a warning should point: the first caller outside the libraries."""

from __future__ import annotations

import os
import sys


def caller_stacklevel():
    """The ``stacklevel`` that makes ``warnings.warn``, called by the function that
    calls this one, point at the first frame outside sklearn_ser, scikit-learn
    and skorch: the user's line that called ``fit`` or ``transform``, whichever
    wrappers (``Pipeline``, ``_fit_context``, ``set_output``, skorch's ``fit``)
    stand between."""
    # scikit-learn and skorch only where they are in use: never imported for this
    packages = [sys.modules[name] for name in (__package__.partition(".")[0], "sklearn", "skorch")
                if name in sys.modules]
    libraries = tuple(os.path.dirname(module.__file__) + os.sep for module in packages)
    frame, level = sys._getframe(1), 1  # the function that warns is level 1
    while frame is not None and frame.f_code.co_filename.startswith(libraries):
        frame, level = frame.f_back, level + 1
    return level
