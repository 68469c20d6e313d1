"""Chunk probabilities from the logits, checked (the classifiers'
``predict_nonlinearity``); their aggregation into one row per utterance is
:func:`sklearn_ser.features.aggregate_chunk_proba`, shared with the light
predictor."""

from __future__ import annotations

import numpy as np
import torch

from ._runtime import bfloat16_to_float32

__all__ = ["PredictNonlinearityMixin", "check_chunk_proba", "softmax_of_logits"]


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


class PredictNonlinearityMixin:
    """The chunked classifiers' ``predict_nonlinearity``: probabilities, never raw logits."""

    def _get_predict_nonlinearity(self):
        """``"auto"`` is the softmax of the logits; ``None`` is refused, since the
        chunk probabilities are averaged into an utterance's (raw logits would
        be averaged and divided by their sum as if they were probabilities)."""
        nonlin = self.predict_nonlinearity
        if nonlin is None:
            raise ValueError(
                f"{type(self).__name__}: predict_nonlinearity=None would give raw logits, "
                "which predict_proba cannot average into an utterance's probabilities; keep "
                "the default (softmax_of_logits), or call module_ yourself for the logits"
            )
        if isinstance(nonlin, str) and nonlin == "auto":
            self.check_is_fitted()
            return softmax_of_logits
        user_nonlin = super()._get_predict_nonlinearity()

        def in_float32(output):
            # Under bfloat16 autocast the logits are bfloat16, which numpy (and so
            # skorch's to_numpy) has no type for: the user's function gets them
            # in float32, as in a float32 run, and its result is cast too.
            result = user_nonlin(bfloat16_to_float32(output))
            return bfloat16_to_float32(result)

        return in_float32
