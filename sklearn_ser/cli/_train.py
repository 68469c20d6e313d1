"""``sklearn-ser train``: fit the pipeline on a whole corpus and save it (joblib or the
safe format)."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import numpy as np

from ..callbacks import resumable_callbacks
from ..persistence import is_pickle_name, member_names_problem
from ._console import check_not_terminated, progress_to_stderr, set_threads
from ._data import fit_speakers, load_data
from ._output import prepare_output_file, save_whole
from ._parser import PROG, UsageError, add_dataset_options, add_runtime_options
from ._progress import (
    add_progress_callbacks,
    log_training,
    networks,
    recipe_text,
    remove_progress_callbacks,
)
from ._training import add_model_options, pipeline_from_args, training_settings

DESCRIPTION = """\
Fit Pipeline([LogMel3DTransformer, ADCRNN/ACRNN classifier]) (with --n-seeds N,
a soft vote of N such classifiers) on every file of a corpus and save it for
'sklearn-ser predict' and 'sklearn-ser timeline'. A name ending in .joblib,
.pkl or .pickle (joblib compresses model.joblib.gz, .bz2, ...) gives a joblib
pickle (load only files you trust); any other name (e.g.
model.sser) the non-executable safetensors + JSON format of
sklearn_ser.save_model, safe to load from anyone. The folder of --out is
created, and checked to be writable, before training.

--recipe names every training setting; a flag given overrides its value.
Every recipe trains on all the files (--valid-fraction 0).

With --normalize speaker, each speaker's files are standardised with their
pooled statistics (the corpus needs speaker groups: --groups for a folder),
and the model predicts one speaker's files at a time, all of them in one
'sklearn-ser predict --same-speaker'.

Ctrl-C or SIGTERM stops the training (exit code 130 or 143) and writes no
model: a file already at --out stays as it was. With --checkpoint-dir the
state after every epoch (weights, optimizer, contrastive centers, history) is
saved there, and the command that resumes is printed."""


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "train", help="train a model on a corpus and save it", description=DESCRIPTION
    )
    add_dataset_options(parser)
    add_model_options(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="MODEL",
                        help="where to save the fitted pipeline: model.joblib (pickle) or "
                             "model.sser (safe format)")
    parser.add_argument("--checkpoint-dir", type=Path, metavar="DIR",
                        help="save a checkpoint after every epoch in DIR")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the checkpoint in --checkpoint-dir")
    add_runtime_options(parser)
    parser.set_defaults(run=run, parser=parser)


def _check_storable(pipe, out):
    """Refuse before training an ensemble the safe format cannot name (seed < 0, > 64 nets)."""
    members = getattr(pipe[-1], "estimators", None)
    if members is None or is_pickle_name(out):
        return
    problem = member_names_problem([name for name, _ in members])
    if problem:
        raise UsageError(f"--out {out}: the safe format cannot hold this ensemble ({problem}); "
                         "use --random-state >= 0 and --n-seeds <= 64, or a .joblib file")


def _held_out(pipe, y):
    """How many utterances the validation split holds out (before training, so that a
    class too small for it is named at once)."""
    net = networks(pipe)[0]
    if net.train_split is None:
        return 0
    _, (_, valid) = net.split_utterances(np.asarray(y))
    return 0 if valid is None else len(valid)


def _add_checkpoints(pipe, args, settings):
    args.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    monitor = "valid_loss_best" if settings["valid_fraction"] else None
    # Checkpointing first: the last checkpoint is written before EarlyStopping
    # can end training in the same on_epoch_end, and it is loaded before the
    # recipe's callbacks look at the history.
    recipe = list(pipe[-1].callbacks or [])
    pipe.set_params(clf__callbacks=resumable_callbacks(
        args.checkpoint_dir, resume=args.resume, monitor=monitor) + recipe)


def _stopped_note(args):
    """What an interrupted run leaves, and the command that goes on from its checkpoint."""
    note = f"no model written to {args.out}"
    if args.checkpoint_dir is None:
        return note
    argv = args.argv if "--resume" in args.argv else [*args.argv, "--resume"]
    return (f"{note}; the checkpoint in {args.checkpoint_dir} keeps the last complete "
            f"epoch; to go on from it, run:\n  {shlex.join([PROG, *argv])}")


def run(args):
    if args.resume and args.checkpoint_dir is None:
        raise UsageError("--resume needs --checkpoint-dir (the folder of the checkpoint)")
    settings = training_settings(args)
    n_seeds = settings["n_seeds"]
    if n_seeds > 1 and args.checkpoint_dir is not None:
        raise UsageError(f"--checkpoint-dir holds one network's training, not the "
                         f"{n_seeds} of --n-seeds {n_seeds}")
    set_threads(args)
    pipe = pipeline_from_args(args)
    _check_storable(pipe, args.out)
    prepare_output_file(args.out)
    try:
        X, y, groups = load_data(args)
        speakers, fit_params = fit_speakers(settings, groups)
        n_valid = _held_out(pipe, y)
        if args.checkpoint_dir is not None:
            _add_checkpoints(pipe, args, settings)
        log_training(args, pipe, y, groups, what="training", recipe=recipe_text(args))
        add_progress_callbacks(pipe, args)
        start = time.perf_counter()
        with progress_to_stderr(), speakers:
            pipe.fit(X, y, **fit_params)
        check_not_terminated(args)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(_stopped_note(args)) from None
    seconds = time.perf_counter() - start
    remove_progress_callbacks(pipe)
    save_whole(pipe, args.out)
    clf = pipe[-1]
    fitted = getattr(clf, "estimators_", [clf])  # a VotingClassifier's, with --n-seeds
    epochs = "/".join(str(len(net.history)) for net in fitted)
    model, loss = settings["model"], settings["loss"] or "no auxiliary"
    what = f"{len(fitted)} networks ({model}, " if len(fitted) > 1 else f"{model} ("
    print(
        f"saved {args.out}: {what}{settings['width']} widths, {loss} loss) trained on "
        f"{len(y) - n_valid} utterances ({n_valid} held out for validation) for {epochs} "
        f"epochs in {seconds:.1f} s; classes: {', '.join(map(str, clf.classes_))}"
    )
    return 0
