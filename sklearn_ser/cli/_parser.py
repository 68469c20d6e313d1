"""The argument parser: the :class:`Parser` class, argument types and option groups.

Every training option's default and choices come from the library
(:data:`sklearn_ser.pipeline.BUILD_DEFAULTS`, the front end's
:data:`sklearn_ser.features.FRONT_END_DEFAULTS`, :data:`~sklearn_ser.pipeline.LOSSES`,
:data:`~sklearn_ser.pipeline.WIDTHS`, :data:`~sklearn_ser.pipeline.SCHEDULES`,
:data:`sklearn_ser.utils.choices.PRECISIONS`, :data:`sklearn_ser.datasets.DATASETS`),
so that the command line and ``build_pipeline`` never disagree. Argument types
check syntax and signs; the library's own checks name every other bad value.
"""

from __future__ import annotations

import argparse
import contextlib
import re
from pathlib import Path

from ..datasets import DATASETS, DEMO_DEFAULTS
from ..evaluation import parse_cv
from ..features import FRONT_END_DEFAULTS
from ..pipeline import BUILD_DEFAULTS, LOSSES, SCHEDULES, WIDTHS
from ..utils.choices import PRECISIONS

__all__ = [
    "PROG",
    "CliError",
    "Parser",
    "UsageError",
    "add_dataset_options",
    "add_model_options",
    "add_precision_option",
    "add_runtime_options",
    "cv_name",
    "fraction",
    "non_negative_float",
    "positive_float",
    "positive_int",
    "schedule_name",
    "usage_errors",
]

PROG = "sklearn-ser"

#: ``--schedule`` names ``build_pipeline``'s ``schedule=None`` "constant".
_CONSTANT = "constant"


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
def usage_errors(options):
    """Turn a ``ValueError`` of the library that names a parameter into a
    :class:`UsageError` that names its option instead.

    ``options`` maps parameter names to options (``{"chunk_frames":
    "--chunk-frames"}``): ``chunk_frames=2`` and ``cv='group5'`` become
    ``--chunk-frames 2`` and ``--cv group5``, and a bare ``valid_fraction``
    becomes ``--valid-fraction``. An error that names none of them is raised
    as it is.
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
        raise UsageError(message) from exc


# -- argument types ------------------------------------------------------------------
def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def non_negative_float(text):
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def fraction(text):
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def cv_name(text):
    """``--cv``: an integer k, ``loso`` or ``groupK``, checked by :func:`speaker_cv`'s rules."""
    try:
        return parse_cv(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def schedule_name(option):
    """``build_pipeline``'s ``schedule`` for a ``--schedule`` choice."""
    return None if option == _CONSTANT else option


def _schedule_option(schedule):
    return _CONSTANT if schedule is None else schedule


# -- option groups -------------------------------------------------------------------
def add_runtime_options(parser, *, threads_default=None):
    group = parser.add_argument_group("run time")
    group.add_argument(
        "--threads", type=positive_int, default=threads_default, metavar="N",
        help="torch threads (default: %s)"
        % ("torch's choice" if threads_default is None else threads_default),
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
                            "(default: .wav .flac .ogg; audio files with other endings are "
                            "named in a warning)")
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


def add_precision_option(parser):
    parser.add_argument("--precision", choices=PRECISIONS, default=BUILD_DEFAULTS["precision"],
                        help="arithmetic of the network: auto trains under bfloat16 autocast "
                             "where the device computes it natively (CUDA with bf16, CPUs with "
                             "AVX512-BF16 or AMX), float32 elsewhere; float32 gives the same "
                             "arithmetic on every machine (default: %(default)s)")


def add_model_options(parser):
    """The options of ``build_pipeline``, with its defaults."""
    widths = tuple(dict.fromkeys(width for model in WIDTHS.values() for width in model))
    hop_seconds = FRONT_END_DEFAULTS["hop_seconds"]
    chunk_seconds = FRONT_END_DEFAULTS["chunk_frames"] * hop_seconds
    group = parser.add_argument_group("model and training")
    group.add_argument("--model", choices=tuple(WIDTHS), default=BUILD_DEFAULTS["model"],
                       help="ADCRNN (Pham et al. 2020) or the ACRNN baseline (Chen et al. "
                            "2018) (default: %(default)s)")
    group.add_argument("--loss", choices=LOSSES, default=BUILD_DEFAULTS["loss"],
                       help="auxiliary loss added to cross-entropy (default: %(default)s)")
    group.add_argument("--aux-weight", type=non_negative_float,
                       default=BUILD_DEFAULTS["aux_weight"], metavar="W",
                       help="weight of the auxiliary loss (default: %(default)s)")
    group.add_argument("--width", choices=widths, default=BUILD_DEFAULTS["width"],
                       help="layer widths: the published ones, or smaller for a CPU "
                            "(default: %(default)s)")
    group.add_argument("--epochs", type=positive_int, default=BUILD_DEFAULTS["epochs"],
                       metavar="E", help="training epochs (default: %(default)s)")
    group.add_argument("--lr", type=positive_float, default=BUILD_DEFAULTS["lr"],
                       help="Adam learning rate (default: %(default)s, the paper's)")
    group.add_argument("--batch-size", type=positive_int, default=BUILD_DEFAULTS["batch_size"],
                       metavar="B", help="chunks per batch (default: %(default)s)")
    group.add_argument("--chunk-frames", type=positive_int,
                       default=FRONT_END_DEFAULTS["chunk_frames"], metavar="F",
                       help=f"frames ({hop_seconds * 1000:g} ms) per chunk (default: "
                            f"%(default)s, i.e. {chunk_seconds:g} s)")
    group.add_argument("--chunk-hop", type=positive_int,
                       default=FRONT_END_DEFAULTS["chunk_hop_frames"], metavar="H",
                       help="frames between chunk starts; less than --chunk-frames overlaps "
                            "them (default: --chunk-frames)")
    group.add_argument("--valid-fraction", type=fraction,
                       default=BUILD_DEFAULTS["valid_fraction"], metavar="P",
                       help="share of the training utterances held out to print a validation "
                            "loss and accuracy per epoch; 0 trains on all (default: %(default)s)")
    group.add_argument("--schedule", choices=tuple(map(_schedule_option, SCHEDULES)),
                       default=_schedule_option(BUILD_DEFAULTS["schedule"]),
                       help="learning rate: constant, or cosine annealing to lr/100 over the "
                            "epochs (default: %(default)s)")
    group.add_argument("--patience", type=positive_int, default=BUILD_DEFAULTS["patience"],
                       metavar="P",
                       help="stop when the validation loss has not improved for P epochs and "
                            "keep its best epoch (needs --valid-fraction > 0; default: off)")
    group.add_argument("--augment", action="store_true", default=BUILD_DEFAULTS["augment"],
                       help="SpecAugment: mask random time and Mel bands of training batches")
    group.add_argument("--trim-zeros", action="store_true",
                       default=FRONT_END_DEFAULTS["trim_zeros"],
                       help="drop each file's leading and trailing digital silence (samples "
                            "exactly 0) before resampling")
    group.add_argument("--no-shuffle", dest="shuffle", action="store_false",
                       default=BUILD_DEFAULTS["shuffle"],
                       help="keep the training chunks in file order, the same batches every "
                            "epoch (default: a new random order every epoch)")
    add_precision_option(group)
    group.add_argument("--seed", type=int, default=BUILD_DEFAULTS["seed"],
                       help="seed of the weights, shuffling and folds (default: %(default)s)")
    group.add_argument("--n-seeds", type=positive_int, default=BUILD_DEFAULTS["n_seeds"],
                       metavar="N",
                       help="train N networks, seeded SEED to SEED+N-1, and predict from the "
                            "mean of their probabilities (soft voting; N times the training; "
                            "default: %(default)s)")
