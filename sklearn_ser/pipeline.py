"""Ready-made pipelines: the front end and a network at preset widths.

``build_pipeline`` is what the command line builds for every command, and a
one-line start for scripts; :data:`WIDTHS` holds the width presets.
"""

from __future__ import annotations

import inspect
from types import MappingProxyType

import torch
from sklearn.ensemble import VotingClassifier
from sklearn.pipeline import Pipeline
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit

from .callbacks import CosineAnnealing, SpecAugment
from .features import LogMel3DTransformer
from .nn import ACRNN, ADCRNN, ACRNNClassifier, ADCRNNClassifier
from .utils.choices import PRECISIONS
from .utils.validation import is_integer, is_number

__all__ = ["BUILD_DEFAULTS", "LOSSES", "SCHEDULES", "WIDTHS", "build_pipeline", "width_params"]

#: Layer widths per model (``module__*`` parameters). "paper" is the
#: published network (Pham et al. 2020 Table 1; Chen et al. 2018); "medium"
#: halves every layer but the 64-d embedding (about a quarter of the
#: convolution cost), "small" and
#: "tiny" shrink further, for a CPU and for smoke runs (the demo).
WIDTHS = {
    "adcrnn": {
        "paper": {},
        "medium": dict(conv_channels=64, dilated_channels=128, linear_units=256, lstm_units=128,
                       embedding_dim=64),
        "small": dict(conv_channels=32, dilated_channels=64, linear_units=128, lstm_units=64,
                      embedding_dim=32),
        "tiny": dict(conv_channels=8, dilated_channels=16, linear_units=32, lstm_units=16,
                     embedding_dim=16),
    },
    "acrnn": {
        "paper": {},
        "medium": dict(conv_channels=64, stacked_channels=128, linear_units=384, lstm_units=64,
                       embedding_dim=64),
        "small": dict(conv_channels=32, stacked_channels=64, linear_units=192, lstm_units=32,
                      embedding_dim=32),
        "tiny": dict(conv_channels=8, stacked_channels=16, n_stacked=2, linear_units=32,
                     lstm_units=16, embedding_dim=16),
    },
}


def width_params(model="adcrnn", width="paper"):
    """The ``module__*`` parameters of a width preset, for a classifier's constructor.

    Parameters
    ----------
    model : {"adcrnn", "acrnn"}
        The network.
    width : {"paper", "medium", "small", "tiny"}
        The preset.

    Returns
    -------
    params : dict
        E.g. ``{"module__conv_channels": 8, ...}``; empty for "paper".
    """
    _check_width(model, width)
    return {f"module__{name}": value for name, value in WIDTHS[model][width].items()}


def _check_width(model, width):
    if model not in WIDTHS:
        raise ValueError(f"model={model!r} must be one of {tuple(WIDTHS)}")
    if width not in WIDTHS[model]:
        raise ValueError(f"width={width!r} must be one of {tuple(WIDTHS[model])}")


#: Learning-rate schedules of :func:`build_pipeline`.
SCHEDULES = (None, "cosine")
#: Auxiliary losses of :func:`build_pipeline` ("none": cross-entropy alone).
LOSSES = ("contrastive-center", "center", "none")


def _training_callbacks(*, schedule, patience, augment, valid_fraction):
    """The skorch callbacks of the training recipe, as ``(name, callback)`` pairs."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule={schedule!r} must be one of {SCHEDULES}")
    callbacks = []
    if augment:
        callbacks.append(("augment", SpecAugment()))
    if schedule == "cosine":
        callbacks.append(("lr_schedule", CosineAnnealing(final_fraction=0.01)))
    if patience is not None:
        if not is_integer(patience) or patience < 1:
            raise ValueError(f"patience={patience!r} must be an integer >= 1 (epochs)")
        if not valid_fraction:
            raise ValueError(
                f"patience={patience} needs a validation split to watch: set valid_fraction > 0 "
                "(early stopping never looks at test data)"
            )
        # threshold=0: an epoch improves exactly when skorch marks valid_loss_best, so
        # the kept epoch is the one a best-epoch checkpoint holds
        callbacks.append(("early_stopping", EarlyStopping(patience=patience, threshold=0.0,
                                                          load_best=True)))
    return callbacks


def _check_choices(model, width, loss, module_params, valid_fraction):
    """Refuse, by name, the arguments of :func:`build_pipeline` that only ``fit``
    (or a ``KeyError``) would otherwise catch."""
    _check_width(model, width)
    if loss not in LOSSES:
        raise ValueError(f"loss={loss!r} must be one of {LOSSES}")
    network = {"adcrnn": ADCRNN, "acrnn": ACRNN}[model]
    # n_classes and n_mels come from the data in fit
    accepted = set(inspect.signature(network).parameters) - {"n_classes", "n_mels"}
    unknown = sorted(set(module_params) - accepted)
    if unknown:
        raise TypeError(
            f"build_pipeline() got unknown arguments {unknown}: they are neither its own "
            f"nor parameters of {network.__name__} ({sorted(accepted)}); the training length "
            "is epochs=, the learning rate lr="
        )
    if not is_number(valid_fraction) or not 0 <= valid_fraction < 1:
        raise ValueError(f"valid_fraction={valid_fraction!r} must be a number in [0, 1) "
                         "(the share of the training utterances held out)")


def _check_chunk_frames(classifier, widths, chunk_frames):
    """Refuse chunks too short for the network before any feature is computed:
    the network is built on torch's meta device (no memory, no random draw)
    to read its ``min_frames``, which also checks the widths."""
    with torch.device("meta"):
        network = classifier().module(n_classes=2, **widths)
    # (below 1 frame, the front end's own check names the range when fitted)
    if is_integer(chunk_frames) and 1 <= chunk_frames < network.min_frames:
        raise ValueError(
            f"chunk_frames={chunk_frames} is too short for {type(network).__name__}, which "
            f"needs chunks of at least {network.min_frames} frames"
        )


def build_pipeline(*, model="adcrnn", width="paper", loss="contrastive-center", aux_weight=1.0,
                   epochs=30, lr=1e-4, batch_size=32, chunk_frames=300, chunk_hop_frames=None,
                   valid_fraction=0.2, schedule=None, patience=None, augment=False,
                   trim_zeros=False, shuffle=True, precision="auto", seed=0, n_seeds=1,
                   verbose=1, **module_params):
    """``Pipeline([("features", LogMel3DTransformer), ("clf", ADCRNN/ACRNNClassifier)])``,
    or a soft vote of such classifiers as ``"clf"`` with ``n_seeds > 1``.

    Parameters
    ----------
    model : {"adcrnn", "acrnn"}, default="adcrnn"
        The network.
    width : {"paper", "medium", "small", "tiny"}, default="paper"
        Layer widths, from :data:`WIDTHS`.
    loss : {"contrastive-center", "center", "none"}, default="contrastive-center"
        ``criterion__aux``.
    aux_weight : float, default=1.0
        ``criterion__aux_weight``.
    epochs : int, default=30
        ``max_epochs``.
    lr : float, default=1e-4
        Adam's learning rate.
    batch_size : int, default=32
        Chunks per batch.
    chunk_frames : int, default=300
        The front end's chunk length in frames.
    chunk_hop_frames : int or None, default=None
        The front end's hop between chunks (None: ``chunk_frames``, no
        overlap).
    valid_fraction : float, default=0.2
        Share of the training utterances held out (stratified, seeded) for
        the per-epoch validation figures and early stopping; 0 trains on all.
    schedule : {None, "cosine"}, default=None
        Learning-rate schedule: constant, or cosine annealing from ``lr`` to
        ``lr / 100`` over the run
        (:class:`~sklearn_ser.callbacks.CosineAnnealing`, which reads ``lr`` and
        ``max_epochs`` when training begins, so ``set_params`` and grid
        searches over them are honoured).
    patience : int or None, default=None
        Early stopping: stop when the validation loss has not improved for
        ``patience`` epochs and keep the weights of its best epoch
        (``EarlyStopping(load_best=True)``). Needs ``valid_fraction > 0``:
        the epoch is chosen on the internal split of the training data, never
        on test data.
    augment : bool, default=False
        Mask random time and Mel bands of every training batch
        (:class:`~sklearn_ser.callbacks.SpecAugment` with its defaults).
    trim_zeros : bool, default=False
        The front end drops each file's leading and trailing digital silence
        (``LogMel3DTransformer(trim_zeros=True)``).
    shuffle : bool, default=True
        Draw the training batches in a new random order every epoch
        (``iterator_train__shuffle``); False keeps the chunks in utterance
        order, the same batches every epoch (to reproduce results trained
        that way).
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        The classifier's ``precision``: ``"auto"`` trains under bfloat16
        autocast where the device computes it natively (CUDA with bf16, CPUs
        with AVX512-BF16 or AMX) and in float32 elsewhere; ``"float32"``
        gives the same arithmetic on every machine.
    seed : int, default=0
        ``random_state`` of the classifier and of the validation split.
    n_seeds : int, default=1
        Networks to train. With ``n_seeds > 1`` the final step is
        ``VotingClassifier(voting="soft")`` over networks named ``"seed<s>"``
        for ``s = seed, ..., seed + n_seeds - 1``, each exactly the classifier
        this function builds with that ``seed`` (before fitting: the vote
        trains them on label-encoded targets, so a fitted member's
        ``classes_`` are ``0..K-1``); it predicts the class of the mean of
        their probabilities. It costs ``n_seeds`` times the training. A
        network's parameters are then ``clf__seed<s>__*`` (e.g.
        ``clf__seed0__lr``), one set per member.
    verbose : int, default=1
        skorch's epoch table and the Pipeline's step timings when > 0.
    **module_params
        Further ``module__*`` values (e.g. ``dropout=0.3``), over the preset.

    Returns
    -------
    pipe : sklearn.pipeline.Pipeline
        Unfitted.
    """

    _check_choices(model, width, loss, module_params, valid_fraction)
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r} must be one of {PRECISIONS}")
    if not is_integer(n_seeds) or n_seeds < 1:
        raise ValueError(f"n_seeds={n_seeds!r} must be an integer >= 1 (networks to train)")
    if n_seeds > 1 and not is_integer(seed):
        raise ValueError(f"seed={seed!r} must be an integer with n_seeds={n_seeds} (the "
                         "networks are seeded seed, seed + 1, ...)")
    # validated once here; every network gets fresh callback objects below
    _training_callbacks(schedule=schedule, patience=patience, augment=augment,
                        valid_fraction=valid_fraction)
    classifier = {"adcrnn": ADCRNNClassifier, "acrnn": ACRNNClassifier}[model]
    widths = {**WIDTHS[model][width], **module_params}
    _check_chunk_frames(classifier, widths, chunk_frames)

    def network(seed):
        train_split = (ValidSplit(valid_fraction, stratified=True, random_state=seed)
                       if valid_fraction else None)
        callbacks = _training_callbacks(schedule=schedule, patience=patience, augment=augment,
                                        valid_fraction=valid_fraction)
        return classifier(
            **{f"module__{name}": value for name, value in widths.items()},
            criterion__aux=None if loss == "none" else loss,
            criterion__aux_weight=aux_weight,
            lr=lr,
            max_epochs=epochs,
            batch_size=batch_size,
            train_split=train_split,
            random_state=seed,
            iterator_train__shuffle=shuffle,
            precision=precision,
            verbose=verbose,
            callbacks=callbacks or None,
        )

    if n_seeds == 1:
        clf = network(seed)
    else:
        clf = VotingClassifier([(f"seed{s}", network(s)) for s in range(seed, seed + n_seeds)],
                               voting="soft")
    features = LogMel3DTransformer(chunk_frames=chunk_frames, chunk_hop_frames=chunk_hop_frames,
                                   trim_zeros=trim_zeros, verbose=verbose)
    return Pipeline([("features", features), ("clf", clf)], verbose=bool(verbose))


def _keyword_defaults(function):
    return MappingProxyType({name: parameter.default for name, parameter in
                             inspect.signature(function).parameters.items()
                             if parameter.default is not inspect.Parameter.empty})


#: :func:`build_pipeline`'s defaults by argument name (read-only): the command
#: line's ``default=`` values read them, so that the two never disagree.
BUILD_DEFAULTS = _keyword_defaults(build_pipeline)
