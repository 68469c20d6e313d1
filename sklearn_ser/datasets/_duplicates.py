"""One recording under two labels: refused, naming both files (under two groups: warned of)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import warnings

from ..exceptions import AudioFileError
from ..io import open_regular_file
from ..utils import caller_stacklevel

__all__ = ["refuse_duplicates"]

#: Bytes hashed first to tell files of one size apart; a full hash only for a tie.
_HEAD_BYTES = 1 << 16


def _content_digest(path, limit=None):
    """blake2b of a file's first ``limit`` bytes (all of it for None), or None."""
    digest = hashlib.blake2b(digest_size=16)
    try:
        with open_regular_file(path, what="audio file", error=AudioFileError) as file:
            remaining = limit
            while remaining is None or remaining > 0:
                block = file.read(1 << 20 if remaining is None else min(1 << 20, remaining))
                if not block:
                    break
                digest.update(block)
                remaining = None if remaining is None else remaining - len(block)
    except (OSError, AudioFileError):
        return None  # read_files has named it already, or skipped it
    return digest.hexdigest()


def _copies(records):
    """``(first, copy)`` pairs of records whose files hold the same bytes."""
    by_size = {}
    for path, fields in records:
        with contextlib.suppress(OSError):
            by_size.setdefault(os.stat(path).st_size, []).append((path, fields))
    for tied in (group for group in by_size.values() if len(group) > 1):
        by_head = {}
        for path, fields in tied:
            by_head.setdefault(_content_digest(path, _HEAD_BYTES), []).append((path, fields))
        for key, same_head in by_head.items():
            if key is None or len(same_head) < 2:
                continue
            seen = {}
            for record in same_head:
                first = seen.setdefault(_content_digest(record[0]), record)
                if first is not record:
                    yield first, record


def refuse_duplicates(records):
    """Raise when one recording sits under two labels; warn when under two groups.

    The same file twice (a link) is refused while listing
    (:func:`~sklearn_ser.datasets._base.walk_files`); here, byte-identical
    copies are found. Only files of the same size are compared, first by a
    hash of their first 64 kB, then of the whole file, so a corpus is read
    once more at most where sizes tie. A copy under another label is an
    error (which label is right would be a guess); one under the same label
    but another group (speaker) draws a ``UserWarning`` (it would sit on
    both sides of a split by speaker); one under the same label and group
    is left alone.

    Parameters
    ----------
    records : list of (str, dict)
        As :func:`read_files` returns them, each with ``target`` and ``groups``.

    Raises
    ------
    ValueError
        Naming both files and both labels.
    """
    other_groups = []
    for (first, first_fields), (copy, fields) in _copies(records):
        if fields["target"] != first_fields["target"]:
            raise ValueError(
                f"{copy} holds the same bytes as {first}, but its label is "
                f"{fields['target']!r}, not {first_fields['target']!r}: one recording with two "
                "labels; remove the copy whose label is wrong"
            )
        if fields.get("groups") != first_fields.get("groups"):
            other_groups.append(f"{copy} (group {fields.get('groups')!r}) is {first} (group "
                                f"{first_fields.get('groups')!r})")
    if other_groups:
        warnings.warn(
            f"{len(other_groups)} file(s) hold the same bytes as a file of another group: "
            f"{'; '.join(other_groups[:5])}{' and more' if len(other_groups) > 5 else ''}. "
            "A split by group would put one recording on both sides; remove the copies "
            "unless that is intended", UserWarning, stacklevel=caller_stacklevel())
