"""skorch callbacks, one concern each: checkpoints, a finite-loss guard, the
learning-rate schedule, SpecAugment masking, mixup and the printed log.

Built on skorch's public behaviour only; imports nothing above
:mod:`sklearn_ser.exceptions` and :mod:`sklearn_ser.utils`.
"""

from ._atomic import AtomicCheckpoint
from ._augment import Mixup, SpecAugment, mask_chunks
from ._checkpoints import ResumeFromCheckpoint, resumable_callbacks
from ._finite import StopOnNonFiniteLoss
from ._printlog import TerminalPrintLog
from ._schedule import CosineAnnealing
from ._train_data import RecordTrainData

__all__ = [
    "AtomicCheckpoint",
    "CosineAnnealing",
    "Mixup",
    "RecordTrainData",
    "ResumeFromCheckpoint",
    "SpecAugment",
    "StopOnNonFiniteLoss",
    "TerminalPrintLog",
    "mask_chunks",
    "resumable_callbacks",
]
