"""``sklearn-ser timeline``: emotions over time in a long recording, in bounded memory."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..timeline import predict_timeline
from ._console import log, progress, set_threads
from ._model import read_pipeline
from ._output import RowWriter
from ._parser import add_runtime_options, positive_float, usage_errors

DESCRIPTION = """\
Slide a window over a long recording and print, for each window, its start
and end time in seconds, the most probable emotion and the class
probabilities. The file is read block by block (never whole), so memory does
not grow with its length. Each window is classified as one utterance: it is
resampled to the model's rate and put through the saved pipeline."""


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "timeline", help="emotions over time in a long recording", description=DESCRIPTION
    )
    parser.add_argument("model", type=Path, metavar="MODEL",
                        help="saved model (.sser safe format, or a .joblib pickle)")
    parser.add_argument("audio", type=Path, metavar="LONG_AUDIO", help="audio file")
    parser.add_argument("--hop", type=positive_float, default=1.0, metavar="SECONDS",
                        help="time between window starts (default: %(default)s)")
    parser.add_argument("--window", type=positive_float, metavar="SECONDS",
                        help="window length (default: the model's chunk, 3 s for 300 frames)")
    parser.add_argument("--format", choices=("table", "csv"), default="table",
                        help="output format (default: %(default)s)")
    add_runtime_options(parser)
    parser.set_defaults(run=run, parser=parser)


def run(args):
    model = read_pipeline(args.model, args)
    set_threads(args)
    classes = [value.item() if hasattr(value, "item") else value for value in model.classes_]
    # a window too short for the model is the option's fault, when the option was given
    with usage_errors({"window_seconds": "--window"} if args.window else {}):
        rows = predict_timeline(model, args.audio, window_seconds=args.window,
                                hop_seconds=args.hop)
    writer = RowWriter(args.format, ["start", "end"], classes, key_widths=[9, 9])
    started = time.perf_counter()
    n_windows = 0
    writer.header()
    for start, end, proba in rows:
        # NaN probabilities: digital silence with a trim_zeros model, nothing to classify
        label = "(silence)" if np.isnan(proba).all() else classes[int(proba.argmax())]
        writer.row([f"{start:.3f}", f"{end:.3f}"], label, proba)
        n_windows += 1
    if progress(args):
        log(f"timeline: {n_windows} windows in {time.perf_counter() - started:.1f} s")
    return 0
