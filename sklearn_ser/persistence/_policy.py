"""Which format a model file is in, chosen by its name: :func:`save`, :func:`load`.

A name ending in one of :data:`PICKLE_SUFFIXES` (optionally followed by a
compression suffix, ``model.joblib.gz``) is a joblib pickle; any other name
(``model.sser``) is the safe format of :func:`save_model`. Loading follows the
same rule, so only a file named like a pickle is ever unpickled, and a pickle
renamed ``model.sser`` is refused rather than run.
"""

from __future__ import annotations

import errno
import os
import zipfile
from pathlib import Path

import joblib

from ..io import check_regular_file
from ._format import PICKLE_SUFFIXES, ModelFileError, is_pickle_name, looks_like_pickle
from ._load import load_model
from ._save import save_model

__all__ = ["load", "save"]

def save(estimator, path):
    """Save ``estimator`` in the format its file name asks for.

    Parameters
    ----------
    estimator : estimator
        For a pickle name, anything joblib can pickle; for any other name,
        what :func:`save_model` accepts (a fitted ``Pipeline`` of
        ``LogMel3DTransformer`` and an ADCRNN/ACRNN classifier or a soft vote
        of them, or such a classifier alone).
    path : str or os.PathLike
        ``*.joblib``, ``*.pkl`` or ``*.pickle``, optionally followed by
        ``.gz``, ``.bz2``, ``.xz``, ``.lzma`` or ``.z`` (which joblib
        compresses): ``joblib.dump``, a pickle to load only from a trusted
        source. Any other name (e.g. ``model.sser``): :func:`save_model`,
        which runs none of the file's content when loaded.

    Returns
    -------
    path : pathlib.Path
    """
    path = Path(path)
    if is_pickle_name(path):
        joblib.dump(estimator, path)
        return path
    return save_model(estimator, path)


def load(path, *, device=None):
    """Load a model saved by :func:`save` (or :func:`save_model`, or ``joblib.dump``).

    Only a file named like a pickle (:func:`is_pickle_name`) that is not a zip
    archive is unpickled; every other file goes to :func:`load_model`, which
    runs none of its content.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.
    device : str or None, default=None
        For the safe format, where the network goes, as in
        :func:`load_model`. A pickle comes back on the device it was saved
        with (skorch moves it to the CPU where that device is missing), so
        ``device`` must then be None.

    Returns
    -------
    estimator : estimator
        What was saved.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ModelFileError
        ``path`` is a folder, a named pipe or a device; a file not named
        like a pickle begins like one (the message says how to rename it,
        for a trusted file); a pickle cannot be unpickled; or, from
        :func:`load_model`, a safe-format file is not valid.
    ValueError
        ``device`` is given for a pickle, or is not a device of this machine.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "model file not found", os.fspath(path))
    if path.is_dir():
        raise ModelFileError(f"model file {path} is a folder, not a saved model")
    # nothing but a regular file is opened (a named pipe would block, a device never end)
    check_regular_file(path, what="model file", error=ModelFileError)
    if not is_pickle_name(path) or zipfile.is_zipfile(path):
        if not zipfile.is_zipfile(path) and looks_like_pickle(path):
            raise ModelFileError(
                f"model file {path} is not in the safe format; it looks like a pickle "
                f"(joblib.dump), which is unpickled only from a name ending in "
                f"{', '.join(PICKLE_SUFFIXES)} (then optionally .gz, .bz2, ...): rename it "
                "so, and only if you trust where it comes from"
            )
        return load_model(path, device=device)
    if device is not None:
        raise ValueError(f"load: device={device!r} applies to the safe format; the pickle "
                         f"{path} comes back on the device it was saved with")
    try:
        return joblib.load(path)
    except Exception as exc:  # unpickling can fail in many ways; all mean "not a model"
        raise ModelFileError(
            f"cannot load model file {path} (not a pickle made by joblib.dump with the "
            f"libraries installed here?): {type(exc).__name__}: {exc}"
        ) from exc
