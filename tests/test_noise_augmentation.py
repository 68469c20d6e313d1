"""``LogMel3DTransformer(noise_snr=...)``: a noisy training copy of every utterance.

The oracles: the noise's measured power against the SNR asked for, and the
recordings' own chunks from a transformer without copies.
"""

import json
import warnings

import numpy as np
import pytest

from sklearn_ser import LogMel3DTransformer
from sklearn_ser.features import add_noise

FRONT_END = dict(chunk_frames=50)


@pytest.fixture(scope="module")
def signals():
    rng = np.random.default_rng(3)
    t = np.arange(16000) / 16000
    return [0.3 * np.sin(2 * np.pi * f * t[: 8000 + 1500 * i]) + 0.01 * rng.standard_normal(
        8000 + 1500 * i) for i, f in enumerate((180.0, 220.0, 260.0, 300.0, 340.0))]


@pytest.mark.parametrize("snr_db", [-5.0, 10.0, 40.0])
def test_add_noise_measures_the_snr_asked_for(snr_db):
    signal = 0.5 * np.sin(np.arange(200_000) / 9.0)  # mean power 0.125
    noisy = add_noise(signal, snr_db, np.random.default_rng(0))
    noise = noisy - signal
    measured = 10 * np.log10(np.mean(signal**2) / np.mean(noise**2))
    assert measured == pytest.approx(snr_db, abs=0.05)
    assert abs(np.mean(noise)) < 0.01 * np.std(noise)  # zero-mean, white
    silence = np.zeros(100, np.float32)
    assert add_noise(silence, 10.0, np.random.default_rng(0)) is silence
    assert add_noise(signal.astype(np.float32), 10.0,
                                 np.random.default_rng(0)).dtype == np.float32


def test_each_utterance_gets_a_noisy_copy_after_its_own_chunks(signals):
    plain = LogMel3DTransformer(**FRONT_END)
    expected = plain.fit_transform(signals)
    noisy = LogMel3DTransformer(noise_snr=(0.0, 5.0), random_state=0, **FRONT_END)
    out = noisy.fit_transform(signals)
    np.testing.assert_array_equal(noisy.mean_, plain.mean_)  # statistics of the recordings
    np.testing.assert_array_equal(out.n_chunks, 2 * expected.n_chunks)
    for i in range(len(signals)):
        own = out[i][: expected.n_chunks[i]]
        np.testing.assert_array_equal(own, expected[i])
        copy = out[i][expected.n_chunks[i] :]
        assert np.abs(copy - own).mean() > 0.1  # noise at 0-5 dB changes the features
    np.testing.assert_array_equal(noisy.transform(signals).chunks, expected.chunks)


def test_the_noise_is_seeded_per_utterance_whatever_n_jobs():
    rng = np.random.default_rng(5)
    many = [0.1 * rng.standard_normal(4000) for _ in range(40)]  # two groups of files

    def fitted(**params):
        return LogMel3DTransformer(noise_snr=(10.0, 30.0), **FRONT_END, **params)

    first = fitted(random_state=7).fit_transform(many)
    np.testing.assert_array_equal(fitted(random_state=7).fit_transform(many).chunks,
                                  first.chunks)
    assert not np.array_equal(fitted(random_state=8).fit_transform(many).chunks, first.chunks)
    np.testing.assert_array_equal(
        fitted(random_state=7, n_jobs=2).fit_transform(many).chunks, first.chunks)
    np.testing.assert_array_equal(
        fitted(random_state=np.random.RandomState(7)).fit_transform(many).chunks, first.chunks)
    # utterance i's SNR and noise come from the stream (seed, i), the seed drawn
    # once from random_state
    seed = np.random.RandomState(7).randint(2**31)
    front_end = fitted(random_state=7).fit(many)
    for i in (0, 39):
        stream = np.random.default_rng([seed, i])
        noisy = add_noise(many[i].astype(np.float32), stream.uniform(10.0, 30.0), stream)
        np.testing.assert_array_equal(first[i][1:], front_end.transform([noisy]).chunks)


@pytest.mark.parametrize("value", [(30.0, 10.0), (10.0,), (5.0, 100.0), (float("nan"), 5.0),
                                   ("10", "20")])
def test_bad_ranges_are_named(signals, value):
    with pytest.raises(ValueError, match=r"noise_snr=.* must be a \(low, high\) pair"):
        LogMel3DTransformer(noise_snr=value).fit(signals)


def test_build_pipeline_and_the_command_line_take_the_range(signals, tmp_path, capsys):
    from sklearn_ser.cli import main
    from sklearn_ser.persistence import load_model, save_model
    from sklearn_ser.pipeline import build_pipeline
    from sklearn_ser.recipes import RECIPES

    assert all(recipe["noise_snr"] is None for recipe in RECIPES.values())
    pipe = build_pipeline(noise_snr=(10, 30), random_state=3, width="tiny", max_epochs=1,
                          chunk_frames=50, batch_size=4, verbose=0)
    assert pipe[0].noise_snr == (10, 30) and pipe[0].random_state == 3
    assert build_pipeline(random_state=3)[0].random_state is None  # nothing to draw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # five utterances: the small-data advice
        pipe.fit(signals, ["a", "b", "a", "b", "a"])
    loaded = load_model(save_model(pipe, tmp_path / "model.skser"))
    assert list(loaded[0].noise_snr) == [10, 30]
    np.testing.assert_allclose(loaded.predict_proba(signals), pipe.predict_proba(signals),
                               atol=1e-6)
    with pytest.raises(ValueError, match=r"build_pipeline: noise_snr=\(30, 10\) must"):
        build_pipeline(noise_snr=(30, 10))
    assert main(["train", "--dataset", "demo", "--noise-snr", "inf", "10", "--out",
                 str(tmp_path / "m.skser")]) == 2
    assert "--noise-snr: must be a finite number, got inf" in capsys.readouterr().err
    assert main(["cross-validate", "--dataset", "demo", "--n-samples", "24", "--width", "tiny",
                 "--max-epochs", "1", "--cv", "2", "-q", "--noise-snr", "10", "30",
                 "--output", str(tmp_path / "cv")]) == 0
    report = json.loads((tmp_path / "cv" / "report.json").read_text())
    assert report["training"]["noise_snr"] == [10.0, 30.0]
