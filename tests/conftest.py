"""Shared fixtures: the real Emo-DB and CREMA-D samples when present, small signals."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _data_dir(env_var, relative):
    path = Path(os.environ.get(env_var, PROJECT_ROOT.parent / "shared" / "data" / relative))
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def emodb_root():
    """Root of the Emo-DB copy (``wav/*.wav``); the test is skipped when absent."""
    root = _data_dir("SKLEARN_SER_EMODB", "emodb")
    if root is None or not any((root / "wav").glob("*.wav")):
        pytest.skip("Emo-DB copy not found (set SKLEARN_SER_EMODB to its folder)")
    return root


@pytest.fixture(scope="session")
def emodb_files(emodb_root):
    """All Emo-DB wav paths, sorted."""
    return sorted((emodb_root / "wav").glob("*.wav"))


@pytest.fixture(scope="session")
def cremad_root():
    """Root of the CREMA-D sample (``AudioWAV/*.wav``); skipped when absent."""
    root = _data_dir("SKLEARN_SER_CREMAD", "cremad-sample")
    if root is None or not any((root / "AudioWAV").glob("*.wav")):
        pytest.skip("CREMA-D sample not found (set SKLEARN_SER_CREMAD)")
    return root


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """One torch thread for the suite: tiny models gain nothing from a second one,
    and on a busy two-core machine OpenMP's second thread stalls for seconds."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def tiny_adcrnn():
    """``make(**params)``: an ADCRNNClassifier small enough to train in a blink, float32,
    seeded, silent, two epochs of batches of 8."""
    from sklearn_ser import ADCRNNClassifier

    def make(**params):
        return ADCRNNClassifier(
            module__conv_channels=2, module__dilated_channels=4, module__linear_units=8,
            module__lstm_units=4, module__embedding_dim=4, module__dropout=0.0, max_epochs=2,
            batch_size=8, verbose=0, random_state=0, precision="float32", **params)

    return make


@pytest.fixture
def batch_recorder():
    """``make()``: a skorch callback whose ``seen[training]`` lists a copy of the chunks of
    every training (True) or validation (False) batch as it reaches it."""
    from skorch.callbacks import Callback

    class RecordBatches(Callback):
        def initialize(self):
            self.seen = {True: [], False: []}
            return self

        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            self.seen[training].append(batch[0].clone())

    return RecordBatches
