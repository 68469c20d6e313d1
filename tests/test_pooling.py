"""UtteranceStatistics against a per-utterance numpy oracle."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sklearn_ser import LogMel3DTransformer
from sklearn_ser.features import UtteranceStatistics


@pytest.fixture
def chunked(rng):
    signals = [0.1 * rng.standard_normal(int(16000 * s)) for s in (0.5, 3.7, 7.1)]
    return LogMel3DTransformer(chunk_frames=120, chunk_hop_frames=120).fit_transform(signals)


def test_matches_numpy_over_real_frames(chunked):
    pooled = UtteranceStatistics().fit(chunked).transform(chunked)
    assert pooled.shape == (3, 2 * 3 * 40)
    for i in range(len(chunked)):
        chunks = np.asarray(chunked[i])
        n_frames = chunked.n_frames[chunked.offsets[i] : chunked.offsets[i + 1]]
        frames = np.concatenate([c[:, :n] for c, n in zip(chunks, n_frames, strict=True)],
                                axis=1)  # (3, real frames, 40)
        expected = np.concatenate([frames.mean(axis=1).ravel(), frames.std(axis=1).ravel()])
        np.testing.assert_allclose(pooled[i], expected, rtol=1e-6, atol=1e-6)


def test_padding_does_not_enter_the_statistics(chunked):
    mean_only = UtteranceStatistics(statistics=("mean",)).fit(chunked)
    before = mean_only.transform(chunked)
    chunked.chunks[~chunked.frame_mask()[:, None, :].repeat(3, axis=1)] = 1e6
    np.testing.assert_array_equal(mean_only.transform(chunked), before)


def test_classical_baseline_pipeline(rng):
    loud = [0.5 * rng.standard_normal(8000) for _ in range(10)]
    quiet = [0.01 * rng.standard_normal(8000) for _ in range(10)]
    pipe = make_pipeline(LogMel3DTransformer(), UtteranceStatistics(), StandardScaler(),
                         SVC(C=10))
    y = ["loud"] * 10 + ["quiet"] * 10
    assert pipe.fit(loud + quiet, y).score(loud + quiet, y) == 1.0


def test_bad_statistics_and_input(chunked):
    with pytest.raises(ValueError, match="statistics"):
        UtteranceStatistics(statistics=("median",)).fit(chunked)
    with pytest.raises(TypeError, match="ChunkedFeatures"):
        UtteranceStatistics().fit(np.zeros((3, 4)))
