"""Safe, portable model files: :func:`save_model`, :func:`load_model`.

A model file is a zip archive of two stored (uncompressed) members:

- ``metadata.json``: the format name and version, the library versions, and
  for every step its class name (from an allow-list), its JSON-able
  parameters and its small fitted attributes (``classes_`` with its dtype,
  ``input_shape_``, ``front_end_``, ``n_frames_seen_``, ``chunk_shape_``);
- ``weights.safetensors``: every tensor (the module's and the criterion's
  state dicts, the centers and batch-norm statistics included, and the front
  end's ``mean_`` and ``scale_`` in float64).

A soft ``VotingClassifier`` of networks (``build_pipeline(n_seeds=N)``) is
stored as its parameters, labels and ``members`` (each a classifier entry,
its tensors under ``classifier.<member name>.``), in format version 2; a
single network's file keeps version 1.

Loading parses JSON and safetensors only: no pickle, no import of a name
found in the file, so a file from an untrusted source runs none of its
content; and it opens regular files only, and checks every value against the
estimators' limits, so such a file can neither block the loader nor ask for
gigabytes when the model later predicts. Only ``LogMel3DTransformer``, ``ADCRNNClassifier``,
``ACRNNClassifier`` and such votes can be saved; ``joblib``/``pickle`` stay
available for anything else (trusted files only).
"""

from ._format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    PICKLE_SUFFIXES,
    ModelFileError,
    is_pickle_name,
    looks_like_pickle,
    member_names_problem,
)
from ._load import load_model
from ._policy import load, save
from ._save import save_model

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "PICKLE_SUFFIXES",
    "ModelFileError",
    "is_pickle_name",
    "load",
    "load_model",
    "looks_like_pickle",
    "member_names_problem",
    "save",
    "save_model",
]
