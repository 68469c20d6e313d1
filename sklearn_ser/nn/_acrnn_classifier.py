"""The ACRNN baseline classifier (Chen et al. 2018) in a chunked skorch classifier."""

from __future__ import annotations

from ._acrnn import ACRNN
from ._classifier import ChunkedNeuralNetClassifier

__all__ = ["ACRNNClassifier"]


class ACRNNClassifier(ChunkedNeuralNetClassifier):
    """ACRNN baseline (Chen et al., IEEE SPL 2018) with the same training set-up.

    A :class:`ChunkedNeuralNetClassifier` with ``module=ACRNN``.

    Parameters
    ----------
    module : class or torch.nn.Module, default=ACRNN
        The network; widths go through ``module__*`` parameters.
    **kwargs
        Every parameter of :class:`ChunkedNeuralNetClassifier` and of skorch's
        ``NeuralNet``.
    """

    def __init__(self, module=ACRNN, *args, **kwargs):
        super().__init__(module, *args, **kwargs)
