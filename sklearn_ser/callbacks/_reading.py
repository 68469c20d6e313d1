"""Reading a checkpoint's files: regular files only, and every failure a
:class:`~sklearn_ser.exceptions.CheckpointError` that names the file and the way out."""

from __future__ import annotations

import json
import pickle

from ..exceptions import CheckpointError
from ..io import check_regular_file, display_name

__all__ = ["check_checkpoint_file", "read_checkpoint_file", "read_json"]

#: What to do about a checkpoint file that cannot be read.
_WAY_OUT = ("Delete the checkpoint folder to start afresh, or put back the file from a copy "
            "made by the same run")


def check_checkpoint_file(path):
    """Raise unless ``path`` is a regular file: ``FileNotFoundError`` when it is
    missing, :class:`CheckpointError` for a folder, a named pipe or a device
    (none of which is opened)."""
    check_regular_file(path, what="checkpoint file", error=CheckpointError)


def _reason(exc):
    """What went wrong, in a line; torch's advice on unpickling is left out (the
    checkpoint's files hold tensors and plain data only, so a file that does not
    load with ``weights_only=True`` is damaged, not too new)."""
    text = str(exc).strip()
    if isinstance(exc, pickle.UnpicklingError) or "weights_only" in text:
        return ("it is not a file of tensors that torch can read safely: corrupted, cut "
                "short, or written by something other than a checkpoint")
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first[:300]}" if first else type(exc).__name__


def read_checkpoint_file(path, read):
    """``read(path)`` for a checkpoint file, refusing anything but a regular file.

    Parameters
    ----------
    path : str or os.PathLike
    read : callable
        Reads the file (``torch.load``, skorch's ``load_params``, ...).

    Raises
    ------
    FileNotFoundError
        The file is missing.
    CheckpointError
        The file is not a regular file, or ``read`` failed on it: the message
        names the file, says why in a line and how to go on.
    """
    check_checkpoint_file(path)
    try:
        return read(path)
    except FileNotFoundError:
        raise
    except Exception as exc:  # whatever fails reading it, the file is to blame
        reason = _reason(exc)
        error = CheckpointError(f"cannot resume from the checkpoint file "
                                f"'{display_name(path)}': {reason}. {_WAY_OUT}.")
        # torch's own message would suggest turning its safety check off: not shown
        raise error from (None if "torch can read safely" in reason else exc)


def read_json(path):
    """The JSON document in ``path``."""
    with open(path, encoding="utf-8") as file:
        return json.load(file)
