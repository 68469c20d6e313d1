"""Utterances cut into chunks, for skorch: the dataset of chunks, and the
internal validation split drawn over utterances, never chunks."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.dataset import Dataset, ValidSplit

from ..exceptions import SmallDataWarning
from ..features import ChunkedFeatures, front_end_difference
from ..utils import caller_stacklevel
from ..utils.validation import is_integer

__all__ = ["UtteranceSplitMixin", "as_chunked", "chunk_accuracy"]


def chunk_accuracy(net, X, y):
    """Accuracy over chunks, for skorch's per-epoch validation score."""
    proba = NeuralNetClassifier.predict_proba(net, X)
    return float(np.mean(proba.argmax(axis=1) == np.asarray(y)))


def as_chunked(X):
    """Accept the front end's output or a dense (n, C, T, M) array (one chunk each)."""
    if isinstance(X, ChunkedFeatures):
        return X
    if isinstance(X, (np.ndarray, torch.Tensor)) and X.ndim == 4:
        X = np.asarray(X, dtype=np.float32)
        return ChunkedFeatures(X, np.arange(len(X) + 1), np.full(len(X), X.shape[2]))
    raise TypeError(
        "X must be the ChunkedFeatures output of LogMel3DTransformer (or a 4-D array of "
        f"chunks (n, 3, frames, n_mels)), got {type(X).__name__}"
        + (f" of shape {np.shape(X)}" if hasattr(X, "shape") else "")
        + "; put LogMel3DTransformer before the classifier in a Pipeline"
    )


#: What to do when a class is too small for the stratified validation split.
_SPLIT_WAY_OUT = (
    "Give every class more utterances, hold out a smaller share (build_pipeline's "
    "valid_fraction, CLI --valid-fraction), or train on all of them with "
    "train_split=None (--valid-fraction 0)."
)


class UtteranceSplitMixin:
    """skorch's dataset and ``train_split`` hooks for utterances cut into chunks:
    every chunk is one sample carrying its utterance's label, and the split
    is drawn over utterances, so one utterance's chunks never sit on both
    sides."""

    def chunk_dataset(self, X, y=None):
        """skorch ``Dataset`` with one sample per chunk (labels repeated per chunk)."""
        X = as_chunked(X)
        y_chunks = None if y is None else np.repeat(np.asarray(y), X.n_chunks)
        return Dataset(X.chunks, y_chunks)

    def get_dataset(self, X, y=None):
        if isinstance(X, torch.utils.data.Dataset):
            return X
        return self.chunk_dataset(X, y)

    def _split_problem(self, y):
        """Why a stratified ``ValidSplit`` failed, in the user's label names; None
        when the split is another kind, or when no class is too small for it
        (:meth:`split_utterances` then names the split in general terms)."""
        split = self.train_split
        if not (isinstance(split, ValidSplit) and split.stratified) or y is None or not len(y):
            return None
        values, counts = np.unique(np.asarray(y), return_counts=True)
        # StratifiedKFold(k) needs k members of a class, StratifiedShuffleSplit 2.
        if counts.min() >= (split.cv if isinstance(split.cv, int) else 2):
            return None
        classes = getattr(self, "classes_", None)
        if classes is not None and np.issubdtype(values.dtype, np.integer) \
                and values.min() >= 0 and values.max() < len(classes):
            values = np.asarray(classes)[values]  # y arrives encoded as 0..K-1
        per_class = ", ".join(f"{v}: {c}" for v, c in zip(values, counts, strict=True))
        return (
            f"train_split=ValidSplit(cv={split.cv!r}, stratified=True) cannot hold out a "
            f"validation part of the {len(y)} training utterances ({per_class})"
        )

    def split_utterances(self, y, **fit_params):
        """``train_split`` applied to the utterances (their indices, with labels ``y``).

        What ``fit`` does first; :func:`~sklearn_ser.evaluation.cross_validate_report`
        calls it for every fold before training, so that a class too small for
        a stratified validation split is named before hours of training.

        Returns
        -------
        utterances : skorch.dataset.Dataset
            The indices ``0 .. len(y) - 1`` with ``y``.
        parts : tuple
            What ``train_split`` returned for them (training part, validation part).

        Raises
        ------
        ValueError
            The split failed; the message names the split and the number of
            utterances, the class counts when a class is too small for it (in
            the user's label names), and how to get out of it.
        """
        utterances = Dataset(np.arange(len(y)), y)
        try:
            return utterances, self.train_split(utterances, y, **fit_params)
        except ValueError as exc:
            split = self.train_split
            if not isinstance(split, ValidSplit):  # the user's own splitter: its own words
                raise ValueError(f"train_split={split!r} failed on the {len(y)} training "
                                 f"utterances: {exc}") from exc
            problem = self._split_problem(y) or (
                f"train_split=ValidSplit(cv={split.cv!r}, stratified={split.stratified}) "
                f"cannot split the {len(y)} training utterances")
            raise ValueError(f"{problem}: {exc}. {_SPLIT_WAY_OUT}") from exc

    def get_split_datasets(self, X, y=None, **fit_params):
        """Split *utterances* with ``train_split``, then expand each side to chunks."""
        if isinstance(X, torch.utils.data.Dataset):
            return super().get_split_datasets(X, y, **fit_params)
        X = as_chunked(X)
        if not self.train_split:
            return self.chunk_dataset(X, y), None
        utterances, parts = self.split_utterances(y, **fit_params)

        def expand(part):
            if part is None or part is utterances:
                return None if part is None else self.chunk_dataset(X, y)
            if isinstance(part, torch.utils.data.Subset) and part.dataset is utterances:
                index = np.asarray(part.indices)
                return self.chunk_dataset(X[index], None if y is None else np.asarray(y)[index])
            if isinstance(part, Dataset) and isinstance(part.X, ChunkedFeatures):
                # predefined_split(Dataset(features, labels)): utterances with their labels
                return self.chunk_dataset(part.X, self._encode(part.y))
            return part  # a ready-made dataset of chunks

        return expand(parts[0]), expand(parts[1])

    #: Fewer optimizer steps an epoch than this draw a SmallDataWarning in fit.
    MIN_STEPS_PER_EPOCH = 4

    def _warn_few_steps(self, X):
        """A :class:`~sklearn_ser.exceptions.SmallDataWarning` when an epoch makes
        fewer than ``MIN_STEPS_PER_EPOCH`` optimizer steps."""
        if self.train_split is not None or not is_integer(self.batch_size) \
                or self.batch_size < 1:
            return  # a validation part changes the count; skorch names a bad batch size
        n_chunks = int(X.offsets[-1])
        steps = -(-n_chunks // self.batch_size)
        if steps >= self.MIN_STEPS_PER_EPOCH or n_chunks < self.MIN_STEPS_PER_EPOCH:
            return
        batch = max(1, 2 ** int(np.log2(n_chunks / self.MIN_STEPS_PER_EPOCH)))
        warnings.warn(
            f"{type(self).__name__}: the {n_chunks} training chunks make {steps} optimizer "
            f"step(s) an epoch in batches of batch_size={self.batch_size}, too few for batch "
            "normalisation's running statistics and the optimizer to settle (the model may "
            f"predict one class for everything): use a smaller batch, e.g. batch_size={batch} "
            f"({-(-n_chunks // batch)} steps; --batch-size {batch} on the command line)",
            SmallDataWarning, stacklevel=caller_stacklevel(),
        )

    def _record_input(self, X):
        """What ``predict`` checks its chunks against: their shape and their front end."""
        self.input_shape_ = tuple(X.chunk_shape)
        self.front_end_ = X.front_end

    def _check_input_shape(self, X):
        """Refuse chunks from a front end other than the one ``fit`` saw: other
        settings (``front_end_``, when both record them), or another chunk shape."""
        difference = front_end_difference(getattr(self, "front_end_", None),
                                          getattr(X, "front_end", None))
        expected = getattr(self, "input_shape_", None)
        if expected is not None and tuple(X.chunk_shape) != tuple(expected):
            raise ValueError(
                f"X has chunks of shape {tuple(X.chunk_shape)} but {type(self).__name__} was "
                f"fitted on chunks of shape {tuple(expected)} (channels, frames, n_mels)"
                + (f" (front end settings {difference})" if difference else "")
                + ": use the front end settings the model was trained with"
            )
        if difference:
            raise ValueError(
                f"X comes from a front end with other settings than the one "
                f"{type(self).__name__} was fitted behind: {difference}. The network has "
                "learned features of those settings only: use the front end it was trained "
                "with (load the whole Pipeline), or train it again behind this one"
            )
