"""``sklearn-ser demo``: a small ADCRNN learns synthetic emotional speech in about a minute."""

from __future__ import annotations

import time
from pathlib import Path

from sklearn.base import clone

from ..datasets import DEMO_DEFAULTS, load_dataset
from ..evaluation import cross_validate_report, format_report, plot_log_mel_3d
from ..persistence import save
from ..pipeline import BUILD_DEFAULTS, build_pipeline
from ._console import log, progress, progress_to_stderr
from ._output import options_of, prepare_output_folder, write_report
from ._parser import UsageError, add_precision_option, add_runtime_options, positive_int

#: The demo's network and training: every layer of Table 1 at 1/16 to 1/4 of
#: its width (19 k instead of 4.6 M parameters), 2-s clips as one 200-frame
#: chunk each, and a learning rate raised for the short run.
DEMO_MODEL = dict(
    model="adcrnn", width="tiny", dropout=0.3, loss="contrastive-center", aux_weight=1.0,
    lr=3e-3, batch_size=32, chunk_frames=200, valid_fraction=0.0,
)
N_CLASSES = DEMO_DEFAULTS["n_classes"]
N_SPEAKERS = DEMO_DEFAULTS["n_speakers"]
CLIP_SECONDS = DEMO_DEFAULTS["duration"]
CV = "group3"

DESCRIPTION = f"""\
Generate {N_CLASSES}-emotion synthetic speech (sklearn_ser.datasets.make_emotional_speech,
{N_SPEAKERS} speakers, {CLIP_SECONDS:g}-s clips), cross-validate a tiny ADCRNN with 3 folds of whole
speakers (speaker-independent), print accuracy and UAR per fold and their mean,
then refit on everything. Writes into --output: demo_model.joblib (the fitted
pipeline, for 'sklearn-ser predict'), report.json, and with matplotlib
confusion_matrix.png and log_mel_3d.png. About a minute on two CPU cores with the
defaults."""


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
    parser.add_argument("--epochs", type=positive_int, default=15, metavar="E",
                        help="training epochs (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=BUILD_DEFAULTS["seed"],
                        help="seed of the data, weights and folds (default: %(default)s)")
    add_precision_option(parser)
    # One thread by default: the tiny network gains little from a second one,
    # and a busy machine slows a two-thread run several times over.
    add_runtime_options(parser, threads_default=1)
    parser.set_defaults(run=run, parser=parser)


def run(args):
    import torch  # imported here to keep `sklearn-ser --help` fast

    if args.n_samples < 4 * N_SPEAKERS:
        raise UsageError(f"--n-samples must be at least {4 * N_SPEAKERS} for 3 folds of speakers")
    prepare_output_folder(args.output)
    torch.set_num_threads(args.threads)
    verbose = int(progress(args))
    started = time.perf_counter()
    data = load_dataset("demo", n_samples=args.n_samples, random_state=args.seed)
    X, y, groups = data.data, data.target, data.groups
    if verbose:
        log(f"demo: {len(y)} synthetic utterances of {CLIP_SECONDS:g} s, {N_CLASSES} emotions, "
            f"{N_SPEAKERS} speakers")
    pipe = build_pipeline(**DEMO_MODEL, epochs=args.epochs, seed=args.seed,
                          precision=args.precision, verbose=verbose)
    with progress_to_stderr():
        report = cross_validate_report(pipe, X, y, groups=groups, cv=CV, random_state=args.seed,
                                       verbose=verbose)
    print(format_report(report))
    if verbose:
        log(f"refitting on all {len(y)} utterances")
    with progress_to_stderr():
        model = clone(pipe).fit(X, y)
    written = [save(model, args.output / "demo_model.joblib")]
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
