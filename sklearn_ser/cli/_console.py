"""What every command does on stderr and at run time: progress lines, skip lines,
``--quiet``, ``--threads``. Results go to stdout (:mod:`._output`)."""

from __future__ import annotations

import contextlib
import sys

__all__ = ["log", "progress", "progress_to_stderr", "set_threads", "strip_name"]


def log(message):
    """A progress line on stderr, so stdout keeps only results."""
    print(message, file=sys.stderr, flush=True)


def strip_name(message, name):
    """``message`` on one line, without the file's name, which the caller's line
    already shows: errors about a file start with ``"<name>: "`` or say
    ``"... file '<name>': ..."``."""
    message = " ".join(str(message).split())
    message = message.replace(f": '{name}'", "").replace(f" '{name}'", "")  # OSError, decoder
    prefix = f"{name}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def progress(args):
    """Whether progress lines are wanted (``--quiet`` not given)."""
    return not getattr(args, "quiet", False)


@contextlib.contextmanager
def progress_to_stderr():
    """Send what libraries print while training (skorch's epoch table, the
    Pipeline's step timings) to stderr, so stdout keeps only results."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def set_threads(args):
    """Apply ``--threads`` to torch (left to torch's choice when not given)."""
    if getattr(args, "threads", None):
        import torch  # imported here to keep `sklearn-ser --help` fast

        torch.set_num_threads(args.threads)
