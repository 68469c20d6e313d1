"""Reading a model file without running any of it: :func:`load_model`."""


from __future__ import annotations

import contextlib
import os
import warnings

import numpy as np

from .. import nn
from .._version import current_version
from ..exceptions import NotAZipError
from ..features import LogMel3DTransformer, front_end_difference
from ..io import check_format, display_name, open_regular_file, read_stored_members
from ._format import (
    _CLASSIFIERS,
    _CRITERIA,
    _MAX_METADATA_BYTES,
    _MODULES,
    _NEVER_RESTORED,
    _TRANSFORMERS,
    _VOTE,
    FORMAT_NAME,
    FORMAT_VERSION,
    METADATA_MEMBER,
    VOTE_FORMAT_VERSION,
    WEIGHTS_MEMBER,
    ModelFileError,
    SklearnSerVersionWarning,
    _runtime_only,
    _weights_problem,
    looks_like_pickle,
    member_names_problem,
    parse_metadata,
)

# -- loading --------------------------------------------------------------------------------

def _file_name(path):
    """How messages name the model file: its path, or an open file object's name."""
    try:
        return display_name(path)
    except TypeError:
        name = getattr(path, "name", None)
        return display_name(name) if isinstance(name, (str, bytes, os.PathLike)) else repr(path)


def _read_archive(path):
    """``(metadata, tensors)`` of a model file, or a ModelFileError."""
    import safetensors.torch
    from safetensors import SafetensorError

    def fail(problem):
        return ModelFileError(f"{_file_name(path)!r} is not a valid sklearn_ser model file: "
                              f"{problem}")

    with contextlib.ExitStack() as stack:
        source = path
        if isinstance(path, (str, bytes, os.PathLike)):
            # a regular file only: a named pipe would block, a device never end
            source = stack.enter_context(open_regular_file(
                path, what="model file", error=ModelFileError, name=_file_name(path)))
        try:
            members = read_stored_members(
                source, {METADATA_MEMBER: _MAX_METADATA_BYTES, WEIGHTS_MEMBER: None})
        except NotAZipError as exc:
            hint = ""
            if isinstance(path, (str, bytes, os.PathLike)) and looks_like_pickle(path):
                hint = ("; it looks like a pickle (joblib.dump): load it with joblib.load, "
                        "and only if you trust where it comes from")
            raise fail(f"{exc}{hint}") from exc
        except ValueError as exc:
            raise fail(str(exc)) from exc
    raw_metadata, raw_weights = members[METADATA_MEMBER], members[WEIGHTS_MEMBER]
    try:
        metadata = parse_metadata(raw_metadata)
    except ValueError as exc:
        raise fail(f"{METADATA_MEMBER} {exc}") from exc
    try:
        check_format(metadata, member=METADATA_MEMBER, name=FORMAT_NAME, newest=FORMAT_VERSION)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    try:
        tensors = safetensors.torch.load(raw_weights)
    except (SafetensorError, ValueError, RuntimeError, OverflowError) as exc:
        raise fail(f"{WEIGHTS_MEMBER} cannot be read ({exc})") from exc
    return metadata, tensors


def _expect(condition, problem):
    if not condition:
        raise ValueError(problem)


def _build_transformer(entry, tensors):
    arrays = {key[len("features."):]: tensor.numpy() for key, tensor in tensors.items()
              if key.startswith("features.")}
    return LogMel3DTransformer.__sklearn_ser_restore__(entry["params"], entry["fitted"], arrays)


def _classes(spec):
    _expect(isinstance(spec, dict), "classes_ must be {'dtype': ..., 'values': [...]}")
    dtype, values = np.dtype(str(spec.get("dtype"))), spec.get("values")
    _expect(dtype.kind in "UiubfO",
            f"classes_ dtype {dtype} is not one of str, int, float, bool, object")
    _expect(isinstance(values, list) and len(values) >= 2 and all(
        isinstance(v, (str, int, float, bool)) for v in values),
        "classes_ must list at least 2 labels (str, int, float or bool)")
    # a dtype far wider than its labels would allocate memory the file does not hold
    _expect(dtype.itemsize <= max(np.asarray(values).dtype.itemsize, 4096),
            f"classes_ dtype {dtype} is far wider than its labels")
    classes = np.array(values, dtype=dtype)
    _expect(classes.tolist() == values, f"classes_ {values!r} do not fit dtype {dtype}")
    _expect(len(np.unique(classes)) == len(classes), "classes_ holds duplicates")
    return classes


def _device_problem(device):
    """None when ``device`` can hold this model's weights here, ``"unavailable"``
    for a real device this machine lacks (a GPU), else what is wrong with it."""
    import torch

    try:
        where = torch.device(device)
    except (TypeError, ValueError, RuntimeError) as exc:
        return f"not a torch device ({exc})"
    if where.type == "meta":
        return "the meta device holds no weights"
    if where.type == "cpu":
        return None
    backend = getattr(torch, where.type, None)
    # torch.backends.mps.is_available exists in every torch this package allows,
    # torch.mps.is_available only from 2.5; CUDA's is torch.cuda.is_available
    is_available = getattr(getattr(torch.backends, where.type, None), "is_available", None)
    if not callable(is_available):
        is_available = getattr(backend, "is_available", None)
    if not (callable(is_available) and is_available()):
        return "unavailable"
    count = getattr(backend, "device_count", None)
    if where.index is not None and callable(count) and where.index >= count():
        return "unavailable"
    return None


def _check_device_argument(device):
    """``load_model(device=...)``: None, ``"auto"`` or a device this machine has."""
    if device is None or (isinstance(device, str) and device == "auto"):
        return
    problem = _device_problem(device)
    if problem == "unavailable":
        problem = "this machine does not have it; use device='cpu' or 'auto'"
    if problem is not None:
        raise ValueError(f"load_model: device={device!r}: {problem}")


def _build_classifier(entry, tensors, device, prefix="classifier."):
    import torch
    from skorch.dataset import ValidSplit

    params = dict(entry["params"])
    module, criterion = params.get("module"), params.get("criterion")
    _expect(module in _MODULES, f"module {module!r} is not one of {list(_MODULES)}")
    _expect(criterion in _CRITERIA, f"criterion {criterion!r} is not one of {list(_CRITERIA)}")
    params["module"], params["criterion"] = getattr(nn, module), getattr(nn, criterion)
    if "optimizer" in params:
        name = params["optimizer"]
        optimizer = getattr(torch.optim, name, None) if isinstance(name, str) else None
        _expect(isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer)
                and name in torch.optim.__all__,
                f"optimizer {name!r} is not a torch.optim optimizer")
        params["optimizer"] = optimizer
    if params.get("train_split") is not None:
        split = params["train_split"]
        _expect(isinstance(split, dict) and set(split) == {"ValidSplit"},
                f"train_split {split!r} is not a ValidSplit")
        params["train_split"] = ValidSplit(**split["ValidSplit"])
    saved_device = params.pop("device", "auto")
    if device is None:
        device = saved_device
        if device is not None and device != "auto":
            problem = _device_problem(device)
            _expect(problem in (None, "unavailable"), f"device={device!r}: {problem}")
            if problem == "unavailable":
                warnings.warn(f"The model was saved with device={device!r}, which this "
                              "machine lacks; loading it on the CPU.", UserWarning,
                              stacklevel=3)
                device = "cpu"
    fitted = dict(entry["fitted"])
    fitted["classes_"] = _classes(fitted.get("classes_"))
    fitted.setdefault("input_shape_", None)
    arrays = {key[len(prefix):]: tensor for key, tensor in tensors.items()
              if key.startswith(prefix) and key[len(prefix):].partition(".")[0]
              in ("module_", "criterion_")}
    cls = getattr(nn, entry["class"])
    return cls.__sklearn_ser_restore__(params, fitted, arrays, device=device)


def _check_entry(entry, where, allowed):
    """An estimator's entry has params and fitted state, an allowed class and
    only parameters that may be restored."""
    _expect(isinstance(entry, dict) and isinstance(entry.get("params"), dict)
            and isinstance(entry.get("fitted"), dict), f"{where} lacks 'params' or 'fitted'")
    _expect(entry.get("class") in allowed,
            f"{where} names class {entry.get('class')!r}, which is not one of {list(allowed)}")
    _expect(all(isinstance(key, str) and not key.startswith("_") and key not in _NEVER_RESTORED
                for key in entry["params"]),
            f"{where} has a parameter that cannot be restored")
    # how to run (processes, DataLoader workers, compile) is the loading script's choice
    entry["params"] = {key: value for key, value in entry["params"].items()
                       if not _runtime_only(key)}


def _build_vote(entry, tensors, device):
    """A fitted soft ``VotingClassifier`` of our networks, set up as its ``fit`` leaves it."""
    from sklearn.base import clone
    from sklearn.ensemble import VotingClassifier
    from sklearn.preprocessing import LabelEncoder
    from sklearn.utils import Bunch

    params, members = entry["params"], entry.get("members")
    _expect(params.get("voting") == "soft", f"voting={params.get('voting')!r} is not 'soft'")
    _expect(isinstance(members, list), "'members' must list the networks")
    names = [member.get("name") if isinstance(member, dict) else None for member in members]
    problem = member_names_problem(names)
    _expect(problem is None, problem)
    weights = params.get("weights")
    problem = _weights_problem(weights, len(members))
    _expect(problem is None, problem)
    flags = {key: params.get(key, default)
             for key, default in (("flatten_transform", True), ("verbose", False))}
    _expect(all(isinstance(value, bool) for value in flags.values()),
            f"flatten_transform and verbose must be true or false, got {flags}")
    classes = _classes(entry["fitted"].get("classes_"))
    networks = []
    for name, member in zip(names, members, strict=True):
        where = f"member {name!r}"
        _check_entry(member, where, _CLASSIFIERS)
        try:
            network = _build_classifier(member, tensors, device, prefix=f"classifier.{name}.")
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc
        # the vote trains its members on label-encoded targets: classes 0..K-1
        _expect(network.classes_.tolist() == list(range(len(classes))),
                f"{where} has classes_ {network.classes_.tolist()}, not the "
                f"indices 0..{len(classes) - 1} of the vote's {len(classes)} classes")
        networks.append(network)
    shapes = _input_shapes(networks)
    _expect(len(shapes) == 1, f"the members' input_shape_ differ: {sorted(shapes)}")
    # as after fit: `estimators` holds unfitted templates, `estimators_` the fitted networks
    vote = VotingClassifier([(name, clone(network)) for name, network in zip(
        names, networks, strict=True)], voting="soft", weights=weights, **flags)
    vote.le_ = LabelEncoder().fit(classes)
    _expect(vote.le_.classes_.tolist() == classes.tolist(),
            f"classes_ {classes.tolist()!r} are not sorted, as a VotingClassifier's are")
    vote.classes_ = vote.le_.classes_
    vote.estimators_ = networks
    vote.named_estimators_ = Bunch(**dict(zip(names, networks, strict=True)))
    return vote


def _input_shapes(networks):
    """The distinct ``input_shape_`` of some networks."""
    return {tuple(network.input_shape_) for network in networks}


def _check_behind(front_end, networks):
    """The networks were fitted behind this front end: its chunk shape, its settings."""
    chunk_shape = tuple(front_end.chunk_shape_)
    shapes = _input_shapes(networks)
    _expect(shapes == {chunk_shape}, f"the classifier's input_shape_ {sorted(shapes)} differs "
                                     f"from the front end's chunk_shape_ {chunk_shape}")
    settings = front_end.feature_settings()
    for network in networks:
        difference = front_end_difference(network.front_end_, settings)
        _expect(not difference, "the classifier was fitted behind a front end with other "
                                f"settings than the file's: {difference}")


def _tensor_keys(built):
    """``(exact keys, key prefixes)`` of the tensors the built steps read."""
    exact, prefixes = set(), []
    for _, step in built:
        if hasattr(step, "chunk_shape_"):
            exact |= {"features.mean_", "features.scale_"}
            continue
        members = [f"{member}." for member in step.named_estimators_] if hasattr(
            step, "named_estimators_") else [""]
        prefixes += [f"classifier.{member}{part}." for member in members
                     for part in ("module_", "criterion_")]
    return exact, tuple(prefixes)


def load_model(path, *, device=None):
    """Load a model written by :func:`save_model`, running none of the file's content.

    Parameters
    ----------
    path : str or PathLike or binary file object
        The model file (an open file is read from its start; its ``name``,
        if any, names it in messages).
    device : str or None, default=None
        Where the network goes. None keeps the saved ``device``: ``"auto"``
        (the default when training) picks CUDA if this machine has it, else
        the CPU; a saved device this machine lacks (``"cuda"``, ``"mps"``, ...)
        falls back to the CPU with a warning. A device given here must exist
        on this machine (else ``ValueError``). Weights are read to the CPU,
        then copied to the device.

    Returns
    -------
    estimator : Pipeline or ADCRNNClassifier or ACRNNClassifier or VotingClassifier
        What was saved, fitted and ready to ``predict``; ``get_params()``
        gives the saved parameters (minus the ``dropped_params``). A soft
        vote comes back as the ``VotingClassifier`` its ``fit`` would leave
        (``estimators_``, ``named_estimators_``, ``le_``, ``classes_``).

    Raises
    ------
    ValueError
        ``device`` is not a device of this machine (checked before the file
        is read).
    ModelFileError
        The file is a folder, a named pipe or a device (refused unopened),
        truncated, corrupted, not a model file, names a class outside the
        allow-list, holds values outside the estimators' limits (absurd
        sizes, huge integers, JSON nested too deep), or parameters or
        weights that do not fit together. The message names the file and the
        problem.
    FileNotFoundError
        ``path`` does not exist.
    PermissionError
        ``path`` cannot be read; the message names it.

    Warns
    -----
    SklearnSerVersionWarning
        The file was written by another sklearn_ser version.

    Notes
    -----
    Safety: the file is read with :mod:`zipfile`, :mod:`json` and
    ``safetensors.torch.load``; class names are looked up in fixed
    allow-lists (``LogMel3DTransformer``; ``ADCRNNClassifier``,
    ``ACRNNClassifier`` and scikit-learn's ``VotingClassifier`` of them;
    ``ADCRNN``, ``ACRNN``; ``CenterAugmentedLoss``;
    optimizers of ``torch.optim``), never imported from a dotted path. The
    network is first built on PyTorch's ``meta`` device and its shapes
    compared with the stored weights, so a file cannot make the loader
    allocate more than the weights it actually holds. torch's random
    generator is left as it was.
    """
    from sklearn.pipeline import Pipeline

    _check_device_argument(device)
    metadata, tensors = _read_archive(path)
    saved_version = metadata.get("sklearn_ser_version")
    if saved_version != current_version():
        warnings.warn(
            SklearnSerVersionWarning(
                estimator_name=_file_name(path), original_sklearn_ser_version=saved_version,
                current_sklearn_ser_version=current_version(), how="load",
            ),
            stacklevel=2,
        )
    try:
        steps = metadata.get("steps")
        _expect(isinstance(steps, list) and 1 <= len(steps) <= 2,
                "'steps' must list one or two estimators")
        built = []
        for index, entry in enumerate(steps):
            role = "classifier" if index == len(steps) - 1 else "features"
            allowed = (*_CLASSIFIERS, _VOTE) if role == "classifier" else _TRANSFORMERS
            _check_entry(entry, f"step {index}", allowed)
            vote = entry["class"] == _VOTE
            _expect(not vote or metadata["format_version"] >= VOTE_FORMAT_VERSION,
                    f"a {_VOTE} needs format_version {VOTE_FORMAT_VERSION}")
            try:
                if role == "features":
                    step = _build_transformer(entry, tensors)
                else:
                    step = (_build_vote if vote else _build_classifier)(entry, tensors, device)
                built.append((str(entry.get("name", role)), step))
            except ModelFileError:
                raise
            except Exception as exc:
                detail = exc if type(exc) is ValueError else f"{type(exc).__name__}: {exc}"
                raise ValueError(f"step {index} ({entry['class']}): {detail}") from exc
        exact, prefixes = _tensor_keys(built)
        unused = sorted(key for key in tensors if key not in exact and not key.startswith(prefixes))
        _expect(not unused, f"the weights hold tensors that no step reads: {unused[:4]}")
        if len(built) == 2:
            _check_behind(built[0][1], getattr(built[1][1], "estimators_", [built[1][1]]))
        pipeline = metadata.get("pipeline")
        if pipeline is None:
            _expect(len(built) == 1, "a front end without a pipeline")
            return built[0][1]
        _expect(isinstance(pipeline, dict), "'pipeline' must be an object")
        return Pipeline(built, verbose=bool(pipeline.get("verbose", False)))
    except ModelFileError:
        raise
    except Exception as exc:  # whatever the content makes fail, the file is to blame
        detail = exc if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        raise ModelFileError(f"{_file_name(path)!r} cannot be loaded: {detail} (tampered with, "
                             f"or written by an incompatible sklearn_ser "
                             f"{saved_version})") from exc
