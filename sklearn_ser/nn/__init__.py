"""The networks, their losses and the skorch classifiers: ADCRNN (Pham et al. 2020),
ACRNN (Chen et al. 2018), center and contrastive-center losses."""

from ._accelerate import AcceleratedACRNNClassifier, AcceleratedADCRNNClassifier
from ._acrnn import ACRNN
from ._adcrnn import ADCRNN
from ._classifier import ACRNNClassifier, ADCRNNClassifier, ChunkedNeuralNetClassifier
from ._losses import CenterAugmentedLoss, CenterLoss, ContrastiveCenterLoss

__all__ = [
    "ACRNN",
    "ADCRNN",
    "ACRNNClassifier",
    "ADCRNNClassifier",
    "AcceleratedACRNNClassifier",
    "AcceleratedADCRNNClassifier",
    "CenterAugmentedLoss",
    "CenterLoss",
    "ChunkedNeuralNetClassifier",
    "ContrastiveCenterLoss",
]
