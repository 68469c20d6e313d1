"""``LogMel3DTransformer(speed_perturbation=...)``: resampled training copies, on the
training side only."""

import warnings

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_ser import ChunkedFeatures, LogMel3DTransformer

FRONT_END = dict(chunk_frames=50, n_mels=20)


@pytest.fixture(scope="module")
def signals():
    rng = np.random.default_rng(0)
    t = np.arange(40000) / 16000
    return [0.1 * np.sin(2 * np.pi * 220 * t[:n]) + 0.01 * rng.standard_normal(n)
            for n in (16000, 24000, 40000)]


def test_each_utterance_gets_its_copies_chunks_after_its_own(signals):
    # the oracle: the same signal declared at another rate, which load_audio
    # resamples by the same ratio (0.8: 12,800 -> 16,000 Hz as 16,000 -> 20,000 Hz)
    perturbed = LogMel3DTransformer(speed_perturbation=(0.8, 1.25), **FRONT_END)
    X = perturbed.fit_transform(signals)
    plain = LogMel3DTransformer(**FRONT_END).fit(signals)
    np.testing.assert_array_equal(perturbed.mean_, plain.mean_)  # statistics: recordings only
    for i, signal in enumerate(signals):
        parts = [plain.transform([signal]), plain.transform([(signal, 12800)]),
                 plain.transform([(signal, 20000)])]
        np.testing.assert_array_equal(np.asarray(X[i]),
                                      np.concatenate([np.asarray(p[0]) for p in parts]))
        assert X.n_chunks[i] == sum(p.n_chunks[0] for p in parts)
    # slower copies are longer: more chunks than the recording, faster ones fewer
    assert (plain.transform([(s, 12800) for s in signals]).n_chunks
            > plain.transform(signals).n_chunks).any()
    # the prediction side reads the recordings as they are
    np.testing.assert_array_equal(perturbed.transform(signals).chunks,
                                  plain.transform(signals).chunks)


def test_files_are_perturbed_too(signals, tmp_path):
    import soundfile as sf

    paths = []
    for i, signal in enumerate(signals):
        paths.append(tmp_path / f"{i}.wav")
        sf.write(paths[-1], signal, 16000, subtype="FLOAT")
    X = LogMel3DTransformer(speed_perturbation=(0.8,), **FRONT_END).fit_transform(paths)
    arrays = LogMel3DTransformer(speed_perturbation=(0.8,), **FRONT_END).fit_transform(
        [s.astype(np.float32).astype(np.float64) for s in signals])
    np.testing.assert_array_equal(X.chunks, arrays.chunks)


def test_a_copy_warns_nothing_the_recording_did_not(signals):
    short = [np.zeros(300) + 0.01, *signals]  # one frame: a ShortSignalWarning, once
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        LogMel3DTransformer(speed_perturbation=(0.9, 1.1), **FRONT_END).fit_transform(short)
    assert len([w for w in caught if "analysis frame" in str(w.message)]) == 1


@pytest.mark.parametrize("value", [(1.0,), (), (0.3,), (0.9, 0.9), ("fast",), (0.9,) * 9,
                                   (float("nan"),), (2.5, 0.9)])
def test_bad_speed_factors_are_named(signals, value):
    with pytest.raises(ValueError, match=r"speed_perturbation=.* must list 1 to 8 different "
                                         r"speed factors other than 1, each from 0.5 to 2"):
        LogMel3DTransformer(speed_perturbation=value).fit(signals)


def test_a_single_factor_must_be_in_a_list(signals):
    with pytest.raises(InvalidParameterError, match=r"'speed_perturbation' parameter"):
        LogMel3DTransformer(speed_perturbation=0.9).fit(signals)


def test_join_utterances_puts_each_utterances_chunks_together():
    def part(counts, base):
        offsets = np.concatenate([[0], np.cumsum(counts)])
        chunks = (base + np.arange(offsets[-1], dtype=np.float32))[:, None, None, None]
        return ChunkedFeatures(chunks, offsets, np.arange(offsets[-1]) + 1)

    joined = ChunkedFeatures.join_utterances([part([1, 2], 0), part([2, 1], 100)])
    assert joined.n_chunks.tolist() == [3, 3]
    assert joined.chunks.ravel().tolist() == [0, 100, 101, 1, 2, 102]
    assert joined.n_frames.tolist() == [1, 1, 2, 2, 3, 3]
    with pytest.raises(ValueError, match=r"parts of different lengths: \[2, 1\]"):
        ChunkedFeatures.join_utterances([part([1, 2], 0), part([1], 0)])


def test_a_pipeline_trains_on_the_copies_and_exports_without_them(signals, tmp_path):
    from sklearn_ser.export import export_onnx
    from sklearn_ser.persistence import load_model, save_model
    from sklearn_ser.pipeline import build_pipeline
    from sklearn_ser.runtime import load_bundle

    y = np.array(["calm", "angry", "calm"])
    pipe = build_pipeline(width="tiny", max_epochs=1, chunk_frames=50, batch_size=4, verbose=0)
    pipe.set_params(features__speed_perturbation=(0.9, 1.1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # three utterances: the small-data advice
        pipe.fit(signals, y)
    trained_on = pipe[0].set_params(speed_perturbation=(0.9, 1.1)).fit_transform(signals)
    assert pipe[-1].history[-1]["train_batch_count"] == -(-len(trained_on.chunks) // 4)
    loaded = load_model(save_model(pipe, tmp_path / "model.skser"))
    assert list(loaded[0].speed_perturbation) == [0.9, 1.1]
    np.testing.assert_allclose(loaded.predict_proba(signals), pipe.predict_proba(signals),
                               atol=1e-6)
    bundle = load_bundle(export_onnx(pipe, tmp_path / "model.onnx.zip"))
    assert bundle.front_end_params["speed_perturbation"] is None
    np.testing.assert_allclose(bundle.predict_proba(signals), pipe.predict_proba(signals),
                               atol=1e-4)


def test_build_pipeline_and_the_command_line_take_the_factors(tmp_path, capsys):
    from sklearn_ser.cli import main
    from sklearn_ser.pipeline import build_pipeline
    from sklearn_ser.recipes import RECIPES

    assert all(recipe["speed_perturbation"] is None for recipe in RECIPES.values())
    assert build_pipeline(verbose=0)[0].speed_perturbation is None
    pipe = build_pipeline(speed_perturbation=(0.9, 1.1), verbose=0)
    assert pipe[0].speed_perturbation == (0.9, 1.1)
    with pytest.raises(ValueError, match=r"build_pipeline: speed_perturbation=\(1.0,\) must"):
        build_pipeline(speed_perturbation=(1.0,))
    out = tmp_path / "model.skser"
    assert main(["train", "--dataset", "demo", "--speed-perturbation", "1", "--out",
                 str(out)]) == 2
    assert "--speed-perturbation [1.0] must list 1 to 8 different" in capsys.readouterr().err
    assert not out.exists()
    assert main(["cross-validate", "--dataset", "demo", "--n-samples", "24", "--width", "tiny",
                 "--max-epochs", "1", "--cv", "2", "-q", "--speed-perturbation", "0.9", "1.1",
                 "--output", str(tmp_path / "cv")]) == 0
    import json

    report = json.loads((tmp_path / "cv" / "report.json").read_text())
    assert report["training"]["speed_perturbation"] == [0.9, 1.1]


def test_the_copies_rates_must_be_rates_the_toolkit_reads(signals):
    with pytest.raises(ValueError, match=r"the copies at \[2.0\] would be resampled to "
                                         r"sample_rate / factor, outside 1,000 to 384,000 Hz"):
        LogMel3DTransformer(sample_rate=1500, f_min=0.0, f_max=700.0,
                            speed_perturbation=(0.9, 2.0)).fit(signals)


def test_an_iterator_gives_every_copy(signals):
    expected = LogMel3DTransformer(speed_perturbation=(0.9,), **FRONT_END).fit_transform(signals)
    got = LogMel3DTransformer(speed_perturbation=(0.9,), **FRONT_END).fit_transform(
        iter(signals))
    np.testing.assert_array_equal(got.chunks, expected.chunks)
