"""``sklearn-ser train``: fit the pipeline on a whole corpus and save it (joblib or the
safe format)."""

from __future__ import annotations

import time
from pathlib import Path

from ..callbacks import resumable_callbacks
from ..persistence import is_pickle_name, member_names_problem, save
from ._console import progress_to_stderr, set_threads
from ._data import load_data
from ._model import pipeline_from_args
from ._output import check_output_file
from ._parser import UsageError, add_dataset_options, add_model_options, add_runtime_options

DESCRIPTION = """\
Fit Pipeline([LogMel3DTransformer, ADCRNN/ACRNN classifier]) (with --n-seeds N,
a soft vote of N such classifiers) on every file of a corpus and save it for
'sklearn-ser predict' and 'sklearn-ser timeline'. A name ending in .joblib,
.pkl or .pickle (joblib compresses model.joblib.gz, .bz2, ...) gives a joblib
pickle (load only files you trust); any other name (e.g.
model.sser) the non-executable safetensors + JSON format of
sklearn_ser.save_model, safe to load from anyone.

With --checkpoint-dir the state after every epoch (weights, optimizer,
contrastive centers, history) is saved there; after a crash or Ctrl-C, run
the same command with --resume to finish the remaining epochs."""


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
                         "use --seed >= 0 and --n-seeds <= 64, or a .joblib file")


def run(args):
    check_output_file(args.out)
    if args.resume and args.checkpoint_dir is None:
        raise UsageError("--resume needs --checkpoint-dir (the folder of the checkpoint)")
    if args.n_seeds > 1 and args.checkpoint_dir is not None:
        raise UsageError(f"--checkpoint-dir holds one network's training, not the "
                         f"{args.n_seeds} of --n-seeds {args.n_seeds}")
    set_threads(args)
    pipe = pipeline_from_args(args)
    _check_storable(pipe, args.out)
    X, y, _ = load_data(args)
    if args.checkpoint_dir is not None:
        args.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        monitor = "valid_loss_best" if args.valid_fraction else None
        # Checkpointing first: the last checkpoint is written before EarlyStopping
        # can end training in the same on_epoch_end, and it is loaded before the
        # recipe's callbacks look at the history.
        recipe = list(pipe[-1].callbacks or [])
        pipe.set_params(clf__callbacks=resumable_callbacks(
            args.checkpoint_dir, resume=args.resume, monitor=monitor) + recipe)
    start = time.perf_counter()
    with progress_to_stderr():
        pipe.fit(X, y)
    seconds = time.perf_counter() - start
    save(pipe, args.out)
    clf = pipe[-1]
    networks = getattr(clf, "estimators_", [clf])  # a VotingClassifier's, with --n-seeds
    epochs = "/".join(str(len(net.history)) for net in networks)
    what = f"{len(networks)} networks ({args.model}, " if len(networks) > 1 else (
        f"{args.model} (")
    print(
        f"saved {args.out}: {what}{args.width} widths, {args.loss} loss) "
        f"trained on {len(y)} utterances for {epochs} epochs in {seconds:.1f} s; "
        f"classes: {', '.join(map(str, clf.classes_))}"
    )
    return 0
