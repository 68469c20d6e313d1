"""Cross-validation splitters named as on the command line: ``5``, ``loso``, ``group5``."""

from __future__ import annotations

import re

import numpy as np
from sklearn.model_selection import LeaveOneGroupOut, StratifiedGroupKFold, StratifiedKFold

from ..utils.validation import is_integer

__all__ = ["make_cv", "parse_cv"]

_GROUP_K = re.compile(r"group-?(\d+)")
_CV_HELP = "an integer k >= 2, 'loso' or 'groupK' such as 'group5'"


def parse_cv(cv):
    """Normalise a ``cv`` name: ``"5"`` -> 5, ``"LOSO"`` -> "loso", ``"group-5"`` -> "group5".

    Parameters
    ----------
    cv : int or str
        A number of folds (an int, or its digits as text), ``"loso"``, or
        ``"groupK"`` / ``"group-K"``, in any case.

    Returns
    -------
    cv : int or str
        The number of folds, ``"loso"`` or ``"groupK"``.

    Raises
    ------
    ValueError
        ``cv`` is none of the forms of :func:`make_cv`.
    """
    if is_integer(cv):
        k = int(cv)
    elif isinstance(cv, str) and cv.strip().isdigit():
        k = int(cv)
    elif isinstance(cv, str) and cv.strip().lower() == "loso":
        return "loso"
    elif isinstance(cv, str) and (match := _GROUP_K.fullmatch(cv.strip().lower())):
        k = int(match.group(1))
        if k < 2:
            raise ValueError(f"cv={cv!r}: a group k-fold needs k >= 2")
        return f"group{k}"
    else:
        raise ValueError(f"cv={cv!r} must be {_CV_HELP}")
    if k < 2:
        raise ValueError(f"cv={cv!r}: a k-fold needs k >= 2")
    return k


def make_cv(cv=5, groups=None, *, random_state=0):
    """The cross-validation splitter for ``cv``, checked against the speaker ``groups``.

    Two protocols, which measure different things: a plain ``k`` is
    speaker-dependent (every speaker is on both sides of every fold, as in
    Pham et al. 2020 and most Emo-DB results); ``"loso"`` and ``"groupK"`` are
    speaker-independent (a fold's test speakers are never trained on).

    ========================  ===========================================  ==================
    ``cv``                    splitter                                     speakers
    ========================  ===========================================  ==================
    ``k`` (int or ``"k"``)    ``StratifiedKFold(k, shuffle=True)``:        shared: speaker-
                              speaker-dependent                            dependent (paper)
    ``"loso"``                ``LeaveOneGroupOut()``: one fold per         never shared
                              speaker, tested on that speaker only
    ``"groupK"``              ``StratifiedGroupKFold(K, shuffle=True)``:   never shared
                              K folds of whole speakers, label
                              proportions kept as well as whole speakers
                              allow
    ========================  ===========================================  ==================

    A plain k-fold, the protocol of Pham et al. (2020) and of most Emo-DB
    results, puts utterances of the same speaker on both sides, so it
    measures a speaker-dependent accuracy; ``loso`` and ``groupK`` measure
    how the model does on voices it has never heard, which is lower.

    Parameters
    ----------
    cv : int, str or cross-validation splitter, default=5
        As in the table; a splitter object (anything with ``split``) is
        returned unchanged.
    groups : array-like [shape=(n_samples,)] or None
        Speaker of each sample. Required by ``"loso"`` and ``"groupK"``;
        checked to hold enough speakers.
    random_state : int or None, default=0
        Seed of the shuffling of the k-fold splitters. For ``"groupK"`` it
        only breaks ties between speakers with the same label proportions
        (scikit-learn's ``StratifiedGroupKFold`` assigns speakers greedily by
        their label counts): on Emo-DB, whose ten speakers all differ, every
        seed gives the same speaker folds, so repeating ``group5`` over seeds
        varies the networks, not the folds. ``"loso"`` has no randomness.

    Returns
    -------
    splitter : sklearn cross-validation splitter
        Call ``splitter.split(X, y, groups)``.

    Raises
    ------
    ValueError
        An unknown ``cv``; a speaker-independent ``cv`` without ``groups`` or
        with fewer speakers than folds. The message says what to pass instead.
    """
    if hasattr(cv, "split") and not isinstance(cv, str):
        return cv
    cv = parse_cv(cv)
    if isinstance(cv, int):
        return StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    if groups is None:
        raise ValueError(
            f"cv={cv!r} splits by speaker but groups is None: pass the speaker of every "
            "sample as groups, or use a plain k-fold such as cv=5"
        )
    n_groups = len(np.unique(np.asarray(groups)))
    if cv == "loso":
        if n_groups < 2:
            raise ValueError(f"cv='loso' needs at least 2 speakers in groups, found {n_groups}")
        return LeaveOneGroupOut()
    k = int(cv[len("group") :])
    if n_groups < k:
        hint = f"; use cv='group{n_groups}' or cv='loso'" if n_groups >= 2 else ""
        raise ValueError(f"cv={cv!r} needs at least {k} speakers in groups, found {n_groups}{hint}")
    return StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
