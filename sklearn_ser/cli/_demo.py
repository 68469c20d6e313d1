"""``sklearn-ser demo``: a small ADCRNN learns synthetic emotional speech in about a minute."""

from __future__ import annotations

import time
from pathlib import Path

from sklearn.base import clone

from ..datasets import DEMO_DEFAULTS, load_dataset
from ..evaluation import cross_validate_report, format_report, plot_log_mel_3d
from ..pipeline import BUILD_DEFAULTS, build_pipeline
from ._console import log, progress, progress_to_stderr
from ._output import options_of, prepare_output_folder, save_whole, write_report
from ._parser import UsageError, add_runtime_options, positive_int
from ._progress import add_progress_callbacks, log_training, remove_progress_callbacks
from ._training import add_training_flag

#: The demo's preset over the paper's recipe (a constant learning rate, no
#: augmentation): every layer of Table 1 at 1/16 to 1/4 of its width (19 k
#: instead of 4.6 M parameters), 2-s clips as one 200-frame chunk each, and a
#: learning rate raised for the short run.
DEMO_RECIPE = "paper"
DEMO_MODEL = dict(
    model="adcrnn", width="tiny", dropout=0.3, loss="contrastive-center", aux_weight=1.0,
    lr=3e-3, batch_size=32, chunk_frames=200, valid_fraction=0.0, max_epochs=15,
    precision="auto",
)
MODEL_FILE = "demo_model.sser"
N_CLASSES = DEMO_DEFAULTS["n_classes"]
N_SPEAKERS = DEMO_DEFAULTS["n_speakers"]
CLIP_SECONDS = DEMO_DEFAULTS["duration"]
N_FOLDS = 3

DESCRIPTION = f"""\
Generate {N_CLASSES}-emotion synthetic speech (sklearn_ser.datasets.make_emotional_speech,
{N_SPEAKERS} speakers, {CLIP_SECONDS:g}-s clips), cross-validate a tiny ADCRNN with
{N_FOLDS} folds of whole speakers (speaker-independent), print accuracy and UAR
per fold and their mean, then refit on everything. Writes into --output:
{MODEL_FILE} (the fitted pipeline in the safe format, for 'sklearn-ser
predict'), report.json, and with matplotlib confusion_matrix.png and
log_mel_3d.png. About a minute on two CPU cores with the defaults."""


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "demo", help="train and evaluate a small model on synthetic speech",
        description=DESCRIPTION,
    )
    parser.add_argument("--output", type=Path, default=Path("."), metavar="DIR",
                        help="folder for the model and figures (default: the current one)")
    parser.add_argument("--n-samples", type=positive_int, default=DEMO_DEFAULTS["n_samples"],
                        metavar="N",
                        help="synthetic utterances (default: %(default)s)")
    add_training_flag(parser, "max_epochs", default=DEMO_MODEL["max_epochs"])
    add_training_flag(parser, "random_state", default=BUILD_DEFAULTS["random_state"],
                      text="seed of the synthetic data, the weights and the folds")
    add_training_flag(parser, "precision", default=DEMO_MODEL["precision"])
    # One thread by default: the tiny network gains little from a second one,
    # and a busy machine slows a two-thread run several times over.
    add_runtime_options(parser, threads_default=1)
    parser.set_defaults(run=run, parser=parser)


def _preset_text(max_epochs):
    """The demo's settings in the words of :func:`~sklearn_ser.recipes.describe_recipe`."""
    return (f"demo ({DEMO_MODEL['model']} {DEMO_MODEL['width']}, {max_epochs} epochs, "
            f"lr {DEMO_MODEL['lr']:g} constant, batch {DEMO_MODEL['batch_size']}, "
            f"{DEMO_MODEL['chunk_frames']}-frame chunks)")


def run(args):
    import torch  # imported here to keep `sklearn-ser --help` fast

    if args.n_samples < 4 * N_SPEAKERS:
        raise UsageError(f"--n-samples must be at least {4 * N_SPEAKERS} for {N_FOLDS} folds of "
                         "speakers")
    prepare_output_folder(args.output)
    torch.set_num_threads(args.threads)
    verbose = int(progress(args))
    started = time.perf_counter()
    data = load_dataset("demo", n_samples=args.n_samples, random_state=args.random_state)
    X, y, groups = data.data, data.target, data.groups
    pipe = build_pipeline(DEMO_RECIPE, **{**DEMO_MODEL, "max_epochs": args.max_epochs,
                                          "precision": args.precision},
                          random_state=args.random_state, verbose=verbose)
    log_training(args, pipe, y, groups, what="demo", recipe=_preset_text(args.max_epochs))
    add_progress_callbacks(pipe, args, fits=N_FOLDS + 1,
                           fits_text=f"{N_FOLDS + 1} fits ({N_FOLDS} folds, the refit)")
    with progress_to_stderr():
        report = cross_validate_report(pipe, X, y, groups=groups, cv=f"group{N_FOLDS}",
                                       random_state=args.random_state, verbose=verbose)
    print(format_report(report))
    if verbose:
        log(f"refitting on all {len(y)} utterances")
    with progress_to_stderr():
        model = clone(pipe).fit(X, y)
    remove_progress_callbacks(model)
    written = [save_whole(model, args.output / MODEL_FILE)]
    written += write_report(report, args.output, extra={"options": options_of(args)})
    first = model[0].transform(X[:1])
    try:
        written.append(plot_log_mel_3d(
            first[0], args.output / "log_mel_3d.png", n_frames=first.n_frames.sum(),
            title=f"synthetic '{y[0]}' utterance: static, delta and delta-delta log-Mel",
        ))
    except ImportError as exc:
        log(f"skipping log_mel_3d.png: {exc}")
    print(f"wrote {', '.join(str(path) for path in written)} "
          f"({time.perf_counter() - started:.0f} s in all)")
    return 0
