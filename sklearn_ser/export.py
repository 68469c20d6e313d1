"""Export a fitted pipeline as an ONNX bundle, for :mod:`sklearn_ser.runtime`.

:func:`export_onnx` writes the network as ONNX (the softmax included, any
batch size) beside everything else prediction needs, in the bundle format
of :mod:`sklearn_ser.runtime`. Needs PyTorch (the exporter); checking the
export needs onnxruntime.
"""

from __future__ import annotations

import copy
import inspect
import io
import json
import warnings
from numbers import Integral

import numpy as np

from ._version import current_version
from .features import LogMel3DTransformer, feature_settings, normalizes_by_speaker
from .io import write_stored_members
from .nn import ChunkedNeuralNetClassifier, softmax_of_logits
from .runtime import (
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_VERSION,
    INPUT_NAME,
    MANIFEST_MEMBER,
    NETWORK_MEMBER,
    OUTPUT_NAME,
    STORED_FRONT_END,
)
from .utils.constraints import Interval
from .utils.validation import check_params

__all__ = ["ONNX_OPSET", "OPSET_RANGE", "export_onnx"]

#: The ONNX operator set the bundles are written with (onnxruntime 1.14 and later run it).
ONNX_OPSET = 17
#: The operator sets the exporter writes for these networks.
OPSET_RANGE = (13, 20)
#: The largest difference allowed between the exported network's probabilities
#: and PyTorch's on the check batch (both float32).
_TOLERANCE = 1e-4


_CONSTRAINTS = {"opset": [Interval(Integral, *OPSET_RANGE, closed="both")], "check": ["boolean"]}


def _parts(model):
    """``(front end, classifier)`` of an exportable pipeline, or a ValueError saying why not."""
    steps = getattr(model, "steps", None)
    if not (steps and len(steps) == 2 and isinstance(steps[0][1], LogMel3DTransformer)):
        raise ValueError(
            f"export_onnx takes a fitted Pipeline of two steps, a LogMel3DTransformer and a "
            f"classifier (as build_pipeline and 'sklearn-ser train' make), got "
            f"{type(model).__name__}" + (f" with steps {[name for name, _ in steps]}"
                                         if steps else ""))
    front_end, clf = steps[0][1], steps[1][1]
    if not isinstance(clf, ChunkedNeuralNetClassifier):
        kind = type(clf).__name__
        extra = (" (a soft vote of several networks, n_seeds > 1: export a pipeline of one "
                 "network)" if kind == "VotingClassifier" else "")
        raise ValueError(f"export_onnx exports one network (ADCRNNClassifier or "
                         f"ACRNNClassifier); the pipeline's classifier is a {kind}{extra}")
    clf.check_is_fitted()
    if not hasattr(front_end, "mean_"):
        raise ValueError("export_onnx: the pipeline's LogMel3DTransformer is not fitted")
    if normalizes_by_speaker(front_end.normalize):
        raise ValueError(
            "export_onnx: the pipeline's LogMel3DTransformer has normalize='speaker', which "
            "needs every speaker's utterances together at prediction; a bundle predicts "
            "each file on its own")
    nonlinearity = clf.predict_nonlinearity
    if not (nonlinearity is softmax_of_logits
            or (isinstance(nonlinearity, str) and nonlinearity == "auto")):
        raise ValueError(
            f"export_onnx: the classifier's predict_nonlinearity={clf.predict_nonlinearity!r} "
            "cannot be exported; the bundle's network ends in the softmax of the logits "
            "(the default predict_nonlinearity)")
    classes = np.asarray(clf.classes_).tolist()  # numpy scalars to Python values
    if not (all(isinstance(c, str) for c in classes)
            or all(isinstance(c, int) and not isinstance(c, bool) for c in classes)):
        raise ValueError(f"export_onnx: the class labels must be all strings or all integers "
                         f"to be stored as JSON, got {clf.classes_!r}")
    return front_end, clf, classes


def _network_onnx(module, chunk_shape, opset):
    """The ONNX bytes of ``softmax(module(chunks)[0])``, float32, any batch size."""
    import torch

    class Probabilities(torch.nn.Module):
        def __init__(self, network):
            super().__init__()
            self.network = network

        def forward(self, chunks):
            return torch.softmax(self.network(chunks)[0].float(), dim=-1)

    # a copy, in float32 on the CPU, in eval mode: the fitted module is not touched
    wrapper = Probabilities(copy.deepcopy(module).float().cpu()).eval()
    example = torch.zeros((2, *chunk_shape))
    buffer = io.BytesIO()
    # the TorchScript exporter, which translates the LSTM without onnxscript
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters \
        else {}
    with warnings.catch_warnings():
        # the TorchScript exporter's notices (deprecation; the LSTM's batch size,
        # which the check below covers with a batch of another size)
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (example,), buffer, opset_version=opset, **legacy,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}})
    return buffer.getvalue(), wrapper


def _check_network(network, wrapper, chunk_shape):
    """A RuntimeError unless onnxruntime reproduces PyTorch's probabilities on a
    batch of 3 random chunks (another size than the export's)."""
    import onnxruntime
    import torch

    chunks = np.random.default_rng(0).standard_normal((3, *chunk_shape)).astype(np.float32)
    session = onnxruntime.InferenceSession(network, providers=["CPUExecutionProvider"])
    ours = session.run([OUTPUT_NAME], {INPUT_NAME: chunks})[0]
    with torch.no_grad():
        reference = wrapper(torch.from_numpy(chunks)).numpy()
    difference = float(np.abs(ours - reference).max())
    if not difference <= _TOLERANCE:
        raise RuntimeError(
            f"export_onnx: onnxruntime's probabilities differ from PyTorch's by {difference:.3g} "
            f"(at most {_TOLERANCE:g} expected) on a check batch; the network uses an operation "
            "the exporter does not translate faithfully")


def export_onnx(model, path, *, opset=ONNX_OPSET, check=True):
    """Write a fitted pipeline as an ONNX bundle that :mod:`sklearn_ser.runtime` runs.

    Parameters
    ----------
    model : Pipeline
        A fitted ``Pipeline([("features", LogMel3DTransformer(...)), ("clf",
        ADCRNNClassifier(...))])`` (or ``ACRNNClassifier``), as
        :func:`~sklearn_ser.pipeline.build_pipeline` and ``sklearn-ser train``
        make. A soft vote of several networks (``n_seeds > 1``) is refused.
    path : str or os.PathLike
        The bundle to write (for example ``model.onnx.zip``); written whole
        or not at all.
    opset : int, default=17
        ONNX operator set, 13 to 20.
    check : bool, default=True
        Run the exported network with onnxruntime on a batch of random
        chunks and refuse the export unless its probabilities are within
        1e-4 of PyTorch's (needs onnxruntime).

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ValueError
        The model cannot be exported (not such a pipeline, not fitted, a
        custom ``predict_nonlinearity``, labels that are not all strings or
        all integers); the message says which.
    RuntimeError
        With ``check=True``, onnxruntime does not reproduce PyTorch's output.
    """
    check_params({"opset": opset, "check": check}, _CONSTRAINTS, caller="export_onnx")
    front_end, clf, classes = _parts(model)
    params = front_end.get_params(deep=False)
    chunk_shape = (3, params["chunk_frames"], params["n_mels"])
    network, wrapper = _network_onnx(clf.module_, chunk_shape, opset)
    if check:
        _check_network(network, wrapper, chunk_shape)
    manifest = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_FORMAT_VERSION,
        "sklearn_ser_version": current_version(),
        "front_end": feature_settings(params, STORED_FRONT_END),
        "normalization": {"mean": np.asarray(front_end.mean_, np.float64).tolist(),
                          "scale": np.asarray(front_end.scale_, np.float64).tolist()},
        "classes": classes,
        "aggregate": clf.aggregate,
        "network": {"input": INPUT_NAME, "output": OUTPUT_NAME, "opset": opset,
                    "architecture": type(clf.module_).__name__},
    }
    return write_stored_members(path, {
        MANIFEST_MEMBER: json.dumps(manifest, indent=2, allow_nan=False).encode("utf-8"),
        NETWORK_MEMBER: network})
