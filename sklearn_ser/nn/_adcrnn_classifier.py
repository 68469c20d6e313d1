"""The ADCRNN classifier: the paper's network in a chunked skorch classifier."""

from __future__ import annotations

from ._adcrnn import ADCRNN
from ._classifier import ChunkedNeuralNetClassifier

__all__ = ["ADCRNNClassifier"]


class ADCRNNClassifier(ChunkedNeuralNetClassifier):
    """ADCRNN with softmax cross-entropy + contrastive-center loss (Pham et al., JAEC 2020).

    A :class:`ChunkedNeuralNetClassifier` with ``module=ADCRNN``; see there
    for every parameter. The widths are ``module__*`` parameters (e.g.
    ``module__conv_channels``), the loss is chosen with ``criterion__aux``
    (``"contrastive-center"``, ``"center"`` or ``None``) and weighted with
    ``criterion__aux_weight``.

    Parameters
    ----------
    module : class or torch.nn.Module, default=ADCRNN
        The network; widths go through ``module__*`` parameters.
    **kwargs
        Every parameter of :class:`ChunkedNeuralNetClassifier` (``lr=1e-4``,
        ``batch_size=32``, ``max_epochs``, ``precision``, ``aggregate``,
        ``random_state``, ``device="auto"``, ...) and of skorch's ``NeuralNet``.

    Examples
    --------
    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn_ser import ADCRNNClassifier, LogMel3DTransformer
    >>> pipe = Pipeline([("features", LogMel3DTransformer()),
    ...                  ("clf", ADCRNNClassifier(max_epochs=20, random_state=0))])
    """

    def __init__(self, module=ADCRNN, *args, **kwargs):
        super().__init__(module, *args, **kwargs)
