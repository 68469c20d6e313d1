"""`UtteranceStatistics`: fixed-length utterance vectors for classical baselines."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ._chunked import ChunkedFeatures

__all__ = ["UtteranceStatistics"]


class UtteranceStatistics(TransformerMixin, BaseEstimator):
    """Mean and standard deviation of every (channel, Mel bin) over an utterance's real frames.

    Turns :class:`~sklearn_ser.features.ChunkedFeatures` into a 2-D array that
    any scikit-learn classifier takes, e.g. the classical baseline
    ``LogMel3DTransformer -> UtteranceStatistics -> StandardScaler -> SVC``.
    Padding frames are excluded; a frame repeated by overlapping chunks
    counts once per chunk it appears in.

    Parameters
    ----------
    statistics : tuple of {"mean", "std"}, default=("mean", "std")
        Which statistics to concatenate, in this order.

    Attributes
    ----------
    n_features_out_ : int
        ``len(statistics) * n_channels * n_mels``.
    chunk_shape_ : tuple of int
        ``(n_channels, chunk_frames, n_mels)`` seen in fit.
    """

    def __init__(self, statistics=("mean", "std")):
        self.statistics = statistics

    def fit(self, X, y=None):
        """Check the statistics and remember the chunk shape.

        Parameters
        ----------
        X : ChunkedFeatures
        y : ignored

        Returns
        -------
        self : UtteranceStatistics
        """
        if not isinstance(X, ChunkedFeatures):
            raise TypeError(f"X must be a ChunkedFeatures, got {type(X).__name__}")
        unknown = set(self.statistics) - {"mean", "std"}
        if unknown or not self.statistics:
            raise ValueError(
                f"statistics={self.statistics!r} must be a non-empty tuple of 'mean', 'std'"
            )
        self.chunk_shape_ = tuple(X.chunk_shape)
        self.n_features_out_ = len(self.statistics) * X.chunk_shape[0] * X.chunk_shape[2]
        return self

    def transform(self, X):
        """Pool every utterance's real frames.

        Parameters
        ----------
        X : ChunkedFeatures

        Returns
        -------
        pooled : np.ndarray [shape=(n_utterances, n_features_out_)], float64
            ``[mean (channel-major), std (channel-major)]`` per utterance.
        """
        if not hasattr(self, "chunk_shape_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("UtteranceStatistics is not fitted yet; call fit first")
        if tuple(X.chunk_shape) != self.chunk_shape_:
            raise ValueError(
                f"X has chunks of shape {tuple(X.chunk_shape)}, fitted on {self.chunk_shape_}"
            )
        mask = X.frame_mask()[:, None, :, None]                 # (chunks, 1, frames, 1)
        chunks = X.chunks.astype(np.float64)
        starts = X.offsets[:-1]
        count = np.add.reduceat(X.n_frames, starts).astype(np.float64)[:, None, None]
        total = np.add.reduceat((chunks * mask).sum(axis=2), starts)
        total_sq = np.add.reduceat((chunks**2 * mask).sum(axis=2), starts)
        mean = total / count
        pooled = {
            "mean": mean,
            "std": np.sqrt(np.maximum(total_sq / count - mean**2, 0.0)),
        }
        return np.concatenate([pooled[name].reshape(len(X), -1) for name in self.statistics],
                              axis=1)
