"""How the training loss weighs the classes: the chunked classifiers' ``class_weight``,
turned into the criterion's per-class cross-entropy weights."""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch

from ._labels import encode_labels
from ._runtime import float32_default

__all__ = ["ClassWeightMixin", "class_weights"]


def class_weights(class_weight, y, n_chunks, classes, *, caller):
    """The cross-entropy weight of every class, or None for equal weights.

    Parameters
    ----------
    class_weight : None, "balanced" or dict
        None: every chunk weighs 1. ``"balanced"``: class ``k`` weighs
        ``n / (K * n_k)``, with ``n_k`` the training chunks of class ``k``, ``n``
        all of them and ``K`` the classes that have chunks (scikit-learn's
        ``"balanced"``, counted over the chunks the loss averages), so every
        class adds as much to the loss. A dict maps labels to positive
        weights; the labels it leaves out weigh 1.
    y : np.ndarray [shape=(n_utterances,)]
        The training labels.
    n_chunks : np.ndarray [shape=(n_utterances,)]
        The chunks of every utterance.
    classes : np.ndarray [shape=(n_classes,)]
        The sorted labels (``classes_``).
    caller : str
        The estimator, which starts the messages.

    Returns
    -------
    weights : np.ndarray [shape=(n_classes,)] or None
        float64, in the order of ``classes``. A class without chunks weighs 1
        under ``"balanced"`` (it adds nothing to the loss until it has some).

    Raises
    ------
    ValueError
        A dict naming a label outside ``classes``, or a weight that is not a
        positive finite number.
    """
    if class_weight is None:
        return None
    labels = np.asarray(classes).tolist()
    if isinstance(class_weight, str):  # "balanced", the one string the constraint allows
        counts = np.bincount(encode_labels(y, classes), weights=n_chunks,
                             minlength=len(labels))
        seen = counts > 0
        weights = np.ones(len(labels))
        weights[seen] = counts[seen].sum() / (seen.sum() * counts[seen])
        return weights
    unknown = [key for key in class_weight if key not in labels]
    if unknown:
        raise ValueError(f"{caller}: class_weight names {unknown!r}, which are not among the "
                         f"classes {labels!r}")
    bad = {key: value for key, value in class_weight.items()
           if isinstance(value, bool) or not isinstance(value, Real)
           or not np.isfinite(value) or value <= 0}
    if bad:
        raise ValueError(f"{caller}: class_weight={bad!r}: a class's weight must be a "
                         "positive finite number")
    return np.array([float(class_weight.get(label, 1.0)) for label in labels])


class ClassWeightMixin:
    """``class_weight`` of the chunked classifiers, and the criterion it configures.

    ``fit`` calls :meth:`_fit_class_weight` once the classes are known; the
    weights (``class_weight_``) go to the criterion's ``class_weight`` when
    it is built.
    """

    def _fit_class_weight(self, X, y):
        """``class_weight_`` from ``class_weight``, the labels ``y`` and the chunks
        of ``X`` (``ChunkedFeatures``)."""
        self.class_weight_ = class_weights(self.class_weight, y, np.diff(X.offsets),
                                           self.classes_, caller=type(self).__name__)

    def initialize_criterion(self):
        kwargs = self.get_params_for("criterion")
        if not isinstance(self.criterion, torch.nn.Module):
            kwargs.setdefault("n_classes", len(self.classes_))
            # ADCRNN and ACRNN expose their embedding size; a custom module may not
            embedding_dim = getattr(self.module_, "embedding_dim", None)
            if embedding_dim is not None:
                kwargs.setdefault("n_features", embedding_dim)
            # fitted, or read from a model file (which may have dropped a dict
            # class_weight whose labels are not strings, but keeps the weights)
            weights = self.__dict__.get("class_weight_")
            if self.class_weight is not None or weights is not None:
                if "class_weight" in kwargs:
                    raise ValueError(
                        f"{type(self).__name__}: class_weight and criterion__class_weight "
                        "are both set; give the weights once, as class_weight"
                    )
                kwargs["class_weight"] = np.ones(len(self.classes_)) if weights is None \
                    else weights
        with float32_default():
            self.criterion_ = self.initialized_instance(self.criterion, kwargs)
        return self

    def _check_fit_params(self, fit_params):
        if "sample_weight" in fit_params:
            raise TypeError(
                f"{type(self).__name__}.fit does not take sample_weight: the loss weighs the "
                "chunks by their class only. Give class_weight='balanced' (or a dict of "
                "weights), or resample the utterances (for example imbalanced-learn's "
                "RandomOverSampler on the file list)"
            )
