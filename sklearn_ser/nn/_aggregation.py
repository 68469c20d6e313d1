"""Chunk probabilities from the logits, checked (the classifiers'
``predict_nonlinearity``); their aggregation into one row per utterance is
:func:`sklearn_ser.features.aggregate_chunk_proba`, shared with the light
predictor."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["check_chunk_proba", "softmax_of_logits"]


def softmax_of_logits(output):
    """``predict_nonlinearity``: softmax over the logits of a ``(logits, embedding)`` output.

    Parameters
    ----------
    output : torch.Tensor or tuple of torch.Tensor
        The network's ``(logits, embedding)``, or the logits alone, shape
        ``(batch, n_classes)``.

    Returns
    -------
    proba : torch.Tensor [shape=(batch, n_classes)]
        float32 probabilities.
    """
    logits = output[0] if isinstance(output, tuple) else output
    return torch.softmax(logits.float(), dim=-1)


def check_chunk_proba(chunk_proba, shape, *, where):
    """A ValueError unless ``chunk_proba`` has ``shape`` ``(n_chunks_total, n_classes)``
    and its finite rows are probabilities (non-negative, summing to 1).

    ``where`` names the estimator and its ``predict_nonlinearity``, which made them.
    """
    if chunk_proba.shape != shape:
        raise ValueError(
            f"{where} gave an array of shape {chunk_proba.shape} for {shape[0]} chunks; "
            f"predict_proba needs one probability per chunk and class, shape {shape}"
        )
    finite = np.isfinite(chunk_proba).all(axis=1)
    if finite.all() and len(chunk_proba) and not (
        (chunk_proba >= 0).all() and np.allclose(chunk_proba.sum(axis=1), 1.0, atol=1e-3)
    ):
        raise ValueError(
            f"{where} does not give probabilities (non-negative, summing to 1 per chunk), "
            "which predict_proba averages into an utterance's"
        )
