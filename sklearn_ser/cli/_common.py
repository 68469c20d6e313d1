"""What the commands share: the parser, option groups, model presets, data, output."""

from __future__ import annotations

import argparse
import contextlib
import csv
import errno
import json
import os
import re
import sys
import zipfile
from pathlib import Path

import numpy as np

from ..persistence._format import PICKLE_SUFFIXES, is_pickle_name
from ..pipeline import LOSSES, WIDTHS, build_pipeline

PROG = "sklearn-ser"

DATASETS = ("emodb", "cremad", "ravdess", "folder", "demo")


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
    from ..evaluation._splits import parse_cv

    try:
        return parse_cv(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


# -- option groups -------------------------------------------------------------
def add_runtime_options(parser, *, threads_default=None):
    group = parser.add_argument_group("run time")
    group.add_argument(
        "--threads", type=positive_int, default=threads_default, metavar="N",
        help="torch threads (default: %s)"
        % ("torch's choice" if threads_default is None else threads_default),
    )
    group.add_argument("-q", "--quiet", action="store_true",
                       help="no progress lines or epoch tables on stderr")


#: ``--n-samples`` and ``--n-classes`` of ``--dataset demo`` when not given.
DEMO_SIZE = (240, 4)


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
                       help=f"demo dataset: number of utterances (default: {DEMO_SIZE[0]})")
    group.add_argument("--n-classes", type=int, default=None, choices=range(2, 8), metavar="K",
                       help=f"demo dataset: number of emotions, 2-7 (default: {DEMO_SIZE[1]})")


def add_precision_option(parser):
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="auto",
                        help="arithmetic of the network: auto trains under bfloat16 autocast "
                             "where the device computes it natively (CUDA with bf16, CPUs with "
                             "AVX512-BF16 or AMX), float32 elsewhere; float32 gives the same "
                             "arithmetic on every machine (default: %(default)s)")


def add_model_options(parser):
    group = parser.add_argument_group("model and training")
    group.add_argument("--model", choices=tuple(WIDTHS), default="adcrnn",
                       help="ADCRNN (Pham et al. 2020) or the ACRNN baseline (Chen et al. "
                            "2018) (default: %(default)s)")
    group.add_argument("--loss", choices=LOSSES, default="contrastive-center",
                       help="auxiliary loss added to cross-entropy (default: %(default)s)")
    group.add_argument("--aux-weight", type=non_negative_float, default=1.0, metavar="W",
                       help="weight of the auxiliary loss (default: %(default)s)")
    group.add_argument("--width", choices=tuple(WIDTHS["adcrnn"]), default="paper",
                       help="layer widths: the published ones, or smaller for a CPU "
                            "(default: %(default)s)")
    group.add_argument("--epochs", type=positive_int, default=30, metavar="E",
                       help="training epochs (default: %(default)s)")
    group.add_argument("--lr", type=positive_float, default=1e-4,
                       help="Adam learning rate (default: %(default)s, the paper's)")
    group.add_argument("--batch-size", type=positive_int, default=32, metavar="B",
                       help="chunks per batch (default: %(default)s)")
    group.add_argument("--chunk-frames", type=positive_int, default=300, metavar="F",
                       help="frames (10 ms) per chunk (default: %(default)s, i.e. 3 s)")
    group.add_argument("--chunk-hop", type=positive_int, default=None, metavar="H",
                       help="frames between chunk starts; less than --chunk-frames overlaps "
                            "them (default: --chunk-frames)")
    group.add_argument("--valid-fraction", type=fraction, default=0.2, metavar="P",
                       help="share of the training utterances held out to print a validation "
                            "loss and accuracy per epoch; 0 trains on all (default: %(default)s)")
    group.add_argument("--schedule", choices=("constant", "cosine"), default="constant",
                       help="learning rate: constant, or cosine annealing to lr/100 over the "
                            "epochs (default: %(default)s)")
    group.add_argument("--patience", type=positive_int, default=None, metavar="P",
                       help="stop when the validation loss has not improved for P epochs and "
                            "keep its best epoch (needs --valid-fraction > 0; default: off)")
    group.add_argument("--augment", action="store_true",
                       help="SpecAugment: mask random time and Mel bands of training batches")
    group.add_argument("--trim-zeros", action="store_true",
                       help="drop each file's leading and trailing digital silence (samples "
                            "exactly 0) before resampling")
    group.add_argument("--no-shuffle", dest="shuffle", action="store_false",
                       help="keep the training chunks in file order, the same batches every "
                            "epoch (how results before session 8 were trained; default: a new "
                            "random order every epoch)")
    add_precision_option(group)
    group.add_argument("--seed", type=int, default=0,
                       help="seed of the weights, shuffling and folds (default: %(default)s)")
    group.add_argument("--n-seeds", type=positive_int, default=1, metavar="N",
                       help="train N networks, seeded SEED to SEED+N-1, and predict from the "
                            "mean of their probabilities (soft voting; N times the training; "
                            "default: %(default)s)")


# -- model and data ----------------------------------------------------------------
def set_threads(args):
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)


def pipeline_from_args(args):
    if args.patience and not args.valid_fraction:
        raise UsageError(
            f"--patience {args.patience} watches the validation loss: give --valid-fraction > 0 "
            "(early stopping never looks at the test fold)"
        )
    try:
        return build_pipeline(
            model=args.model, width=args.width, loss=args.loss, aux_weight=args.aux_weight,
            epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
            chunk_frames=args.chunk_frames, chunk_hop_frames=args.chunk_hop,
            valid_fraction=args.valid_fraction,
            schedule=None if args.schedule == "constant" else args.schedule,
            patience=args.patience, augment=args.augment, trim_zeros=args.trim_zeros,
            shuffle=args.shuffle, precision=args.precision, seed=args.seed,
            n_seeds=args.n_seeds, verbose=int(progress(args)),
        )
    except ValueError as exc:  # chunks too short for the network: an option, exit 2
        if "chunk_frames=" not in str(exc):
            raise
        raise UsageError(str(exc).replace("chunk_frames=", "--chunk-frames ")) from exc


def load_dataset(args):
    """``(X, y, groups)`` for the ``--dataset`` options; X holds paths or waveforms."""
    from .. import datasets

    for option in ("label", "groups"):
        pattern = getattr(args, option, None)
        if pattern is None:
            continue
        if args.dataset != "folder":
            raise UsageError(f"--{option} applies to --dataset folder only")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise UsageError(f"--{option} {pattern!r} is not a valid regular expression: "
                             f"{exc}") from exc
    if getattr(args, "extensions", None) is not None:
        if args.dataset != "folder":
            raise UsageError("--extensions applies to --dataset folder only")
        bad = [ext for ext in args.extensions if not ext.startswith(".")]
        if bad:
            raise UsageError(f"--extensions takes endings that start with a dot, e.g. "
                             f".{bad[0]}; got {' '.join(bad)}")
    if args.dataset == "demo":
        if args.root is not None:
            raise UsageError("--root does not apply to --dataset demo (synthetic speech, made "
                             "in memory)")
        if getattr(args, "on_error", "raise") != "raise":
            raise UsageError("--on-error applies to a corpus (--root), not to --dataset demo")
        if args.n_samples is None:
            args.n_samples = DEMO_SIZE[0]
        if args.n_classes is None:
            args.n_classes = DEMO_SIZE[1]
        X, y, groups = datasets.make_emotional_speech(
            args.n_samples, n_classes=args.n_classes, random_state=args.seed
        )
        what = f"{len(y)} synthetic utterances of 2 s"
    else:
        for option in ("n_samples", "n_classes"):
            if getattr(args, option, None) is not None:
                raise UsageError(f"--{option.replace('_', '-')} applies to --dataset demo only")
        if args.root is None:
            raise UsageError(f"--dataset {args.dataset} needs --root PATH, the corpus folder")
        on_error = getattr(args, "on_error", "raise")
        if args.dataset == "folder":
            extensions = {} if args.extensions is None else {"extensions": args.extensions}
            data = datasets.load_audio_folder(args.root, label=args.label, groups=args.groups,
                                              on_error=on_error, **extensions)
        else:
            loader = {"emodb": datasets.load_emodb, "cremad": datasets.load_cremad,
                      "ravdess": datasets.load_ravdess}[args.dataset]
            data = loader(args.root, on_error=on_error)
        for path, reason in data.skipped:  # always shown: these files are not trained on
            log(f"{PROG}: skipping {path}: {strip_name(reason, path)}")
        X, y, groups = data.filenames, data.target, data.groups
        skipped = f" ({len(data.skipped)} skipped)" if data.skipped else ""
        what = f"{len(y)} files from {args.root}{skipped}"
    if progress(args):
        speakers = "no speaker groups" if groups is None else f"{len(np.unique(groups))} speakers"
        log(f"{args.dataset}: {what}, {len(np.unique(y))} labels, {speakers}")
    return X, y, groups


#: First bytes of a pickle (protocol >= 2) and of joblib's compressed files.
_PICKLE_MAGIC = (b"\x80", b"\x78", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x5d\x00\x00")


def save_model(model, path):
    """Save as a joblib pickle (``.joblib``/``.pkl``/``.pickle``, compressed when
    followed by ``.gz`` and such) or, for any other name, in the non-executable
    safetensors + JSON format of :func:`sklearn_ser.save_model`."""
    path = check_output_file(path)
    if is_pickle_name(path):
        import joblib

        joblib.dump(model, path)
    else:
        from .. import save_model as save_safe

        save_safe(model, path)
    return path


def check_output_file(path):
    """Fail before a long run, not after it, when ``path`` cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise CliError(
            f"{path} is a folder; give the file name to write, e.g. {path / 'model.joblib'}"
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(
            errno.ENOENT, "folder of the output file not found", str(path.parent)
        )
    return path


def prepare_output_folder(path):
    """Create the ``--output`` folder ``path`` (and its parents) before a long run,
    so a file in the way or a folder that cannot be written fails now, not after
    the training (which would lose the report)."""
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise CliError(f"--output {path} is a broken symbolic link; give a folder to write "
                       "the report into")
    if path.exists() and not path.is_dir():
        raise CliError(f"--output {path} is a file; give a folder to write the report into")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create the --output folder {path}: "
                       f"{exc.strerror or exc}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise CliError(f"cannot write into the --output folder {path}: permission denied")
    return path


def _starts_like_a_pickle(path):
    """Whether ``path`` begins like a pickle (protocol 2 and later) or like one of
    joblib's compressed files (zlib, gzip, bz2, xz, lzma)."""
    with contextlib.suppress(OSError), open(path, "rb") as file:
        return file.read(6).startswith(_PICKLE_MAGIC)
    return False


def load_model(path, args=None):
    """The fitted pipeline saved in ``path``, or a :class:`CliError` naming the file.

    Only a file named like a pickle (:func:`is_pickle_name`, the names
    :func:`save_model` pickles to) is ever unpickled, and only when it is not
    a zip; every other name goes to the safe loader, which runs none of the
    file's content, so a pickle renamed ``model.sser`` is refused, not run.
    With the command's ``args``, the front end's progress lines follow this
    command's ``--quiet``, not the ``verbose`` the model was trained with.
    """
    from ..features import LogMel3DTransformer

    model = _load_model(path)
    steps = getattr(model, "steps", None)
    if not steps or not isinstance(steps[0][1], LogMel3DTransformer):
        raise CliError(
            f"model file {path} holds a {type(model).__name__} without a LogMel3DTransformer "
            "first, so it cannot take audio files: save a Pipeline of the front end and the "
            f"classifier, as '{PROG} train' does"
        )
    if args is not None:
        steps[0][1].set_params(verbose=int(progress(args)))
    return model


def _load_model(path):
    import joblib

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "model file not found", str(path))
    if path.is_dir():
        raise CliError(f"model file {path} is a folder, not a saved model")
    if not is_pickle_name(path) or zipfile.is_zipfile(path):
        from .. import load_model as load_safe

        if not zipfile.is_zipfile(path) and _starts_like_a_pickle(path):
            raise CliError(
                f"model file {path} is not in the safe format; it looks like a pickle "
                f"(joblib.dump), which '{PROG}' unpickles only from a name ending in "
                f"{', '.join(PICKLE_SUFFIXES)} (then optionally .gz, .bz2, ...): rename it "
                "so, and only if you trust where it comes from"
            )
        return load_safe(path)
    try:
        model = joblib.load(path)
    except Exception as exc:  # unpickling can fail in many ways; all mean "not a model"
        raise CliError(
            f"cannot load model file {path} (is it a model saved by '{PROG} train'?): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not (hasattr(model, "predict_proba") and hasattr(model, "classes_")):
        raise CliError(
            f"model file {path} holds a {type(model).__name__}, not a fitted classifier; "
            f"save one with '{PROG} train'"
        )
    return model


# -- output ----------------------------------------------------------------------
class RowWriter:
    """Stream rows of ``key columns + label + one probability per class`` as a table or CSV."""

    def __init__(self, fmt, keys, classes, *, key_widths=None, stream=None):
        self.fmt = fmt
        self.keys = list(keys)
        self.classes = [str(name) for name in classes]
        self.stream = stream or sys.stdout
        self.key_widths = key_widths or [len(key) for key in self.keys]
        self.label_width = max(len("label"), *(len(name) for name in self.classes))
        self.csv = csv.writer(self.stream, lineterminator="\n") if fmt == "csv" else None

    def header(self):
        if self.csv:
            self.csv.writerow([*self.keys, "label", *self.classes])
            return
        cells = [f"{key:<{width}}" for key, width in zip(self.keys, self.key_widths, strict=True)]
        cells.append(f"{'label':<{self.label_width}}")
        cells += [f"{name:>{max(len(name), 5)}}" for name in self.classes]
        print("  ".join(cells).rstrip(), file=self.stream)

    def row(self, keys, label, proba):
        if self.csv:
            self.csv.writerow([*keys, label, *(repr(float(p)) for p in proba)])
            return
        cells = [f"{key:<{width}}" for key, width in zip(keys, self.key_widths, strict=True)]
        cells.append(f"{label!s:<{self.label_width}}")
        cells += [
            f"{p:>{max(len(name), 5)}.3f}" for p, name in zip(proba, self.classes, strict=True)
        ]
        print("  ".join(cells).rstrip(), file=self.stream, flush=True)


def write_report(report, output, *, extra=None):
    """Write ``report.json`` and ``confusion_matrix.png`` into ``output``; return the paths."""
    from ..evaluation import plot_confusion_matrix

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    path = output / "report.json"
    path.write_text(json.dumps({**(extra or {}), **report}, indent=2) + "\n")
    written = [path]
    try:
        written.append(
            plot_confusion_matrix(report["confusion_matrix"], report["labels"],
                                  output / "confusion_matrix.png")
        )
    except ImportError as exc:
        log(f"skipping confusion_matrix.png: {exc}")
    return written


def options_of(args):
    """The parsed options as JSON-ready values, for a report's record of how it was made."""
    return {
        name: str(value) if isinstance(value, Path) else value
        for name, value in vars(args).items()
        if name not in ("run", "parser")
    }
