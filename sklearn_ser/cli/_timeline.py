"""``sklearn-ser timeline``: emotions over time in a long recording, in bounded memory."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import soundfile as sf

from ..runtime import Bundle
from ..timeline import predict_timeline
from ._console import ProgressLine, log, progress, set_threads
from ._model import read_model
from ._output import RowWriter
from ._parser import add_command, add_runtime_options, positive_float, usage_errors

DESCRIPTION = """\
Slide a window over a long recording and print, for each window, its start
and end time in seconds, the most probable emotion and the class
probabilities. The file is read block by block (never whole), so memory does
not grow with its length. Each window is classified as one utterance: it is
resampled to the model's rate and put through the saved pipeline. Progress on
stderr counts the seconds of the recording done. MODEL may also be an ONNX
bundle written by 'sklearn-ser export'."""


def add_parser(subparsers):
    parser = add_command(subparsers, "timeline", "emotions over time in a long recording",
                         DESCRIPTION, bundle=True)
    parser.add_argument("audio", type=Path, metavar="LONG_AUDIO", help="audio file")
    parser.add_argument("--hop", type=positive_float, default=1.0, metavar="SECONDS",
                        help="time between window starts (default: %(default)s)")
    parser.add_argument("--window", type=positive_float, metavar="SECONDS",
                        help="window length (default: the model's chunk, 3 s for 300 frames)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table",
                        help="output format (default: %(default)s)")
    add_runtime_options(parser)
    parser.set_defaults(run=run, parser=parser)


def run(args):
    model = read_model(args.model, args, usage="MODEL LONG_AUDIO")
    if hasattr(model, "steps"):  # progress in seconds of the recording, not in windows
        model[0].set_params(verbose=0)
    if not isinstance(model, Bundle):  # a bundle took --threads when it was loaded
        set_threads(args)
    classes = [value.item() if hasattr(value, "item") else value for value in model.classes_]
    # a window too short for the model is the option's fault, when the option was given
    with usage_errors({"window_seconds": "--window"} if args.window else {}):
        rows = predict_timeline(model, args.audio, window_seconds=args.window,
                                hop_seconds=args.hop)
    shown = ProgressLine("timeline", sf.info(args.audio).duration, "s of the recording") \
        if progress(args) else None
    writer = RowWriter(args.format, ["start", "end"], classes, key_widths=[9, 9])
    started = time.perf_counter()
    n_windows = 0
    writer.header()
    for start, end, proba in rows:
        # NaN probabilities: digital silence with a trim_zeros model, nothing to classify
        label = None if np.isnan(proba).all() else classes[int(proba.argmax())]
        writer.row([start, end], label, proba)
        n_windows += 1
        if shown is not None:
            shown.update(end)
    writer.close()
    if progress(args):
        log(f"timeline: {n_windows} windows in {time.perf_counter() - started:.1f} s")
    return 0
