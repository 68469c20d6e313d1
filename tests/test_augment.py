"""SpecAugment masking and mixup: what they do to a batch, and only to training batches."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit

from sklearn_ser import ADCRNNClassifier, ChunkedFeatures
from sklearn_ser.callbacks import Mixup, SpecAugment, mask_chunks


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


def test_only_training_batches_are_masked(batch_recorder):
    n = 20
    X = ChunkedFeatures(np.ones((n, 3, 40, 16), np.float32), np.arange(n + 1), np.full(n, 40))
    y = np.arange(n) % 2
    recorder = batch_recorder()
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


class RecordMixes(Callback):
    """After Mixup: each batch as mixed, and the pairing the loss reads (None unmixed)."""

    def initialize(self):
        self.seen = {True: [], False: []}
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        self.seen[training].append((batch[0].clone(), net.__dict__.get("batch_mix_")))


def _data(n=20):
    rng = np.random.default_rng(0)
    X = ChunkedFeatures(rng.standard_normal((n, 3, 40, 16), dtype=np.float32),
                        np.arange(n + 1), np.full(n, 40))
    return X, np.arange(n) % 2


def test_mixup_mixes_training_batches_and_their_labels_only(tiny_adcrnn, batch_recorder):
    X, y = _data()
    before, after = batch_recorder(), RecordMixes()
    clf = tiny_adcrnn(train_split=ValidSplit(5, stratified=True),
                      callbacks=[("before", before), ("mixup", Mixup(alpha=1.0)), ("after", after)])
    clf.fit(X, y)
    assert len(after.seen[True]) == len(before.seen[True]) > 0
    for original, (mixed, (perm, lam)) in zip(before.seen[True], after.seen[True], strict=True):
        assert 0 < lam < 1 and sorted(perm.tolist()) == list(range(len(original)))
        torch.testing.assert_close(mixed, lam * original + (1 - lam) * original[perm])
    assert after.seen[False]
    for original, (batch, mix) in zip(before.seen[False], after.seen[False], strict=True):
        assert mix is None and torch.equal(batch, original)
    assert "batch_mix_" not in clf.__dict__  # nothing left after training


def test_the_mixed_loss_weighs_both_labels(tiny_adcrnn):
    X, y = _data()
    clf = tiny_adcrnn(train_split=None).fit(X, y)
    output = (torch.randn(6, 2), torch.randn(6, 4))
    y_true = torch.tensor([0, 1, 0, 1, 1, 0])
    perm = torch.tensor([5, 4, 3, 2, 1, 0])
    expected = (0.3 * clf.criterion_(output, y_true)
                + 0.7 * clf.criterion_(output, y_true[perm]))
    torch.testing.assert_close(clf.mixed_loss(output, y_true, perm, 0.3), expected)
    clf.__dict__["batch_mix_"] = (perm, 0.3)
    torch.testing.assert_close(clf.get_loss(output, y_true, training=True), expected)
    # evaluation never mixes
    torch.testing.assert_close(clf.get_loss(output, y_true, training=False),
                               clf.criterion_(output, y_true))


def test_mixup_is_seeded_by_the_classifier(tiny_adcrnn):
    X, y = _data()
    first, second = (tiny_adcrnn(train_split=None, callbacks=[("mixup", Mixup())]).fit(X, y)
                     for _ in range(2))
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    plain = tiny_adcrnn(train_split=None).fit(X, y)
    assert not np.array_equal(first.predict_proba(X), plain.predict_proba(X))


@pytest.mark.parametrize("params, match", [
    (dict(alpha=0), r"alpha=0 must be a finite number > 0"),
    (dict(alpha=float("inf")), r"alpha=inf must be"),
    (dict(alpha=True), r"alpha=True must be"),
    (dict(probability=1.5), r"probability=1.5 must be a number in \[0, 1\]"),
])
def test_bad_mixup_settings_are_named(params, match, tiny_adcrnn):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        tiny_adcrnn(train_split=None, callbacks=[("mixup", Mixup(**params))]).fit(X, y)


def test_mixup_refuses_a_net_that_would_not_mix_the_labels():
    from skorch import NeuralNetClassifier

    net = NeuralNetClassifier(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)),
                              max_epochs=1, train_split=None, callbacks=[Mixup()], verbose=0)
    with pytest.raises(TypeError, match=r"Mixup needs a classifier whose loss mixes the labels"):
        net.fit(np.zeros((4, 4), np.float32), np.array([0, 1, 0, 1]))

