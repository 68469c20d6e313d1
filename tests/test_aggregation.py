"""Chunk probabilities into utterance probabilities (features.aggregate_chunk_proba)."""

import numpy as np
import pytest
import torch

from sklearn_ser.features import aggregate_chunk_proba
from sklearn_ser.nn._aggregation import check_chunk_proba, softmax_of_logits

# two utterances: 2 chunks, then 1 chunk
PROBA = np.array([[0.9, 0.1], [0.3, 0.7], [0.2, 0.8]])
OFFSETS = np.array([0, 2, 3])
FRAMES = np.array([300, 100, 50])


def test_mean_frame_weighted_and_geometric_by_hand():
    mean = aggregate_chunk_proba(PROBA, OFFSETS, FRAMES, aggregate="mean", where="X")
    np.testing.assert_allclose(mean, [[0.6, 0.4], [0.2, 0.8]])
    weighted = aggregate_chunk_proba(PROBA, OFFSETS, FRAMES, aggregate="frame-weighted",
                                     where="X")
    np.testing.assert_allclose(weighted[0], [(0.9 * 300 + 0.3 * 100) / 400,
                                             (0.1 * 300 + 0.7 * 100) / 400])
    geometric = aggregate_chunk_proba(PROBA, OFFSETS, FRAMES, aggregate="geometric",
                                      where="X")
    g = np.sqrt([0.9 * 0.3, 0.1 * 0.7])
    np.testing.assert_allclose(geometric[0], g / g.sum())
    np.testing.assert_allclose(geometric[1], [0.2, 0.8])


def test_bad_rows_and_options_are_named():
    with pytest.raises(ValueError, match="aggregate='median' must be one of"):
        aggregate_chunk_proba(PROBA, OFFSETS, FRAMES, aggregate="median", where="X")
    bad = PROBA.copy()
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match=r"X: the probabilities of 1 utterance\(s\) \(positions 1"):
        aggregate_chunk_proba(bad, OFFSETS, FRAMES, aggregate="mean", where="X")
    with pytest.raises(ValueError, match="does not give probabilities"):
        check_chunk_proba(PROBA * 2, (3, 2), where="X")
    with pytest.raises(ValueError, match=r"shape \(3,\) for 3 chunks"):
        check_chunk_proba(PROBA[:, 0], (3, 2), where="X")


def test_softmax_of_logits_reads_the_logits_of_a_pair():
    logits = torch.tensor([[1.0, 2.0]], dtype=torch.bfloat16)
    proba = softmax_of_logits((logits, torch.zeros(1, 4)))
    assert proba.dtype == torch.float32
    np.testing.assert_allclose(proba.numpy(), [[1 / (1 + np.e), np.e / (1 + np.e)]], rtol=1e-6)
