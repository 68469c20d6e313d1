"""Writing a model file: :func:`save_model`."""


from __future__ import annotations

import json
import os
from numbers import Integral, Real

import numpy as np

from .. import nn
from .._version import current_version
from ..io import write_stored_members
from ._format import (
    _CLASSIFIERS,
    _CRITERIA,
    _MODULES,
    _TRANSFORMERS,
    _VOTE,
    FORMAT_NAME,
    METADATA_MEMBER,
    PICKLE_SUFFIXES,
    VOTE_FORMAT_VERSION,
    WEIGHTS_MEMBER,
    _split_params,
    _to_json,
    _weights_problem,
    is_pickle_name,
    member_names_problem,
)

# -- saving ---------------------------------------------------------------------------------

def _steps(estimator):
    """``(pipeline_params, [(name, role, estimator), ...])`` of a supported model."""
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        steps = list(estimator.steps)
        pipeline_params = {"verbose": bool(estimator.verbose)}
    else:
        steps = [("clf", estimator)]
        pipeline_params = None
    roles = ["features"] * (len(steps) - 1) + ["classifier"]
    names = [type(step).__name__ for _, step in steps]
    if len(steps) > 2 or not (names[-1] in _CLASSIFIERS or _is_vote(steps[-1][1])) or (
        len(steps) == 2 and names[0] not in _TRANSFORMERS
    ):
        raise TypeError(
            "save_model stores a fitted ADCRNNClassifier or ACRNNClassifier (or a "
            "VotingClassifier of them), alone or as "
            "Pipeline([(name, LogMel3DTransformer), (name, classifier)]); got "
            f"{type(estimator).__name__} with steps {names}. "
            + ("Save its best_estimator_ (fitted with refit=True). "
               if hasattr(estimator, "best_estimator_") else "")
            + "Use joblib to pickle other estimators (trusted files only)."
        )
    described = [(name, role, step) for (name, step), role in zip(steps, roles, strict=True)]
    return pipeline_params, described


def _is_vote(estimator):
    """Whether ``estimator`` is a VotingClassifier whose members are all ours."""
    from sklearn.ensemble import VotingClassifier

    return isinstance(estimator, VotingClassifier) and all(
        type(member).__name__ in _CLASSIFIERS for _, member in estimator.estimators)


def _classes_spec(classes):
    """``classes_`` as ``{"dtype", "values"}`` JSON, or a TypeError for labels JSON cannot hold."""
    classes = np.asarray(classes)
    values = classes.tolist()
    if classes.dtype.kind not in "UiubfO" or any(
        not isinstance(value, (str, int, float, bool)) for value in values
    ):
        raise TypeError(
            f"save_model stores class labels that are str, int, float or bool; got "
            f"classes_ of dtype {classes.dtype}: {values!r}"
        )
    return {"dtype": classes.dtype.str, "values": values}


def _describe_transformer(transformer, tensors):
    fitted, arrays = transformer.__sklearn_ser_state__()
    params, dropped = _split_params(transformer)
    for name, array in arrays.items():
        tensors[f"features.{name}"] = np.asarray(array, dtype=np.float64)
    return {"class": type(transformer).__name__, "params": params, "fitted": _to_json(fitted),
            "dropped_params": dropped}


def _allowed_name(value, names, what, module):
    """The name of an allow-listed class ``value`` of ``module``, or a TypeError."""
    name = getattr(value, "__name__", None)
    if name in names and getattr(module, name, None) is value:
        return name
    raise TypeError(
        f"save_model can store {what}={'/'.join(names)} only, got {value!r}; "
        "use joblib to pickle a model built on other classes (trusted files only)"
    )


def _describe_classifier(clf, tensors, prefix="classifier.", chunk_shape=None):
    """A classifier's parameters, labels and input shape, its weights under ``prefix``.
    ``chunk_shape`` (the fitted front end's, in a Pipeline) stands in for the
    ``input_shape_`` of a net initialised and given weights (``load_params``)
    rather than fitted."""
    import torch
    from skorch.dataset import ValidSplit

    fitted, arrays = clf.__sklearn_ser_state__(input_shape=chunk_shape)
    params, dropped = _split_params(clf, ("module", "criterion", "optimizer", "train_split"))
    params["module"] = _allowed_name(clf.module, _MODULES, "module", nn)
    params["criterion"] = _allowed_name(clf.criterion, _CRITERIA, "criterion", nn)
    optimizer = clf.optimizer
    if getattr(torch.optim, getattr(optimizer, "__name__", ""), None) is optimizer:
        params["optimizer"] = optimizer.__name__
    else:
        dropped.append("optimizer")
    split = clf.train_split
    if split is None:
        params["train_split"] = None
    elif type(split) is ValidSplit and isinstance(split.cv, Real) and (
        split.random_state is None or isinstance(split.random_state, Integral)
    ):
        params["train_split"] = {"ValidSplit": {
            "cv": _to_json(split.cv), "stratified": bool(split.stratified),
            "random_state": _to_json(split.random_state)}}
    else:
        dropped.append("train_split")
    # A parameter left at its default (a class, a function) loses nothing.
    current, defaults = clf.get_params(deep=False), type(clf)().get_params(deep=False)
    dropped = [key for key in dropped if current[key] is not defaults.get(key, current)]
    for key, tensor in arrays.items():
        tensors[f"{prefix}{key}"] = tensor
    fitted = {"classes_": _classes_spec(fitted["classes_"]),
              "input_shape_": fitted["input_shape_"],
              "front_end_": _to_json(fitted.get("front_end_")),
              "class_weight_": _to_json(fitted.get("class_weight_"))}
    return {"class": type(clf).__name__, "params": params, "fitted": fitted,
            "dropped_params": dropped}


def _describe_vote(vote, tensors):
    """A soft ``VotingClassifier`` of our networks: its parameters, labels and members,
    each member's weights under ``classifier.<member name>.``."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(vote, "estimators_")
    if vote.voting != "soft":
        raise TypeError(f"save_model stores a VotingClassifier with voting='soft' only, got "
                        f"voting={vote.voting!r}; use joblib for it (trusted files only)")
    names = [name for name, _ in vote.estimators]
    problem = member_names_problem(names)
    if problem:
        raise TypeError(f"save_model cannot store this VotingClassifier: {problem}")
    weights = None if vote.weights is None else list(np.asarray(vote.weights).tolist())
    problem = _weights_problem(weights, len(names))
    if problem:
        raise ValueError(f"save_model cannot store this VotingClassifier: {problem}")
    # n_jobs is how to run, not the model: not stored (see _format._RUNTIME_ONLY)
    params = {"voting": "soft", "weights": weights,
              "flatten_transform": bool(vote.flatten_transform),
              "verbose": bool(vote.verbose)}
    members = [{"name": name, **_describe_classifier(member, tensors, f"classifier.{name}.")}
               for name, member in zip(names, vote.estimators_, strict=True)]
    return {"class": _VOTE, "params": params, "fitted": {"classes_": _classes_spec(
        vote.classes_)}, "members": members, "dropped_params": []}


def save_model(estimator, path):
    """Save a fitted model to a safe, portable file (zip of JSON and safetensors).

    Parameters
    ----------
    estimator : Pipeline or ADCRNNClassifier or ACRNNClassifier or VotingClassifier
        A fitted ``Pipeline([(name, LogMel3DTransformer), (name, classifier)])``
        or a fitted classifier alone; the classifier may be a soft
        ``VotingClassifier`` of ADCRNN/ACRNN classifiers
        (``build_pipeline(n_seeds=N)``), stored in format version 2.
    path : str or PathLike
        File to write (``.zip`` or any name). It is written next to its final
        place and renamed, so an interrupted save never leaves a partial file.

    Returns
    -------
    path : pathlib.Path

    Notes
    -----
    Saved: the parameters that are JSON data (``module__*``, ``criterion__*``,
    ``optimizer__*``, ``lr``, ``batch_size``, ``max_epochs``, ``precision``,
    ``aggregate``, ``device``, ...), the module, criterion and optimizer by
    class name, a ``ValidSplit`` by its arguments, the fitted attributes and
    all weights. Not saved (back to their defaults on load, listed under
    ``dropped_params`` in the metadata): parameters holding other objects,
    such as ``callbacks`` or a custom ``iterator_train__collate_fn``; also
    ``torch_load_kwargs`` and the Pipeline's ``memory``, never restored from a
    file; and the settings of how a model runs rather than what it is
    (``n_jobs``, ``compile``, the DataLoaders' ``iterator_*__num_workers``,
    ``__pin_memory``, ...), which the loading script sets if it wants them
    (a file cannot start processes or a compiler where it is loaded). The
    optimizer state is not saved: resume training from a checkpoint
    (:func:`sklearn_ser.callbacks.resumable_callbacks`).
    """
    import safetensors.torch
    import sklearn
    import skorch
    import torch

    if is_pickle_name(path):
        raise ValueError(
            f"{os.fspath(path)!r} is named like a joblib pickle ({', '.join(PICKLE_SUFFIXES)}), "
            "but save_model writes the safe format, which joblib.load cannot read: give it "
            "another name (e.g. model.sser), or pickle the model with joblib.dump (trusted "
            "files only)"
        )
    pipeline_params, steps = _steps(estimator)
    tensors, described = {}, []
    chunk_shape = None  # what the front end feeds the classifier, once it is fitted
    for name, role, step in steps:
        if role == "features":
            description = _describe_transformer(step, tensors)
            chunk_shape = getattr(step, "chunk_shape_", None)
        elif _is_vote(step):
            description = _describe_vote(step, tensors)
        else:
            description = _describe_classifier(step, tensors, chunk_shape=chunk_shape)
        described.append({"name": name, "role": role, **description})
    metadata = {
        "format": FORMAT_NAME,
        # the lowest version that reads it: a single network stays readable by version 1
        "format_version": VOTE_FORMAT_VERSION if described[-1]["class"] == _VOTE else 1,
        "sklearn_ser_version": current_version(),
        "library_versions": {"torch": torch.__version__, "skorch": skorch.__version__,
                             "scikit-learn": sklearn.__version__, "numpy": np.__version__},
        "pipeline": pipeline_params,
        "steps": described,
    }
    weights = safetensors.torch.save({
        key: torch.as_tensor(value).detach().to("cpu").clone().contiguous()
        for key, value in tensors.items()
    })
    return write_stored_members(path, {
        METADATA_MEMBER: json.dumps(metadata, indent=2, allow_nan=False).encode("utf-8"),
        WEIGHTS_MEMBER: weights})


