"""Opening the files the toolkit reads: regular files only, named in every error.

Audio files, model files and checkpoints are opened here, by the toolkit
itself, so that

- a named pipe (FIFO), a device, a socket or a folder is refused before a
  single byte is read: a FIFO is opened without waiting for a writer
  (``O_NONBLOCK``) and refused at once, where a plain ``open`` would wait
  forever, and ``/dev/zero`` is never read to the end;
- a file that cannot be read says so with its name (``PermissionError``),
  rather than as a decoder's "System error.";
- a file name in any encoding works: libraries that take a path encode it
  themselves (libsndfile fails on names that are not UTF-8), but they all
  take the open binary file.
"""

from __future__ import annotations

import errno
import os
import stat

__all__ = ["check_regular_file", "display_name", "file_kind", "open_regular_file"]

_KINDS = (
    (stat.S_ISDIR, "directory"),
    (stat.S_ISFIFO, "named pipe (FIFO)"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISSOCK, "socket"),
)
#: Errors of os.open and os.stat that mean "there is no such file" (as Path.exists
#: reads them): a missing file, a file "inside" a file, a symlink loop.
_MISSING = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EBADF)


def display_name(path):
    """A path as messages show it: bytes that are not UTF-8 appear as ``\\xNN``.

    Parameters
    ----------
    path : str, bytes or os.PathLike

    Returns
    -------
    name : str
        Printable on any terminal (a name read from a disk with another
        encoding holds lone surrogates, which a UTF-8 terminal cannot write).
    """
    name = os.fsdecode(os.fspath(path))
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def file_kind(mode):
    """What a file is, from its status.

    Parameters
    ----------
    mode : int
        ``st_mode`` of :func:`os.stat`.

    Returns
    -------
    kind : str or None
        None for a regular file, else ``"directory"``, ``"named pipe (FIFO)"``,
        ``"character device"``, ``"block device"``, ``"socket"`` or
        ``"special file"``.
    """
    if stat.S_ISREG(mode):
        return None
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "special file"


def _article(noun):
    return "an" if noun[:1].lower() in "aeiou" else "a"


def _not_regular(name, kind, what, error):
    return error(f"'{name}' is a {kind}, not {_article(what)} {what}")


def _os_error(exc, name, what, error):
    """The error that ``exc``, raised opening or stating ``name``, becomes."""
    if exc.errno in _MISSING:
        return FileNotFoundError(errno.ENOENT, f"{what} not found", name)
    if isinstance(exc, PermissionError):
        return PermissionError(errno.EACCES, f"permission denied: cannot read the {what}", name)
    if isinstance(exc, IsADirectoryError):  # Windows opens no folder
        return _not_regular(name, "directory", what, error)
    return error(f"cannot read {what} '{name}': {exc.strerror or exc}")


def check_regular_file(path, *, what, error, name=None):
    """Raise unless ``path`` names a regular file; nothing is opened.

    Parameters
    ----------
    path : str, bytes or os.PathLike
    what : str
        What the file should be (``"audio file"``, ``"model file"``), for
        the messages.
    error : type
        The exception for a file that is not a regular one (a folder, a FIFO,
        a device), called with the message.
    name : str, optional
        The file's name in messages; defaults to :func:`display_name`.

    Returns
    -------
    status : os.stat_result
        The file's status (symbolic links followed).

    Raises
    ------
    FileNotFoundError
        Nothing is there (or a broken link, a link loop).
    PermissionError
        The file cannot be reached; the message names it.
    error
        A folder, FIFO, device or socket, named with what it is.
    """
    name = display_name(path) if name is None else name
    try:
        status = os.stat(path)
    except OSError as exc:
        raise _os_error(exc, name, what, error) from None
    kind = file_kind(status.st_mode)
    if kind is not None:
        raise _not_regular(name, kind, what, error)
    return status


def open_regular_file(path, *, what, error, name=None):
    """Open ``path`` for reading in binary mode, refusing anything but a regular file.

    The file is opened with ``O_NONBLOCK`` (where the system has it), then
    its status read from the open descriptor (no race with a file swapped in
    between): a named pipe is refused without waiting for a writer, a device
    or a folder without a byte read.

    Parameters
    ----------
    path : str, bytes or os.PathLike
    what, error, name : str, type, str or None
        As in :func:`check_regular_file`.

    Returns
    -------
    file : io.BufferedReader
        Open in binary mode; the caller closes it (``with``).

    Raises
    ------
    FileNotFoundError, PermissionError, error
        As :func:`check_regular_file`; every message names the file.
    """
    name = display_name(path) if name is None else name
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) \
        | getattr(os, "O_NOCTTY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        raise _os_error(exc, name, what, error) from None
    try:
        kind = file_kind(os.fstat(descriptor).st_mode)
        if kind is not None:
            raise _not_regular(name, kind, what, error)
        if hasattr(os, "set_blocking"):
            os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise
