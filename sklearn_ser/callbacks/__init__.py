"""skorch callbacks, one concern each: checkpoints, a finite-loss guard, the
learning-rate schedule, SpecAugment masking, Mel-axis warping, mixup and the printed log.

Built on skorch's public behaviour only; imports nothing above
:mod:`sklearn_ser.features` (the Mel band centres of the warping).
"""

from ._atomic import AtomicCheckpoint
from ._augment import Mixup, SpecAugment, mask_chunks
from ._checkpoints import ResumeFromCheckpoint, resumable_callbacks
from ._finite import StopOnNonFiniteLoss
from ._printlog import TerminalPrintLog
from ._schedule import CosineAnnealing
from ._train_data import RecordTrainData
from ._warp import MAX_WARP, MelWarp, warp_mel_bands

__all__ = [
    "MAX_WARP",
    "AtomicCheckpoint",
    "CosineAnnealing",
    "MelWarp",
    "Mixup",
    "RecordTrainData",
    "ResumeFromCheckpoint",
    "SpecAugment",
    "StopOnNonFiniteLoss",
    "TerminalPrintLog",
    "mask_chunks",
    "resumable_callbacks",
    "warp_mel_bands",
]
