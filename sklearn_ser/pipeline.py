"""Ready-made pipelines: the front end and a network at preset widths.

``build_pipeline`` is what the command line builds for every command, and a
one-line start for scripts; :data:`WIDTHS` holds the width presets.
"""

from __future__ import annotations

import inspect
from numbers import Integral, Real
from types import MappingProxyType

import torch
from sklearn.ensemble import VotingClassifier
from sklearn.pipeline import Pipeline
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit

from .callbacks import CosineAnnealing, MelWarp, SpecAugment
from .features import LogMel3DTransformer, check_front_end, normalizes_by_speaker
from .nn import ACRNN, ADCRNN, ACRNNClassifier, ADCRNNClassifier
from .recipes import DEFAULT_RECIPE, RECIPES
from .utils.choices import PRECISIONS
from .utils.constraints import Interval, StrOptions
from .utils.validation import check_params, is_integer

__all__ = [
    "BUILD_DEFAULTS",
    "FROM_RECIPE",
    "LOSSES",
    "SCHEDULES",
    "WIDTHS",
    "build_pipeline",
    "width_params",
]

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


#: Learning-rate schedules of :func:`build_pipeline`: constant, or cosine annealing.
SCHEDULES = ("constant", "cosine")
#: Auxiliary losses of :func:`build_pipeline`; None is cross-entropy alone (the
#: criterion's ``aux=None``; ``--loss none`` on the command line).
LOSSES = ("contrastive-center", "center", None)


class _FromRecipe:
    """The default of :func:`build_pipeline`'s arguments: the recipe's value."""

    def __repr__(self):
        return "<the recipe's>"


FROM_RECIPE = _FromRecipe()

_CONSTRAINTS = {
    "recipe": [StrOptions(set(RECIPES))],
    "model": [StrOptions(set(WIDTHS))],
    "width": [StrOptions({width for widths in WIDTHS.values() for width in widths})],
    "loss": [StrOptions({loss for loss in LOSSES if loss}), None],
    "aux_weight": [Interval(Real, 0, None, closed="left")],
    "class_weight": [StrOptions({"balanced"}), dict, None],
    "max_epochs": [Interval(Integral, 0, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "batch_size": [Interval(Integral, 1, 4096, closed="both")],
    "chunk_frames": [Interval(Integral, 1, None, closed="left")],
    "chunk_hop_frames": [Interval(Integral, 1, None, closed="left"), None],
    "valid_fraction": [Interval(Real, 0, 1, closed="left")],
    "schedule": [StrOptions(set(SCHEDULES))],
    "patience": [Interval(Integral, 1, None, closed="left"), None],
    "augment": ["boolean"],
    "mel_warp": [*MelWarp._parameter_constraints["max_warp"], None],
    "trim_zeros": ["boolean"],
    "speed_perturbation": [list, tuple, None],
    "noise_snr": [list, tuple, None],
    "normalize": ["boolean", StrOptions({"utterance", "speaker"})],
    "shuffle": ["boolean"],
    "precision": [StrOptions(set(PRECISIONS))],
    "n_seeds": [Interval(Integral, 1, None, closed="left")],
    "n_teachers": [Interval(Integral, 0, None, closed="left")],
    "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both"), None],
    "verbose": [Interval(Integral, 0, None, closed="left"), "boolean"],
}


def _training_callbacks(*, schedule, patience, augment, mel_warp):
    """The skorch callbacks of the training recipe, as ``(name, callback)`` pairs."""
    callbacks = []
    if mel_warp:  # before the masks, which are then drawn on the warped chunks
        callbacks.append(("mel_warp", MelWarp(max_warp=mel_warp)))
    if augment:
        callbacks.append(("augment", SpecAugment()))
    if schedule == "cosine":
        callbacks.append(("lr_schedule", CosineAnnealing(final_fraction=0.01)))
    if patience is not None:
        # threshold=0: an epoch improves exactly when skorch marks valid_loss_best, so
        # the kept epoch is the one a best-epoch checkpoint holds
        callbacks.append(("early_stopping", EarlyStopping(patience=patience, threshold=0.0,
                                                          load_best=True)))
    return callbacks


def _check_arguments(params, module_params):
    """Refuse, by name and all at once, the arguments of :func:`build_pipeline` that
    only ``fit`` (or a ``KeyError``) would otherwise catch."""
    check_params(params, _CONSTRAINTS, caller="build_pipeline")
    _check_width(params["model"], params["width"])
    if params["patience"] is not None and not params["valid_fraction"]:
        raise ValueError(
            f"build_pipeline: patience={params['patience']} needs a validation split to "
            "watch: set valid_fraction > 0 (early stopping never looks at test data)"
        )
    n_seeds, seed = params["n_seeds"], params["random_state"]
    if n_seeds > 1 and seed is None:
        raise ValueError(f"build_pipeline: random_state=None with n_seeds={n_seeds}: "
                         "the networks are seeded random_state, random_state + 1, ...")
    if n_seeds > 1 and seed + n_seeds - 1 > 2**32 - 1:
        raise ValueError(f"build_pipeline: random_state={seed} with n_seeds={n_seeds} seeds "
                         f"the last network with {seed + n_seeds - 1}, above 2**32 - 1")
    check_front_end({"speed_perturbation": params["speed_perturbation"],
                     "noise_snr": params["noise_snr"]}, caller="build_pipeline")
    network = {"adcrnn": ADCRNN, "acrnn": ACRNN}[params["model"]]
    # n_classes and n_mels come from the data in fit
    accepted = set(inspect.signature(network).parameters) - {"n_classes", "n_mels"}
    unknown = sorted(set(module_params) - accepted)
    if unknown:
        raise TypeError(
            f"build_pipeline() got unknown arguments {unknown}: they are neither its own "
            f"nor parameters of {network.__name__} ({sorted(accepted)}); the training length "
            "is max_epochs=, the learning rate lr="
        )


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


def build_pipeline(recipe=DEFAULT_RECIPE, *, model=FROM_RECIPE, width=FROM_RECIPE,
                   loss=FROM_RECIPE, aux_weight=FROM_RECIPE, class_weight=FROM_RECIPE,
                   max_epochs=FROM_RECIPE,
                   lr=FROM_RECIPE, batch_size=FROM_RECIPE, chunk_frames=FROM_RECIPE,
                   chunk_hop_frames=FROM_RECIPE, valid_fraction=FROM_RECIPE,
                   schedule=FROM_RECIPE, patience=FROM_RECIPE, augment=FROM_RECIPE,
                   mel_warp=FROM_RECIPE, trim_zeros=FROM_RECIPE, speed_perturbation=FROM_RECIPE,
                   noise_snr=FROM_RECIPE, normalize=FROM_RECIPE, shuffle=FROM_RECIPE,
                   precision=FROM_RECIPE, n_seeds=FROM_RECIPE, n_teachers=FROM_RECIPE,
                   random_state=0, verbose=1,
                   **module_params):
    """``Pipeline([("features", LogMel3DTransformer), ("clf", ADCRNN/ACRNNClassifier)])``,
    or a soft vote of such classifiers as ``"clf"`` with ``n_seeds > 1``, from a
    named recipe (:data:`~sklearn_ser.recipes.RECIPES`).

    Every argument but ``recipe``, ``random_state``, ``verbose`` and the
    ``module_params`` defaults to the recipe's value; an argument given here
    overrides it.

    Parameters
    ----------
    recipe : {"cpu", "paper"}, default="cpu"
        The recipe: ``"cpu"``, the best measured on a CPU (small widths, 2 s
        chunks, Adam at 1e-3 with cosine annealing over 60 epochs,
        SpecAugment, trimmed silence), or ``"paper"``, the published
        configuration (Table 1 widths, 3 s chunks, Adam at 1e-4, 30 epochs).
    model : {"adcrnn", "acrnn"}
        The network.
    width : {"paper", "medium", "small", "tiny"}
        Layer widths, from :data:`WIDTHS`.
    loss : {"contrastive-center", "center", None}
        ``criterion__aux``: the loss added to cross-entropy; None is
        cross-entropy alone.
    aux_weight : float
        ``criterion__aux_weight``.
    class_weight : {"balanced"}, dict or None
        The classifier's ``class_weight``: ``"balanced"`` weighs each class in
        the cross-entropy inversely to its share of the training chunks, so
        that a rare emotion counts as much as a common one (what the
        unweighted average recall rewards); None weighs every chunk alike.
    max_epochs : int
        The classifier's ``max_epochs``.
    lr : float
        Adam's learning rate.
    batch_size : int
        Chunks per batch.
    chunk_frames : int
        The front end's chunk length in frames (10 ms each).
    chunk_hop_frames : int or None
        The front end's hop between chunks (None: ``chunk_frames``, no
        overlap).
    valid_fraction : float
        Share of the training utterances held out (stratified, seeded) for
        the per-epoch validation figures and early stopping; 0 (every
        recipe's) trains on all of them.
    schedule : {"constant", "cosine"}
        Learning-rate schedule: constant, or cosine annealing from ``lr`` to
        ``lr / 100`` over the run
        (:class:`~sklearn_ser.callbacks.CosineAnnealing`, which reads ``lr`` and
        ``max_epochs`` when training begins, so ``set_params`` and grid
        searches over them are honoured).
    patience : int or None
        Early stopping: stop when the validation loss has not improved for
        ``patience`` epochs and keep the weights of its best epoch
        (``EarlyStopping(load_best=True)``). Needs ``valid_fraction > 0``:
        the epoch is chosen on the internal split of the training data, never
        on test data.
    augment : bool
        Mask random time and Mel bands of every training batch
        (:class:`~sklearn_ser.callbacks.SpecAugment` with its defaults).
    mel_warp : float or None
        Warp the Mel axis of every training chunk by a factor drawn from
        ``[1 - mel_warp, 1 + mel_warp]``, in [0, 0.5]
        (:class:`~sklearn_ser.callbacks.MelWarp`, vocal tract length
        perturbation, e.g. 0.1); None or 0 warps nothing.
    trim_zeros : bool
        The front end drops each file's leading and trailing digital silence
        (``LogMel3DTransformer(trim_zeros=True)``).
    speed_perturbation : tuple of float or None
        Speed factors of training copies of every utterance, e.g. ``(0.9,
        1.1)`` (``LogMel3DTransformer(speed_perturbation=...)``: made on the
        training side only, each factor adding about ``1 / factor`` times
        the training); None makes none.
    noise_snr : tuple of float or None
        ``(low, high)`` SNRs in dB of a noisy training copy of every
        utterance, e.g. ``(10, 30)`` (``LogMel3DTransformer(noise_snr=...)``:
        white noise, made on the training side only, seeded by
        ``random_state``; it doubles the training); None makes none.
    normalize : bool, "utterance" or "speaker"
        The front end's ``normalize``: the fitted statistics alone (True),
        none (False), or each utterance first standardised by its own frames
        (``"utterance"``) or by its speaker's (``"speaker"``, which needs the
        speakers as ``groups`` under scikit-learn's metadata routing, see
        :class:`~sklearn_ser.LogMel3DTransformer`). With ``"speaker"`` the
        classifier's batch-norm layers, too, normalise each speaker by their
        own chunks at prediction (``batchnorm_statistics="speaker"``).
    shuffle : bool
        Draw the training batches in a new random order every epoch
        (``iterator_train__shuffle``); False keeps the chunks in utterance
        order, the same batches every epoch (to reproduce results trained
        that way).
    precision : {"auto", "float32", "bfloat16"}
        The classifier's training ``precision``: ``"auto"`` trains under
        bfloat16 autocast where the device computes it natively (CUDA with
        bf16, CPUs with AVX512-BF16 or AMX) and in float32 elsewhere;
        ``"float32"`` gives the same arithmetic on every machine. Prediction
        is in float32 whatever this says (the classifier's
        ``predict_precision``).
    n_seeds : int
        Networks to train. With ``n_seeds > 1`` the final step is
        ``VotingClassifier(voting="soft")`` over networks named ``"seed<s>"``
        for ``s = random_state, ..., random_state + n_seeds - 1``, each
        exactly the classifier this function builds with that
        ``random_state`` (before fitting: the vote trains them on
        label-encoded targets, so a fitted member's ``classes_`` are
        ``0..K-1``); it predicts the class of the mean of their
        probabilities. It costs ``n_seeds`` times the training. A network's
        parameters are then ``clf__seed<s>__*`` (e.g. ``clf__seed0__lr``).
    n_teachers : int
        The classifier's ``n_teachers``: with ``n_teachers > 0`` each network
        is distilled from that many networks of its own settings, trained
        first on the same data (seeded ``random_state + 1``, ...); the fitted
        model is still one network (or ``n_seeds`` of them). It costs about
        ``1 + 1.5 * n_teachers`` times the training.
    random_state : int or None, default=0
        ``random_state`` of the classifier, of the validation split and,
        with ``noise_snr``, of the front end (its noise).
    verbose : int, default=1
        skorch's epoch table and the Pipeline's step timings when > 0.
    **module_params
        Further ``module__*`` values (e.g. ``dropout=0.3``), over the preset.

    Returns
    -------
    pipe : sklearn.pipeline.Pipeline
        Unfitted.

    Examples
    --------
    >>> from sklearn_ser.pipeline import build_pipeline
    >>> pipe = build_pipeline()                       # the "cpu" recipe
    >>> pipe = build_pipeline("paper", max_epochs=40)  # the paper's, 40 epochs
    """
    given = dict(model=model, width=width, loss=loss, aux_weight=aux_weight,
                 class_weight=class_weight,
                 max_epochs=max_epochs, lr=lr, batch_size=batch_size,
                 chunk_frames=chunk_frames, chunk_hop_frames=chunk_hop_frames,
                 valid_fraction=valid_fraction, schedule=schedule, patience=patience,
                 augment=augment, mel_warp=mel_warp, trim_zeros=trim_zeros,
                 speed_perturbation=speed_perturbation, noise_snr=noise_snr,
                 normalize=normalize, shuffle=shuffle,
                 precision=precision, n_seeds=n_seeds, n_teachers=n_teachers)
    check_params({"recipe": recipe}, _CONSTRAINTS, caller="build_pipeline")
    params = {**RECIPES[recipe], **{name: value for name, value in given.items()
                                    if value is not FROM_RECIPE}}
    params.update(random_state=random_state, verbose=verbose)
    _check_arguments(params, module_params)
    classifier = {"adcrnn": ADCRNNClassifier, "acrnn": ACRNNClassifier}[params["model"]]
    widths = {**WIDTHS[params["model"]][params["width"]], **module_params}
    _check_chunk_frames(classifier, widths, params["chunk_frames"])

    def network(seed):
        fraction = params["valid_fraction"]
        train_split = ValidSplit(fraction, stratified=True, random_state=seed) \
            if fraction else None
        callbacks = _training_callbacks(schedule=params["schedule"],
                                        patience=params["patience"], augment=params["augment"],
                                        mel_warp=params["mel_warp"])
        return classifier(
            **{f"module__{name}": value for name, value in widths.items()},
            criterion__aux=params["loss"],
            criterion__aux_weight=params["aux_weight"],
            class_weight=params["class_weight"],
            n_teachers=params["n_teachers"],
            batchnorm_statistics="speaker" if normalizes_by_speaker(params["normalize"])
            else "training",
            lr=params["lr"],
            max_epochs=params["max_epochs"],
            batch_size=params["batch_size"],
            train_split=train_split,
            random_state=seed,
            iterator_train__shuffle=params["shuffle"],
            precision=params["precision"],
            verbose=verbose,
            callbacks=callbacks or None,
        )

    n_seeds = params["n_seeds"]
    if n_seeds == 1:
        clf = network(random_state)
    else:
        clf = VotingClassifier([(f"seed{s}", network(s))
                                for s in range(random_state, random_state + n_seeds)],
                               voting="soft")
    features = LogMel3DTransformer(chunk_frames=params["chunk_frames"],
                                   chunk_hop_frames=params["chunk_hop_frames"],
                                   trim_zeros=params["trim_zeros"],
                                   speed_perturbation=params["speed_perturbation"],
                                   noise_snr=params["noise_snr"],
                                   # the front end draws nothing without noise
                                   random_state=None if params["noise_snr"] is None
                                   else random_state,
                                   normalize=params["normalize"], verbose=verbose)
    return Pipeline([("features", features), ("clf", clf)], verbose=bool(verbose))


#: :func:`build_pipeline`'s values when only data is given (read-only): the
#: default recipe's, with ``recipe``, ``random_state`` and ``verbose``.
BUILD_DEFAULTS = MappingProxyType({"recipe": DEFAULT_RECIPE, **RECIPES[DEFAULT_RECIPE],
                                   "random_state": 0, "verbose": 1})
