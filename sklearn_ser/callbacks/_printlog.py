"""skorch's epoch table, coloured on a terminal only."""

from __future__ import annotations

import builtins
import os
import sys

from skorch.callbacks import PrintLog
from skorch.utils import Ansi

__all__ = ["TerminalPrintLog"]


class TerminalPrintLog(PrintLog):
    """skorch's ``PrintLog``, with the best scores coloured only on a terminal.

    skorch wraps each epoch's best scores in ANSI colour codes whatever the
    sink, so a log redirected to a file, a CI job or a notebook's captured
    output fills with ``ESC[36m`` sequences. This table colours them when the
    sink prints to standard output (``print``, or an accelerator's ``print``),
    standard output is a terminal, and the ``NO_COLOR`` environment variable
    (https://no-color.org) is unset or empty; every other sink (a logger's
    method, ``list.append``) gets plain text.

    Parameters
    ----------
    keys_ignored : str or list of str, optional
        History keys left out of the table (skorch's default: ``"batches"``).
    sink : callable, default=print
        Called with each line of the table.
    tablefmt : str, default="simple"
        ``tabulate`` table format.
    floatfmt : str, default=".4f"
        Format of the floating-point scores.
    stralign : str, default="right"
        Alignment of the columns.
    """

    def __init__(self, keys_ignored=None, sink=print, tablefmt="simple", floatfmt=".4f",
                 stralign="right"):
        super().__init__(keys_ignored=keys_ignored, sink=sink, tablefmt=tablefmt,
                         floatfmt=floatfmt, stralign=stralign)

    def _colours(self):
        prints = self.sink is builtins.print or getattr(self.sink, "__name__", None) == "print"
        stdout = sys.stdout
        return (
            prints
            and not os.environ.get("NO_COLOR")
            and stdout is not None
            and hasattr(stdout, "isatty")
            and stdout.isatty()
        )

    def format_row(self, row, key, color):
        """A cell of the table; ``color`` is dropped when :meth:`_colours` says so."""
        if self._colours():
            return super().format_row(row, key, color)
        text = super().format_row(row, key, "")
        return text.replace(Ansi.ENDC.value, "") if isinstance(text, str) else text
