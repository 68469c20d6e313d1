"""``sklearn-ser train``: fit the pipeline on a whole corpus and save it with joblib."""

from __future__ import annotations

import time
from pathlib import Path

from ._common import (
    add_dataset_options,
    add_model_options,
    add_runtime_options,
    check_output_file,
    load_dataset,
    pipeline_from_args,
    progress_to_stderr,
    save_model,
    set_threads,
)

DESCRIPTION = """\
Fit Pipeline([LogMel3DTransformer, ADCRNN/ACRNN classifier]) on every file of a
corpus and save it with joblib, for 'sklearn-ser predict' and 'sklearn-ser
timeline' (or joblib.load in Python). A saved model is a pickle: load only
files you trust."""


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "train", help="train a model on a corpus and save it", description=DESCRIPTION
    )
    add_dataset_options(parser)
    add_model_options(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="MODEL",
                        help="where to save the fitted pipeline, e.g. model.joblib")
    add_runtime_options(parser)
    parser.set_defaults(run=run, parser=parser)


def run(args):
    check_output_file(args.out)
    set_threads(args)
    X, y, _ = load_dataset(args)
    pipe = pipeline_from_args(args)
    start = time.perf_counter()
    with progress_to_stderr():
        pipe.fit(X, y)
    seconds = time.perf_counter() - start
    save_model(pipe, args.out)
    clf = pipe[-1]
    print(
        f"saved {args.out}: {args.model} ({args.width} widths, {args.loss} loss) trained on "
        f"{len(y)} utterances for {len(clf.history)} epochs in {seconds:.1f} s; "
        f"classes: {', '.join(map(str, clf.classes_))}"
    )
    return 0
