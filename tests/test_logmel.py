"""The pure front-end functions against python_speech_features (psf), the paper's tool."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_ser.features import (
    deltas,
    frame_count,
    frame_signal,
    log_mel_3d,
    log_mel_3d_batch,
    log_mel_spectrogram,
    mel_filterbank,
)
from sklearn_ser.io import load_audio

psf = pytest.importorskip("python_speech_features")
sigproc = psf.sigproc

PAPER = dict(samplerate=16000, winlen=0.025, winstep=0.01, nfilt=40, nfft=512,
             lowfreq=300, highfreq=8000, preemph=0.97)


def psf_3d(signal, **params):
    """The paper's front end with psf: logfbank, then delta twice (N=2)."""
    kwargs = {**PAPER, **params}
    static = psf.logfbank(signal, **kwargs)
    first = psf.delta(static, 2)
    return np.stack([static, first, psf.delta(first, 2)])


def _synthetic_signals(rng):
    t = np.arange(16000 * 2) / 16000
    voiced = 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    with_silence = np.concatenate([voiced[:8000], np.zeros(8000), voiced[8000:16000]])
    return [
        0.1 * rng.standard_normal(16000),
        voiced + 0.01 * rng.standard_normal(t.size),
        with_silence,
        rng.standard_normal(401),   # two frames, second one mostly padding
        rng.standard_normal(400),   # exactly one frame
        rng.standard_normal(37),    # shorter than one frame
    ]


def test_filterbank_is_psf():
    settings = [(40, 512, 300, 8000), (26, 512, 0, 8000), (64, 1024, 50, 4000)]
    for n_mels, n_fft, f_min, f_max in settings:
        np.testing.assert_array_equal(
            mel_filterbank(sample_rate=16000, n_fft=n_fft, n_mels=n_mels, f_min=f_min, f_max=f_max),
            psf.get_filterbanks(n_mels, n_fft, 16000, f_min, f_max),
        )


def test_filterbank_rejects_f_max_above_nyquist():
    with pytest.raises(ValueError, match="f_max=9000"):
        mel_filterbank(f_max=9000)


def test_emodb_conformance_float64(emodb_files):
    """20 real Emo-DB files resampled to 16 kHz: all three channels within 1e-4 of psf."""
    files = emodb_files[:: max(1, len(emodb_files) // 20)][:20]
    assert len(files) == 20
    signals = [load_audio(path) for path in files]
    ours, offsets = log_mel_3d_batch(signals, dtype=np.float64)
    for i, signal in enumerate(signals):
        reference = psf_3d(signal)
        error = np.abs(ours[:, offsets[i] : offsets[i + 1]] - reference).max(axis=(1, 2))
        assert error.max() <= 1e-4, (files[i].name, error)


def test_emodb_conformance_float32(emodb_files):
    signals = [load_audio(path) for path in emodb_files[:10]]
    ours, _offsets = log_mel_3d_batch(signals, dtype=np.float32)
    reference = np.concatenate([psf_3d(s) for s in signals], axis=1)
    assert np.abs(ours - reference).max() <= 1e-3


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"nfilt": 26, "lowfreq": 0, "highfreq": None},
        {"nfft": 1024, "winlen": 0.05, "winstep": 0.02, "preemph": 0.0},
    ],
)
def test_synthetic_conformance(params, rng):
    kwargs = {**PAPER, **params}
    ours_params = dict(
        sample_rate=16000, n_mels=kwargs["nfilt"], n_fft=kwargs["nfft"],
        frame_seconds=kwargs["winlen"], hop_seconds=kwargs["winstep"],
        f_min=kwargs["lowfreq"], f_max=kwargs["highfreq"] or 8000, preemphasis=kwargs["preemph"],
    )
    for signal in _synthetic_signals(rng):
        np.testing.assert_allclose(log_mel_3d(signal, **ours_params), psf_3d(signal, **params),
                                   rtol=0, atol=1e-9)


def test_hamming_window_matches_psf(rng):
    signal = 0.2 * rng.standard_normal(8000)
    energies, _ = psf.fbank(signal, winfunc=np.hamming, **PAPER)  # logfbank has no winfunc
    reference = np.log(energies)
    np.testing.assert_allclose(log_mel_spectrogram(signal, window="hamming"), reference, atol=1e-9)


def test_zero_energy_gives_log_eps_like_psf():
    silent = np.zeros(4000)
    np.testing.assert_allclose(log_mel_spectrogram(silent), np.log(np.finfo(float).eps))
    np.testing.assert_array_equal(log_mel_spectrogram(silent), psf.logfbank(silent, **PAPER))


def test_n_fft_shorter_than_frame_is_refused():
    with pytest.raises(ValueError, match="n_fft=256"):
        log_mel_spectrogram(np.ones(1000), n_fft=256)


def test_batch_equals_one_by_one(rng):
    signals = _synthetic_signals(rng)
    batch, offsets = log_mel_3d_batch(signals, dtype=np.float64, block_frames=7)
    for i, signal in enumerate(signals):
        np.testing.assert_allclose(batch[:, offsets[i] : offsets[i + 1]], log_mel_3d(signal),
                                   rtol=0, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 2000), min_size=1, max_size=5),
    frame_and_hop_ms=st.sampled_from([(25, 10), (25, 25), (10, 25), (32, 7)]),
    block_frames=st.integers(1, 40),
    seed=st.integers(0, 2**16),
)
def test_batch_matches_psf_for_any_frame_hop_and_block(lengths, frame_and_hop_ms, block_frames,
                                                       seed):
    """Signals of mixed lengths share FFT blocks (and, when the hop does not divide
    the frame, dropped straddling slots): each one must still equal psf alone."""
    rng = np.random.default_rng(seed)
    signals = [rng.standard_normal(n) for n in lengths]
    frame_ms, hop_ms = frame_and_hop_ms
    batch, offsets = log_mel_3d_batch(
        signals, dtype=np.float64, block_frames=block_frames,
        frame_seconds=frame_ms / 1000, hop_seconds=hop_ms / 1000,
    )
    assert offsets[-1] == batch.shape[1]
    for i, signal in enumerate(signals):
        reference = psf_3d(signal, winlen=frame_ms / 1000, winstep=hop_ms / 1000)
        np.testing.assert_allclose(batch[:, offsets[i] : offsets[i + 1]], reference,
                                   rtol=0, atol=1e-9)


@pytest.mark.parametrize("block_frames", [1, 7, 512])
def test_torch_threads_change_neither_the_setting_nor_the_bits(rng, block_frames):
    """The front end runs on the caller's torch threads and leaves the count alone;
    1, 2 and 4 threads give the same bits (the FFT works row by row and the
    sparse projection calls no BLAS), for full and ragged blocks alike."""
    torch = pytest.importorskip("torch")
    signals = [rng.standard_normal(n) for n in (16000, 7001, 1000, 300, 33333)]
    previous = torch.get_num_threads()
    try:
        outputs = []
        for n_threads in (1, 2, 4):
            torch.set_num_threads(n_threads)
            outputs.append(log_mel_3d_batch(signals, block_frames=block_frames)[0])
            assert torch.get_num_threads() == n_threads
    finally:
        torch.set_num_threads(previous)
    for output in outputs[1:]:
        np.testing.assert_array_equal(output, outputs[0])


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.longdouble])
def test_other_dtypes_are_refused(dtype):
    with pytest.raises(ValueError, match="must be float32 or float64"):
        log_mel_3d_batch([np.ones(400)], dtype=dtype)


def test_non_native_byte_order_is_accepted():
    signal = np.random.default_rng(0).standard_normal(4000)
    np.testing.assert_array_equal(log_mel_3d_batch([signal], dtype=">f8")[0],
                                  log_mel_3d_batch([signal], dtype=np.float64)[0])


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 12), min_size=1, max_size=6),
    width=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_deltas_match_psf_per_utterance(lengths, width, seed):
    features = np.random.default_rng(seed).standard_normal((sum(lengths), 5))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    ours = deltas(features, width=width, frame_offsets=offsets)
    for a, b in itertools.pairwise(offsets):
        np.testing.assert_allclose(ours[a:b], psf.delta(features[a:b], width), atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(n_samples=st.integers(1, 5000), frame_length=st.integers(1, 600), hop=st.integers(1, 300))
def test_frame_count_matches_psf_framesig(n_samples, frame_length, hop):
    frames = sigproc.framesig(np.zeros(n_samples), frame_length, hop)
    assert frame_count(n_samples, frame_length, hop) == len(frames)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_signal_gives_the_same_bits_alone_in_a_batch_and_for_any_block(rng, dtype):
    """No stage depends on a frame's position: the FFT and the log work row by
    row, and the sparse projection sums each frame's bins in one fixed order
    (a BLAS product changed the last float32 ulp with the row's position)."""
    signals = [10 ** rng.uniform(-4, 0) * rng.standard_normal(int(n))
               for n in rng.integers(1, 20000, 25)]
    batch, offsets = log_mel_3d_batch(signals, dtype=dtype)
    for i, signal in enumerate(signals):
        np.testing.assert_array_equal(log_mel_3d_batch([signal], dtype=dtype)[0],
                                      batch[:, offsets[i]:offsets[i + 1]])
    for block_frames in (1, 7, 100, 4096):
        np.testing.assert_array_equal(
            log_mel_3d_batch(signals[::-1], dtype=dtype, block_frames=block_frames)[0],
            np.concatenate([batch[:, offsets[i]:offsets[i + 1]]
                            for i in reversed(range(len(signals)))], axis=1),
        )


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: mel_filterbank(n_mels=0, f_min=-1.0),
         r"^mel_filterbank: n_mels=0 must be an int in the range \[1, inf\); f_min=-1\.0 must be"),
        (lambda: mel_filterbank(f_min=5000.0, f_max=4000.0),
         r"f_min=5000\.0 must be < f_max=4000\.0"),
        (lambda: log_mel_3d_batch([np.ones(400)], window="kaiser", block_frames=0, delta_width=0),
         r"^log_mel_3d_batch: window='kaiser' must be a str among \{.*'hann'.*\}; "
         r"block_frames=0 must be .*; delta_width=0 must be"),
        (lambda: log_mel_spectrogram(np.ones(400), hop_seconds=1e-5),
         r"^log_mel_spectrogram_batch: hop_seconds=1e-05 is shorter than one sample"),
        (lambda: log_mel_3d(np.ones(400), preemphasis=1.5), r"preemphasis=1\.5 must be a float"),
        (lambda: deltas(np.ones((5, 2)), width=0), r"^deltas: width=0 must be an int"),
        (lambda: frame_count(10, 0, 3), r"^frame_count: frame_length=0 must be an int"),
        (lambda: frame_signal(np.ones(10), 4, 2.5),
         r"^frame_signal: hop_length=2\.5 must be an int"),
    ],
)
def test_functions_name_every_bad_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_unknown_settings_are_a_type_error():
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['n_filters'\]"):
        log_mel_3d_batch([np.ones(400)], n_filters=26)


def test_frame_signal_cuts_psf_frames(rng):
    signal = rng.standard_normal(1234)
    np.testing.assert_array_equal(frame_signal(signal, 400, 160),
                                  sigproc.framesig(signal, 400, 160))


def test_numpy_engine_agrees_with_torchs_where_torch_is_not_installed(monkeypatch):
    """Without PyTorch (the light predictor's installs), numpy's FFT and log give
    the same features to float32 round-off."""
    from sklearn_ser.features import _logmel, log_mel_3d_batch

    signals = [np.random.default_rng(seed).standard_normal(n).astype(np.float32) * 0.1
               for seed, n in ((0, 16000), (1, 23456))]
    with_torch, offsets = log_mel_3d_batch(signals, dtype=np.float32)
    assert _logmel.spectral_engine() is not None
    monkeypatch.setattr(_logmel, "spectral_engine", lambda: None)
    with_numpy, numpy_offsets = log_mel_3d_batch(signals, dtype=np.float32)
    np.testing.assert_array_equal(numpy_offsets, offsets)
    np.testing.assert_allclose(with_numpy, with_torch, rtol=0, atol=2e-4)
