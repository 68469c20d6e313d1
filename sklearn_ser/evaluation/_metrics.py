"""Unweighted average recall, the usual headline figure of speech emotion recognition."""

from __future__ import annotations

import warnings

from sklearn.metrics import balanced_accuracy_score

__all__ = ["SCORING", "per_class_recall", "uar_score"]

#: ``scoring=`` for :func:`sklearn.model_selection.cross_validate`: accuracy
#: (weighted accuracy, WA) and UAR (unweighted accuracy, UA).
SCORING = {"accuracy": "accuracy", "uar": "balanced_accuracy"}


def uar_score(y_true, y_pred):
    """Unweighted average recall: the mean over classes of each class's recall.

    ``UAR = (1 / K) sum_k TP_k / N_k`` over the ``K`` classes present in
    ``y_true``, where ``N_k`` counts the samples of class ``k`` and ``TP_k``
    those predicted as ``k``. Every class weighs the same whatever its size,
    which is why emotion corpora with unbalanced classes (Emo-DB has 127
    anger and 46 disgust files) report it beside the accuracy. It equals
    scikit-learn's :func:`~sklearn.metrics.balanced_accuracy_score`, which
    computes it.

    Parameters
    ----------
    y_true, y_pred : array-like [shape=(n_samples,)]
        True and predicted labels.

    Returns
    -------
    uar : float
        In [0, 1]; chance level is ``1 / K``.

    Notes
    -----
    A class predicted but absent from ``y_true`` (common in a
    leave-one-speaker-out fold) lowers the recall of the classes it was
    mistaken for, but is not averaged itself; scikit-learn's warning about
    it is silenced, as this is the definition rather than an accident.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "y_pred contains classes not in y_true", UserWarning)
        return float(balanced_accuracy_score(y_true, y_pred))


def per_class_recall(confusion):
    """Recall of every class from a confusion matrix (true classes in rows).

    Parameters
    ----------
    confusion : np.ndarray [shape=(n_classes, n_classes)]
        Counts, as :func:`sklearn.metrics.confusion_matrix` gives them.

    Returns
    -------
    recalls : list of float or None
        ``confusion[k, k] / confusion[k].sum()``; ``None`` for a class with
        no utterance in the rows (its recall is undefined, not 0).
    """
    support = confusion.sum(axis=1)
    return [float(confusion[k, k] / n) if n else None for k, n in enumerate(support)]
