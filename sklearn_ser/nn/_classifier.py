"""skorch classifiers that train on chunks and predict per utterance."""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.utils import assert_all_finite, column_or_1d
from sklearn.utils.multiclass import unique_labels
from skorch import NeuralNetClassifier
from skorch.callbacks import EpochScoring, EpochTimer, PassthroughScoring
from skorch.dataset import Dataset, ValidSplit
from skorch.utils import to_device, to_tensor

from .._version import add_version, check_version
from ..callbacks import StopOnNonFiniteLoss, TerminalPrintLog
from ..features._chunked import ChunkedFeatures
from ..utils.choices import AGGREGATES, PRECISIONS
from ..utils.validation import is_integer
from ._acrnn import ACRNN
from ._adcrnn import ADCRNN
from ._losses import CenterAugmentedLoss
from ._runtime import (
    autocast_dtype,
    predict_autocast_dtype,
    resolve_device,
)

__all__ = ["ACRNNClassifier", "ADCRNNClassifier", "ChunkedNeuralNetClassifier"]

_NO_BATCH = object()  # end of forward_iter's loader


def softmax_of_logits(output):
    """``predict_nonlinearity``: softmax over the logits of a ``(logits, embedding)`` output."""
    logits = output[0] if isinstance(output, tuple) else output
    return torch.softmax(logits.float(), dim=-1)


def _bfloat16_to_float32(output):
    """``output`` (a tensor, or a tuple of them) with bfloat16 tensors cast to float32."""
    if isinstance(output, tuple):
        return tuple(_bfloat16_to_float32(part) for part in output)
    if isinstance(output, torch.Tensor) and output.dtype == torch.bfloat16:
        return output.float()
    return output


@contextmanager
def _float32_default():
    """torch's default dtype at float32 while the network and criterion are built,
    whatever the caller set: their weights are drawn as in a float32 process."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def _is_missing(label):
    """Whether an object array's label is a missing value: None, a float NaN, or
    pandas' ``NA`` (whose truth value is ambiguous, a TypeError)."""
    if label is None:
        return True
    try:
        return bool(label != label)
    except TypeError:
        return True
    except ValueError:  # an array as a label: not missing, refused when sorted
        return False


def _sorted_labels(classes):
    """``classes`` as a sorted array, or a ValueError naming a repeated label."""
    given = np.asarray(classes)
    labels = unique_labels(given)
    if len(labels) != len(given):
        raise ValueError(f"classes={given.tolist()!r} lists a label more than once")
    return labels


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


class ChunkedNeuralNetClassifier(NeuralNetClassifier):
    """A skorch classifier whose samples are utterances cut into chunks.

    Training: every chunk of :class:`~sklearn_ser.features.ChunkedFeatures` is
    one sample carrying its utterance's label; the internal validation split
    (``train_split``) is drawn over *utterances*, so the chunks of one
    utterance never sit on both sides. Prediction: chunk probabilities are
    aggregated into one row per utterance (see ``aggregate``).

    Parameters
    ----------
    module : torch.nn.Module class or instance
        Must return ``(logits, embedding)``; ``n_classes`` and ``n_mels``
        are filled in from the data unless given as ``module__*``, and the
        criterion's ``n_classes``/``n_features`` from the module likewise.
    criterion : class, default=CenterAugmentedLoss
        Called with ``((logits, embedding), target)``.
    optimizer : class, default=torch.optim.Adam
    lr : float, default=1e-4
        The paper's learning rate.
    max_epochs : int, default=30
    batch_size : int, default=32
        Chunks per batch (the paper's 32).
    train_split : callable or None, default=ValidSplit(5, stratified=True)
        skorch splitter applied to the utterances (20 % held out,
        stratified); ``None`` trains on everything.
    device : str, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU.
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Autocast dtype of the training forward pass; master weights stay
        float32. ``"auto"`` picks bfloat16 only where the device runs it
        natively (CUDA with bf16 support, CPUs with AVX512-BF16 or AMX).
    predict_precision : {"float32", "bfloat16"}, default="float32"
        Autocast dtype of inference (``predict``, ``predict_proba``, the
        validation pass). In float32 an utterance's probabilities do not
        depend on the other utterances of its batch. ``"bfloat16"`` is faster
        where bfloat16 is native, but rounds each chunk's activations in a way
        that changes with the batch (differences around 1e-3 in a
        probability), so the same file alone or among others can score
        differently.
    aggregate : {"mean", "frame-weighted", "geometric"}, default="mean"
        How chunk probabilities become an utterance's: their arithmetic mean,
        a mean weighted by each chunk's number of real frames, or the
        normalised geometric mean (mean of log-probabilities).
    random_state : int or None, default=None
        Seeds torch's generator for the initialisation and for the first
        training of the network (weights, shuffling, dropout), which makes
        CPU runs repeatable; later ``partial_fit`` calls and warm-start fits
        continue that stream. The caller's own CPU and CUDA generators are
        left as they were (the stream is forked; an MPS or XPU generator is
        seeded, not forked). None uses torch's global generators as they
        are.
    predict_nonlinearity : callable, default=softmax_of_logits
        Softmax over the logits; set explicitly because skorch only infers
        it for a bare ``CrossEntropyLoss``.
    **kwargs
        Every other skorch parameter (``callbacks``, ``verbose``,
        ``warm_start``, ``module__*``, ``criterion__*``, ``optimizer__*``
        including ``optimizer__param_groups``, ...). One default differs
        from skorch's: ``iterator_train__shuffle=True`` draws the training
        batches in a new random order every epoch (skorch's False keeps the
        chunks in utterance order, the same batches every epoch).

    Attributes
    ----------
    classes_ : np.ndarray [shape=(n_classes,)]
        The original label values, sorted (also when ``classes`` lists them
        in another order), as scikit-learn's classifiers and scorers expect;
        the columns of ``predict_proba`` follow it.
    input_shape_ : tuple of int
        ``(n_channels, chunk_frames, n_mels)`` seen in fit.
    device_ : str
        The device actually used: ``device`` with ``"auto"`` resolved. The
        ``device`` parameter itself keeps what was asked for (``"auto"``), as
        scikit-learn's conventions want of a parameter; reading ``net.device``
        gives ``device_`` once the net is built, which is what skorch's
        methods move the data to.
    autocast_dtype_ : torch.dtype or None
        The autocast dtype training actually uses (None is plain float32).
    """

    def __init__(
        self,
        module,
        *args,
        criterion=CenterAugmentedLoss,
        optimizer=torch.optim.Adam,
        lr=1e-4,
        max_epochs=30,
        batch_size=32,
        train_split=ValidSplit(5, stratified=True),  # noqa: B008 (skorch's own idiom)
        device="auto",
        predict_nonlinearity=softmax_of_logits,
        precision="auto",
        predict_precision="float32",
        aggregate="mean",
        random_state=None,
        **kwargs,
    ):
        # skorch's DataLoader keeps the chunks in utterance order unless asked to
        # shuffle: every epoch would see the same batches, one speaker at a time.
        kwargs.setdefault("iterator_train__shuffle", True)
        super().__init__(
            module,
            *args,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            device=device,
            predict_nonlinearity=predict_nonlinearity,
            **kwargs,
        )
        self.precision = precision
        self.predict_precision = predict_precision
        self.aggregate = aggregate
        self.random_state = random_state

    @property
    def _default_callbacks(self):
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("valid_acc", EpochScoring(chunk_accuracy, name="valid_acc",
                                       lower_is_better=False, on_train=False)),
            # a NaN/inf batch stops training before it reaches the weights
            ("finite_loss", StopOnNonFiniteLoss()),
            # skorch's table, with its colour codes on a terminal only
            ("print_log", TerminalPrintLog()),
        ]

    # -- device, precision and seeding -------------------------------------
    def _check_random_state(self):
        if self.random_state is not None and not is_integer(self.random_state):
            raise ValueError(
                f"random_state={self.random_state!r} must be an int or None: it seeds torch's "
                "generator, which takes an integer"
            )

    @contextmanager
    def _random_stream(self, *, fresh, keep):
        """torch's generators (weights, shuffling, dropout) seeded from
        ``random_state`` for the block, and the caller's left as they were.

        ``fresh`` seeds them; otherwise the stream kept by the last training
        (``keep=True``) goes on. ``random_state=None`` uses torch's global
        generators as they are, which the caller may have seeded. The CPU's
        and a CUDA device's generators are forked; another accelerator's (MPS,
        XPU) is seeded as ``torch.manual_seed`` seeds it, and not restored.
        """
        self._check_random_state()
        if self.random_state is None:
            yield
            return
        device = torch.device(self.device_ if getattr(self, "device_", None) else "cpu")
        cuda = []
        if device.type == "cuda":
            cuda = [device.index if device.index is not None else torch.cuda.current_device()]
        with torch.random.fork_rng(devices=cuda):
            kept = None if fresh else self.__dict__.get("_random_stream_state_")
            # a fresh stream, or a net pickled without one (or without this GPU's):
            # seeded from random_state, and the epochs done, so a later call draws anew
            # int(): a generator's manual_seed takes no numpy integer (grids often hold them)
            seed = int(self.random_state) + (0 if fresh else len(self.history))
            if kept is None:
                torch.random.default_generator.manual_seed(seed)
                if device.type not in ("cpu", "cuda", "meta"):
                    torch.manual_seed(seed)  # mps, xpu, ...: seeded, not forked
            else:
                torch.set_rng_state(kept[0])
            for position, index in enumerate(cuda):
                if kept is not None and position < len(kept[1]):
                    torch.cuda.set_rng_state(kept[1][position], index)
                else:
                    torch.cuda.default_generators[index].manual_seed(seed)
            try:
                yield
            finally:
                if keep:
                    # ends in "_": a fitted attribute, not one of skorch's parameters
                    self._random_stream_state_ = (
                        torch.get_rng_state(),
                        [torch.cuda.get_rng_state(index) for index in cuda],
                    )

    # The parameter ``device`` lives in ``__dict__["device"]`` untouched by fit
    # (scikit-learn's check_dont_overwrite_parameters); skorch reads
    # ``self.device`` wherever it moves data or modules, and gets the device
    # "auto" resolved to once the net is built.
    @property
    def device(self):
        requested = self.__dict__.get("device")
        if isinstance(requested, str) and requested == "auto":
            return self.__dict__.get("device_", requested)
        return requested

    @device.setter
    def device(self, value):
        self.__dict__["device"] = value
        if "device_" in self.__dict__ and value is not None:
            # a built net runs where it is now told to (torch has no "auto" device);
            # an unbuilt one resolves it in initialize
            self._set_device_(resolve_device(value))

    def _set_device_(self, device):
        """Where a built net now runs, and the autocast that device calls for
        (bfloat16 under ``precision="auto"`` only where it is native)."""
        if isinstance(device, torch.device):
            device = str(device)  # device_ is a string
        self.__dict__["device_"] = device
        if "autocast_dtype_" in self.__dict__:
            self.autocast_dtype_ = autocast_dtype(self.precision, device)

    def initialize(self):
        """Resolve ``device="auto"`` and the precision, seed, then build the parts."""
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision={self.precision!r} must be one of {PRECISIONS}")
        predict_autocast_dtype(self.predict_precision)
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"aggregate={self.aggregate!r} must be one of {AGGREGATES}")
        device = resolve_device(self.__dict__.get("device"))
        self.device_ = str(device) if isinstance(device, torch.device) else device
        self.autocast_dtype_ = autocast_dtype(self.precision, self.device)
        with self._random_stream(fresh=True, keep=False):
            return super().initialize()

    def get_params(self, deep=True, **kwargs):
        params = super().get_params(deep=deep, **kwargs)
        params["device"] = self.__dict__.get("device")  # what was asked for, not what it became
        return params

    def load_params(self, *args, **kwargs):
        """skorch's ``load_params``; a ``device="auto"`` parameter stays ``"auto"``
        (skorch writes the device it mapped the weights to into it)."""
        requested = self.__dict__.get("device")
        try:
            return super().load_params(*args, **kwargs)
        finally:
            self._keep_auto_device(requested)

    def _keep_auto_device(self, requested):
        """After skorch wrote the device it mapped tensors to into ``device``:
        that device becomes ``device_``, and a requested ``"auto"`` stays the
        parameter (any other value is skorch's to change, as skorch does)."""
        mapped = self.__dict__.get("device")
        unmapped = mapped is None or (isinstance(mapped, str) and mapped == "auto")
        if "device_" in self.__dict__ and not unmapped:  # skorch loaded nothing: "auto" stays
            self._set_device_(mapped)
        if isinstance(requested, str) and requested == "auto":
            self.__dict__["device"] = "auto"

    def set_params(self, **kwargs):
        built = getattr(self, "initialized_", False)
        if "precision" in kwargs and built and kwargs["precision"] not in PRECISIONS:
            raise ValueError(f"precision={kwargs['precision']!r} must be one of {PRECISIONS}")
        if "predict_precision" in kwargs and built:
            predict_autocast_dtype(kwargs["predict_precision"])
        result = super().set_params(**kwargs)
        if "precision" in kwargs and built:
            # a built net autocasts with what initialize resolved: resolve the new value
            self.autocast_dtype_ = autocast_dtype(self.precision, self.device)
        return result

    def __getstate__(self):
        return add_version(super().__getstate__())

    def __setstate__(self, state):
        check_version(state, type(self).__name__)
        state.pop("_random_stream_state", None)  # a development build's name for the stream
        if state.pop("device_auto_", False):
            state["device"] = "auto"  # pickled before the parameter kept "auto" itself
        requested = state.get("device")
        auto = isinstance(requested, str) and requested == "auto"
        if auto and "device_" in state:
            # A net trained with device="auto" re-resolves where it is loaded,
            # so a GPU-trained model loads on a CPU-only machine without fuss.
            state["device_"] = resolve_device("auto")
            state["autocast_dtype_"] = autocast_dtype(state["precision"], state["device_"])
        # skorch's unpickling maps the tensors to state["device"], which must be a
        # real device: the resolved one (an unfitted net, as joblib's loky and dask
        # pickle clones, has no tensors yet, so any real device does).
        if auto:
            state["device"] = state.get("device_", "cpu")
        super().__setstate__(state)
        # skorch wrote the device it mapped the tensors to (the CPU for a saved GPU
        # it cannot find) into the parameter; "auto" stays "auto"
        self._keep_auto_device(requested)

    def infer(self, x, **fit_params):
        """Forward pass under autocast when a reduced precision is in use:
        ``precision``'s in training mode, ``predict_precision``'s in evaluation
        mode (prediction and the validation pass)."""
        if self.module_.training:
            dtype = getattr(self, "autocast_dtype_", None)
        else:
            dtype = predict_autocast_dtype(self.predict_precision)
        if dtype is None:
            return super().infer(x, **fit_params)
        device_type = torch.device(self.device).type
        with torch.autocast(device_type=device_type, dtype=dtype):
            return super().infer(x, **fit_params)

    def forward_iter(self, X, training=False, device="cpu"):
        """skorch's ``forward_iter``, with the DataLoader started on a fork of
        torch's CPU generator.

        Starting a DataLoader draws its base seed from torch's global
        generator, so skorch's inference would move the caller's random
        stream (and a later ``torch.rand`` would give other numbers after a
        ``predict``). The seed only seeds loader workers, which inference has
        no use for (and a shuffled inference loader, which then draws the
        same order every call): drawing it from a fork leaves the caller's
        generator as it was. Training's own loaders are unchanged; a scoring
        callback that predicts during training without skorch's caching
        (``EpochScoring(..., use_caching=False)``) no longer draws from the
        training stream, so such a seeded run gives other numbers than
        before. As for training's fork, the generator's state is restored
        afterwards: another thread's draws in between are undone.
        """
        dataset = self.get_dataset(X)
        iterator = self.get_iterator(dataset, training=training)
        with torch.random.fork_rng(devices=[]):
            # A DataLoader draws its seeds when it starts: in iter(), or at the
            # first batch for a loader whose __iter__ is a generator (accelerate's).
            # Only the start is on the fork, not the forward passes, so
            # forward_iter(training=True) still draws new dropout masks each call.
            batches = iter(iterator)
            batch = next(batches, _NO_BATCH)
        while batch is not _NO_BATCH:
            yield to_device(self.evaluation_step(batch, training=training), device=device)
            batch = next(batches, _NO_BATCH)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Criterion on float32 outputs (autocast may have produced bfloat16)."""
        logits, embedding = y_pred
        y_true = to_tensor(y_true, device=self.device)
        return self.criterion_((logits.float(), embedding.float()), y_true)

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
            result = user_nonlin(_bfloat16_to_float32(output))
            return _bfloat16_to_float32(result)

        return in_float32

    # -- building the parts from the data -----------------------------------
    def initialize_module(self):
        kwargs = self.get_params_for("module")
        if not isinstance(self.module, torch.nn.Module):
            kwargs.setdefault("n_classes", len(self.classes_))
            if hasattr(self, "input_shape_"):
                kwargs.setdefault("n_mels", self.input_shape_[-1])
        # float32 master weights whatever torch's default dtype in the caller's
        # process (set_default_dtype(float64) would build float64 layers that the
        # float32 chunks cannot go through)
        with _float32_default():
            self.module_ = self.initialized_instance(self.module, kwargs)
        min_frames = getattr(self.module_, "min_frames", None)
        frames = getattr(self, "input_shape_", (None,) * 3)[-2]
        if min_frames is not None and frames is not None and frames < min_frames:
            raise ValueError(
                f"{type(self).__name__}: chunks of {frames} frames are too short for "
                f"{type(self.module_).__name__}, which needs at least {min_frames}; give the "
                f"front end chunk_frames >= {min_frames}"
            )
        return self

    def initialize_criterion(self):
        kwargs = self.get_params_for("criterion")
        if not isinstance(self.criterion, torch.nn.Module):
            kwargs.setdefault("n_classes", len(self.classes_))
            # ADCRNN and ACRNN expose their embedding size; a custom module may not
            embedding_dim = getattr(self.module_, "embedding_dim", None)
            if embedding_dim is not None:
                kwargs.setdefault("n_features", embedding_dim)
        with _float32_default():
            self.criterion_ = self.initialized_instance(self.criterion, kwargs)
        return self

    # -- data -----------------------------------------------------------------
    def check_data(self, X, y):
        """Classes are inferred in :meth:`fit` from the original labels."""

    @property
    def classes_(self):
        """The labels, sorted: learned in ``fit``, else those of ``classes``."""
        inferred = self.__dict__.get("classes_inferred_")
        if inferred is not None:
            return inferred
        if self.classes is not None and len(self.classes):
            return _sorted_labels(self.classes)
        raise AttributeError(
            f"{type(self).__name__} has no classes_ yet: fit it, or give the labels in classes="
        )

    def _check_labels(self, y, n_utterances, method="fit"):
        """``y`` as a 1-D array of one label per utterance.

        A column vector ``(n, 1)`` is raveled with scikit-learn's
        ``DataConversionWarning``; NaN and infinite labels are refused by name.
        """
        if y is None:
            raise ValueError(f"{type(self).__name__}.{method} needs y, one label per utterance")
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
            missing = np.flatnonzero([_is_missing(label) for label in y])
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

    def _infer_classes(self, y):
        if self.classes is not None:
            classes = _sorted_labels(self.classes)
        else:
            classes = unique_labels(np.asarray(y) if not isinstance(y, list) else y)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes, but y holds "
                f"only 1 class: {list(classes)!r}"
            )
        self.classes_inferred_ = np.asarray(classes)

    def _encode(self, y):
        """Class indices of the labels ``y`` (checked by :meth:`_check_labels`)."""
        y = np.asarray(y)
        classes = self.classes_
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

    def _check_input_shape(self, X):
        expected = getattr(self, "input_shape_", None)
        if expected is not None and tuple(X.chunk_shape) != tuple(expected):
            raise ValueError(
                f"X has chunks of shape {tuple(X.chunk_shape)} but {type(self).__name__} was "
                f"fitted on chunks of shape {tuple(expected)} (channels, frames, n_mels): "
                "use the front end settings the model was trained with"
            )

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

    # -- scikit-learn API ----------------------------------------------------
    def fit(self, X, y, **fit_params):
        """Train on the chunks of ``X`` with their utterances' labels ``y``.

        Parameters
        ----------
        X : ChunkedFeatures
            Output of :class:`~sklearn_ser.LogMel3DTransformer`.
        y : array-like [shape=(n_utterances,)]
            Labels of any sortable type (e.g. strings such as ``"anger"``).
        """
        X = as_chunked(X)
        self._check_max_epochs()
        self._check_fit_params(fit_params)
        y = self._check_labels(y, len(X))
        if not self.warm_start or not self.initialized_:
            self._infer_classes(y)
            self.input_shape_ = tuple(X.chunk_shape)
        return super().fit(X, y, **fit_params)

    def _check_max_epochs(self):
        epochs = self.max_epochs
        if not is_integer(epochs) or epochs < 0:
            raise ValueError(f"max_epochs={epochs!r} must be a non-negative integer")
        if epochs == 0:
            warnings.warn(
                f"{type(self).__name__}: max_epochs=0, so fit builds the network and trains "
                "no epoch: it predicts with its initial random weights",
                UserWarning,
                stacklevel=3,
            )

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train ``max_epochs`` more epochs on ``X`` (skorch's ``partial_fit``);
        the first call may name every class in ``classes`` (scikit-learn's
        convention), when ``y`` does not hold them all.

        ``random_state`` seeds the first training of a network (its history
        empty); later calls continue torch's random stream, so every epoch
        draws new batches and dropout masks.
        """
        X = as_chunked(X)
        self._check_fit_params(fit_params)
        y = self._check_labels(y, len(X), method="partial_fit")
        if not self.initialized_:
            self._infer_classes(y if classes is None else classes)
            self.input_shape_ = tuple(X.chunk_shape)
            self.initialize()
        elif classes is not None and not np.array_equal(
            _sorted_labels(classes), np.sort(np.asarray(self.classes_))
        ):  # as sets: a model saved before classes_ was sorted keeps its order
            raise ValueError(
                f"classes={np.asarray(classes).tolist()!r} differs from the classes the "
                f"network was built for, {self.classes_.tolist()!r}"
            )
        self._check_input_shape(X)
        with self._random_stream(fresh=not len(self.history), keep=True):
            return super().partial_fit(X, self._encode(y), classes=None, **fit_params)

    def _check_fit_params(self, fit_params):
        if "sample_weight" in fit_params:
            raise TypeError(
                f"{type(self).__name__}.fit does not take sample_weight: the loss weighs every "
                "chunk alike. Balance the classes by resampling the utterances instead (for "
                "example imbalanced-learn's RandomOverSampler on the file list)"
            )

    def predict_chunk_proba(self, X):
        """Class probabilities of every chunk, shape ``(n_chunks_total, n_classes)``."""
        self.check_is_fitted()
        X = as_chunked(X)
        self._check_input_shape(X)
        return super().predict_proba(self.chunk_dataset(X))

    def predict_proba(self, X):
        """Per-utterance class probabilities aggregated over chunks.

        Returns
        -------
        proba : np.ndarray [shape=(n_utterances, n_classes)]
            Rows sum to 1; columns follow ``classes_``.
        """
        if isinstance(X, torch.utils.data.Dataset):
            return super().predict_proba(X)
        X = as_chunked(X)
        if not len(X):
            self.check_is_fitted()
            raise ValueError(f"{type(self).__name__}.predict_proba: X holds no utterances")
        if self.aggregate not in AGGREGATES:  # a predict-time option: set_params after fit
            raise ValueError(f"aggregate={self.aggregate!r} must be one of {AGGREGATES}")
        chunk_proba = self.predict_chunk_proba(X).astype(np.float64)
        if chunk_proba.shape != (X.offsets[-1], len(self.classes_)):
            raise ValueError(
                f"{type(self).__name__}: predict_nonlinearity={self.predict_nonlinearity!r} "
                f"gave an array of shape {chunk_proba.shape} for {X.offsets[-1]} chunks; "
                f"predict_proba needs one probability per chunk and class, shape "
                f"({X.offsets[-1]}, {len(self.classes_)})"
            )
        starts = X.offsets[:-1]
        finite = np.isfinite(chunk_proba).all(axis=1)
        if finite.all() and len(chunk_proba) and not (
            (chunk_proba >= 0).all() and np.allclose(chunk_proba.sum(axis=1), 1.0, atol=1e-3)
        ):
            raise ValueError(
                f"{type(self).__name__}: predict_nonlinearity={self.predict_nonlinearity!r} "
                "does not give probabilities (non-negative, summing to 1 per chunk), which "
                "predict_proba averages into an utterance's"
            )
        if not finite.all():
            bad = np.unique(np.searchsorted(X.offsets, np.flatnonzero(~finite), side="right") - 1)
            shown = ", ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else "")
            raise ValueError(
                f"{type(self).__name__}: the probabilities of {len(bad)} utterance(s) (positions "
                f"{shown} of X) are not finite, because their features hold NaN or inf; such "
                "features come from audio far outside [-1, 1] (e.g. around 1e19), whose energies "
                "overflow float32"
            )
        if self.aggregate == "geometric":
            log_mean = np.add.reduceat(np.log(np.maximum(chunk_proba, 1e-12)), starts)
            log_mean /= X.n_chunks[:, None]
            proba = np.exp(log_mean - log_mean.max(axis=1, keepdims=True))
        else:
            weights = (
                X.n_frames if self.aggregate == "frame-weighted" else np.ones(len(chunk_proba))
            )
            proba = np.add.reduceat(chunk_proba * weights[:, None], starts)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Most probable label of every utterance, as the original label values.

        A torch ``Dataset`` (chunks with encoded targets, skorch's level; what
        ``EpochScoring`` hands a scorer such as ``"accuracy"``) gets the class
        index of each chunk, as skorch's ``NeuralNetClassifier`` gives, so that
        it compares with the dataset's targets.
        """
        proba = self.predict_proba(X)
        if isinstance(X, torch.utils.data.Dataset):
            return proba.argmax(axis=1)
        return self.classes_[proba.argmax(axis=1)]


class ADCRNNClassifier(ChunkedNeuralNetClassifier):
    """ADCRNN with softmax cross-entropy + contrastive-center loss (Pham et al., JAEC 2020).

    A :class:`ChunkedNeuralNetClassifier` with ``module=ADCRNN``; see there
    for every parameter. The widths are ``module__*`` parameters (e.g.
    ``module__conv_channels``), the loss is chosen with ``criterion__aux``
    (``"contrastive-center"``, ``"center"`` or ``None``) and weighted with
    ``criterion__aux_weight``.

    Parameters
    ----------
    module : class or torch.nn.Module, default=ADCRNN
        The network; widths go through ``module__*`` parameters.
    **kwargs
        Every parameter of :class:`ChunkedNeuralNetClassifier` (``lr=1e-4``,
        ``batch_size=32``, ``max_epochs``, ``precision``, ``aggregate``,
        ``random_state``, ``device="auto"``, ...) and of skorch's ``NeuralNet``.

    Examples
    --------
    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn_ser import ADCRNNClassifier, LogMel3DTransformer
    >>> pipe = Pipeline([("features", LogMel3DTransformer()),
    ...                  ("clf", ADCRNNClassifier(max_epochs=20, random_state=0))])
    """

    def __init__(self, module=ADCRNN, *args, **kwargs):
        super().__init__(module, *args, **kwargs)


class ACRNNClassifier(ChunkedNeuralNetClassifier):
    """ACRNN baseline (Chen et al., IEEE SPL 2018) with the same training set-up.

    A :class:`ChunkedNeuralNetClassifier` with ``module=ACRNN``.

    Parameters
    ----------
    module : class or torch.nn.Module, default=ACRNN
        The network; widths go through ``module__*`` parameters.
    **kwargs
        Every parameter of :class:`ChunkedNeuralNetClassifier` and of skorch's
        ``NeuralNet``.
    """

    def __init__(self, module=ACRNN, *args, **kwargs):
        super().__init__(module, *args, **kwargs)
