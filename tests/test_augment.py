"""SpecAugment masking, Mel-axis warping and mixup: what they do to a batch, and only to
training batches."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit

from sklearn_ser import ADCRNNClassifier, ChunkedFeatures
from sklearn_ser.callbacks import MelWarp, Mixup, SpecAugment, mask_chunks, warp_mel_bands
from sklearn_ser.features import log_mel_spectrogram


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


class RecordMixes(Callback):
    """After Mixup: each batch as mixed, and the pairing the loss reads (None unmixed)."""

    def initialize(self):
        self.seen = {True: [], False: []}
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        self.seen[training].append((batch[0].clone(), net.__dict__.get("batch_mix_")))


def _tiny(**params):
    return ADCRNNClassifier(
        module__conv_channels=2, module__dilated_channels=4, module__linear_units=8,
        module__lstm_units=4, module__embedding_dim=4, module__dropout=0.0, max_epochs=2,
        batch_size=8, verbose=0, random_state=0, precision="float32", **params)


def _data(n=20):
    rng = np.random.default_rng(0)
    X = ChunkedFeatures(rng.standard_normal((n, 3, 40, 16), dtype=np.float32),
                        np.arange(n + 1), np.full(n, 40))
    return X, np.arange(n) % 2


def test_mixup_mixes_training_batches_and_their_labels_only():
    X, y = _data()
    before, after = RecordBatches(), RecordMixes()
    clf = _tiny(train_split=ValidSplit(5, stratified=True),
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


def test_the_mixed_loss_weighs_both_labels():
    X, y = _data()
    clf = _tiny(train_split=None).fit(X, y)
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


def test_mixup_is_seeded_by_the_classifier():
    X, y = _data()
    first, second = (_tiny(train_split=None, callbacks=[("mixup", Mixup())]).fit(X, y)
                     for _ in range(2))
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    plain = _tiny(train_split=None).fit(X, y)
    assert not np.array_equal(first.predict_proba(X), plain.predict_proba(X))


@pytest.mark.parametrize("params, match", [
    (dict(alpha=0), r"alpha=0 must be a finite number > 0"),
    (dict(alpha=float("inf")), r"alpha=inf must be"),
    (dict(alpha=True), r"alpha=True must be"),
    (dict(probability=1.5), r"probability=1.5 must be a number in \[0, 1\]"),
])
def test_bad_mixup_settings_are_named(params, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        _tiny(train_split=None, callbacks=[("mixup", Mixup(**params))]).fit(X, y)


def test_mixup_refuses_a_net_that_would_not_mix_the_labels():
    from skorch import NeuralNetClassifier

    net = NeuralNetClassifier(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)),
                              max_epochs=1, train_split=None, callbacks=[Mixup()], verbose=0)
    with pytest.raises(TypeError, match=r"Mixup needs a classifier whose loss mixes the labels"):
        net.fit(np.zeros((4, 4), np.float32), np.array([0, 1, 0, 1]))


def _mel(hz):
    """The Mel scale written out here, independently of the package (paper eq. 3)."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def test_warping_moves_each_band_to_its_source_frequency():
    # A chunk whose every band holds its own position on the Mel scale, in bands:
    # linear interpolation is exact on it, so band k after a warp by a must hold the
    # position of centre_k / a, clipped to the first and last band.
    f_min, f_max, n_mels = 300.0, 8000.0, 40
    edges = np.linspace(_mel(f_min), _mel(f_max), n_mels + 2)
    step = edges[1] - edges[0]
    centres_hz = 700.0 * (10.0 ** (edges[1:-1] / 2595.0) - 1.0)
    ramp = (edges[1:-1] - edges[1]) / step                     # 0, 1, ..., 39
    chunks = torch.tensor(np.broadcast_to(ramp, (3, 3, 5, n_mels)).copy())
    factors = [0.9, 1.0, 1.15]
    warp_mel_bands(chunks, factors, f_min=f_min, f_max=f_max)
    for chunk, factor in zip(chunks, factors, strict=True):
        expected = np.clip((_mel(centres_hz / factor) - edges[1]) / step, 0, n_mels - 1)
        np.testing.assert_allclose(chunk.numpy(), np.broadcast_to(expected, chunk.shape),
                                   atol=1e-9)
    # compressed, the top band reads above the last centre; stretched, the bottom one
    # reads below the first: both take the edge band
    assert float(chunks[0, 0, 0, -1]) == pytest.approx(n_mels - 1) and chunks[2, 0, 0, 0] == 0


def test_a_warped_tone_lands_where_the_warped_frequency_would():
    sample_rate = 16000
    t = np.arange(sample_rate) / sample_rate

    def tone(hz):
        spectrum = log_mel_spectrogram(np.sin(2 * np.pi * hz * t), sample_rate=sample_rate)
        return torch.tensor(spectrum[None, None])               # (1, 1, frames, 40)

    for hz, factor in ((800.0, 1.25), (2000.0, 0.8), (1000.0, 1.1)):
        warped = warp_mel_bands(tone(hz), [factor])
        peak = int(warped[0, 0].mean(dim=0).argmax())
        assert abs(peak - int(tone(hz * factor)[0, 0].mean(dim=0).argmax())) <= 1


def test_warping_refuses_bad_factors_and_leaves_one_band_alone():
    with pytest.raises(ValueError, match=r"factors must hold one number > 0 per chunk \(2\)"):
        warp_mel_bands(torch.zeros(2, 3, 4, 8), [1.0])
    with pytest.raises(ValueError, match=r"factors must hold one number > 0"):
        warp_mel_bands(torch.zeros(2, 3, 4, 8), [1.0, 0.0])
    one_band = torch.randn(2, 3, 4, 1)
    assert torch.equal(warp_mel_bands(one_band.clone(), [0.9, 1.1]), one_band)


def test_mel_warp_changes_training_batches_only_and_is_seeded():
    X, y = _data()
    before, after = RecordBatches(), RecordBatches()
    clf = _tiny(train_split=ValidSplit(5, stratified=True),
                callbacks=[("before", before), ("warp", MelWarp(max_warp=0.2)),
                           ("after", after)]).fit(X, y)
    assert clf.history[-1, "epoch"] == 2
    for original, warped in zip(before.seen[True], after.seen[True], strict=True):
        assert not torch.equal(original, warped)
        # the time axis and the channels are left alone: the whole batch's values stay
        # within each frame's own range
        assert (warped.amax(dim=-1) <= original.amax(dim=-1) + 1e-6).all()
        assert (warped.amin(dim=-1) >= original.amin(dim=-1) - 1e-6).all()
    for original, batch in zip(before.seen[False], after.seen[False], strict=True):
        assert torch.equal(original, batch)
    first, second = (_tiny(train_split=None, callbacks=[("warp", MelWarp())]).fit(X, y)
                     for _ in range(2))
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    plain = _tiny(train_split=None).fit(X, y)
    assert not np.array_equal(first.predict_proba(X), plain.predict_proba(X))


def test_mel_warp_reads_the_band_of_the_fitted_front_end():
    class Net:
        front_end_ = {"f_min": 0.0, "f_max": 4000.0, "n_mels": 16}

    warp = MelWarp().initialize()
    warp.on_train_begin(Net())
    assert warp.band_ == (0.0, 4000.0)
    Net.front_end_ = None
    warp.on_train_begin(Net())
    assert warp.band_ == (300.0, 8000.0)


@pytest.mark.parametrize("params, match", [
    (dict(max_warp=0.6), r"MelWarp: max_warp=0.6 must be a number in \[0, 0.5\]"),
    (dict(max_warp=-0.1), r"max_warp=-0.1 must be"),
    (dict(max_warp=True), r"max_warp=True must be"),
    (dict(probability=2), r"probability=2 must be a number in \[0, 1\]"),
])
def test_bad_mel_warp_settings_are_named(params, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        _tiny(train_split=None, callbacks=[("warp", MelWarp(**params))]).fit(X, y)


def test_build_pipeline_and_the_command_line_take_the_warp(tmp_path, capsys):
    import json

    from sklearn_ser.cli import main
    from sklearn_ser.pipeline import build_pipeline
    from sklearn_ser.recipes import RECIPES

    assert all(recipe["mel_warp"] is None for recipe in RECIPES.values())
    warp = dict(build_pipeline(mel_warp=0.1, verbose=0)[-1].callbacks)["mel_warp"]
    assert isinstance(warp, MelWarp) and warp.max_warp == 0.1
    for off in (None, 0):
        assert "mel_warp" not in dict(build_pipeline(mel_warp=off, verbose=0)[-1].callbacks)
    with pytest.raises(ValueError, match=r"build_pipeline: mel_warp=0.7 must be a float in the "
                                         r"range \[0.0, 0.5\] or None"):
        build_pipeline(mel_warp=0.7)
    assert main(["train", "--dataset", "demo", "--mel-warp", "0.7", "--out",
                 str(tmp_path / "m.skser")]) == 2
    assert "--mel-warp 0.7 must be a float in the range [0.0, 0.5]" in capsys.readouterr().err
    assert main(["cross-validate", "--dataset", "demo", "--n-samples", "24", "--width", "tiny",
                 "--max-epochs", "1", "--cv", "2", "-q", "--mel-warp", "0.1",
                 "--output", str(tmp_path / "cv")]) == 0
    report = json.loads((tmp_path / "cv" / "report.json").read_text())
    assert report["training"]["mel_warp"] == 0.1
