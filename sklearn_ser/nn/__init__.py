"""Torch modules and losses: ADCRNN (Pham et al. 2020), ACRNN (Chen et al. 2018), center losses."""

from ._accelerate import AcceleratedACRNNClassifier, AcceleratedADCRNNClassifier
from ._acrnn import ACRNN
from ._adcrnn import ADCRNN
from ._augment import SpecAugment, mask_chunks
from ._checkpoints import (
    AtomicCheckpoint,
    MissingBestWeightsWarning,
    RecordTrainData,
    ResumeFromCheckpoint,
    TrainingInterruptedWarning,
    resumable_callbacks,
)
from ._classifier import ACRNNClassifier, ADCRNNClassifier, ChunkedNeuralNetClassifier
from ._finite import NonFiniteLossError, StopOnNonFiniteLoss
from ._losses import CenterAugmentedLoss, CenterLoss, ContrastiveCenterLoss
from ._printlog import TerminalPrintLog
from ._schedule import CosineAnnealing

__all__ = [
    "ACRNN",
    "ADCRNN",
    "ACRNNClassifier",
    "ADCRNNClassifier",
    "AcceleratedACRNNClassifier",
    "AcceleratedADCRNNClassifier",
    "AtomicCheckpoint",
    "CenterAugmentedLoss",
    "CenterLoss",
    "ChunkedNeuralNetClassifier",
    "ContrastiveCenterLoss",
    "CosineAnnealing",
    "MissingBestWeightsWarning",
    "NonFiniteLossError",
    "RecordTrainData",
    "ResumeFromCheckpoint",
    "SpecAugment",
    "StopOnNonFiniteLoss",
    "TerminalPrintLog",
    "TrainingInterruptedWarning",
    "mask_chunks",
    "resumable_callbacks",
]
