"""The argument parser: the :class:`Parser` class, argument types and the option
groups every command shares (data, run time). The training options are in
:mod:`._training`.

The choices of ``--dataset`` come from the library
(:data:`sklearn_ser.datasets.DATASETS`), so that the command line and Python
never disagree. Argument types check syntax and signs; the library's own checks
name every other bad value.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import re
from pathlib import Path

from ..datasets import DATASETS, DEMO_DEFAULTS, load_audio_folder
from ..evaluation import parse_cv

__all__ = [
    "FOLDER_EXTENSIONS",
    "PROG",
    "CliError",
    "Parser",
    "UsageError",
    "add_dataset_options",
    "add_runtime_options",
    "cv_name",
    "fraction",
    "non_negative_float",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "usage_errors",
]

PROG = "sklearn-ser"

#: The endings of the audio files a folder holds, when ``--extensions`` is not given:
#: :func:`~sklearn_ser.datasets.load_audio_folder`'s.
FOLDER_EXTENSIONS = inspect.signature(load_audio_folder).parameters["extensions"].default


class UsageError(ValueError):
    """Options that do not fit together: reported like an argparse error, exit code 2."""


class CliError(Exception):
    """A runtime failure with a message meant for the user: exit code 1."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit code 2), and whose
    descriptions keep their paragraphs."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


@contextlib.contextmanager
def usage_errors(options, *, caller=None):
    """Turn a ``ValueError`` of the library that names a parameter into a
    :class:`UsageError` that names its option instead.

    ``options`` maps parameter names to options (``{"chunk_frames":
    "--chunk-frames"}``): ``chunk_frames=2`` and ``cv='group5'`` become
    ``--chunk-frames 2`` and ``--cv group5``, and a bare ``valid_fraction``
    becomes ``--valid-fraction``. The ``"<caller>: "`` that starts the
    library's message (``"build_pipeline: "``) is dropped: the command line
    has no such function. An error that names none of the parameters is
    raised as it is.
    """
    try:
        yield
    except ValueError as exc:
        message = str(exc)
        for name, option in options.items():
            message = re.sub(rf"(?<![\w-]){name}=(?:'([^']*)'|(?=\S))",
                             lambda match, option=option: f"{option} {match[1] or ''}", message)
            if "_" in name:  # an identifier, never a word of the prose
                message = re.sub(rf"(?<![\w-]){name}\b", option, message)
        if message == str(exc):
            raise
        if caller is not None:
            message = message.removeprefix(f"{caller}: ")
        raise UsageError(message) from exc


# -- argument types ------------------------------------------------------------------
def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def positive_float(text):
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite positive number, got {text}")
    return value


def non_negative_float(text):
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def finite_float(text):
    value = float(text)
    if not -float("inf") < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def fraction(text):
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def cv_name(text):
    """``--cv``: an integer k, ``loso`` or ``groupK``, checked by :func:`make_cv`'s rules."""
    try:
        return parse_cv(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


# -- option groups -------------------------------------------------------------------
def add_command(subparsers, name, help_text, description, *, bundle=False):
    """A command's sub-parser with its ``MODEL`` argument, for the commands that
    read a saved model (``predict``, ``timeline``, ``explain``, ``export``);
    with ``bundle=True``, an ONNX bundle may stand for the model."""
    parser = subparsers.add_parser(name, help=help_text, description=description)
    parser.add_argument("model", type=Path, metavar="MODEL",
                        help="saved model (.sser safe format, or a .joblib pickle)"
                             + (", or an ONNX bundle from 'sklearn-ser export'" if bundle else ""))
    return parser


def add_runtime_options(parser, *, threads_default=None):
    group = parser.add_argument_group("run time")
    group.add_argument(
        "--threads", type=positive_int, default=threads_default, metavar="N",
        help="threads of the network: torch's, or onnxruntime's for an ONNX bundle "
             "(default: %s)"
        % ("the library's choice" if threads_default is None else threads_default),
    )
    group.add_argument("-q", "--quiet", action="store_true",
                       help="no progress lines or epoch tables on stderr")


def add_dataset_options(parser):
    group = parser.add_argument_group("data")
    group.add_argument("--dataset", required=True, choices=DATASETS,
                       help="corpus layout: emodb (ROOT/wav/*.wav), cremad (ROOT/AudioWAV), "
                            "ravdess (ROOT/Actor_NN), folder (ROOT/<label>/...), or demo "
                            "(synthetic speech, no ROOT)")
    group.add_argument("--root", type=Path, metavar="PATH",
                       help="the corpus folder (all datasets but demo)")
    group.add_argument("--label", metavar="REGEX",
                       help="folder dataset: regular expression whose first group, searched in "
                            "each file's path relative to ROOT, is the label (default: the "
                            "first folder under ROOT, whatever the nesting below it)")
    group.add_argument("--groups", metavar="REGEX",
                       help="folder dataset: regular expression whose first group, searched in "
                            "each file's path relative to ROOT, is the speaker (needed for "
                            "--cv loso/groupK)")
    group.add_argument("--extensions", nargs="+", metavar="EXT",
                       help="folder dataset: file name endings to load, e.g. .wav .aiff "
                            f"(default: {' '.join(FOLDER_EXTENSIONS)}; audio files with other "
                            "endings are named in a warning)")
    group.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                       help="a corpus file that cannot be decoded or labelled: stop with an "
                            "error naming it, or skip it and name it on stderr "
                            "(default: %(default)s)")
    # default None, so that giving them with another dataset can be refused
    group.add_argument("--n-samples", type=positive_int, default=None, metavar="N",
                       help="demo dataset: number of utterances "
                            f"(default: {DEMO_DEFAULTS['n_samples']})")
    group.add_argument("--n-classes", type=int, default=None, choices=range(2, 8), metavar="K",
                       help="demo dataset: number of emotions, 2-7 "
                            f"(default: {DEMO_DEFAULTS['n_classes']})")
