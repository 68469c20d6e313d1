"""Where the model listened: :mod:`sklearn_ser.explain` and ``plot_explanation``."""

import warnings

import numpy as np
import pytest
from sklearn.ensemble import VotingClassifier

from sklearn_ser.datasets import make_emotional_speech
from sklearn_ser.evaluation import plot_explanation
from sklearn_ser.explain import explain, frame_attention
from sklearn_ser.features import frame_count, samples_per
from sklearn_ser.pipeline import build_pipeline

RATE = 16000


@pytest.fixture(scope="module")
def corpus():
    X, y, _ = make_emotional_speech(24, n_classes=2, n_speakers=2, duration=1.0, random_state=0)
    return X, np.asarray(y)


@pytest.fixture(scope="module", params=["adcrnn", "acrnn"])
def fitted(request, corpus):
    X, y = corpus
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a small-data warning: two epochs are enough here
        return build_pipeline(model=request.param, width="tiny", max_epochs=2, chunk_frames=40,
                              batch_size=8, verbose=0).fit(X, y)


def test_frame_attention_spreads_each_step_over_its_frames_by_hand():
    weights = frame_attention(np.array([[0.25, 0.75]]), n_frames=6, time_pool=2, frame_offset=1)
    np.testing.assert_allclose(weights, [[0, 0.125, 0.125, 0.375, 0.375, 0]])
    with pytest.raises(ValueError, match="do not fit in a chunk of 4 frames"):
        frame_attention(np.ones((1, 2)) / 2, n_frames=4, time_pool=2, frame_offset=1)


def test_weights_are_a_distribution_per_chunk_and_probabilities_the_pipelines(fitted, corpus):
    X, _ = corpus
    e = explain(fitted, X[3])
    assert (e.chunk_attention >= 0).all() and (e.attention >= 0).all()
    np.testing.assert_allclose(e.chunk_attention.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(e.proba, fitted.predict_proba([X[3]])[0], rtol=0, atol=1e-7)
    assert e.label == fitted.predict([X[3]])[0]
    # the chunks' own probabilities, as the classifier's per-chunk prediction
    chunks = fitted[0].transform([X[3]])
    np.testing.assert_allclose(e.chunk_proba, fitted[-1].predict_chunk_proba(chunks),
                               rtol=0, atol=1e-6)
    # the mean of its chunks' probabilities (aggregate="mean") is the utterance's
    np.testing.assert_allclose(e.chunk_proba.mean(axis=0), e.proba, atol=1e-6)
    assert e.chunk_attention.shape == (len(e.chunk_proba), 40)


def test_frames_line_up_with_the_front_ends_framing(fitted, corpus):
    X, _ = corpus
    e = explain(fitted, X[0])
    frame, hop = samples_per(0.025, RATE), samples_per(0.010, RATE)
    n = frame_count(len(X[0]), frame_length=frame, hop_length=hop)
    assert len(e.attention) == len(e.frame_times) == len(e.log_mel) == n
    np.testing.assert_allclose(e.frame_times, (np.arange(n) * hop + frame / 2) / RATE)
    np.testing.assert_allclose(e.chunk_start, np.arange(len(e.chunk_start)) * 40 * hop / RATE)
    assert e.chunk_end[-1] == pytest.approx(((n - 1) * hop + frame) / RATE)
    assert e.chunk_end[-1] == pytest.approx(len(X[0]) / RATE, abs=frame / RATE)


def test_leading_silence_trimmed_by_the_front_end_is_counted_in(corpus):
    X, y = corpus
    silence = 0.5
    padded = [np.concatenate([np.zeros(int(silence * RATE)), x]) for x in X]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = build_pipeline(width="tiny", max_epochs=1, chunk_frames=40, trim_zeros=True,
                              verbose=0).fit(padded, y)
    first = np.flatnonzero(X[0])[0] / RATE
    e = explain(pipe, padded[0])
    assert e.frame_times[0] == pytest.approx(silence + first + 0.0125)
    assert e.chunk_start[0] == pytest.approx(silence + first)


def test_a_soft_vote_averages_its_networks(corpus):
    X, y = corpus
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = build_pipeline(width="tiny", max_epochs=1, chunk_frames=40, n_seeds=2,
                              verbose=0).fit(X, y)
    assert isinstance(pipe[-1], VotingClassifier)
    e = explain(pipe, X[1])
    np.testing.assert_allclose(e.proba, pipe.predict_proba([X[1]])[0], atol=1e-7)
    np.testing.assert_allclose(e.chunk_attention.sum(axis=1), 1.0, atol=1e-6)


def test_what_cannot_be_explained_is_named(fitted, corpus):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with pytest.raises(TypeError, match="LogMel3DTransformer"):
        explain(make_pipeline(StandardScaler()), corpus[0][0])
    with pytest.raises(TypeError, match="ADCRNN or ACRNN classifier"):
        explain(make_pipeline(fitted[0], StandardScaler()), corpus[0][0])


def burst_corpus(n_per_class, seed, duration=1.5, burst=0.15):
    """Two classes that differ only inside a short tone burst, placed at random in noise."""
    rng = np.random.default_rng(seed)
    signals, labels, bursts = [], [], []
    for label, frequency in (("low", 600.0), ("high", 2400.0)):
        for _ in range(n_per_class):
            signal = 0.05 * rng.standard_normal(int(duration * RATE))
            start = rng.uniform(0.1, duration - burst - 0.1)
            first, last = int(start * RATE), int((start + burst) * RATE)
            signal[first:last] += 0.3 * np.sin(2 * np.pi * frequency
                                               * np.arange(last - first) / RATE)
            signals.append(signal)
            labels.append(label)
            bursts.append((start, start + burst))
    return signals, np.array(labels), bursts


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_attention_goes_to_the_burst_that_tells_the_classes_apart(seed):
    X, y, _ = burst_corpus(20, seed)
    pipe = build_pipeline(width="tiny", max_epochs=15, chunk_frames=150, batch_size=8,
                          augment=False, random_state=seed, verbose=0).fit(X, y)
    masses, shares = [], []
    for signal, (start, end) in zip(*burst_corpus(10, 100 + seed)[::2], strict=True):
        e = explain(pipe, signal)
        inside = (e.frame_times >= start) & (e.frame_times <= end)
        masses.append(e.attention[inside].sum() / e.attention.sum())
        shares.append(inside.mean())
    # about 2x its 10 % share of the time is seen; 1.5x is the margin
    assert np.mean(masses) > 1.5 * np.mean(shares)


def test_the_figure_is_written_for_a_short_and_a_long_recording(fitted, corpus, tmp_path):
    pytest.importorskip("matplotlib")
    X, _ = corpus
    short = plot_explanation(explain(fitted, X[0]), tmp_path / "short.png")
    long = plot_explanation(explain(fitted, np.concatenate(X[:30])), tmp_path / "long.png",
                            top_classes=1, title="30 s")
    for path in (short, long):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="top_classes=0"):
        plot_explanation(explain(fitted, X[0]), tmp_path / "x.png", top_classes=0)


def test_a_file_object_is_read_where_it_stands_and_left_there(corpus, tmp_path):
    import io

    import soundfile as sf

    X, y = corpus
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = build_pipeline(width="tiny", max_epochs=1, chunk_frames=40, trim_zeros=True,
                              verbose=0).fit(X, y)
    buffer = io.BytesIO()
    sf.write(buffer, np.concatenate([np.zeros(800), X[0]]), RATE, format="WAV")
    stream = io.BytesIO(b"x" * 128 + buffer.getvalue())
    stream.seek(128)
    e = explain(pipe, stream)
    assert stream.tell() == 128
    first = np.flatnonzero(X[0])[0]
    assert e.chunk_start[0] == pytest.approx((800 + first) / RATE, abs=1 / RATE)
