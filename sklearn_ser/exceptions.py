"""Exceptions raised by :mod:`sklearn_ser`.

Each exception mixes in the built-in or scikit-learn exception that callers
already catch, in the manner of skorch (``NotInitializedError`` is also a
``NotFittedError``), so ``except ValueError`` keeps working.

scikit-learn's ``NotFittedError`` is re-exported here, imported on first use:
this module, at the bottom of the package, imports no third-party library
(the light predictor, :mod:`sklearn_ser.runtime`, runs without scikit-learn).
"""


def __getattr__(name):
    if name == "NotFittedError":
        from sklearn.exceptions import NotFittedError

        return NotFittedError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "AudioFileError",
    "CheckpointError",
    "InvalidSignalError",
    "MissingBestWeightsWarning",
    "ModelFileError",
    "NonFiniteLossError",
    "NotAZipError",
    "NotFittedError",  # noqa: F822 (imported on first use, see __getattr__)
    "ShortSignalWarning",
    "SignalRangeWarning",
    "SklearnSerError",
    "SklearnSerVersionWarning",
    "SmallDataWarning",
    "StopRequested",
    "TrainingInterruptedWarning",
]


class SklearnSerError(Exception):
    """Base class of every error raised by sklearn_ser."""


class AudioFileError(SklearnSerError, ValueError):
    """An audio file cannot be decoded (not audio, empty, truncated, a folder).

    The message always names the file and carries the decoder's reason.
    """


class NotAZipError(SklearnSerError, ValueError):
    """A file the toolkit writes as a zip archive (a model file, an ONNX bundle) is
    not one, or is truncated before its directory."""


class InvalidSignalError(SklearnSerError, ValueError):
    """A signal is empty, has the wrong rank or dtype, or holds NaN or inf."""


class NonFiniteLossError(SklearnSerError, FloatingPointError, RuntimeError):
    """A training batch gave a NaN or infinite loss, gradient, statistic or weight.

    A ``FloatingPointError`` (as numpy's ``seterr(all="raise")``) and a
    ``RuntimeError`` (as torch's anomaly detection), so either ``except``
    catches it.

    Parameters
    ----------
    message : str
        What went wrong, where, and what to try.
    epoch : int, optional
        The epoch, counted from 1 as in ``net.history[:, "epoch"]``.
    batch_index : int, optional
        The training batch within that epoch, counted from 0.

    Attributes
    ----------
    epoch : int
        As given.
    batch_index : int
        As given.
    """

    def __init__(self, message, *, epoch=None, batch_index=None):
        super().__init__(message)
        self.epoch = epoch
        self.batch_index = batch_index


class ModelFileError(SklearnSerError, ValueError):
    """A model file is truncated, corrupted, tampered with, or not a model file.

    Parameters
    ----------
    message : str
        Names the file and what is wrong with it.
    """

    def __init__(self, message):
        super().__init__(message)


class CheckpointError(SklearnSerError, ValueError):
    """A training checkpoint cannot be resumed from.

    Its files are corrupted, truncated, not regular files, or were written
    for another network; or nothing shows that it was made on the data of the
    ``fit`` resuming it (no ``train_data.json``, or one for other data). The
    message names the folder or the file, and the way out (delete the folder
    to start afresh, or give the run its own folder).
    """


class SklearnSerVersionWarning(UserWarning):
    """An estimator was saved by another version of sklearn_ser.

    Like scikit-learn's ``InconsistentVersionWarning``: issued when a pickle
    or a model file written by another version is loaded.

    Parameters
    ----------
    estimator_name : str
        The estimator's class name (for a model file, the file's path).
    original_sklearn_ser_version : str
        The version that saved it.
    current_sklearn_ser_version : str
        The running version.
    how : {"unpickle", "load"}, default="unpickle"
        Unpickling (suggests :func:`save_model` for files that outlive a
        version) or :func:`load_model`.
    """

    def __init__(self, *, estimator_name, original_sklearn_ser_version,
                 current_sklearn_ser_version, how="unpickle"):
        self.estimator_name = estimator_name
        self.original_sklearn_ser_version = original_sklearn_ser_version
        self.current_sklearn_ser_version = current_sklearn_ser_version
        self.how = how

    def __str__(self):
        advice = (
            " For a model that loads across versions, save it with sklearn_ser.save_model "
            f"under version {self.original_sklearn_ser_version} and load it with load_model."
            if self.how == "unpickle" else ""
        )
        return (
            f"Trying to {self.how} {self.estimator_name} from sklearn_ser version "
            f"{self.original_sklearn_ser_version} when using version "
            f"{self.current_sklearn_ser_version}. This might lead to breaking code or "
            f"invalid results. Use at your own risk.{advice}"
        )


class MissingBestWeightsWarning(UserWarning):
    """A resumed run cannot give back the best epoch's weights: no checkpoint holds them.

    Parameters
    ----------
    message : str
        The best epoch so far and the checkpoint folder that lacks it.
    """

    def __init__(self, message):
        super().__init__(message)


class TrainingInterruptedWarning(UserWarning):
    """``fit`` returned before ``max_epochs`` epochs (skorch swallows ``KeyboardInterrupt``).

    Parameters
    ----------
    message : str
        How many epochs are complete, and where the checkpoint to resume from is.
    """

    def __init__(self, message):
        super().__init__(message)


class ShortSignalWarning(UserWarning):
    """An utterance is no longer than one analysis frame (25 ms by default).

    Such a signal gives a single zero-padded frame, far too little to
    recognise an emotion from; it usually means the input was not what was
    meant (a ``(n_samples, n_channels)`` array read as one signal per row, a
    truncated file). The message names the utterances.
    """


class SignalRangeWarning(UserWarning):
    """Floating point samples far outside [-1, 1], where audio lives.

    Usually integer PCM values stored as floats (``np.int16`` samples cast
    with ``astype(float)`` peak near 32767): the log-Mel features are then
    shifted by the square of that factor, and a model trained on audio in
    [-1, 1] predicts nonsense without a word. Issued once per call, naming
    the utterances and their peaks; divide such samples by 32768 (16-bit),
    or pass the integer array itself.
    """


class SmallDataWarning(UserWarning):
    """The training data is too small for the training settings to work well.

    Raised once per ``fit`` when an epoch makes too few optimizer steps for
    batch normalisation's running statistics and Adam's moment estimates to
    settle (a batch nearly as large as the data), and by the evaluation when a
    class has fewer utterances than the folds need. The message names the
    figures and the fix (a smaller ``batch_size``, fewer folds).
    """


class StopRequested(KeyboardInterrupt):
    """A request to stop training raised from outside the network (a signal
    handler, such as the command line's for SIGTERM).

    Like Ctrl-C it ends the epoch loop, lets the callbacks end training
    (``on_train_end``), and is then raised again from ``fit``, so that a
    search or a cross-validation stops too.
    """
