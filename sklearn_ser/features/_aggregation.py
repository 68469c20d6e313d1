"""Chunk probabilities aggregated into one row per utterance (the classifiers'
``aggregate``, and the light predictor's)."""

from __future__ import annotations

import numpy as np

from ..utils.choices import AGGREGATES

__all__ = ["aggregate_chunk_proba", "check_aggregate"]


def check_aggregate(aggregate):
    """Check the name of an aggregation rule.

    Parameters
    ----------
    aggregate : str
        The rule's name.

    Raises
    ------
    ValueError
        ``aggregate`` is not one of :data:`~sklearn_ser.utils.choices.AGGREGATES`.
    """
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate={aggregate!r} must be one of {AGGREGATES}")


def aggregate_chunk_proba(chunk_proba, offsets, n_frames, *, aggregate, where):
    """Utterance probabilities from their chunks'.

    Parameters
    ----------
    chunk_proba : np.ndarray [shape=(n_chunks_total, n_classes)]
        Every chunk's class probabilities, utterance after utterance.
    offsets : np.ndarray [shape=(n_utterances + 1,)]
        Utterance ``i`` owns chunks ``offsets[i]:offsets[i + 1]``.
    n_frames : np.ndarray [shape=(n_chunks_total,)]
        Real (not padded) frames of every chunk.
    aggregate : {"mean", "frame-weighted", "geometric"}
        The arithmetic mean of the chunks' probabilities; that mean weighted by
        each chunk's real frames; or the normalised geometric mean
        ``exp(mean(log p)) / sum(...)``.
    where : str
        The estimator's name, which starts the messages.

    Returns
    -------
    proba : np.ndarray [shape=(n_utterances, n_classes)]
        float64 rows that sum to 1.

    Raises
    ------
    ValueError
        An utterance's chunk probabilities are not finite (named by position).
    """
    check_aggregate(aggregate)
    chunk_proba = np.asarray(chunk_proba, dtype=np.float64)
    starts = offsets[:-1]
    finite = np.isfinite(chunk_proba).all(axis=1)
    if not finite.all():
        bad = np.unique(np.searchsorted(offsets, np.flatnonzero(~finite), side="right") - 1)
        shown = ", ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else "")
        raise ValueError(
            f"{where}: the probabilities of {len(bad)} utterance(s) (positions "
            f"{shown} of X) are not finite, because their features hold NaN or inf; such "
            "features come from audio far outside [-1, 1] (e.g. around 1e19), whose energies "
            "overflow float32"
        )
    if aggregate == "geometric":
        log_mean = np.add.reduceat(np.log(np.maximum(chunk_proba, 1e-12)), starts)
        log_mean /= np.diff(offsets)[:, None]
        proba = np.exp(log_mean - log_mean.max(axis=1, keepdims=True))
    else:
        weights = n_frames if aggregate == "frame-weighted" else np.ones(len(chunk_proba))
        proba = np.add.reduceat(chunk_proba * weights[:, None], starts)
    return proba / proba.sum(axis=1, keepdims=True)
