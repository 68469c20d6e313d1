"""SpecAugment masking: band geometry, and only training batches are touched."""

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit

from sklearn_ser import ADCRNNClassifier, ChunkedFeatures
from sklearn_ser.callbacks import SpecAugment, mask_chunks


def test_masks_are_bands_shared_by_the_channels():
    chunks = torch.ones(64, 3, 50, 20)
    generator = torch.Generator().manual_seed(0)
    mask_chunks(chunks, time_masks=2, time_width=7, freq_masks=1, freq_width=4,
                generator=generator)
    zero = chunks == 0
    assert torch.equal(zero[:, 0], zero[:, 1]) and torch.equal(zero[:, 0], zero[:, 2])
    time_zero = zero[:, 0].all(dim=2)           # frames masked across every Mel bin
    freq_zero = zero[:, 0].all(dim=1)           # bins masked across every frame
    assert (time_zero.sum(dim=1) <= 2 * 7).all()
    assert (freq_zero.sum(dim=1) <= 4).all()
    # every zero lies in a masked frame or a masked bin: nothing else is touched
    assert torch.equal(zero[:, 0], time_zero[:, :, None] | freq_zero[:, None, :])
    # one frequency band is contiguous
    for row in freq_zero:
        idx = torch.nonzero(row).flatten()
        if idx.numel():
            assert idx.max() - idx.min() + 1 == idx.numel()
    assert time_zero.any() and freq_zero.any()


def test_zero_masks_leave_chunks_unchanged():
    chunks = torch.randn(4, 3, 10, 8)
    expected = chunks.clone()
    mask_chunks(chunks, time_masks=0, freq_masks=0)
    assert torch.equal(chunks, expected)


class RecordBatches(Callback):
    def initialize(self):
        self.seen = {True: [], False: []}
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        self.seen[training].append(batch[0].clone())


def test_only_training_batches_are_masked():
    n = 20
    X = ChunkedFeatures(np.ones((n, 3, 40, 16), np.float32), np.arange(n + 1), np.full(n, 40))
    y = np.arange(n) % 2
    recorder = RecordBatches()
    clf = ADCRNNClassifier(
        module__conv_channels=2, module__dilated_channels=4, module__linear_units=8,
        module__lstm_units=4, module__embedding_dim=4, max_epochs=2, batch_size=8, verbose=0,
        random_state=0, train_split=ValidSplit(5, stratified=True),
        callbacks=[("augment", SpecAugment(time_width=10, freq_width=4)),
                   ("record", recorder)],
    ).fit(X, y)
    assert clf.history[-1, "epoch"] == 2
    assert all((batch == 0).any() for batch in recorder.seen[True])
    assert all(bool((batch == 1).all()) for batch in recorder.seen[False])
