"""The ONNX bundle: one zip archive with the network and everything else prediction needs.

A bundle stores two members, uncompressed:

``bundle.json``
    ``{"format": "sklearn_ser.onnx_bundle", "format_version": 1,
    "sklearn_ser_version": ..., "front_end": {...}, "normalization": {"mean":
    [[...]], "scale": [[...]]}, "classes": [...], "aggregate": ...,
    "network": {"input": "chunks", "output": "probabilities", "architecture":
    ..., "opset": ...}}``: the front end's parameters (those of
    :class:`~sklearn_ser.LogMel3DTransformer`), its fitted statistics of
    shape ``(3, n_mels)``, the class labels (strings or integers) in the
    order of the network's outputs, and the rule that averages an
    utterance's chunks.
``network.onnx``
    The network as ONNX: float32 chunks ``(batch, 3, chunk_frames, n_mels)``
    in, class probabilities ``(batch, n_classes)`` out (the softmax is part
    of the graph), any batch size.

Nothing in a bundle is executed but the ONNX graph, by onnxruntime.
"""

from __future__ import annotations

import contextlib
import os
import zipfile

import numpy as np

from ..exceptions import ModelFileError, NotAZipError
from ..features import (
    FRONT_END_DEFAULTS,
    check_aggregate,
    check_front_end,
    normalizes_by_speaker,
)
from ..io import check_format, display_name, open_regular_file, parse_json, read_stored_members
from ..utils.validation import is_integer, is_number

__all__ = ["BUNDLE_FORMAT", "BUNDLE_FORMAT_VERSION", "INPUT_NAME", "MANIFEST_MEMBER",
           "NETWORK_MEMBER", "OUTPUT_NAME", "STORED_FRONT_END", "is_bundle", "read_bundle"]

BUNDLE_FORMAT = "sklearn_ser.onnx_bundle"
BUNDLE_FORMAT_VERSION = 1
MANIFEST_MEMBER = "bundle.json"
NETWORK_MEMBER = "network.onnx"
INPUT_NAME, OUTPUT_NAME = "chunks", "probabilities"
#: The front end's parameters a bundle stores: all but the run-time and training ones.
_NOT_STORED = {"n_jobs": None, "verbose": 0, "speed_perturbation": None, "noise_snr": None,
               "random_state": None}
STORED_FRONT_END = tuple(name for name in FRONT_END_DEFAULTS if name not in _NOT_STORED)
_MAX_MANIFEST_BYTES = 1 << 20  # a genuine bundle.json is a few kB
_MAX_NETWORK_BYTES = 1 << 30  # the paper's full widths take about 20 MB
_MAX_CLASSES = 10_000


def _name(path):
    try:
        return display_name(path)
    except TypeError:
        return repr(path)


def is_bundle(path):
    """Whether ``path`` is a regular file that holds an ONNX bundle's two members.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Only its zip directory is read; a model file in the safe
        format (whose members differ), a missing file or anything else gives
        ``False``.

    Returns
    -------
    is_bundle : bool
    """
    try:
        with open_regular_file(path, what="model file", error=ModelFileError) as file, \
                zipfile.ZipFile(file) as archive:
            return set(archive.namelist()) == {MANIFEST_MEMBER, NETWORK_MEMBER}
    except (ModelFileError, zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


def read_bundle(path):
    """``(manifest, network bytes)`` of a bundle, checked, or a ModelFileError.

    Parameters
    ----------
    path : str or os.PathLike or binary file object
        The bundle.

    Returns
    -------
    manifest : dict
        ``bundle.json``, every entry checked: the front end as
        :func:`~sklearn_ser.features.check_front_end` checks it (sizes within
        :data:`~sklearn_ser.features.FRONT_END_LIMITS`), finite statistics of
        shape ``(3, n_mels)`` with positive scales, unique labels, a known
        aggregation rule. ``front_end`` gains ``n_jobs=None`` and ``verbose=0``;
        ``mean`` and ``scale`` become float64 arrays, ``classes`` a numpy array.
    network : bytes
        The ONNX model.

    Raises
    ------
    ModelFileError
        Naming the file and what is wrong with it.
    """
    name = _name(path)

    def fail(problem):
        return ModelFileError(f"{name!r} is not a valid sklearn_ser ONNX bundle: {problem}")

    with contextlib.ExitStack() as stack:
        source = path
        if isinstance(path, (str, bytes, os.PathLike)):
            source = stack.enter_context(open_regular_file(
                path, what="model file", error=ModelFileError, name=name))
        try:
            members = read_stored_members(
                source, {MANIFEST_MEMBER: _MAX_MANIFEST_BYTES, NETWORK_MEMBER: _MAX_NETWORK_BYTES})
        except (NotAZipError, ValueError) as exc:
            raise fail(str(exc)) from exc
    try:
        manifest = parse_json(members[MANIFEST_MEMBER], max_depth=8, max_int_digits=18)
    except ValueError as exc:
        raise fail(f"{MANIFEST_MEMBER} {exc}") from exc
    try:
        check_format(manifest, member=MANIFEST_MEMBER, name=BUNDLE_FORMAT,
                     newest=BUNDLE_FORMAT_VERSION)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    try:
        _check_manifest(manifest)
    except (ValueError, TypeError) as exc:
        raise fail(f"{MANIFEST_MEMBER}: {exc}") from exc
    return manifest, members[NETWORK_MEMBER]


def _check_manifest(manifest):
    """Check and convert the manifest's entries in place, or a ValueError."""
    front_end = manifest.get("front_end")
    if not isinstance(front_end, dict) or set(front_end) != set(STORED_FRONT_END):
        shown = sorted(front_end) if isinstance(front_end, dict) else repr(front_end)
        raise ValueError(f"front_end must hold the parameters {list(STORED_FRONT_END)}, "
                         f"found {shown}")
    check_front_end(front_end, caller="front_end")
    if normalizes_by_speaker(front_end["normalize"]):
        raise ValueError("front_end has normalize='speaker', which a bundle cannot predict "
                         "with (it needs every speaker's utterances together)")
    manifest["front_end"] = {**front_end, **_NOT_STORED}
    normalization = manifest.get("normalization")
    if not isinstance(normalization, dict) or set(normalization) != {"mean", "scale"}:
        raise ValueError("normalization must hold 'mean' and 'scale'")
    shape = (3, front_end["n_mels"])
    for key in ("mean", "scale"):
        value = normalization[key]
        rows = value if isinstance(value, list) else None
        if not (rows is not None and len(rows) == 3
                and all(isinstance(row, list) and len(row) == shape[1]
                        and all(is_number(v) for v in row) for row in rows)):
            raise ValueError(f"normalization {key!r} must be {shape[0]} lists of {shape[1]} "
                             "finite numbers (channels by Mel bands)")
        manifest[key] = np.array(rows, dtype=np.float64)
    if not (manifest["scale"] > 0).all():
        raise ValueError("normalization 'scale' must be > 0")
    classes = manifest.get("classes")
    if not (isinstance(classes, list) and 1 <= len(classes) <= _MAX_CLASSES
            and (all(isinstance(c, str) for c in classes)
                 or all(is_integer(c) for c in classes))
            and len(set(classes)) == len(classes)):
        raise ValueError(f"classes must be 1 to {_MAX_CLASSES} unique labels, all strings or "
                         "all integers")
    manifest["classes"] = np.array(classes)
    check_aggregate(manifest.get("aggregate"))
    network = manifest.get("network")
    if not (isinstance(network, dict) and network.get("input") == INPUT_NAME
            and network.get("output") == OUTPUT_NAME):
        raise ValueError(f"network must name its input {INPUT_NAME!r} and its output "
                         f"{OUTPUT_NAME!r}")
