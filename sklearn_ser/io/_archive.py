"""Reading the toolkit's own files: zip archives of stored members and bounded JSON.

A model file and an ONNX bundle are zip archives whose members are stored
uncompressed (so none can expand beyond the file's size) and whose JSON is
parsed with bounds (no NaN, no integer beyond 64 bits, no nesting beyond a
genuine file's), whatever the file says.
"""

from __future__ import annotations

import errno
import json
import math
import os
import uuid
import zipfile
from pathlib import Path

from ..exceptions import NotAZipError
from ..utils.validation import is_integer

__all__ = ["check_format", "parse_json", "read_stored_members", "write_stored_members"]

#: Zip and member errors as ``zipfile`` raises them on a damaged archive.
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError)


def read_stored_members(file, sizes):
    """The members of a zip archive, each checked before it is read.

    Parameters
    ----------
    file : binary file object
        The archive, open for reading.
    sizes : dict of str to (int or None)
        The names of the members the archive must hold, exactly, each with
        its largest size in bytes (``None``: as large as the file).

    Returns
    -------
    members : dict of str to bytes

    Raises
    ------
    NotAZipError
        Not a zip archive.
    ValueError
        Other members, a compressed member, a member over its size, or a
        damaged archive; the message says which.
    """
    try:
        archive = zipfile.ZipFile(file)
    except _ZIP_ERRORS as exc:
        raise NotAZipError(f"not a zip archive, or truncated ({exc})") from exc
    with archive:
        infos = {info.filename: info for info in archive.infolist()}
        if set(infos) != set(sizes):
            raise ValueError(f"expected the members {sorted(sizes)}, found {sorted(infos)}")
        for name, info in infos.items():
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"member {name!r} is compressed; these files store their "
                                 "members uncompressed")
            if sizes[name] is not None and info.file_size > sizes[name]:
                raise ValueError(f"{name} is {info.file_size} bytes (at most {sizes[name]})")
        try:
            return {name: archive.read(name) for name in sizes}
        except _ZIP_ERRORS as exc:
            raise ValueError(f"corrupted or truncated ({exc})") from exc


def write_stored_members(path, members):
    """Write a zip archive of stored (uncompressed) members whole, or not at all.

    The archive is written to a hidden file beside ``path``, flushed to disk,
    then renamed over ``path``: an interrupted write leaves any previous file
    as it was.

    Parameters
    ----------
    path : str or os.PathLike
        Where the archive goes; its folder must exist.
    members : dict of str to bytes
        The members, written in this order.

    Returns
    -------
    path : pathlib.Path
    """
    path = Path(path)
    if not path.parent.is_dir():
        # before the temporary file's name can show up in the error instead
        raise FileNotFoundError(errno.ENOENT, "folder of the file not found", str(path.parent))
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "the file's path is a folder", str(path))
    # A name of its own (hidden, process and random suffix, created exclusively):
    # two writes to one path do not share it, and no file of the user's is taken.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "xb") as raw, \
                zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_STORED) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def parse_json(raw, *, max_depth, max_int_digits):
    """A JSON document from bytes, within bounds.

    Parameters
    ----------
    raw : bytes
        UTF-8 JSON.
    max_depth : int
        The deepest nesting of lists and objects allowed.
    max_int_digits : int
        The most digits an integer may have.

    Returns
    -------
    document : object
        The parsed document.

    Raises
    ------
    ValueError
        Not UTF-8 JSON, NaN or infinity, an integer longer than
        ``max_int_digits`` digits, or nesting deeper than ``max_depth`` levels
        (which would exhaust the parser's recursion).
    """
    def constant(name):
        raise ValueError(f"holds {name}, which these files never do")

    def integer(text):
        if len(text.lstrip("-")) > max_int_digits:
            raise ValueError(f"holds an integer of {len(text.lstrip('-'))} digits, far beyond "
                             "any size or count of a model")
        return int(text)

    def real(text):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"holds a number beyond the range of a float ({text[:24]})")
        return value

    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=constant,
                              parse_int=integer, parse_float=real)
    except RecursionError:
        raise ValueError(f"nests deeper than {max_depth} levels") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"is not valid JSON ({exc})") from None
    stack = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise ValueError(f"nests deeper than {max_depth} levels")
        children = node.values() if isinstance(node, dict) else node \
            if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return document


def check_format(document, *, member, name, newest):
    """The format version a file's JSON ``document`` declares, or a ValueError.

    Parameters
    ----------
    document : object
        The parsed JSON member.
    member : str
        The member's name, for the messages.
    name : str
        The format it must declare in ``"format"``.
    newest : int
        The newest ``"format_version"`` this toolkit reads.

    Returns
    -------
    version : int

    Raises
    ------
    ValueError
        Another format, a version that is not a positive integer, or one newer
        than ``newest`` (the message names the toolkit version that wrote it).
    """
    if not isinstance(document, dict) or document.get("format") != name:
        raise ValueError(f"{member} does not declare format {name!r}")
    version = document.get("format_version")
    if not is_integer(version) or version < 1:
        raise ValueError(f"bad format_version {version!r}")
    if version > newest:
        raise ValueError(
            f"format version {version} is newer than this sklearn_ser reads ({newest}); it "
            f"was written by sklearn_ser {document.get('sklearn_ser_version')}, upgrade to "
            "load it")
    return version
