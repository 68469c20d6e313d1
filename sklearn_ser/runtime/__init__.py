"""The light predictor: a trained model exported as ONNX, run without PyTorch.

``sklearn-ser export MODEL OUT`` (or :func:`sklearn_ser.export.export_onnx`)
writes a bundle, one file that holds the network as ONNX and everything else
prediction needs; :func:`load_bundle` reads it back here and predicts with
numpy, soundfile, the resampler (soxr or scipy) and onnxruntime only.
Importing this module imports neither PyTorch, skorch nor scikit-learn::

    from sklearn_ser.runtime import load_bundle

    model = load_bundle("model.onnx.zip")
    model.predict(["happy.wav", "angry.wav"])
    for start, end, proba in model.timeline("meeting.wav"):
        ...

The features are computed by the toolkit's own front end
(:func:`sklearn_ser.features.extract_utterances`), the same code the
``Pipeline`` runs, and the probabilities agree with the pipeline's within
1e-4 (measured on Emo-DB in ``benchmarks/bench_runtime.py``).
"""

from ._bundle import DEFAULT_BATCH_SIZE, Bundle, load_bundle
from ._format import (
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_VERSION,
    INPUT_NAME,
    MANIFEST_MEMBER,
    NETWORK_MEMBER,
    OUTPUT_NAME,
    STORED_FRONT_END,
    is_bundle,
    read_bundle,
)

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_VERSION",
    "DEFAULT_BATCH_SIZE",
    "INPUT_NAME",
    "MANIFEST_MEMBER",
    "NETWORK_MEMBER",
    "OUTPUT_NAME",
    "STORED_FRONT_END",
    "Bundle",
    "is_bundle",
    "load_bundle",
    "read_bundle",
]
