"""What every command does on stderr and at run time: progress lines, skip lines,
``--quiet``, ``--threads``, and stopping on SIGTERM as on Ctrl-C. Results go to
stdout (:mod:`._output`)."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

from ..exceptions import StopRequested

__all__ = ["ProgressLine", "Terminated", "check_not_terminated", "duration", "is_terminal", "log",
           "progress", "progress_to_stderr", "set_threads", "stop_on_sigterm", "strip_name"]


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


def is_terminal(stream):
    """Whether ``stream`` is an interactive terminal (not a file, a pipe or a capture)."""
    return stream is not None and hasattr(stream, "isatty") and stream.isatty()


def duration(seconds):
    """``seconds`` for a person: ``"45 s"``, ``"4 min 05 s"``, ``"2 h 03 min"``."""
    if seconds < 1:
        return "less than 1 s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


class ProgressLine:
    """How much of a task is done, on stderr: one line rewritten in place on a
    terminal; elsewhere (a log file, a CI job) a line at each quarter and at the end.

    Parameters
    ----------
    what : str
        The line's start, e.g. ``"timeline"``.
    total : float
        The amount of the whole task, in ``unit``.
    unit : str
        E.g. ``"s of the recording"``.
    """

    def __init__(self, what, total, unit):
        self.what, self.total, self.unit = what, total, unit
        self.terminal = is_terminal(sys.stderr)
        self._quarters = 0

    def update(self, done):
        """Report ``done`` (in ``unit``) of the total."""
        finished = done >= self.total
        quarters = 4 if finished else int(4 * done // self.total) if self.total else 0
        line = f"{self.what}: {done:.1f} of {self.total:.1f} {self.unit}"
        if self.terminal:
            print("\r" + line, end="\n" if finished else "", file=sys.stderr, flush=True)
        elif quarters > self._quarters:
            log(line)
        self._quarters = quarters


class Terminated(StopRequested):
    """SIGTERM arrived where Ctrl-C is not handled from Python (ignored, say, in a
    background job): a ``KeyboardInterrupt``, so that it stops the command as
    Ctrl-C would."""


@contextlib.contextmanager
def stop_on_sigterm():
    """While the block runs, SIGTERM stops the command as Ctrl-C does: it calls the
    SIGINT handler in place (Python's raises ``KeyboardInterrupt``; training
    notes it, ends the epoch loop and raises it again), or raises
    :class:`Terminated` where that handler is not Python's. The handler before
    is put back afterwards; nothing is installed outside the main thread, where
    no signal is delivered.

    Yields a list that receives ``signal.SIGTERM`` when it arrives, so that
    the caller can tell it from a Ctrl-C, and check that it was not swallowed.
    """
    received = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def terminate(signum, frame):
        received.append(signum)
        on_interrupt = signal.getsignal(signal.SIGINT)
        if callable(on_interrupt):
            on_interrupt(signal.SIGINT, frame)
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield received
    finally:  # None: a handler not set from Python, which was the default one
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def check_not_terminated(args):
    """Raise :class:`Terminated` if SIGTERM arrived while the command ran (main's
    :func:`stop_on_sigterm`): after a training that a SIGTERM ended early
    without the ``KeyboardInterrupt`` coming back out (where Ctrl-C is ignored),
    so that nothing is saved."""
    if getattr(args, "stop_signals", None):
        raise Terminated
