"""``sklearn-ser predict``: the emotion of each audio file, with class probabilities."""

from __future__ import annotations

import errno
import json
from pathlib import Path

from ._common import RowWriter, add_runtime_options, load_model, log, progress, set_threads

#: Files put through the pipeline at a time, which bounds the features in memory.
FILES_PER_BATCH = 32

DESCRIPTION = """\
Predict the emotion of every FILE with a model saved by 'sklearn-ser train' (or
'demo'): per file, the most probable label and the probability of each class
(the mean over the file's 3-s chunks). A saved model is a pickle: load only
files you trust."""


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "predict", help="predict the emotion of audio files", description=DESCRIPTION
    )
    parser.add_argument("model", type=Path, metavar="MODEL", help="saved model (.joblib)")
    parser.add_argument("files", type=Path, nargs="+", metavar="FILE",
                        help="audio files (WAV, FLAC, OGG, ...)")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table",
                        help="output format (default: %(default)s)")
    add_runtime_options(parser)
    parser.set_defaults(run=run, parser=parser)


def run(args):
    model = load_model(args.model)
    for path in args.files:  # before any work, so a typo does not cost a long run
        if not path.exists():
            raise FileNotFoundError(errno.ENOENT, "audio file not found", str(path))
    set_threads(args)
    classes = [value.item() if hasattr(value, "item") else value for value in model.classes_]
    names = [str(path) for path in args.files]
    writer = RowWriter(args.format, ["file"], classes,
                       key_widths=[max(len("file"), *map(len, names))])
    if args.format != "json":
        writer.header()
    records = []
    for first in range(0, len(names), FILES_PER_BATCH):
        batch = names[first : first + FILES_PER_BATCH]
        if progress(args) and len(names) > FILES_PER_BATCH:
            log(f"predict: files {first + 1}-{first + len(batch)} of {len(names)}")
        proba = model.predict_proba(batch)
        for name, row in zip(batch, proba, strict=True):
            label = classes[int(row.argmax())]
            if args.format == "json":
                records.append({
                    "file": name,
                    "label": label,
                    "probabilities": dict(zip(map(str, classes), map(float, row), strict=True)),
                })
            else:
                writer.row([name], label, row)
    if args.format == "json":
        print(json.dumps(records, indent=2))
    return 0
