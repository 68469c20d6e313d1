"""LogMel3DTransformer against a psf oracle, scikit-learn's conventions and its checks."""

import io
import pickle
import sys

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ser import ChunkedFeatures, LogMel3DTransformer
from sklearn_ser.features import frame_count

psf = pytest.importorskip("python_speech_features")

PSF = dict(samplerate=16000, winlen=0.025, winstep=0.01, nfilt=40, nfft=512,
           lowfreq=300, highfreq=8000, preemph=0.97)


def psf_3d(signal):
    static = psf.logfbank(signal, **PSF)
    first = psf.delta(static, 2)
    return np.stack([static, first, psf.delta(first, 2)])


def oracle(train, test, chunk_frames=300, hop=None, max_chunks=None):
    """The transformer's output for ``test``, computed the slow obvious way with psf."""
    hop = hop or chunk_frames
    frames = np.concatenate([psf_3d(s) for s in train], axis=1)
    mean, std = frames.mean(axis=1, keepdims=True), frames.std(axis=1, keepdims=True)
    out = []
    for signal in test:
        features = (psf_3d(signal) - mean) / std
        n_frames = features.shape[1]
        chunks = []
        start = 0
        while True:
            chunk = np.zeros((3, chunk_frames, features.shape[2]))
            real = features[:, start : start + chunk_frames]
            chunk[:, : real.shape[1]] = real
            chunks.append(chunk)
            if start + chunk_frames >= n_frames:
                break
            start += hop
        out.append(np.stack(chunks[:max_chunks]))
    return out


@pytest.fixture
def signals(rng):
    t = np.arange(16000 * 5) / 16000
    speechy = 0.3 * np.sin(2 * np.pi * (150 + 40 * np.sin(2 * np.pi * 0.5 * t)) * t)
    return [
        0.1 * rng.standard_normal(16000),                          # 1 s -> 1 chunk
        speechy + 0.01 * rng.standard_normal(t.size),              # 5 s -> 2 chunks
        0.05 * rng.standard_normal(int(16000 * 3.2)),              # just over 3 s
        np.concatenate([np.zeros(4000), 0.2 * rng.standard_normal(12000)]),
    ]


def test_output_matches_psf_oracle(signals):
    transformer = LogMel3DTransformer(precision="float64")
    out = transformer.fit_transform(signals)
    expected = oracle(signals, signals)
    assert isinstance(out, ChunkedFeatures)
    assert len(out) == len(signals)
    for i, reference in enumerate(expected):
        chunk_stack = np.asarray(out[i])
        assert chunk_stack.dtype == np.float32
        assert chunk_stack.shape == reference.shape
        np.testing.assert_allclose(chunk_stack, reference, atol=2e-4, rtol=1e-5)


def test_overlapping_chunks_and_cap_match_oracle(signals):
    params = dict(chunk_frames=120, hop=50)
    transformer = LogMel3DTransformer(
        precision="float64", chunk_frames=120, chunk_hop_frames=50, max_chunks=6
    ).fit(signals[:2])
    out = transformer.transform(signals)
    for i, reference in enumerate(oracle(signals[:2], signals, max_chunks=6, **params)):
        np.testing.assert_allclose(out[i], reference, atol=2e-4, rtol=1e-5)
    assert out.n_chunks.max() == 6


def test_statistics_use_real_frames_only(signals):
    """Mean and std equal numpy's over the psf frames: padding never enters them."""
    transformer = LogMel3DTransformer(precision="float64").fit(signals)
    frames = np.concatenate([psf_3d(s) for s in signals], axis=1)
    # features are stored as float32, hence the 1e-6 tolerance
    np.testing.assert_allclose(transformer.mean_, frames.mean(axis=1), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(transformer.scale_, frames.std(axis=1), rtol=1e-6)
    assert transformer.n_frames_seen_ == frames.shape[1]
    # and on the training data, real frames come out standardised, padding is exactly 0
    out = transformer.transform(signals)
    real = out.chunks.transpose(1, 0, 2, 3)[:, out.frame_mask()]
    np.testing.assert_allclose(real.mean(axis=1), 0, atol=1e-4)
    np.testing.assert_allclose(real.std(axis=1), 1, atol=1e-4)
    assert not out.chunks.transpose(1, 0, 2, 3)[:, ~out.frame_mask()].any()


def test_trim_zeros_equals_the_oracle_on_the_trimmed_utterances(signals):
    """Digital silence at the edges (the 4th signal starts with 4000 zeros) leaves
    neither frames nor statistics behind; the oracle sees the utterances without it."""
    padded = [np.concatenate([np.zeros(800), s, np.zeros(3000)]) for s in signals]
    trimmed = [np.trim_zeros(s) for s in padded]
    assert trimmed[3].size == signals[3].size - 4000
    transformer = LogMel3DTransformer(precision="float64", trim_zeros=True).fit(padded)
    for got, want in zip(transformer.transform(padded), oracle(trimmed, trimmed), strict=True):
        np.testing.assert_allclose(np.asarray(got), want, atol=2e-4)
    plain = LogMel3DTransformer(precision="float64").fit(padded)
    # left in, the silent frames sit at log(eps) and widen the static channel's spread
    assert (plain.scale_[0] > 1.5 * transformer.scale_[0]).all()


def test_a_model_pickled_before_trim_zeros_existed_still_transforms(signals):
    fitted = LogMel3DTransformer().fit(signals)
    state = fitted.__getstate__()
    del state["trim_zeros"]  # what an older release pickled
    older = LogMel3DTransformer.__new__(LogMel3DTransformer)
    older.__setstate__(state)
    assert older.trim_zeros is False
    np.testing.assert_array_equal(older.transform(signals).chunks, fitted.transform(signals).chunks)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_samples=st.integers(1, 16000 * 8),
    chunk_frames=st.integers(5, 400),
    hop_fraction=st.floats(0.1, 3.0),
)
@pytest.mark.filterwarnings("ignore::sklearn_ser.exceptions.ShortSignalWarning")  # 1-400 samples
def test_chunk_count_follows_the_formula(n_samples, chunk_frames, hop_fraction):
    # the front end's limit: a hop of at least chunk_frames / 8 (a frame in at most 8 chunks)
    hop = max(-(-chunk_frames // 8), int(chunk_frames * hop_fraction))
    signal = np.random.default_rng(n_samples).standard_normal(n_samples) * 0.1
    transformer = LogMel3DTransformer(chunk_frames=chunk_frames, chunk_hop_frames=hop,
                                      normalize=False)
    out = transformer.fit_transform([signal])
    n_frames = int(frame_count(n_samples, 400, 160))
    # Oracle: chunks start every hop until one reaches the last frame, and none
    # starts past it (a hop longer than the chunk skips frames, never pads a chunk).
    starts = [0]
    while starts[-1] + chunk_frames < n_frames and starts[-1] + hop < n_frames:
        starts.append(starts[-1] + hop)
    assert out.n_chunks.tolist() == [len(starts)]
    if hop <= chunk_frames:
        assert len(starts) == 1 + int(np.ceil(max(n_frames - chunk_frames, 0) / hop))
        assert out.n_frames.sum() >= n_frames  # overlap can only add real frames
    real = np.clip(n_frames - np.array(starts), 0, chunk_frames)
    assert real.min() >= 1  # every chunk holds speech
    np.testing.assert_array_equal(out.n_frames, real)


@settings(max_examples=10, deadline=None)
@given(amplitude=st.floats(0.05, 0.9), seconds=st.floats(0.1, 3.5), seed=st.integers(0, 1000))
def test_wav_round_trip_is_within_pcm_quantisation(tmp_path_factory, amplitude, seconds, seed):
    rng = np.random.default_rng(seed)
    n = int(seconds * 16000)
    t = np.arange(n) / 16000
    signal = amplitude * (0.5 * np.sin(2 * np.pi * 220 * t) + 0.5 * np.clip(
        rng.standard_normal(n) / 3, -1, 1))
    path = tmp_path_factory.mktemp("wav") / "clip.wav"
    sf.write(path, signal, 16000, subtype="PCM_16")
    transformer = LogMel3DTransformer(normalize=False, precision="float64").fit([signal])
    from_memory, from_file = transformer.transform([signal]), transformer.transform([path])
    static_memory, static_file = from_memory.chunks[:, 0], from_file.chunks[:, 0]
    # 16-bit quantisation (step 2^-15) moves a band's log energy by about q / amplitude:
    # the largest change over 40 seeds was 3.4e-4 / amplitude to 4.6e-4 / amplitude for
    # amplitudes 0.9 to 0.05, and 7.0e-4 / amplitude for the worst case hypothesis found
    # (0.014 at amplitude 0.05, seed 337); the bound is 3x that.
    assert np.abs(static_memory - static_file).max() < 2e-3 / amplitude
    np.testing.assert_array_equal(from_memory.n_frames, from_file.n_frames)


def mean_pool(features):
    """Per-utterance mean of each channel: a tiny classifier input for pipeline tests."""
    return np.stack([np.asarray(features[i]).mean(axis=(0, 2, 3)) for i in range(len(features))])


def test_pipeline_keeps_labels_aligned_and_cross_validates(rng):
    """A mean-pooling logistic regression learns loud vs quiet through the Pipeline."""
    loud = [0.5 * rng.standard_normal(16000 * rng.integers(1, 7)) for _ in range(12)]
    quiet = [0.005 * rng.standard_normal(16000 * rng.integers(1, 7)) for _ in range(12)]
    X = [s for pair in zip(loud, quiet, strict=False) for s in pair]
    y = np.array(["loud", "quiet"] * 12)
    pool = FunctionTransformer(mean_pool)
    pipe = Pipeline([("features", LogMel3DTransformer(normalize=False)), ("pool", pool),
                     ("clf", LogisticRegression())])
    assert cross_val_score(pipe, X, y, cv=3).min() == 1.0


def test_n_jobs_gives_identical_output(signals):
    single = LogMel3DTransformer().fit_transform(signals * 3)
    parallel = LogMel3DTransformer(n_jobs=2).fit_transform(signals * 3)
    np.testing.assert_array_equal(single.chunks, parallel.chunks)
    np.testing.assert_array_equal(single.offsets, parallel.offsets)


def test_pipeline_memory_caches_the_features(signals, tmp_path, monkeypatch):
    calls = []
    original = LogMel3DTransformer._extract

    def counting(self, X, *args, **kwargs):
        calls.append(len(X))
        return original(self, X, *args, **kwargs)

    monkeypatch.setattr(LogMel3DTransformer, "_extract", counting)
    y = np.array([0, 1, 0, 1])
    pool = FunctionTransformer(mean_pool)
    pipe = Pipeline([("features", LogMel3DTransformer()), ("pool", pool),
                     ("clf", LogisticRegression())], memory=str(tmp_path))
    pipe.fit(signals, y)
    clone(pipe).set_params(clf__C=0.5).fit(signals, y)
    assert calls == [4]  # the second fit read the features from the cache


def test_conventions(signals):
    transformer = LogMel3DTransformer(n_mels=26)
    assert clone(transformer).get_params() == transformer.get_params()
    with pytest.raises(NotFittedError):
        transformer.transform(signals)
    fitted = pickle.loads(pickle.dumps(transformer.fit(signals)))
    np.testing.assert_array_equal(fitted.transform(signals).chunks,
                                  transformer.transform(signals).chunks)
    assert fitted.chunk_shape_ == (3, 300, 26)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"f_max": 9000}, ValueError, "f_max=9000"),
        ({"n_fft": 256}, ValueError, "n_fft=256"),
        ({"window": "kaiser"}, InvalidParameterError, "window"),
        ({"chunk_frames": 0}, InvalidParameterError, "chunk_frames"),
        ({"resampler": "sinc"}, InvalidParameterError, "resampler"),
    ],
)
def test_bad_parameters_name_themselves(params, error, match, signals):
    with pytest.raises(error, match=match):
        LogMel3DTransformer(**params).fit(signals)


def test_bad_inputs_are_explained(tmp_path, signals):
    transformer = LogMel3DTransformer()
    with pytest.raises(TypeError, match="wrap it in a list"):
        transformer.fit("one.wav")
    with pytest.raises(ValueError, match="Reshape your data"):
        transformer.fit(np.zeros(16000))
    with pytest.raises(ValueError, match="0 utterances"):
        transformer.fit([])
    missing = tmp_path / "missing file.wav"
    with pytest.raises(FileNotFoundError, match=r"missing file\.wav"):
        transformer.fit([*signals, missing])
    with pytest.raises(ValueError, match=r"signal #1.*NaN"):
        transformer.fit([signals[0], np.full(100, np.nan)])


def test_emodb_files_give_one_chunk_each(emodb_files):
    out = LogMel3DTransformer().fit_transform(emodb_files[:8])
    assert out.n_chunks.tolist() == [1] * 8
    assert out.n_frames.tolist() == [199] * 8  # 2.000 s at 16 kHz, psf framing
    assert out.chunks.shape == (8, 3, 300, 40)


# Exemptions from scikit-learn's estimator checks, each with its reason.
EXPECTED_FAILED_CHECKS = {
    "check_n_features_in": "rows are signals of any length: there is no fixed feature count",
    "check_n_features_in_after_fitting": "signals of any length are valid: no n_features_in_",
    "check_transformer_general": "a signal of another length is valid input, not an error",
}


@parametrize_with_checks(
    [LogMel3DTransformer()],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
# The checks' rows are signals of a few samples, shorter than one 25-ms frame:
# the ShortSignalWarning they raise is the front end doing its job.
@pytest.mark.filterwarnings("ignore::sklearn_ser.exceptions.ShortSignalWarning")
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_verbose_reports_files_done_on_stderr(signals, capsys):
    LogMel3DTransformer(verbose=1).fit_transform(signals * 10)  # 40 files: two groups of 32
    err = capsys.readouterr().err
    # not a terminal (captured): whole lines, no carriage return
    assert err == "[LogMel3DTransformer] 32/40 files\n[LogMel3DTransformer] 40/40 files\n"
    LogMel3DTransformer().fit_transform(signals)
    assert capsys.readouterr().err == ""


def test_verbose_progress_in_a_log_is_a_line_per_quarter(signals, capsys):
    LogMel3DTransformer(verbose=1).fit_transform(signals * 80)  # 320 files, 10 groups of 32
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"[LogMel3DTransformer] {done}/320 files" for done in (96, 160, 256, 320)]


def test_verbose_progress_on_a_terminal_is_rewritten_in_place(signals, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stderr = Terminal()
    monkeypatch.setattr(sys, "stderr", stderr)
    LogMel3DTransformer(verbose=1).fit_transform(signals * 10)
    assert stderr.getvalue() == ("\r[LogMel3DTransformer] 32/40 files"
                                 "\r[LogMel3DTransformer] 40/40 files\n")


def test_set_output_accepts_the_default_and_refuses_data_frames(signals):
    from sklearn.pipeline import Pipeline

    pipe = Pipeline([("features", LogMel3DTransformer())])
    assert pipe.set_output(transform="default") is pipe
    with pytest.raises(ValueError, match=r"set_output\(transform='pandas'\).*ChunkedFeatures"):
        pipe.set_output(transform="pandas")


# -- the persisted state: __sklearn_ser_state__ / __sklearn_ser_restore__ -------------------
def _state(transformer):
    fitted, arrays = transformer.__sklearn_ser_state__()
    return transformer.get_params(), fitted, arrays


def test_state_round_trip_gives_identical_output(signals):
    transformer = LogMel3DTransformer(n_mels=26, chunk_frames=120).fit(signals)
    params, fitted, arrays = _state(transformer)
    assert fitted == {"n_frames_seen_": transformer.n_frames_seen_, "chunk_shape_": [3, 120, 26]}
    assert sorted(arrays) == ["mean_", "scale_"]
    for name, array in arrays.items():
        assert array.dtype == np.float64 and array.shape == (3, 26)
        np.testing.assert_array_equal(array, getattr(transformer, name))
        assert not np.shares_memory(array, getattr(transformer, name))
    restored = LogMel3DTransformer.__sklearn_ser_restore__(params, fitted, arrays)
    assert restored.get_params() == transformer.get_params()
    assert restored.chunk_shape_ == transformer.chunk_shape_ == (3, 120, 26)
    assert restored.n_frames_seen_ == transformer.n_frames_seen_
    arrays["mean_"][:] = 0  # the restored transformer holds copies
    out, expected = restored.transform(signals), transformer.transform(signals)
    np.testing.assert_array_equal(out.chunks, expected.chunks)
    np.testing.assert_array_equal(out.offsets, expected.offsets)
    np.testing.assert_array_equal(out.n_frames, expected.n_frames)


def test_state_of_an_unfitted_transformer_is_refused():
    with pytest.raises(NotFittedError):
        LogMel3DTransformer().__sklearn_ser_state__()


def _spoil(part, name, value):
    """A change to one entry of the state (``value=None`` removes it)."""
    def apply(state):
        entries = dict(state[part])
        if value is None:
            entries.pop(name)
        else:
            entries[name] = value(entries.get(name)) if callable(value) else value
        return {**state, part: entries}
    return apply


@pytest.mark.parametrize(
    ("spoil", "match"),
    [
        (_spoil("arrays", "mean_", None), "the state holds no mean_"),
        (_spoil("arrays", "scale_", lambda a: a[:, :20].copy()),
         r"scale_ has shape \(3, 20\) and dtype float64; expected \(3, 40\) float64 for n_mels=40"),
        (_spoil("arrays", "mean_", lambda a: a.astype(np.float32)),
         r"mean_ has shape \(3, 40\) and dtype float32; expected \(3, 40\) float64"),
        (_spoil("arrays", "mean_", lambda a: a.tolist()),
         "mean_ is a list; expected a numpy array"),
        (_spoil("arrays", "mean_", lambda a: np.where(np.arange(40) == 3, np.nan, a)),
         "mean_ holds NaN or inf"),
        (_spoil("arrays", "scale_", lambda a: np.where(np.arange(40) == 3, np.inf, a)),
         "scale_ holds NaN or inf"),
        (_spoil("arrays", "scale_", lambda a: np.where(np.arange(40) == 3, 0.0, a)),
         "scale_ has values <= 0"),
        (_spoil("arrays", "extra_", np.zeros(3)), r"unknown arrays: \['extra_'\]"),
        (_spoil("fitted", "n_frames_seen_", -1), "n_frames_seen_=-1 is not a count"),
        (_spoil("fitted", "n_frames_seen_", True), "n_frames_seen_=True is not a count"),
        (_spoil("fitted", "n_frames_seen_", 12.0), r"n_frames_seen_=12\.0 is not a count"),
        (_spoil("fitted", "n_frames_seen_", None), "n_frames_seen_=None is not a count"),
        (_spoil("fitted", "chunk_shape_", [3, 200, 40]),
         r"chunk_shape_=\[3, 200, 40\] does not match the parameters \(expected \[3, 300, 40\]\)"),
        (_spoil("fitted", "chunk_shape_", [3.0, 300, 40]), r"chunk_shape_=\[3\.0, 300, 40\]"),
        (_spoil("fitted", "chunk_shape_", "3x300x40"), "chunk_shape_='3x300x40' does not match"),
        (_spoil("params", "n_mels", 20),
         r"mean_ has shape \(3, 40\) and dtype float64; expected \(3, 20\) float64 for n_mels=20"),
        (_spoil("params", "f_max", 9000), r"LogMel3DTransformer: f_max=9000 must be <= "),
        (_spoil("params", "window", "kaiser"), "'window' parameter of LogMel3DTransformer"),
        (_spoil("params", "colour", "blue"),
         r"unknown parameters of LogMel3DTransformer: \['colour'\]"),
        (lambda state: {**state, "fitted": [1, 2]}, "the state's fitted is a list, not a dict"),
    ],
)
def test_restore_names_what_is_wrong(signals, spoil, match):
    params, fitted, arrays = _state(LogMel3DTransformer().fit(signals))
    state = spoil({"params": params, "fitted": fitted, "arrays": arrays})
    with pytest.raises(ValueError, match=match):
        LogMel3DTransformer.__sklearn_ser_restore__(state["params"], state["fitted"],
                                                    state["arrays"])


def test_restore_takes_numpy_integers_and_a_tuple_shape(signals):
    transformer = LogMel3DTransformer().fit(signals)
    params, fitted, arrays = _state(transformer)
    fitted = {"n_frames_seen_": np.int64(fitted["n_frames_seen_"]),
              "chunk_shape_": tuple(np.int64(size) for size in fitted["chunk_shape_"])}
    restored = LogMel3DTransformer.__sklearn_ser_restore__(params, fitted, arrays)
    assert type(restored.n_frames_seen_) is int and restored.chunk_shape_ == (3, 300, 40)


def test_parameters_are_checked_alone_then_together_in_one_message(signals):
    with pytest.raises(ValueError, match=r"f_max=9000 must be <= sample_rate/2 = 8000 Hz.*; "
                                         r"n_fft=256 must be >= the frame length of 400 samples"):
        LogMel3DTransformer(f_max=9000, n_fft=256).fit(signals)
    with pytest.raises(ValueError, match=r"f_min=500 must be < f_max=400"):
        LogMel3DTransformer(f_min=500, f_max=400).fit(signals)
    with pytest.raises(ValueError, match=r"hop_seconds=1e-05 is shorter than one sample"):
        LogMel3DTransformer(hop_seconds=1e-5).fit(signals)


def test_defaults_are_the_front_end_table():
    from sklearn_ser.features import FRONT_END_DEFAULTS

    assert LogMel3DTransformer().get_params() == dict(FRONT_END_DEFAULTS)
    assert set(LogMel3DTransformer._parameter_constraints) == set(FRONT_END_DEFAULTS)
    with pytest.raises(TypeError):
        FRONT_END_DEFAULTS["n_mels"] = 64  # read-only


def test_utterance_normalisation_standardises_each_utterance_and_removes_its_level():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(16000)
    signals = [noise * level for level in (0.01, 0.1, 0.5)] + [rng.standard_normal(12000)]
    front = LogMel3DTransformer(normalize="utterance", precision="float64", chunk_frames=200)
    out = front.fit(signals).transform(signals)
    chunks, real = np.asarray(out.chunks), out.n_frames
    # one chunk per utterance: over its real frames, mean 0 and std 1 per channel and bin
    for i in range(len(signals)):
        frames = chunks[out.offsets[i], :, : real[out.offsets[i]]]
        np.testing.assert_allclose(frames.mean(axis=1), 0.0, atol=1e-5)
        np.testing.assert_allclose(frames.std(axis=1), 1.0, atol=1e-4)
    # the same sound at three levels gives the same features (log-Mel: a constant offset)
    np.testing.assert_allclose(chunks[0], chunks[1], atol=1e-4)
    np.testing.assert_allclose(chunks[0], chunks[2], atol=1e-4)
    plain = LogMel3DTransformer(precision="float64", chunk_frames=200).fit_transform(signals)
    assert np.abs(np.asarray(plain.chunks)[0] - np.asarray(plain.chunks)[1]).max() > 1.0
    with pytest.raises(ValueError, match="normalize"):
        LogMel3DTransformer(normalize="speaker").fit(signals)
