"""The networks, their losses and the skorch classifiers: ADCRNN (Pham et al. 2020),
ACRNN (Chen et al. 2018), center and contrastive-center losses, distillation, and
batch norm by speaker."""

from ._accelerate import AcceleratedACRNNClassifier, AcceleratedADCRNNClassifier
from ._acrnn import ACRNN
from ._acrnn_classifier import ACRNNClassifier
from ._adcrnn import ADCRNN
from ._adcrnn_classifier import ADCRNNClassifier
from ._aggregation import softmax_of_logits
from ._classifier import ChunkedNeuralNetClassifier
from ._losses import CenterAugmentedLoss, CenterLoss, ContrastiveCenterLoss
from ._runtime import autocast_dtype, predict_autocast_dtype, resolve_device
from ._speaker_batchnorm import speaker_statistics
from ._training_loss import distillation_loss

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
    "autocast_dtype",
    "distillation_loss",
    "predict_autocast_dtype",
    "resolve_device",
    "softmax_of_logits",
    "speaker_statistics",
]
