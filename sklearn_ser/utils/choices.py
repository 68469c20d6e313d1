"""Choices that several layers offer, each named once: the classifiers' parameters
read them, and so do ``build_pipeline`` and the command line's ``choices=``."""

from __future__ import annotations

__all__ = ["AGGREGATES", "PRECISIONS", "PREDICT_PRECISIONS"]

#: ``precision``: the autocast dtype of training ("auto": bfloat16 where native).
PRECISIONS = ("auto", "float32", "bfloat16")
#: ``predict_precision``: the autocast dtype of inference. No ``"auto"``: under
#: bfloat16 a chunk's probabilities change with the other chunks of its batch,
#: so bfloat16 inference is asked for by name.
PREDICT_PRECISIONS = ("float32", "bfloat16")
#: ``aggregate``: how chunk probabilities become an utterance's.
AGGREGATES = ("mean", "frame-weighted", "geometric")
