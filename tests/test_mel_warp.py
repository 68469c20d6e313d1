"""MelWarp and warp_mel_bands: where a warped band reads from, on training batches only."""

import json

import numpy as np
import pytest
import torch
from python_speech_features.base import hz2mel
from skorch.dataset import ValidSplit

from sklearn_ser import ChunkedFeatures
from sklearn_ser.callbacks import MAX_WARP, MelWarp, SpecAugment, warp_mel_bands
from sklearn_ser.features import hz_to_mel, log_mel_spectrogram, mel_centres, mel_filterbank


def _mel(hz):
    """The Mel scale written out here, independently of the package (paper eq. 3)."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def _geometry(f_min, f_max, n_mels):
    """Band centres (Hz), their Mel positions and the Mel step, from the paper's eq. 3."""
    edges = np.linspace(_mel(f_min), _mel(f_max), n_mels + 2)
    return _hz(edges[1:-1]), edges[1:-1], edges[1] - edges[0]


def _ramp(n_chunks, f_min=300.0, f_max=8000.0, n_mels=40, frames=5):
    """Chunks whose every band holds its own position in bands (0, 1, ..., n_mels - 1):
    linear interpolation is exact on them."""
    return torch.tensor(np.broadcast_to(np.arange(n_mels, dtype=np.float64),
                                        (n_chunks, 3, frames, n_mels)).copy())


def _factors_of(warped, f_min=300.0, f_max=8000.0):
    """Each warped ramp chunk's factor, read back from every inner band: band k holds the
    position of centre_k / factor."""
    n_mels = warped.shape[-1]
    centres, mels, step = _geometry(f_min, f_max, n_mels)
    values = warped[:, 0, 0, :].double().numpy()
    inner = (values > 0.01) & (values < n_mels - 1.01)         # not clipped to an edge
    source_hz = _hz(mels[0] + values * step)
    return np.where(inner, centres[None, :] / source_hz, np.nan)


def test_hz_to_mel_and_the_band_centres_match_psf_and_the_filterbank():
    frequencies = np.array([0.0, 300.0, 1000.0, 8000.0])
    np.testing.assert_allclose(hz_to_mel(frequencies), [hz2mel(f) for f in frequencies],
                               rtol=1e-12)
    centres = mel_centres(n_mels=40, f_min=300.0, f_max=8000.0)
    np.testing.assert_allclose(centres, _geometry(300.0, 8000.0, 40)[0], rtol=1e-12)
    # the filterbank peaks (weight 1) at each centre rounded down to an FFT bin, as psf does
    peaks = mel_filterbank(n_mels=40).argmax(axis=1)
    np.testing.assert_array_equal(peaks, np.floor(513 * centres / 16000))
    with pytest.raises(ValueError, match=r"mel_centres: f_min=8000.0 must be < f_max=300.0"):
        mel_centres(f_min=8000.0, f_max=300.0)


def test_warping_moves_each_band_to_its_source_frequency():
    f_min, f_max, n_mels = 300.0, 8000.0, 40
    centres, mels, step = _geometry(f_min, f_max, n_mels)
    chunks = _ramp(3)
    factors = [0.9, 1.0, 1.15]
    warp_mel_bands(chunks, factors, f_min=f_min, f_max=f_max)
    for chunk, factor in zip(chunks, factors, strict=True):
        expected = np.clip((_mel(centres / factor) - mels[0]) / step, 0, n_mels - 1)
        np.testing.assert_allclose(chunk.numpy(), np.broadcast_to(expected, chunk.shape),
                                   atol=1e-9)
    # compressed, the top band reads above the last centre; stretched, the bottom one
    # reads below the first: both take the edge band
    assert float(chunks[0, 0, 0, -1]) == pytest.approx(n_mels - 1) and chunks[2, 0, 0, 0] == 0


def test_warping_keeps_the_dtype_layout_and_works_outside_autocast():
    reference = warp_mel_bands(_ramp(2).float(), [0.9, 1.2])
    last = _ramp(2).float().contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        warped = warp_mel_bands(last, [0.9, 1.2])
    assert warped is last and warped.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(warped, reference, rtol=0, atol=0)
    half = warp_mel_bands(_ramp(2).to(torch.bfloat16), [0.9, 1.2])
    assert half.dtype == torch.bfloat16
    torch.testing.assert_close(half.float(), reference, rtol=0, atol=0.13)


def test_a_warped_tone_lands_where_the_warped_frequency_would():
    sample_rate = 16000
    t = np.arange(sample_rate) / sample_rate

    def peak(signal):
        spectrum = log_mel_spectrogram(signal, sample_rate=sample_rate)
        return torch.tensor(spectrum[None, None])               # (1, 1, frames, 40)

    for hz, factor in ((800.0, 1.25), (2000.0, 0.8), (1000.0, 1.4)):
        warped = warp_mel_bands(peak(np.sin(2 * np.pi * hz * t)), [factor])
        target = peak(np.sin(2 * np.pi * hz * factor * t))
        moved = int(warped[0, 0].mean(dim=0).argmax())
        assert abs(moved - int(target[0, 0].mean(dim=0).argmax())) <= 1
        assert abs(moved - int(peak(np.sin(2 * np.pi * hz * t))[0, 0].mean(dim=0).argmax())) >= 2


@pytest.mark.parametrize("chunks, factors, band, error, match", [
    (torch.zeros(2, 3, 4, 8), [1.0], {}, ValueError,
     r"factors must hold one number per chunk, shape \(2,\), got shape \(1,\)"),
    (torch.zeros(2, 3, 4, 8), [[1.0, 1.0]], {}, ValueError, r"got shape \(1, 2\)"),
    (torch.zeros(2, 3, 4, 8), [1.0, 0.0], {}, ValueError,
     r"factors must be finite numbers > 0; 1 of 2 are not, the first 0.0"),
    (torch.zeros(2, 3, 4, 8), [np.inf, 1.0], {}, ValueError, r"the first inf"),
    (torch.zeros(2, 3, 4, 8), [1.0, 1.0], dict(f_min=8000.0, f_max=300.0), ValueError,
     r"warp_mel_bands: f_min=8000.0 must be < f_max=300.0"),
    (torch.zeros(2, 3, 4, 8, dtype=torch.int64), [1.0, 1.0], {}, TypeError,
     r"floating-point torch.Tensor .* got a torch.int64 tensor of shape \(2, 3, 4, 8\)"),
    (np.zeros((2, 3, 4, 8)), [1.0, 1.0], {}, TypeError, r"got ndarray"),
    (torch.zeros(2, 4, 8), [1.0, 1.0], {}, TypeError, r"of shape \(2, 4, 8\)"),
])
def test_bad_warp_arguments_are_named(chunks, factors, band, error, match):
    with pytest.raises(error, match=match):
        warp_mel_bands(chunks, factors, **band)


def test_one_band_is_left_alone():
    one_band = torch.randn(2, 3, 4, 1)
    assert torch.equal(warp_mel_bands(one_band.clone(), [0.9, 1.1]), one_band)


class _Net:
    front_end_ = None


def _warp_batch(warp, chunks):
    net = _Net()
    warp.initialize().on_train_begin(net)
    warp.on_batch_begin(net, batch=(chunks, None), training=True)
    return chunks


def test_mel_warp_draws_factors_across_the_whole_range():
    torch.manual_seed(0)
    factors = _factors_of(_warp_batch(MelWarp(max_warp=0.2), _ramp(256)))
    per_chunk = np.nanmean(factors, axis=1)
    # one factor per chunk, the same at every inner band
    np.testing.assert_allclose(np.nanmax(factors, axis=1), per_chunk, rtol=1e-9)
    assert per_chunk.min() >= 0.8 and per_chunk.max() <= 1.2
    assert per_chunk.min() < 0.85 and per_chunk.max() > 1.15    # both sides drawn
    assert abs(np.median(per_chunk) - 1.0) < 0.05


def test_mel_warp_off_switches_leave_the_batch_alone():
    for warp in (MelWarp(max_warp=0.0), MelWarp(probability=0.0)):
        chunks = _ramp(8)
        assert torch.equal(_warp_batch(warp, chunks.clone()), chunks)
    chunks = _ramp(8)
    warp = MelWarp()
    warp.initialize().on_train_begin(_Net())
    warp.on_batch_begin(_Net(), batch=(chunks, None), training=False)
    assert torch.equal(chunks, _ramp(8))


def _data(n=20, ramp=False, front_end=None):
    rng = np.random.default_rng(0)
    chunks = _ramp(n, frames=40).float().numpy() if ramp \
        else rng.standard_normal((n, 3, 40, 16), dtype=np.float32)
    return (ChunkedFeatures(chunks, np.arange(n + 1), np.full(n, 40), front_end=front_end),
            np.arange(n) % 2)


def test_mel_warp_warps_training_batches_only_with_the_fitted_band(tiny_adcrnn, batch_recorder):
    # ramp chunks made by a 0-4000 Hz front end: read back with that geometry, each
    # warped chunk has one factor at every band; with 300-8000 Hz it would not
    front_end = {"f_min": 0.0, "f_max": 4000.0, "n_mels": 40}
    X, y = _data(ramp=True, front_end=front_end)
    recorder = batch_recorder()
    clf = tiny_adcrnn(train_split=ValidSplit(5, stratified=True),
                      callbacks=[("warp", MelWarp(max_warp=0.2)), ("record", recorder)]).fit(X, y)
    assert dict(clf.callbacks_)["warp"].band_ == (0.0, 4000.0)
    for batch in recorder.seen[True]:
        factors = _factors_of(batch, f_min=0.0, f_max=4000.0)
        np.testing.assert_allclose(np.nanmax(factors, axis=1), np.nanmin(factors, axis=1),
                                   rtol=1e-5)
        assert not np.allclose(np.nanmean(factors, axis=1), 1.0)
    for batch in recorder.seen[False]:
        assert torch.equal(batch, _ramp(len(batch), frames=40).float())


def test_mel_warp_is_seeded_by_the_classifier(tiny_adcrnn):
    X, y = _data()
    first, second = (tiny_adcrnn(train_split=None, callbacks=[("warp", MelWarp())]).fit(X, y)
                     for _ in range(2))
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    plain = tiny_adcrnn(train_split=None).fit(X, y)
    assert not np.array_equal(first.predict_proba(X), plain.predict_proba(X))


def test_mel_warp_reads_the_band_of_a_plain_array_fit_as_the_defaults():
    warp = MelWarp()
    warp.initialize().on_train_begin(_Net())
    assert warp.band_ == (300.0, 8000.0) and warp.n_mels_ is None


def test_a_batch_with_another_band_count_than_the_front_end_is_refused(tiny_adcrnn):
    X, y = _data(front_end={"f_min": 300.0, "f_max": 8000.0, "n_mels": 40})  # 16 in the data
    with pytest.raises(ValueError, match=r"MelWarp: the batch has 16 Mel bands, but the front "
                                         r"end the classifier was fitted on makes n_mels=40"):
        tiny_adcrnn(train_split=None, callbacks=[("warp", MelWarp())]).fit(X, y)


@pytest.mark.parametrize("params, match", [
    (dict(max_warp=0.6), r"MelWarp: max_warp=0.6 must be a float in the range \[0.0, 0.5\]"),
    (dict(max_warp=-0.1), r"max_warp=-0.1 must be"),
    (dict(max_warp=True), r"max_warp=True must be"),
    (dict(probability=2), r"probability=2 must be a float in the range \[0.0, 1.0\]"),
])
def test_bad_mel_warp_settings_are_named(params, match, tiny_adcrnn):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        tiny_adcrnn(train_split=None, callbacks=[("warp", MelWarp(**params))]).fit(X, y)


def test_a_setting_changed_on_a_built_net_is_checked_when_training_begins(tiny_adcrnn):
    X, y = _data()
    clf = tiny_adcrnn(train_split=None, callbacks=[("warp", MelWarp())]).fit(X, y)
    dict(clf.callbacks_)["warp"].max_warp = 0.9       # as set_params leaves it before a partial_fit
    with pytest.raises(ValueError, match=r"MelWarp: max_warp=0.9 must be"):
        clf.partial_fit(X, y)


def test_build_pipeline_and_the_command_line_take_the_warp(tmp_path, capsys):
    from sklearn_ser.cli import main
    from sklearn_ser.pipeline import build_pipeline
    from sklearn_ser.recipes import RECIPES

    assert MAX_WARP == 0.5
    assert all(recipe["mel_warp"] is None for recipe in RECIPES.values())
    callbacks = build_pipeline(mel_warp=0.1, verbose=0)[-1].callbacks
    names = [name for name, _ in callbacks]
    assert names.index("mel_warp") < names.index("augment")   # masks drawn on warped chunks
    warp = dict(callbacks)["mel_warp"]
    assert isinstance(warp, MelWarp) and warp.max_warp == 0.1
    assert isinstance(dict(callbacks)["augment"], SpecAugment)
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
