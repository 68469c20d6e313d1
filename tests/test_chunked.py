"""ChunkedFeatures: a ragged, flat store that scikit-learn can index."""

import pickle

import numpy as np
import pytest
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing

from sklearn_ser import ChunkedFeatures


def _make(n_chunks=(1, 3, 2), frames=4, mels=2):
    total = sum(n_chunks)
    # Chunk k is filled with the value k, so every gather can be checked by value.
    chunks = np.broadcast_to(
        np.arange(total, dtype=np.float32)[:, None, None, None], (total, 3, frames, mels)
    ).copy()
    offsets = np.concatenate([[0], np.cumsum(n_chunks)])
    n_frames = np.full(total, frames)
    n_frames[offsets[1:] - 1] = 1  # last chunk of each utterance has one real frame
    return ChunkedFeatures(chunks, offsets, n_frames)


def test_integer_index_gives_the_utterance_chunks():
    X = _make()
    assert len(X) == 3
    assert np.asarray(X[1]).shape == (3, 3, 4, 2)
    np.testing.assert_array_equal(np.asarray(X[1])[:, 0, 0, 0], [1, 2, 3])
    np.testing.assert_array_equal(X[-1][:, 0, 0, 0], [4, 5])
    with pytest.raises(IndexError, match="out of range"):
        X[3]


@pytest.mark.parametrize("key", [[2, 0], np.array([2, 0]), slice(None, None, -2)])
def test_subset_keeps_chunks_and_counts(key):
    X = _make()
    subset = X[key]
    assert isinstance(subset, ChunkedFeatures)
    assert len(subset) == 2
    np.testing.assert_array_equal(subset[0][:, 0, 0, 0], [4, 5])
    np.testing.assert_array_equal(subset[1][:, 0, 0, 0], [0])
    np.testing.assert_array_equal(subset.n_frames, [4, 1, 1])


def test_boolean_mask_selects_in_order():
    subset = _make()[np.array([True, False, True])]
    np.testing.assert_array_equal(subset.chunks[:, 0, 0, 0], [0, 4, 5])


def test_sklearn_indexing_and_splitting_keep_alignment():
    X = _make((1, 2, 3, 4))
    y = np.array(["a", "b", "c", "d"])
    subset = _safe_indexing(X, [3, 1])
    assert isinstance(subset, ChunkedFeatures)
    assert list(subset.n_chunks) == [4, 2]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=2, random_state=0)
    lookup = {"a": 1, "b": 2, "c": 3, "d": 4}
    for part, labels in ((X_train, y_train), (X_test, y_test)):
        assert [len(part[i]) for i in range(len(part))] == [lookup[v] for v in labels]


def test_padded_view_and_masks():
    X = _make()
    padded, mask = X.to_padded()
    assert padded.shape == (3, 3, 3, 4, 2)
    np.testing.assert_array_equal(mask, [[1, 0, 0], [1, 1, 1], [1, 1, 0]])
    np.testing.assert_array_equal(padded[2, :2, 0, 0, 0], [4, 5])
    assert not padded[0, 1:].any()
    np.testing.assert_array_equal(np.asarray(X), padded)
    np.testing.assert_array_equal(X.frame_mask().sum(axis=1), X.n_frames)


def test_pickle_and_concatenate():
    X = _make()
    restored = pickle.loads(pickle.dumps(X))
    np.testing.assert_array_equal(restored.chunks, X.chunks)
    joined = ChunkedFeatures.concatenate([X, X[[0]]])
    assert len(joined) == 4
    np.testing.assert_array_equal(joined[3], X[0])


def test_invalid_construction():
    with pytest.raises(ValueError, match="4-D"):
        ChunkedFeatures(np.zeros((2, 3, 4)), [0, 2], [4, 4])
    with pytest.raises(ValueError, match="offsets"):
        ChunkedFeatures(np.zeros((2, 3, 4, 2)), [0, 1], [4, 4])
    with pytest.raises(ValueError, match="n_frames"):
        ChunkedFeatures(np.zeros((2, 3, 4, 2)), [0, 2], [4])


def test_an_utterance_without_chunks_is_refused():
    # np.add.reduceat gave an empty utterance the next one's probabilities
    chunks = np.zeros((2, 3, 4, 5), np.float32)
    with pytest.raises(ValueError, match=r"utterance\(s\) \[1\] hold none"):
        ChunkedFeatures(chunks, [0, 1, 1, 2], np.full(2, 4))
