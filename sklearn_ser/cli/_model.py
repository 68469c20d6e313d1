"""The model of a command: built from the training options, or read from a model file.

Which file is a pickle and which is in the safe format is decided by
:func:`sklearn_ser.persistence.save` and :func:`sklearn_ser.persistence.load`;
this module adds what the commands need of the model.
"""

from __future__ import annotations

from ..features import LogMel3DTransformer
from ..persistence import load
from ..pipeline import BUILD_DEFAULTS, build_pipeline
from ._console import progress
from ._parser import PROG, CliError, schedule_name, usage_errors

__all__ = ["pipeline_from_args", "read_pipeline"]


#: build_pipeline's parameters -> the options that set them, to word its errors
#: (``shuffle`` is set by --no-shuffle, ``verbose`` by --quiet: no value to name).
_OPTIONS = {**{name: "--" + name.replace("_", "-") for name in BUILD_DEFAULTS
               if name not in ("shuffle", "verbose")},
            "chunk_hop_frames": "--chunk-hop"}


def pipeline_from_args(args):
    """``build_pipeline`` with the training options. Called before any data is read, so
    that its errors (chunks too short for the network, ``--patience`` without a
    validation split) are usage errors that cost no time."""
    with usage_errors(_OPTIONS):
        return build_pipeline(
            model=args.model, width=args.width, loss=args.loss, aux_weight=args.aux_weight,
            epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
            chunk_frames=args.chunk_frames, chunk_hop_frames=args.chunk_hop,
            valid_fraction=args.valid_fraction, schedule=schedule_name(args.schedule),
            patience=args.patience, augment=args.augment, trim_zeros=args.trim_zeros,
            shuffle=args.shuffle, precision=args.precision, seed=args.seed,
            n_seeds=args.n_seeds, verbose=int(progress(args)),
        )


def read_pipeline(path, args=None):
    """The fitted pipeline of audio files saved in ``path``, or an error naming the file.

    The file is read by :func:`sklearn_ser.persistence.load` (a pickle only
    from a pickle name). It must hold a fitted classifier behind a
    ``LogMel3DTransformer``, so that it takes audio files. With the command's
    ``args``, the front end's progress lines follow this command's
    ``--quiet``, not the ``verbose`` the model was trained with.
    """
    model = load(path)
    if not (hasattr(model, "predict_proba") and hasattr(model, "classes_")):
        raise CliError(
            f"model file {path} holds a {type(model).__name__}, not a fitted classifier; "
            f"save one with '{PROG} train'"
        )
    steps = getattr(model, "steps", None)
    if not steps or not isinstance(steps[0][1], LogMel3DTransformer):
        raise CliError(
            f"model file {path} holds a {type(model).__name__} without a LogMel3DTransformer "
            "first, so it cannot take audio files: save a Pipeline of the front end and the "
            f"classifier, as '{PROG} train' does"
        )
    if args is not None:
        steps[0][1].set_params(verbose=int(progress(args)))
    return model
