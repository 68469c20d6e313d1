"""The model a command reads from a file, checked for what the commands need.

Which file is a pickle and which is in the safe format is decided by
:func:`sklearn_ser.persistence.load`; this module adds what the commands need
of the model, and names the common mix-up of a model and an audio file.
"""

from __future__ import annotations

import soundfile as sf

from ..exceptions import SklearnSerError
from ..features import LogMel3DTransformer, normalizes_by_speaker
from ..persistence import load
from ..runtime import is_bundle, load_bundle
from ._console import progress
from ._parser import PROG, CliError, UsageError

__all__ = ["read_model", "read_pipeline"]


def _is_audio(path):
    """Whether ``path`` is a file that libsndfile decodes (its header is enough)."""
    try:
        sf.info(path)
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError):
        return False
    return True


def read_model(path, args=None, *, usage="MODEL ...", same_speaker=None):
    """The fitted pipeline saved in ``path`` (as :func:`read_pipeline`), or the
    :class:`~sklearn_ser.runtime.Bundle` of an ONNX bundle (``--threads`` are
    then onnxruntime's)."""
    if is_bundle(path):
        return load_bundle(path, n_threads=getattr(args, "threads", None))
    return read_pipeline(path, args, usage=usage, same_speaker=same_speaker)


def read_pipeline(path, args=None, *, usage="MODEL ...", same_speaker=None):
    """The fitted pipeline of audio files saved in ``path``, or an error naming the file.

    The file is read by :func:`sklearn_ser.persistence.load` (a pickle only
    from a pickle name). It must hold a fitted classifier behind a
    ``LogMel3DTransformer``, so that it takes audio files. With the command's
    ``args``, the front end's progress lines follow this command's
    ``--quiet``, not the ``verbose`` the model was trained with. An audio file
    given where the model goes is a usage error that shows the command's
    ``usage`` (its arguments, e.g. ``"MODEL FILE..."``).

    A model that normalises by speaker needs all of a speaker's files at
    once: ``same_speaker`` is the command's ``--same-speaker`` flag (False
    refuses such a model, naming the flag), or None for a command without
    one (the refusal points to ``predict --same-speaker``).
    """
    try:
        model = load(path)
    except (SklearnSerError, ValueError, OSError):
        if path.is_file() and _is_audio(path):
            prog = args.parser.prog if args is not None else PROG
            raise UsageError(f"'{path}' is an audio file, not a model: the model comes first: "
                             f"{prog} {usage}") from None
        raise
    if not (hasattr(model, "predict_proba") and hasattr(model, "classes_")):
        raise CliError(
            f"model file {path} holds a {type(model).__name__}, not a fitted classifier; "
            f"save one with '{PROG} train'"
        )
    steps = getattr(model, "steps", None)
    if not steps or not isinstance(steps[0][1], LogMel3DTransformer):
        raise CliError(
            f"model file {path} holds a {type(model).__name__} without a LogMel3DTransformer "
            "first, so it cannot take audio files: save a Pipeline of the front end and the "
            f"classifier, as '{PROG} train' does"
        )
    if normalizes_by_speaker(steps[0][1].normalize) and not same_speaker:
        how = ("pass --same-speaker with all the files of one speaker"
               if same_speaker is not None else
               f"predict with '{PROG} predict --same-speaker', or from Python with "
               "pipe.predict(files, groups=speakers) under scikit-learn's metadata routing")
        raise CliError(
            f"model file {path} normalises each speaker with all their utterances "
            f"(normalize='speaker'): {how}"
        )
    if args is not None:
        steps[0][1].set_params(verbose=int(progress(args)))
    return model
