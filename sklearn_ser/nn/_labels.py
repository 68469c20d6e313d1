"""Utterance labels: checking ``y``, the sorted ``classes_``, encoding to class indices."""

from __future__ import annotations

import numpy as np
from sklearn.utils import assert_all_finite, column_or_1d
from sklearn.utils.multiclass import unique_labels

from ..utils import is_missing

__all__ = ["check_labels", "encode_labels", "infer_classes", "sorted_labels"]


def sorted_labels(classes):
    """``classes`` as a sorted array, or a ValueError naming a repeated label."""
    given = np.asarray(classes)
    labels = unique_labels(given)
    if len(labels) != len(given):
        raise ValueError(f"classes={given.tolist()!r} lists a label more than once")
    return labels


def check_labels(y, n_utterances, *, caller):
    """``y`` as a 1-D array of one label per utterance.

    A column vector ``(n, 1)`` is raveled with scikit-learn's
    ``DataConversionWarning``; missing (None, NaN, NA), infinite and mixed
    labels are refused by name.

    Parameters
    ----------
    y : array-like [shape=(n_utterances,)] or None
    n_utterances : int
        How many utterances ``X`` holds.
    caller : str
        ``"<Estimator>.<method>"``, which starts the messages.

    Returns
    -------
    y : np.ndarray [shape=(n_utterances,)]
    """
    if y is None:
        raise ValueError(f"{caller} needs y, one label per utterance")
    given, y = y, np.asarray(y)
    if y.dtype.kind == "U" and y.ndim == 1 and not isinstance(given, np.ndarray):
        unique_labels(given)  # names a mix of strings and numbers, which asarray hides
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if y.ndim != 1 or len(y) != n_utterances:
        raise ValueError(
            f"y must be 1-D with one label per utterance: got shape {y.shape} for "
            f"{n_utterances} utterances"
        )
    if y.dtype.kind in "fc":
        assert_all_finite(y, input_name="y")
    if y.dtype.kind == "O":
        missing = np.flatnonzero([is_missing(label) for label in y])
        if len(missing):
            raise ValueError(
                f"y has no label (None, NaN or NA) for {len(missing)} utterance(s), at "
                f"positions {missing[:10].tolist()}{' ...' if len(missing) > 10 else ''}: "
                "every utterance needs a label"
            )
        try:
            unique_labels(y)  # sorts them: a mix of types fails here
        except TypeError as exc:  # a ValueError, as scikit-learn's "Mix of label types"
            raise ValueError(
                f"y must hold labels of one kind (all strings or all numbers), which "
                f"can be sorted into classes_: {exc}"
            ) from exc
    return y


def infer_classes(y, classes, *, estimator_name):
    """The sorted classes: those listed in ``classes`` if given, else those of ``y``;
    a ValueError when there are fewer than two."""
    if classes is not None:
        found = sorted_labels(classes)
    else:
        found = unique_labels(np.asarray(y) if not isinstance(y, list) else y)
    if len(found) < 2:
        raise ValueError(
            f"{estimator_name} needs samples of at least 2 classes, but y holds "
            f"only 1 class: {list(found)!r}"
        )
    return np.asarray(found)


def encode_labels(y, classes):
    """Class indices (int64) of the labels ``y`` (checked by :func:`check_labels`)
    in ``classes``; a ValueError names the labels ``classes`` lacks."""
    y = np.asarray(y)
    order = np.argsort(classes)
    position = np.searchsorted(classes[order], y)
    position = np.clip(position, 0, len(classes) - 1)
    encoded = order[position]
    unknown = classes[encoded] != y
    if unknown.any():
        raise ValueError(
            f"y holds labels unknown to the classifier: {sorted(set(y[unknown].tolist()))}; "
            f"known classes are {classes.tolist()}"
        )
    return encoded.astype(np.int64)
