"""``sklearn-ser explain``: where the model listened in one recording."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..evaluation import plot_explanation
from ..explain import explain
from ._console import log, progress, set_threads
from ._model import read_pipeline
from ._output import prepare_output_file
from ._parser import UsageError, add_command, add_runtime_options

DESCRIPTION = """\
Predict the emotion of one recording and show where the network's attention
went: a PNG with the static log-Mel channel over time, the attention weight of
every 10 ms frame under it, the chunk boundaries, and each chunk's
probabilities of the most probable classes (--out). With --format json the
numbers go to stdout instead: the prediction, each chunk's start, end and
probabilities, and the attention weight and time of every frame."""


def add_parser(subparsers):
    parser = add_command(subparsers, "explain", "where the model listened in one recording",
                         DESCRIPTION)
    parser.add_argument("audio", type=Path, metavar="FILE", help="audio file")
    parser.add_argument("--out", type=Path, metavar="PNG",
                        help="where to write the figure (needed with --format png)")
    parser.add_argument("--format", choices=("png", "json"), default="png",
                        help="a figure (--out) or the numbers as JSON on stdout "
                             "(default: %(default)s)")
    parser.add_argument("--top-classes", type=int, default=3, metavar="K",
                        help="classes whose chunk probabilities the figure draws "
                             "(default: %(default)s)")
    add_runtime_options(parser)
    parser.set_defaults(run=run, parser=parser)


def _as_json(explanation):
    """The explanation as plain JSON data (labels as their Python values)."""
    def plain(values):
        return [value.item() if hasattr(value, "item") else value for value in values]

    e = explanation
    return {
        "file": e.source,
        "label": plain([e.label])[0],
        "classes": plain(e.classes),
        "proba": e.proba.tolist(),
        "chunks": [{"start": float(start), "end": float(end), "proba": proba.tolist()}
                   for start, end, proba in zip(e.chunk_start, e.chunk_end, e.chunk_proba,
                                                strict=True)],
        "frame_seconds": e.frame_seconds,
        "hop_seconds": e.hop_seconds,
        "frame_times": e.frame_times.round(6).tolist(),
        "attention": e.attention.tolist(),
    }


def run(args):
    if args.format == "png" and args.out is None:
        raise UsageError("--format png writes a figure: give --out figure.png (or use "
                         "--format json for the numbers)")
    if args.top_classes < 1:
        raise UsageError(f"--top-classes must be at least 1, got {args.top_classes}")
    if args.out is not None:
        prepare_output_file(args.out)
    model = read_pipeline(args.model, args, usage="MODEL FILE")
    model[0].set_params(verbose=0)
    set_threads(args)
    explanation = explain(model, args.audio)
    if args.format == "json":
        json.dump(_as_json(explanation), sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    if args.out is not None:
        plot_explanation(explanation, args.out, top_classes=args.top_classes)
        if progress(args):
            log(f"explain: {args.audio.name} is {explanation.label} "
                f"({explanation.proba.max():.2f}); figure written to {args.out}")
    return 0
