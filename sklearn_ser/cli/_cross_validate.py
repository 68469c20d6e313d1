"""``sklearn-ser cross-validate``: accuracy, UAR and per-class recall over folds."""

from __future__ import annotations

from pathlib import Path

from ..evaluation import cross_validate_report, format_report, make_cv
from ._console import check_not_terminated, progress, progress_to_stderr, set_threads
from ._data import fit_speakers, load_data
from ._output import options_of, prepare_output_folder, write_report
from ._parser import UsageError, add_dataset_options, add_runtime_options, cv_name, usage_errors
from ._progress import add_progress_callbacks, log_training, recipe_text
from ._training import add_model_options, pipeline_from_args, random_state, training_settings

DESCRIPTION = """\
Cross-validate a model on a corpus: each fold fits the front end's
normalisation and the network on the training part only and scores the test
part. Prints accuracy and UAR per fold, their mean and standard deviation, and
the recall of every class.

--cv k is a stratified shuffled k-fold (the paper's protocol; a speaker's
utterances fall on both sides); --cv loso leaves one speaker out per fold and
--cv groupK is a stratified k-fold over whole speakers (both speaker-independent,
and lower).

--recipe names every training setting; a flag given overrides its value.
Ctrl-C or SIGTERM stops the run (exit code 130 or 143); no report is written."""


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "cross-validate", help="cross-validate a model on a corpus", description=DESCRIPTION
    )
    add_dataset_options(parser)
    add_model_options(parser)
    group = parser.add_argument_group("evaluation")
    group.add_argument("--cv", type=cv_name, default="group5", metavar="{5,10,loso,group5,...}",
                       help="folds: k (stratified k-fold), loso (leave one speaker out) or "
                            "groupK (k folds of whole speakers) (default: %(default)s)")
    group.add_argument("--output", metavar="DIR",
                       help="write report.json and confusion_matrix.png into DIR")
    add_runtime_options(parser)
    parser.set_defaults(run=run, parser=parser)


def run(args):
    set_threads(args)
    pipe = pipeline_from_args(args)  # its usage errors before the corpus is read
    X, y, groups = load_data(args)
    # the speakers reach the front end by scikit-learn's metadata routing
    routing, _ = fit_speakers(training_settings(args), groups)
    if groups is None and isinstance(args.cv, str):
        raise UsageError(
            f"--cv {args.cv} splits by speaker, but the files have no speaker groups: pass "
            "--groups REGEX (folder dataset) or use a plain k-fold such as --cv 5"
        )
    seed = random_state(args)
    with usage_errors({"cv": "--cv"}):  # enough speakers: checked before any folder is made
        n_folds = make_cv(args.cv, groups, random_state=seed).get_n_splits(X, y, groups)
    if args.output:  # after the usage checks, before the training
        prepare_output_folder(args.output)
    log_training(args, pipe, y, groups, what=f"cross-validating ({n_folds} folds)",
                 recipe=recipe_text(args))
    add_progress_callbacks(pipe, args, fits=n_folds, fits_text=f"{n_folds} folds")
    try:
        with progress_to_stderr(), routing:
            report = cross_validate_report(pipe, X, y, groups=groups, cv=args.cv,
                                           random_state=seed, verbose=int(progress(args)))
        check_not_terminated(args)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"no report written to {args.output}" if args.output
                                else "") from None
    print(format_report(report))
    if args.output:
        # test_index points into this list (the demo corpus is arrays: no names)
        files = [str(x) for x in X] if all(isinstance(x, (str, Path)) for x in X) else None
        extra = {"options": options_of(args), "training": training_settings(args),
                 "files": files}
        written = write_report(report, args.output, extra=extra)
        print("wrote " + ", ".join(str(path) for path in written))
    return 0
