"""skorch classifiers that train on chunks and predict per utterance."""

from __future__ import annotations

import inspect
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import EpochScoring, EpochTimer, PassthroughScoring

from .._version import add_version, check_version
from ..callbacks import StopOnNonFiniteLoss, TerminalPrintLog
from ..features import aggregate_chunk_proba, check_aggregate
from ..utils.choices import AGGREGATES, PRECISIONS, PREDICT_PRECISIONS
from ..utils.constraints import Interval, StrOptions
from ..utils.validation import check_params
from ._aggregation import PredictNonlinearityMixin, check_chunk_proba, softmax_of_logits
from ._chunks import UtteranceSplitMixin, as_chunked, chunk_accuracy
from ._class_weight import ClassWeightMixin
from ._labels import check_labels, encode_labels, infer_classes, sorted_labels
from ._losses import CenterAugmentedLoss
from ._runtime import RuntimeMixin, float32_default, noting_sigint
from ._speaker_batchnorm import BATCHNORM_STATISTICS, SpeakerBatchNormMixin
from ._state import PersistentStateMixin
from ._training_loss import TrainingLossMixin

__all__ = ["ChunkedNeuralNetClassifier"]

_ADDED_PARAMS = ("class_weight", "n_teachers", "distill_temperature",  # older pickles lack
                 "batchnorm_statistics", "batchnorm_prior_chunks")      # them: defaults

#: Chunks per batch: skorch's -1 (every chunk in one batch) or a huge batch would
#: put a long recording's chunks through the network at once.
_BATCH_SIZE = Interval(Integral, 1, 4096, closed="both")


class ChunkedNeuralNetClassifier(
    RuntimeMixin, UtteranceSplitMixin, ClassWeightMixin, TrainingLossMixin,
    PredictNonlinearityMixin, SpeakerBatchNormMixin, PersistentStateMixin, NeuralNetClassifier,
):
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
        Chunks per batch (the paper's 32), 1 to 4096, in training and
        prediction: prediction holds one batch in the network at a time.
    train_split : callable or None, default=None
        skorch splitter applied to the utterances, for a validation part
        (per-epoch ``valid_loss`` and ``valid_acc``, early stopping), e.g.
        ``ValidSplit(5, stratified=True)`` to hold out 20 %, stratified. The
        default holds nothing out: ``fit`` trains on every utterance it is
        given, as scikit-learn's estimators do.
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
    class_weight : {"balanced"}, dict or None, default=None
        Weights of the classes in the cross-entropy. ``"balanced"`` weighs
        class ``k`` by ``n / (K * n_k)`` over the training chunks (``n_k`` of
        class ``k`` among ``n``, ``K`` classes present), so every class counts
        alike in the loss, whatever its share of the data: what the
        unweighted average recall rewards. A dict maps labels to weights
        (those left out weigh 1); None weighs every chunk alike.
    n_teachers : int, default=0
        Distillation (Hinton et al. 2015): ``fit`` first trains this many
        networks of the same settings on the same data (seeded
        ``random_state + 1``, ...; without checkpoint callbacks), then this
        one, whose loss adds the KL divergence from their mean probabilities
        at ``distill_temperature``. They are then dropped: one network
        predicts. ``partial_fit`` and a warm-start ``fit`` use labels alone.
    distill_temperature : float, default=2.0
        Softmax temperature of the distillation loss, which is scaled by its square.
    batchnorm_statistics : {"training", "speaker"}, default="training"
        What the batch-norm layers normalise by at prediction: the running
        statistics of training, or (``"speaker"``, AdaBN) those of each
        speaker's own chunks in ``X``, layer after layer (unlabelled audio
        only), shrunk towards training's by ``batchnorm_prior_chunks``. It
        needs chunks that carry their speakers, from a front end with
        ``normalize="speaker"`` given ``groups``. A prediction-time option.
    batchnorm_prior_chunks : float, default=30.0
        The training statistics' weight in chunks: a speaker's own statistics,
        over ``n`` chunks, weigh ``n / (n + batchnorm_prior_chunks)``.
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
    front_end_ : dict or None
        Settings of the front end behind the chunks seen in fit
        (``ChunkedFeatures.front_end``); ``predict`` refuses chunks from one
        whose settings differ (sample rate, hop, ``n_mels``, ...), naming them.
    device_ : str
        The device actually used: ``device`` with ``"auto"`` resolved. The
        ``device`` parameter itself keeps what was asked for (``"auto"``), as
        scikit-learn's conventions want of a parameter; reading ``net.device``
        gives ``device_`` once the net is built, which is what skorch's
        methods move the data to.
    autocast_dtype_ : torch.dtype or None
        The autocast dtype training actually uses (None is plain float32).
    class_weight_ : np.ndarray [shape=(n_classes,)] or None
        The class weights of the cross-entropy, in the order of ``classes_``
        (None with ``class_weight=None``).

    Notes
    -----
    Ctrl-C (SIGINT) during ``fit`` or ``partial_fit`` stops training at once,
    as in skorch: the callbacks' ``on_train_end`` runs and the network keeps
    the weights of its last batch (a checkpoint callback keeps the last
    complete epoch). Then ``KeyboardInterrupt`` is raised again, so that a
    script, a ``GridSearchCV`` or a ``cross_val_score`` stops instead of going
    on to its next fit. The interrupted estimator is usable: ``predict``
    works, and ``partial_fit`` trains on. A callback that raises
    ``KeyboardInterrupt`` itself to end training (skorch's ``EarlyStopping``)
    ends it as in skorch, and ``fit`` returns. (Ctrl-C is noticed in the main
    thread only, where Python delivers it.)
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
        train_split=None,
        device="auto",
        predict_nonlinearity=softmax_of_logits,
        precision="auto",
        predict_precision="float32",
        aggregate="mean",
        class_weight=None,
        n_teachers=0,
        distill_temperature=2.0,
        batchnorm_statistics="training",
        batchnorm_prior_chunks=30.0,
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
        self.class_weight = class_weight
        self.n_teachers = n_teachers
        self.distill_temperature = distill_temperature
        self.batchnorm_statistics = batchnorm_statistics
        self.batchnorm_prior_chunks = batchnorm_prior_chunks
        self.random_state = random_state

    #: The constraints of the parameters this class adds to skorch's, checked in
    #: ``initialize`` (and ``fit``) and by ``set_params`` on a built net.
    _parameter_constraints = {
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [_BATCH_SIZE],
        # the DataLoaders' own batch sizes (skorch's), when they are set
        "iterator_train__batch_size": [_BATCH_SIZE, None],
        "iterator_valid__batch_size": [_BATCH_SIZE, None],
        "precision": [StrOptions(set(PRECISIONS))],
        "predict_precision": [StrOptions(set(PREDICT_PRECISIONS))],
        "aggregate": [StrOptions(set(AGGREGATES))],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "n_teachers": [Interval(Integral, 0, None, closed="left")],
        "distill_temperature": [Interval(Real, 0, None, closed="neither")],
        "batchnorm_statistics": [StrOptions(set(BATCHNORM_STATISTICS))],
        "batchnorm_prior_chunks": [Interval(Real, 0, None, closed="left")],
        "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both"), None],
    }

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

    def _validate_own_params(self, names=None):
        """Check this class's own parameters (``_parameter_constraints``), all at once."""
        names = self._parameter_constraints if names is None else names
        check_params({name: getattr(self, name, None) for name in names},
                     self._parameter_constraints, caller=type(self).__name__)

    def initialize(self):
        """Check the parameters, resolve ``device="auto"`` and the precision, seed,
        then build the parts."""
        self._validate_own_params()
        self._resolve_runtime()
        with self._random_stream(fresh=True, keep=False):
            return super().initialize()

    def set_params(self, **kwargs):
        """skorch's ``set_params``; on a built net the new values of this class's own
        parameters are checked first (a bad one leaves every parameter as it was)."""
        own = [name for name in kwargs if name in self._parameter_constraints]
        if own and getattr(self, "initialized_", False):
            check_params({name: kwargs[name] for name in own}, self._parameter_constraints,
                         caller=type(self).__name__)
        return super().set_params(**kwargs)

    def __getstate__(self):
        return add_version(super().__getstate__())

    def __setstate__(self, state):
        check_version(state, type(self).__name__)
        defaults = inspect.signature(ChunkedNeuralNetClassifier.__init__).parameters
        for name in _ADDED_PARAMS:
            state.setdefault(name, defaults[name].default)
        requested = self._restore_device(state)
        super().__setstate__(state)
        # skorch wrote the device it mapped the tensors to (the CPU for a saved GPU
        # it cannot find) into the parameter; "auto" stays "auto"
        self._keep_auto_device(requested)

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
        with float32_default():
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
            return sorted_labels(self.classes)
        raise AttributeError(
            f"{type(self).__name__} has no classes_ yet: fit it, or give the labels in classes="
        )

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
        self._validate_own_params(["max_epochs", "batch_size", "class_weight", "n_teachers",
                                   "distill_temperature", "random_state"])
        self._warn_no_epochs()
        self._check_fit_params(fit_params)
        y = check_labels(y, len(X), caller=f"{type(self).__name__}.fit")
        fresh = not self.warm_start or not self.initialized_
        if fresh:
            self.classes_inferred_ = infer_classes(y, self.classes,
                                                   estimator_name=type(self).__name__)
            self._record_input(X)
            self._fit_class_weight(X, y)
        with self._teaching(X, y, fit_params, fresh=fresh):
            return super().fit(X, y, **fit_params)

    def _warn_no_epochs(self):
        if self.max_epochs == 0:
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
        y = check_labels(y, len(X), caller=f"{type(self).__name__}.partial_fit")
        if not self.initialized_:
            self.classes_inferred_ = infer_classes(
                y, classes, estimator_name=type(self).__name__)
            self._record_input(X)
            self._validate_own_params(["class_weight"])
            self._fit_class_weight(X, y)
            self.initialize()
        elif classes is not None and not np.array_equal(
            sorted_labels(classes), self.classes_
        ):
            raise ValueError(
                f"classes={np.asarray(classes).tolist()!r} differs from the classes the "
                f"network was built for, {self.classes_.tolist()!r}"
            )
        self._check_input_shape(X)
        self._warn_few_steps(X)
        with self._random_stream(fresh=not len(self.history), keep=True), \
                noting_sigint() as interrupted:
            super().partial_fit(X, self._encode(y), classes=None, **fit_params)
        stop = self.__dict__.pop("_stop_requested_", None)
        if interrupted or stop is not None:
            # skorch stops at Ctrl-C and returns; raising it again stops the caller too
            # (a grid search, a cross-validation) instead of going on to the next fit
            raise stop if stop is not None else KeyboardInterrupt
        return self

    def predict_chunk_proba(self, X):
        """Class probabilities of every chunk, shape ``(n_chunks_total, n_classes)``."""
        self.check_is_fitted()
        X = as_chunked(X)
        self._check_input_shape(X)
        return self._chunk_proba_by_speaker(
            X, lambda part: super(ChunkedNeuralNetClassifier, self).predict_proba(
                self.chunk_dataset(part)))

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
        check_aggregate(self.aggregate)  # a predict-time option: set_params after fit
        chunk_proba = self.predict_chunk_proba(X).astype(np.float64)
        check_chunk_proba(chunk_proba, (X.offsets[-1], len(self.classes_)),
                          where=f"{type(self).__name__}: predict_nonlinearity="
                                f"{self.predict_nonlinearity!r}")
        return aggregate_chunk_proba(chunk_proba, X.offsets, X.n_frames,
                                     aggregate=self.aggregate, where=type(self).__name__)

    def _encode(self, y):
        """Class indices of the labels ``y``."""
        return encode_labels(y, self.classes_)

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
