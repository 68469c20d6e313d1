"""What a run trains on, recorded next to its checkpoints so that a resume on
other data is refused."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import torch
from skorch.callbacks import Callback

__all__ = ["TRAIN_DATA_FILE", "RecordTrainData"]

#: File, next to the checkpoint's history, identifying the training data.
TRAIN_DATA_FILE = "train_data.json"


class RecordTrainData(Callback):
    """Write the size and hash of the training data next to a run's checkpoints.

    Each ``fit`` writes ``<fn_prefix>train_data.json`` in the checkpoint's
    folder when training begins, so that a later run resuming from this
    folder (:class:`ResumeFromCheckpoint`) can tell whether it trains on the
    same data. :func:`resumable_callbacks` uses it when ``resume=False``; a
    :class:`ResumeFromCheckpoint` records the data itself when it starts afresh.

    Parameters
    ----------
    checkpoint : skorch.callbacks.Checkpoint
        The run's checkpoint (its ``dirname`` and ``fn_prefix`` name the file).
    """

    def __init__(self, checkpoint):
        self.checkpoint = checkpoint

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        _write_fingerprint(self.checkpoint, X, y)


def _fingerprint_file(checkpoint):
    return os.path.join(checkpoint.dirname, checkpoint.fn_prefix + TRAIN_DATA_FILE)


def _write_fingerprint(checkpoint, X, y):
    """Record ``X`` and ``y`` for ``checkpoint``'s run, replacing an earlier run's
    record (removed when the data cannot be hashed, so it cannot vouch for them)."""
    fingerprint = _fingerprint(X, y)
    path = _fingerprint_file(checkpoint)
    if fingerprint is None:
        if os.path.exists(path):
            os.remove(path)
        return
    os.makedirs(checkpoint.dirname or os.curdir, exist_ok=True)
    with open(path, "w") as f:
        json.dump(fingerprint, f)


def _fingerprint(X, y):
    """Size and hash of the training data, or None for data that is not arrays.

    A checkpoint folder shared by the clones of a cross-validation would
    otherwise let fold 2 "resume" fold 1's finished run.
    """
    parts = [getattr(X, "chunks", X), getattr(X, "offsets", None), y]
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        if part is None:
            continue
        if not isinstance(part, (np.ndarray, list, tuple, torch.Tensor)):
            return None
        array = np.asarray(part)
        if array.dtype == object:
            array = np.asarray([repr(value) for value in array.ravel()])
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.reshape(-1).view(np.uint8))
    return {"n_samples": len(X), "blake2b": digest.hexdigest()}
