"""``sklearn-ser``: the command line, a thin argparse layer over the public API.

Commands: ``demo``, ``cross-validate``, ``train``, ``predict``, ``timeline``,
``explain``
(see ``docs/cli.md`` or ``sklearn-ser COMMAND --help``). Results go to
stdout, progress to stderr. Exit codes: 0 success, 1 a runtime error, 2 a
usage error, 130 stopped by Ctrl-C (SIGINT), 143 stopped by SIGTERM; errors
are one line on stderr, without a traceback (set ``SKLEARN_SER_DEBUG=1`` to
see it).

Modules by job: ``_parser`` (the parser, argument types, shared option
groups), ``_training`` (``--recipe`` and the training flags -> pipeline),
``_data`` (``--dataset`` -> data), ``_model`` (model file -> pipeline),
``_progress`` (what is shown while networks train), ``_output`` (tables, CSV,
JSON, reports, model files), ``_console`` (stderr, threads, signals), and one
module per command.
"""

from __future__ import annotations

import os
import signal
import sys
import warnings

from .._version import __version__
from ..exceptions import SklearnSerError
from . import _cross_validate, _demo, _explain, _export, _predict, _timeline, _train
from ._console import stop_on_sigterm
from ._parser import PROG, CliError, Parser, UsageError
from ._training import pipeline_from_args

__all__ = ["build_parser", "console_main", "main", "pipeline_from_args"]

_COMMANDS = (_demo, _cross_validate, _train, _predict, _timeline, _explain, _export)


def build_parser():
    """The ``sklearn-ser`` argument parser with one sub-parser per command."""
    parser = Parser(
        prog=PROG,
        description="Speech emotion recognition with a 3-D log-Mel front end and the\n"
                    "ADCRNN of Pham, Dang and Nguyen (JAEC 2020).",
        epilog=f"Run '{PROG} COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True,
        parser_class=Parser,
    )
    for command in _COMMANDS:
        command.add_parser(subparsers)
    return parser


def _message(exc):
    """One line saying what went wrong."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning as one line on stderr, as the command's errors are (no source line
    of the library that issued it); the category unless it is a plain UserWarning."""
    kind = "" if category is UserWarning else f" ({category.__name__})"
    print(f"{PROG}: warning: {_message(message)}{kind}", file=sys.stderr)


def _silence_stdout():
    """Point stdout at /dev/null, so flushing it at exit does not raise again (Python docs,
    "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (captured)
        pass


def console_main(argv=None):
    """The ``sklearn-ser`` program (and ``python -m sklearn_ser``): :func:`main`, with
    every warning printed as one line on stderr, as the errors are. :func:`main`
    itself leaves warnings to the caller (``pytest.warns``, ``logging``, filters)."""
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        return main(argv)


def main(argv=None):
    """Run ``sklearn-ser`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    Ctrl-C (``KeyboardInterrupt``) and, while the command runs, SIGTERM stop
    it with the exit code 128 + the signal's number (130, 143), as a shell
    reports a process those signals ended.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else 2
    args.argv = argv  # for a command to print, e.g. the one that resumes training
    received = []
    try:
        with stop_on_sigterm() as received:
            args.stop_signals = received
            return args.run(args)
    except UsageError as exc:
        print(f"{args.parser.prog}: error: {_message(exc)} (see '{args.parser.prog} --help')",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        stopping = signal.SIGTERM if signal.SIGTERM in received else signal.SIGINT
        by = "SIGTERM" if stopping == signal.SIGTERM else "Ctrl-C (SIGINT)"
        print(f"{PROG}: stopped by {by}" + (f"; {exc}" if str(exc) else ""), file=sys.stderr)
        return 128 + stopping
    except BrokenPipeError:  # the reader left, e.g. `sklearn-ser timeline ... | head`
        _silence_stdout()
        return 1
    except (SklearnSerError, CliError, OSError, ValueError, ImportError) as exc:
        if os.environ.get("SKLEARN_SER_DEBUG"):
            raise
        print(f"{PROG}: error: {_message(exc)}", file=sys.stderr)
        return 1
