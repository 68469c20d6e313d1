"""The training options: ``--recipe`` and one flag per argument of
:func:`~sklearn_ser.pipeline.build_pipeline`, and the pipeline they build.

Every flag defaults to "not given" (``argparse.SUPPRESS``): a flag that is
given overrides the recipe's value and the recipe decides the rest, exactly
as ``build_pipeline(recipe, **arguments)`` does in Python. A flag's help shows
the default recipe's value, read from :data:`sklearn_ser.recipes.RECIPES`; its
choices are the library's tables (:data:`~sklearn_ser.pipeline.WIDTHS`,
:data:`~sklearn_ser.pipeline.LOSSES`, :data:`~sklearn_ser.pipeline.SCHEDULES`,
:data:`sklearn_ser.utils.choices.PRECISIONS`).
"""

from __future__ import annotations

import argparse

from ..callbacks import MAX_WARP
from ..features import FRONT_END_DEFAULTS
from ..pipeline import BUILD_DEFAULTS, LOSSES, SCHEDULES, WIDTHS, build_pipeline
from ..recipes import DEFAULT_RECIPE, RECIPES, describe_recipe
from ..utils.choices import PRECISIONS
from ._console import progress
from ._parser import (
    finite_float,
    fraction,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    usage_errors,
)

__all__ = [
    "LOSS_CHOICES",
    "add_model_options",
    "add_training_flag",
    "flag",
    "given_options",
    "override_flags",
    "pipeline_from_args",
    "random_state",
    "training_settings",
]

#: ``--loss none`` is ``loss=None``: cross-entropy alone.
_NO_LOSS = "none"
LOSS_CHOICES = tuple(_NO_LOSS if loss is None else loss for loss in LOSSES)
#: The names that published commands use, kept as second names left out of --help.
_ALIASES = {"max_epochs": "--epochs", "random_state": "--seed",
            "chunk_hop_frames": "--chunk-hop"}
_SWITCH = {"action": argparse.BooleanOptionalAction}
_HOP_SECONDS = FRONT_END_DEFAULTS["hop_seconds"]

#: ``--normalize``'s words for the front end's ``normalize`` values.
_NORMALIZE_WORDS = {True: "global", False: "none", "utterance": "utterance",
                    "speaker": "speaker"}
NORMALIZATIONS = tuple(_NORMALIZE_WORDS.values())


#: ``--class-weight``'s words; ``none`` is ``class_weight=None``.
CLASS_WEIGHTS = ("balanced", "none")


def class_weighting(text):
    """``--class-weight WORD`` as the classifier's ``class_weight`` value."""
    if text not in CLASS_WEIGHTS:
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from "
                                         + ", ".join(CLASS_WEIGHTS) + ")")
    return None if text == "none" else text


def normalization(text):
    """``--normalize WORD`` as the front end's ``normalize`` value."""
    for value, word in _NORMALIZE_WORDS.items():
        if text == word:
            return value
    raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from "
                                     + ", ".join(NORMALIZATIONS) + ")")


#: build_pipeline's arguments -> (the keywords of their flag, its help), in --help order.
_FLAGS = {
    "model": ({"choices": tuple(WIDTHS)},
              "ADCRNN (Pham et al. 2020) or the ACRNN baseline (Chen et al. 2018)"),
    "width": ({"choices": tuple(dict.fromkeys(w for widths in WIDTHS.values() for w in widths))},
              "layer widths: the published ones, or smaller for a CPU"),
    "loss": ({"choices": LOSS_CHOICES},
             "auxiliary loss added to cross-entropy; none: cross-entropy alone"),
    "aux_weight": ({"type": non_negative_float, "metavar": "W"}, "weight of the auxiliary loss"),
    "class_weight": ({"type": class_weighting, "metavar": "{" + ",".join(CLASS_WEIGHTS) + "}"},
                     "balanced: weigh each emotion in the loss inversely to its share of the "
                     "training data, so that rare ones count as much as common ones (what the "
                     "unweighted average recall rewards); none: every chunk alike"),
    "max_epochs": ({"type": positive_int, "metavar": "E"}, "training epochs"),
    "lr": ({"type": positive_float}, "Adam learning rate"),
    "batch_size": ({"type": positive_int, "metavar": "B"}, "chunks per batch"),
    "chunk_frames": ({"type": positive_int, "metavar": "F"},
                     f"frames ({_HOP_SECONDS * 1000:g} ms each) per chunk"),
    "chunk_hop_frames": ({"type": positive_int, "metavar": "H"},
                         "frames between chunk starts; less than --chunk-frames overlaps them"),
    "valid_fraction": ({"type": fraction, "metavar": "P"},
                       "share of the training utterances held out to print a validation loss "
                       "and accuracy per epoch; 0 trains on all of them"),
    "schedule": ({"choices": SCHEDULES},
                 "learning rate: constant, or cosine annealing to lr/100 over the epochs"),
    "patience": ({"type": positive_int, "metavar": "P"},
                 "stop when the validation loss has not improved for P epochs and keep its "
                 "best epoch (needs --valid-fraction > 0)"),
    "augment": (_SWITCH, "SpecAugment: mask random time and Mel bands of training batches"),
    "mel_warp": ({"type": non_negative_float, "metavar": "W"},
                 "warp the Mel axis of every training chunk by a factor from 1-W to 1+W, as a "
                 f"shorter or longer vocal tract would (W from 0 to {MAX_WARP:g}, e.g. 0.1); "
                 "predictions read the files as they are"),
    "trim_zeros": (_SWITCH, "drop each file's leading and trailing digital silence (samples "
                            "exactly 0) before resampling"),
    "speed_perturbation": ({"type": positive_float, "nargs": "+", "metavar": "FACTOR"},
                           "train on copies of every file resampled to these speeds too, e.g. "
                           "0.9 1.1 (slower and lower, faster and higher); predictions read "
                           "the files as they are; each factor adds about 1/FACTOR times the "
                           "training"),
    "noise_snr": ({"type": finite_float, "nargs": 2, "metavar": ("LOW", "HIGH")},
                  "train on a copy of every file with white noise added too, at a "
                  "signal-to-noise ratio drawn for each from LOW to HIGH dB, e.g. 10 30; "
                  "predictions read the files as they are; it doubles the training"),
    "normalize": ({"type": normalization, "metavar": "{" + ",".join(NORMALIZATIONS) + "}"},
                  "standardise the features with the training statistics (global), after "
                  "standardising each file by its own frames (utterance) or by all of its "
                  "speaker's files (speaker: with speaker --groups; the test speakers' "
                  "statistics come from their own unlabelled files, for the network's batch "
                  "norm too, and predict takes one speaker's files with --same-speaker), or "
                  "not at all (none)"),
    "shuffle": (_SWITCH, "draw the training chunks in a new random order every epoch; "
                         "--no-shuffle keeps file order, the same batches every epoch"),
    "precision": ({"choices": PRECISIONS},
                  "arithmetic of training: auto trains under bfloat16 autocast where the device "
                  "computes it natively (CUDA with bf16, CPUs with AVX512-BF16 or AMX), float32 "
                  "elsewhere; float32 gives the same arithmetic on every machine; prediction is "
                  "in float32 whatever this says"),
    "n_seeds": ({"type": positive_int, "metavar": "N"},
                "train N networks, seeded SEED to SEED+N-1, and predict from the mean of their "
                "probabilities (soft voting; N times the training)"),
    "n_teachers": ({"type": non_negative_int, "metavar": "N"},
                   "distillation: first train N networks of these settings (seeded SEED+1 to "
                   "SEED+N), then the model's network, which learns from the mean of their "
                   "probabilities as well as from the labels; the model stays one network; "
                   "about 1+1.5N times the training"),
    "random_state": ({"type": int, "metavar": "SEED"},
                     "seed of the weights, batch order, masks, validation split and folds"),
}


def flag(name):
    """The flag of ``build_pipeline``'s argument ``name``: ``max_epochs`` -> ``--max-epochs``."""
    return "--" + name.replace("_", "-")


def _value_text(name, value):
    """A value as the flag takes it: ``loss=None`` -> ``none``, ``1e-3`` -> ``0.001``."""
    if name in ("loss", "class_weight") and value is None:
        return _NO_LOSS
    if name == "normalize":
        return _NORMALIZE_WORDS[value]
    if isinstance(value, (list, tuple)):
        return " ".join(_value_text(name, item) for item in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _recipe_default(name):
    """``(cpu recipe: 60)``: the default recipe's value of a flag, for its help."""
    if name not in RECIPES[DEFAULT_RECIPE]:
        return f"default: {BUILD_DEFAULTS[name]}"
    value = RECIPES[DEFAULT_RECIPE][name]
    if name == "normalize":
        text = _NORMALIZE_WORDS[value]
    elif isinstance(value, bool):
        text = "on" if value else "off"
    elif value is None and name not in ("loss", "class_weight"):
        text = {"chunk_hop_frames": "--chunk-frames", "patience": "off",
                "mel_warp": "off", "speed_perturbation": "off", "noise_snr": "off"}[name]
    elif name == "chunk_frames":
        text = f"{value}, i.e. {value * _HOP_SECONDS:g} s"
    else:
        text = _value_text(name, value)
    return f"{DEFAULT_RECIPE} recipe: {text}"


def add_training_flag(group, name, *, default=argparse.SUPPRESS, text=None):
    """Add the flag of ``build_pipeline``'s argument ``name`` (and its older second
    name, left out of --help) to ``group``: by default "not given", its help
    showing the default recipe's value; with a ``default``, that value, for a
    command with settings of its own (``demo``). ``text`` replaces the help's
    first part."""
    keywords, usual_text = _FLAGS[name]
    shown = _recipe_default(name) if default is argparse.SUPPRESS else f"default: {default}"
    group.add_argument(flag(name), dest=name, default=default,
                       help=f"{text or usual_text} ({shown})", **keywords)
    if name in _ALIASES:
        group.add_argument(_ALIASES[name], dest=name, default=default, help=argparse.SUPPRESS,
                           **keywords)


def add_model_options(parser):
    """``--recipe`` and a flag for every other argument of ``build_pipeline``."""
    group = parser.add_argument_group(
        "model and training",
        "A recipe gives every setting below; a flag given overrides the recipe's value.")
    names = tuple(dict.fromkeys([DEFAULT_RECIPE, *RECIPES]))  # the default first
    recipes = "; ".join(describe_recipe(name) for name in names)
    group.add_argument("--recipe", choices=names, default=DEFAULT_RECIPE,
                       help=f"the settings: {recipes} (default: %(default)s)")
    for name in _FLAGS:
        add_training_flag(group, name)


def given_options(args):
    """The arguments of ``build_pipeline`` whose flags were given, by name."""
    given = {name: getattr(args, name) for name in _FLAGS if hasattr(args, name)}
    if given.get("loss") == _NO_LOSS:
        given["loss"] = None
    return given


def random_state(args):
    """``--random-state``, or ``build_pipeline``'s default when it is not given."""
    return getattr(args, "random_state", BUILD_DEFAULTS["random_state"])


def training_settings(args):
    """Every argument of ``build_pipeline`` as the options make it: the recipe's
    values, overridden by the flags given."""
    return {"recipe": args.recipe, **RECIPES[args.recipe],
            "random_state": BUILD_DEFAULTS["random_state"], **given_options(args)}


def override_flags(args):
    """The flags given over the recipe, as typed: ``--width tiny --no-augment``."""
    words = []
    for name, value in given_options(args).items():
        if isinstance(value, bool) and name != "normalize":
            words.append(flag(name) if value else f"--no-{flag(name)[2:]}")
        else:
            words.append(f"{flag(name)} {_value_text(name, value)}")
    return " ".join(words)


def pipeline_from_args(args):
    """``build_pipeline`` of the recipe and the flags given. Called before any data is
    read, so that its errors (chunks too short for the network, ``--patience``
    without a validation split) are usage errors that cost no time."""
    options = {"recipe": "--recipe", **{name: flag(name) for name in _FLAGS}}
    with usage_errors(options, caller="build_pipeline"):
        return build_pipeline(args.recipe, **given_options(args), verbose=int(progress(args)))
