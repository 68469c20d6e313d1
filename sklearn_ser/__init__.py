"""sklearn_ser: speech emotion recognition in the scikit-learn and PyTorch ecosystems.

Implements Pham, Dang and Nguyen, "A method upon deep learning for speech
emotion recognition", JAEC 2020: a 3-D log-Mel front end
(:class:`LogMel3DTransformer`) feeding an attention-based dilated CRNN trained
with softmax cross-entropy plus the contrastive-center loss.
"""

from typing import TYPE_CHECKING

from ._version import __version__

if TYPE_CHECKING:  # for documentation tools and type checkers; imported on first use below
    from .features import ChunkedFeatures, LogMel3DTransformer
    from .nn import ACRNNClassifier, ADCRNNClassifier
    from .persistence import load_model, save_model

_LAZY = {"ACRNNClassifier": "nn", "ADCRNNClassifier": "nn",
         "ChunkedFeatures": "features", "LogMel3DTransformer": "features",
         "load_model": "persistence", "save_model": "persistence"}


def __getattr__(name):
    """Import the estimators on first use: ``import sklearn_ser`` imports neither
    PyTorch nor scikit-learn, so the light predictor (:mod:`sklearn_ser.runtime`)
    runs where neither is installed."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ACRNNClassifier",
    "ADCRNNClassifier",
    "ChunkedFeatures",
    "LogMel3DTransformer",
    "__version__",
    "load_model",
    "save_model",
]
