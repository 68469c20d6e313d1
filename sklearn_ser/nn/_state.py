"""What a fitted chunked classifier keeps in a model file, and how it takes it back.

The protocol :mod:`sklearn_ser.persistence` relies on (its container and
format know nothing of the classifier's attributes): ``__sklearn_ser_state__``
gives the fitted attributes and the tensors, ``__sklearn_ser_restore__``
builds a fitted classifier from parameters, attributes and tensors, checking
each before anything large is allocated.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.exceptions import NotFittedError

from ..utils.validation import is_integer, is_number

__all__ = ["PersistentStateMixin"]

#: The classifier's parts whose ``state_dict`` a model file holds.
_PARTS = ("module_", "criterion_")


def _state_dict_problems(expected, found):
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    wrong = [f"{key}: {tuple(found[key].shape)} instead of {tuple(expected[key].shape)}"
             for key in sorted(set(expected) & set(found))
             if tuple(expected[key].shape) != tuple(found[key].shape)]
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected),
                         ("wrong shape", wrong)):
        if items:
            problems.append(f"{label}: {', '.join(items[:4])}"
                            + (f" and {len(items) - 4} more" if len(items) > 4 else ""))
    return "; ".join(problems)


def _check(condition, problem):
    if not condition:
        raise ValueError(problem)


def _check_front_end_record(record):
    """A copy of a stored ``front_end_``: None, or names to plain scalars."""
    if record is None:
        return None
    _check(isinstance(record, dict) and len(record) <= 64 and all(
        isinstance(key, str) and (value is None or isinstance(value, (bool, int, float, str)))
        for key, value in record.items()),
        "front_end_ must map the front end's parameter names to numbers, strings or booleans")
    return dict(record)


class PersistentStateMixin:
    """``__sklearn_ser_state__`` / ``__sklearn_ser_restore__`` of the chunked classifiers."""

    def __sklearn_ser_state__(self, *, input_shape=None):
        """The fitted state a model file keeps.

        Parameters
        ----------
        input_shape : tuple of int, optional
            Stands in for ``input_shape_`` when the net was initialised and
            given weights (``load_params``) rather than fitted: the fitted
            front end's ``chunk_shape_``, in a Pipeline.

        Returns
        -------
        fitted : dict
            ``{"classes_": np.ndarray, "input_shape_": [channels, frames, n_mels],
            "front_end_": dict or None, "class_weight_": list of float or None}``.
        arrays : dict of str to torch.Tensor
            ``"module_.<key>"`` and ``"criterion_.<key>"``: the state dicts
            (weights, batch-norm statistics, the loss's centers).
        """
        self.check_is_fitted()
        shape = getattr(self, "input_shape_", None) or input_shape
        if shape is None:
            raise NotFittedError(
                f"{type(self).__name__} has no input_shape_: it was initialised (and perhaps "
                "given weights with load_params) but never fitted, so the shape of its chunks "
                "is unknown. Save it in a Pipeline behind its fitted LogMel3DTransformer, or "
                "set clf.input_shape_ = (3, chunk_frames, n_mels)"
            )
        arrays = {f"{part}.{key}": tensor for part in _PARTS
                  for key, tensor in getattr(self, part).state_dict().items()}
        front_end = getattr(self, "front_end_", None)
        weights = self.__dict__.get("class_weight_")
        return {"classes_": np.asarray(self.classes_),
                "input_shape_": [int(n) for n in shape],
                "front_end_": None if front_end is None else dict(front_end),
                "class_weight_": None if weights is None else weights.tolist()}, arrays

    @classmethod
    def __sklearn_ser_restore__(cls, params, fitted, arrays, *, device="cpu"):
        """A fitted classifier from its parameters, fitted attributes and tensors.

        The network is first built on torch's ``meta`` device (no memory, no
        random draw) and the tensors' names and shapes compared with it, so
        parameters that ask for a huge network are refused before anything
        is allocated; then it is built on ``device`` and given the tensors.
        torch's random generator is left as it was.

        Parameters
        ----------
        params : dict
            Constructor parameters (classes, not names, for ``module`` and
            ``criterion``).
        fitted : dict
            ``classes_`` (an array of at least two distinct labels),
            ``input_shape_`` (three positive sizes) and, optionally,
            ``front_end_`` (the front end's settings: names to numbers,
            strings or booleans; None or missing in older files) and
            ``class_weight_`` (the cross-entropy's class weights, one per
            class; None or missing without them).
        arrays : dict of str to torch.Tensor
            As :meth:`__sklearn_ser_state__` gives them.
        device : str, default="cpu"
            Where the network goes.

        Raises
        ------
        ValueError
            Naming what does not fit: the labels, the shape, a missing,
            unexpected or misshapen tensor, or a weight holding NaN or inf.
        """
        n_classes = len(fitted["classes_"])
        for key in ("module__n_classes", "criterion__n_classes"):
            _check(params.get(key, n_classes) == n_classes,
                   f"{key}={params.get(key)!r} but classes_ has {n_classes} labels")
        clf = cls(**params)
        classes = np.asarray(fitted["classes_"])
        _check(len(classes) >= 2 and len(np.unique(classes)) == len(classes),
               f"classes_ {classes.tolist()!r} must be at least 2 distinct labels")
        clf.classes_inferred_ = classes
        shape = fitted["input_shape_"]
        _check(isinstance(shape, (list, tuple)) and len(shape) == 3
               and all(is_integer(n) and n > 0 for n in shape),
               f"input_shape_={shape!r} is not 3 positive sizes")
        clf.input_shape_ = tuple(int(n) for n in shape)
        clf.front_end_ = _check_front_end_record(fitted.get("front_end_"))
        weights = fitted.get("class_weight_")  # None in files without class weights
        _check(weights is None or (isinstance(weights, (list, tuple)) and len(weights) == n_classes
                                   and all(is_number(w) and 0 < w < np.inf for w in weights)),
               f"class_weight_={weights!r} is not {n_classes} positive numbers")
        clf.class_weight_ = None if weights is None else np.asarray(weights, dtype=np.float64)
        found = {part: {key[len(part) + 1:]: tensor for key, tensor in arrays.items()
                        if key.startswith(f"{part}.")} for part in _PARTS}
        unread = sorted(key for key in arrays if key.partition(".")[0] not in _PARTS)
        _check(not unread, f"the tensors {unread[:4]} belong to no part of the network")
        clf._initialize_quietly("meta")
        for part, state in found.items():
            problems = _state_dict_problems(getattr(clf, part).state_dict(), state)
            _check(not problems, f"the {part.rstrip('_')} weights do not fit the "
                                 f"parameters ({problems})")
            for key, tensor in state.items():
                _check(not tensor.is_floating_point() or bool(torch.isfinite(tensor).all()),
                       f"{part.rstrip('_')} weight {key} holds NaN or inf")
        clf._initialize_quietly(device)
        with torch.no_grad():
            for part, state in found.items():
                getattr(clf, part).load_state_dict(state, strict=True)
        return clf

    def _initialize_quietly(self, device):
        """``initialize()`` on ``device``, silent, without touching torch's generator."""
        self.device = device
        # skorch announces a re-initialisation on stdout when verbose; loading is silent
        verbose, self.verbose = self.verbose, 0
        try:
            with torch.random.fork_rng(devices=[]):
                if device == "meta":
                    with torch.device("meta"):
                        self.initialize()
                else:
                    self.initialize()
        finally:
            self.verbose = verbose
