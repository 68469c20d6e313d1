"""Regression deltas over time (paper eq. 5; psf ``delta``), many utterances at once."""

from __future__ import annotations

import numpy as np

from ..utils.docstrings import Substitution
from ._params import FRONT_END_DEFAULTS, check_front_end

__all__ = ["deltas"]


@Substitution(width=f"width : int, default={FRONT_END_DEFAULTS['delta_width']}\n"
              "    ``N``, the number of frames on each side (the default is the paper's).")
def deltas(features, *, width=FRONT_END_DEFAULTS["delta_width"], frame_offsets=None, out=None):
    """Regression deltas over time (paper eq. 5; psf ``delta``).

    ``d_t = sum_{n=1}^{N} n (c_{t+n} - c_{t-n}) / (2 sum_{n=1}^{N} n^2)``, where
    frames beyond either end of an utterance repeat its edge frame.

    Parameters
    ----------
    features : np.ndarray [shape=(n_frames_total, n_features)]
        Frames of one or several utterances, stacked along axis 0.
    {width}
    frame_offsets : np.ndarray [shape=(n_utterances + 1,)], optional
        Utterance boundaries as returned by :func:`log_mel_spectrogram_batch`;
        by default all frames form one utterance.
    out : np.ndarray, optional
        Where to write the result (same shape and dtype as ``features``, not
        overlapping it).

    Returns
    -------
    d : np.ndarray, same shape and dtype as ``features``
    """
    check_front_end({"width": width}, caller="deltas")
    features = np.asarray(features)
    n_total = features.shape[0]
    if frame_offsets is None:
        frame_offsets = np.array([0, n_total])
    scale = features.dtype.type(1.0 / (2 * sum(n * n for n in range(1, width + 1))))
    if out is None:
        out = np.empty_like(features)
    # Treat the stacked utterances as one long sequence (cheap slices): right for
    # every frame at least `width` from both ends of the stack ...
    n_inner = max(n_total - 2 * width, 0)
    inner = out[width : width + n_inner]

    def ahead(n):
        return features[width + n : width + n + n_inner]

    def behind(n):
        return features[width - n : width - n + n_inner]

    # Accumulate from the widest lag down, adding the n = 1 lag's two terms
    # straight in: inner = N (c+N - c-N) + ... + c+1 - c-1. For N = 2 that is
    # five passes over the frames and no temporary (a product per lag took nine).
    np.subtract(ahead(width), behind(width), out=inner)
    inner *= features.dtype.type(width)
    for n in range(width - 1, 1, -1):  # a loop over the N lags, not over frames
        inner += features.dtype.type(n) * (ahead(n) - behind(n))
    if width > 1:
        inner += ahead(1)
        inner -= behind(1)
    inner *= scale
    # ... then redo the frames within `width` of an utterance edge (the two ends
    # of the stack included), with the
    # neighbours clamped to their own utterance (edge repetition).
    first, stop = frame_offsets[:-1], frame_offsets[1:]
    near_edge = np.concatenate(
        [
            (first[:, None] + np.arange(width)).ravel(),
            (stop[:, None] - 1 - np.arange(width)).ravel(),
        ]
    )
    owner = np.tile(np.repeat(np.arange(len(first)), width), 2)
    keep = (near_edge >= first[owner]) & (near_edge < stop[owner])
    near_edge, owner = near_edge[keep], owner[keep]
    fixed = np.zeros((near_edge.size, *features.shape[1:]), dtype=features.dtype)
    for n in range(1, width + 1):
        ahead = features[np.minimum(near_edge + n, stop[owner] - 1)]
        behind = features[np.maximum(near_edge - n, first[owner])]
        fixed += features.dtype.type(n) * (ahead - behind)
    out[near_edge] = fixed * scale
    return out
