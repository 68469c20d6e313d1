"""``sklearn-ser predict``: the emotion of each audio file, with class probabilities."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
from sklearn import config_context

from ..datasets import load_audio_folder
from ..exceptions import AudioFileError, InvalidSignalError
from ..features import normalizes_by_speaker
from ..io import open_regular_file
from ..runtime import Bundle
from ..timeline import predict_file, supports_predict_file
from ._console import log, progress, set_threads, strip_name
from ._model import read_model
from ._output import RowWriter
from ._parser import (
    FOLDER_EXTENSIONS,
    PROG,
    CliError,
    UsageError,
    add_command,
    add_runtime_options,
    usage_errors,
)

#: Files put through the pipeline at a time, which bounds the features in memory.
FILES_PER_BATCH = 32
#: Files longer than this (seconds) are read and classified block by block
#: (sklearn_ser.timeline.predict_file): the same probabilities, in bounded memory.
STREAM_SECONDS = 60.0

DESCRIPTION = """\
Predict the emotion of every FILE with a model saved by 'sklearn-ser train' (or
'demo'): per file, the most probable label and the probability of each class
(the mean over the file's chunks). A file longer than a minute is read and
classified block by block, so memory stays bounded whatever its length. A FILE
that is a folder stands for the audio files under it, at any depth, in sorted
order: those a folder corpus loads (--extensions; names starting with a dot are
passed over). A file that cannot be read is named on stderr and skipped; the
others keep their predictions, and the exit code is then 1.

A model trained with --normalize speaker predicts one speaker at a time: give
all of the speaker's files in one command with --same-speaker; they go
through the pipeline together, each read whole.

MODEL is read in the safe format (any name but .joblib/.pkl/.pickle, bare or
compressed as .joblib.gz and such: runs none of the file's content) or, for
those names, unpickled with joblib: load a pickle only if you trust where it
comes from. MODEL may also be an ONNX bundle written by 'sklearn-ser export',
which runs with onnxruntime and gives the same probabilities."""


def add_parser(subparsers):
    parser = add_command(subparsers, "predict", "predict the emotion of audio files",
                         DESCRIPTION, bundle=True)
    parser.add_argument("files", type=Path, nargs="+", metavar="FILE",
                        help="audio files (WAV, FLAC, OGG, ...) or folders of them")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table",
                        help="output format (default: %(default)s)")
    parser.add_argument("--extensions", nargs="+", default=FOLDER_EXTENSIONS, metavar="EXT",
                        help="in a folder, the file name endings to predict; audio files with "
                             f"other endings are named in a warning (default: "
                             f"{' '.join(FOLDER_EXTENSIONS)})")
    parser.add_argument("--same-speaker", action="store_true",
                        help="every FILE is a recording of one speaker: needed by a model "
                             "trained with --normalize speaker, which standardises the files "
                             "with statistics pooled over all of them (give all of the "
                             "speaker's files in one command; each is read whole)")
    add_runtime_options(parser)
    parser.set_defaults(run=run, parser=parser)


def _audio_files(path, extensions):
    """The audio files under the folder ``path``, sorted, as ``path/...`` names."""
    with usage_errors({"extensions": "--extensions"}):
        data = load_audio_folder(path, label=lambda relative: relative, extensions=extensions,
                                 check_files=False)
    root = Path(os.path.abspath(path))
    return [path / Path(name).relative_to(root) for name in data.filenames]


def run(args):
    model = read_model(args.model, args, usage="MODEL FILE...", same_speaker=args.same_speaker)
    paths = []
    for path in args.files:  # before any work, so a typo does not cost a long run
        if not path.exists():
            raise FileNotFoundError(errno.ENOENT, "audio file not found", str(path))
        paths += _audio_files(path, args.extensions) if path.is_dir() else [path]
    by_speaker = not isinstance(model, Bundle) and normalizes_by_speaker(model[0].normalize)
    if args.same_speaker and not by_speaker:
        raise UsageError(f"--same-speaker is for a model trained with --normalize speaker; "
                         f"{args.model} standardises every file with its training statistics")
    if not isinstance(model, Bundle):  # a bundle took --threads when it was loaded
        set_threads(args)
    classes = [value.item() if hasattr(value, "item") else value for value in model.classes_]
    names = [str(path) for path in paths]
    writer = RowWriter(args.format, ["file"], classes,
                       key_widths=[max(len("file"), *map(len, names))])
    writer.header()
    failed = []
    stream = supports_predict_file(model)
    # a speaker's statistics pool all of their files: one batch of them all
    size = max(len(names), 1) if by_speaker else FILES_PER_BATCH
    for first in range(0, len(names), size):
        batch = names[first : first + size]
        if progress(args) and len(names) > size:
            log(f"predict: files {first + 1}-{first + len(batch)} of {len(names)}")
        rows = _predict_speaker(model, batch, failed) if by_speaker \
            else _predict_batch(model, batch, failed, stream=stream)
        for name, row in rows:
            writer.row([name], classes[int(row.argmax())], row)
    writer.close()
    if failed:
        raise CliError(
            f"{len(failed)} of {len(names)} files could not be read, and have no "
            f"prediction: {', '.join(failed)}"
        )
    return 0


def _seconds(name):
    """The length of the audio file ``name`` in seconds, or 0 when its header cannot
    be read (the batch's own reading then names the problem)."""
    import soundfile as sf

    try:
        with open_regular_file(name, what="audio file", error=AudioFileError) as file:
            info = sf.info(file)
        return info.frames / info.samplerate if info.samplerate > 0 else 0.0
    except (AudioFileError, OSError, sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return 0.0


def _predict_batch(model, batch, failed, *, stream):
    """``(file, probabilities)`` of every readable file of ``batch``, in order.

    Files longer than :data:`STREAM_SECONDS` are read block by block with
    ``predict_file`` when ``stream``; the others go through one
    ``predict_proba`` call. An unreadable file makes that call fail; the
    batch is then predicted file by file, so that the other files keep their
    predictions, and each unreadable file is named on stderr and appended to
    ``failed``. Errors that are not about an audio file still stop the run.
    """
    long = {name for name in batch if stream and _seconds(name) > STREAM_SECONDS}
    short = [name for name in batch if name not in long]
    found = {}
    try:
        found.update(zip(short, model.predict_proba(short) if short else (), strict=True))
        short = []
    except (AudioFileError, InvalidSignalError, OSError):
        pass
    for name in batch:
        if name in long or name in short:
            try:
                found[name] = predict_file(model, name) if name in long \
                    else model.predict_proba([name])[0]
            except (AudioFileError, InvalidSignalError, OSError) as exc:
                failed.append(name)
                log(f"{PROG} predict: skipping {name}: {strip_name(exc, name)}")
    return [(name, found[name]) for name in batch if name in found]


def _predict_speaker(model, names, failed):
    """``(file, probabilities)`` of every readable file of ``names``, in order, all
    recordings of one speaker, for a model whose front end has
    ``normalize="speaker"``.

    The files go through one ``predict_proba`` call, so that the speaker's
    statistics pool all of them. When a file cannot be read, each file is
    read on its own to find those that cannot (named on stderr and appended
    to ``failed``), and the speaker's statistics pool the others.
    """
    def predict(files):
        with config_context(enable_metadata_routing=True):
            return model.predict_proba(files, groups=np.zeros(len(files), dtype=int))

    try:
        return list(zip(names, predict(names), strict=True))
    except (AudioFileError, InvalidSignalError, OSError):
        pass
    readable = []
    for name in names:
        try:
            model[0].transform([name], groups=[0])
            readable.append(name)
        except (AudioFileError, InvalidSignalError, OSError) as exc:
            failed.append(name)
            log(f"{PROG} predict: skipping {name}: {strip_name(exc, name)}")
    return list(zip(readable, predict(readable), strict=True)) if readable else []
