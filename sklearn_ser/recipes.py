"""Named recipes: the front end, network and training settings of
:func:`~sklearn_ser.pipeline.build_pipeline`, kept in one place.

A recipe is a read-only mapping of ``build_pipeline``'s arguments. The
command line's ``--recipe NAME`` and ``build_pipeline(recipe=NAME)`` read it;
an argument given explicitly (or a flag on the command line) overrides the
recipe's value. :data:`DEFAULT_RECIPE` is used when none is named.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["DEFAULT_RECIPE", "RECIPES", "describe_recipe"]

_PAPER = dict(
    model="adcrnn", width="paper", loss="contrastive-center", aux_weight=1.0, class_weight=None,
    max_epochs=30, lr=1e-4, batch_size=32, chunk_frames=300, chunk_hop_frames=None,
    valid_fraction=0.0, schedule="constant", patience=None, augment=False, mel_warp=None,
    trim_zeros=False, speed_perturbation=None, noise_snr=None, normalize=True, shuffle=True,
    precision="auto", n_seeds=1, n_teachers=0,
)

#: The recipes by name. ``"paper"`` is the published configuration (Pham et al.
#: 2020: Table 1 widths, 3 s chunks, Adam at 1e-4, batches of 32), which is
#: also what the classes' own defaults give. ``"cpu"`` is the best recipe
#: measured on a CPU: small widths, 2 s chunks, Adam at 1e-3 annealed along a
#: cosine to 1e-5 over 60 epochs, SpecAugment masking, digital silence
#: trimmed, shuffled batches, all the data for training.
RECIPES = MappingProxyType({
    "paper": MappingProxyType(_PAPER),
    "cpu": MappingProxyType({
        **_PAPER, "width": "small", "max_epochs": 60, "lr": 1e-3, "chunk_frames": 200,
        "schedule": "cosine", "augment": True, "trim_zeros": True,
    }),
})

#: The recipe of ``build_pipeline()`` and of the command line when none is named.
DEFAULT_RECIPE = "cpu"


def describe_recipe(name):
    """One line naming a recipe's settings, e.g. for a progress message.

    Parameters
    ----------
    name : str
        A key of :data:`RECIPES`.

    Returns
    -------
    line : str
        ``"cpu (adcrnn small, 60 epochs, lr 0.001 cosine, batch 32, 200-frame chunks, ...)"``.
    """
    recipe = RECIPES[name]
    extras = [word for flag, word in (("augment", "SpecAugment"),
                                      ("trim_zeros", "trimmed silence")) if recipe[flag]]
    return (f"{name} ({recipe['model']} {recipe['width']}, {recipe['max_epochs']} epochs, "
            f"lr {recipe['lr']:g} {recipe['schedule']}, batch {recipe['batch_size']}, "
            f"{recipe['chunk_frames']}-frame chunks"
            + "".join(f", {word}" for word in extras) + ")")
