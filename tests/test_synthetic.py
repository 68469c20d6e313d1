"""Tests of make_emotional_speech.

The oracles: scikit-learn's own conventions (``check_random_state``,
``GroupKFold``), counting, and prosodic measurements made here with plain
numpy (autocorrelation F0, RMS, spectral tilt, pauses), independent of the
generator's code, checked against what prosody research reports.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import GroupKFold, cross_val_score

from sklearn_ser.datasets import make_emotional_speech

EMOTIONS = ["neutral", "anger", "sadness", "happiness", "fear", "boredom", "disgust"]
SAMPLE_RATE = 16000


@pytest.fixture(scope="module")
def corpus():
    return make_emotional_speech(200, random_state=0)


def measure_prosody(X, *, sample_rate=SAMPLE_RATE, frame=512):
    """Utterance-level prosodic measurements, on back-to-back frames of 32 ms.

    Returns a dict of arrays of shape (n_utterances,): median F0 and its
    spread in semitones (re 1 Hz) over the active frames, log RMS, spectral
    tilt (log energy above 2 kHz over below 1 kHz), share of active frames,
    and the number of activity onsets (a syllable-rate proxy).
    """
    frames = sliding_window_view(X, frame, axis=1)[:, ::frame]
    power = np.abs(np.fft.rfft(frames, n=2 * frame, axis=-1)) ** 2
    energy = power.sum(-1)
    active = energy > 0.1 * energy.max(axis=1, keepdims=True)
    # Autocorrelation (Wiener-Khinchin); the F0 period is its peak in 60..450 Hz.
    autocorrelation = np.fft.irfft(power, axis=-1)[..., :frame]
    shortest, longest = sample_rate // 450, sample_rate // 60
    lag = shortest + autocorrelation[..., shortest:longest].argmax(-1)
    semitones = np.where(active, 12 * np.log2(sample_rate / lag), np.nan)
    freqs = np.fft.rfftfreq(2 * frame, 1 / sample_rate)
    tilt = np.log(power[..., freqs > 2000].sum(-1) + 1e-12) - np.log(
        power[..., freqs < 1000].sum(-1) + 1e-12
    )
    return {
        "f0": np.nanmedian(semitones, axis=1),
        "f0_spread": np.nanstd(semitones, axis=1),
        "log_rms": np.log(np.sqrt(np.mean(X.astype(np.float64) ** 2, axis=1))),
        "tilt": np.nanmean(np.where(active, tilt, np.nan), axis=1),
        "active": active.mean(axis=1),
        "onsets": (np.diff(active.astype(int), axis=1) == 1).sum(axis=1),
    }


@pytest.fixture(scope="module")
def prosody(corpus):
    return measure_prosody(corpus[0])


def test_shapes_dtypes_and_range(corpus):
    X, y, groups = corpus
    assert X.shape == (200, 32000) and X.dtype == np.float32
    assert np.abs(X).max() <= 1.0 and np.isfinite(X).all()
    assert y.shape == (200,) and y.dtype.kind == "U"
    assert groups.shape == (200,) and groups.dtype.kind == "i"


@pytest.mark.parametrize(
    ("duration", "sample_rate", "n_columns"),
    [(0.5, 8000, 4000), (0.1234, 8000, 987), (1.0, 22050, 22050), (0.05, 16000, 800)],
)
def test_length_is_duration_times_rate(duration, sample_rate, n_columns):
    X, _, _ = make_emotional_speech(3, duration=duration, sample_rate=sample_rate, random_state=0)
    assert X.shape == (3, n_columns)


def test_deterministic_for_a_seed_and_different_across_seeds():
    first = make_emotional_speech(12, duration=0.5, random_state=7)
    again = make_emotional_speech(12, duration=0.5, random_state=7)
    # An int seed and a RandomState seeded alike give the same corpus, as in scikit-learn.
    instance = make_emotional_speech(12, duration=0.5, random_state=np.random.RandomState(7))
    other = make_emotional_speech(12, duration=0.5, random_state=8)
    for a, b, c in zip(first, again, instance, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    assert not np.allclose(first[0], other[0])


@pytest.mark.parametrize(
    ("n_samples", "n_classes", "expected_counts"),
    [(200, 4, [50] * 4), (10, 3, [4, 3, 3]), (7, 7, [1] * 7), (9, 2, [5, 4])],
)
def test_classes_balanced_and_named(n_samples, n_classes, expected_counts):
    _, y, _ = make_emotional_speech(n_samples, n_classes=n_classes, duration=0.1, random_state=1)
    assert [int(np.sum(y == name)) for name in EMOTIONS[:n_classes]] == expected_counts


def test_every_speaker_speaks_every_class(corpus):
    _, y, groups = corpus
    assert np.unique(groups).tolist() == list(range(8))
    cells = np.zeros((4, 8), dtype=int)
    np.add.at(cells, ([EMOTIONS.index(label) for label in y], groups), 1)
    # 200 utterances over 4 x 8 cells: 6 or 7 each, so speaker and class are not confounded.
    assert cells.sum() == 200 and cells.min() >= 6 and cells.max() <= 7


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("n_samples", 0),
        ("n_classes", 1),
        ("n_classes", 8),
        ("n_speakers", 0),
        ("duration", 0.0),
        ("sample_rate", 4000),
        ("noise_level", -0.1),
        # named as the others, not ZeroDivisionError, OverflowError, TypeError
        ("duration", 1e-5),
        ("duration", float("inf")),
        ("n_samples", True),
        ("noise_level", float("nan")),
        ("sample_rate", "16k"),
    ],
)
def test_invalid_parameters_are_named(param, value):
    with pytest.raises(ValueError, match=f"{param}={value!r}"):
        make_emotional_speech(**{"n_samples": 4, param: value})


def test_noise_is_white_gaussian_at_noise_level():
    clean, _, _ = make_emotional_speech(4, noise_level=0.0, random_state=3)
    noisy, _, _ = make_emotional_speech(4, noise_level=0.01, random_state=3)
    difference = (noisy - clean).astype(np.float64)
    assert difference.std() == pytest.approx(0.01, rel=0.02)
    assert abs(difference.mean()) < 1e-4
    # The utterance starts with at least 50 ms of silence.
    assert np.all(clean[:, :800] == 0)


def test_speech_like_structure(prosody):
    # F0 in the range of adult voices; syllables separated by pauses: active
    # frames (within 10 dB of the loudest) are a minority, in several runs.
    assert np.all((prosody["f0"] > 12 * np.log2(60)) & (prosody["f0"] < 12 * np.log2(450)))
    assert np.all(prosody["active"] < 0.8) and 0.25 < np.median(prosody["active"]) < 0.6
    assert np.median(prosody["onsets"]) >= 3


def test_anger_is_higher_and_louder_than_sadness(corpus, prosody):
    _, y, groups = corpus
    anger, sadness = y == "anger", y == "sadness"
    # Murray and Arnott (1993): anger raises F0 level and intensity, sadness lowers them.
    assert prosody["f0"][anger].mean() - prosody["f0"][sadness].mean() > 3  # semitones
    assert prosody["log_rms"][anger].mean() > prosody["log_rms"][sadness].mean() + 1
    for speaker in np.unique(groups):
        mine = groups == speaker
        assert prosody["f0"][anger & mine].mean() > prosody["f0"][sadness & mine].mean()


def test_f0_alone_does_not_separate_the_classes(corpus, prosody):
    _, y, groups = corpus
    f0 = prosody["f0"]
    # Speakers' base F0 spreads more than the emotions shift it: the ranges overlap.
    assert f0[y == "sadness"].max() > f0[y == "anger"].min()
    alone = cross_val_score(
        LinearDiscriminantAnalysis(), f0[:, None], y, groups=groups, cv=GroupKFold(4)
    )
    assert alone.mean() < 0.5


def test_learnable_across_speakers_but_not_trivial(corpus, prosody):
    _, y, groups = corpus
    features = np.column_stack(list(prosody.values()))
    scores = cross_val_score(
        LinearDiscriminantAnalysis(), features, y, groups=groups, cv=GroupKFold(4)
    )
    assert 0.6 < scores.mean() < 0.95  # chance is 0.25


def test_docstring_table_states_the_class_profiles():
    from sklearn_ser.datasets import _synthetic

    rows = {
        line.split()[0]: [float(value) for value in line.split()[1:]]
        for line in make_emotional_speech.__doc__.splitlines()
        if line.split() and line.split()[0] in EMOTIONS
    }
    assert list(rows) == EMOTIONS
    np.testing.assert_allclose(np.array(list(rows.values())), _synthetic._PROFILES[:, :6])
