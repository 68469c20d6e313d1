"""Machinery shared by the corpus loaders.

Every loader runs the same three steps, each written once here:

1. check the options (:func:`check_options`) and the root (:func:`check_root`),
   and list the candidate files (:func:`list_files`);
2. parse each file name into labels and metadata and, with
   ``check_files=True``, decode the file (:func:`read_files`), applying the
   ``on_error`` policy to both;
3. assemble the :class:`~sklearn.utils.Bunch` (:func:`build_bunch`).

:func:`load_corpus` chains the three for the corpora with a fixed layout.

A file that fails is dropped from every array at once, because a record
(its path with all of its fields) is kept or dropped as one unit.
"""

from __future__ import annotations

import errno
import os
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

import numpy as np
from sklearn.utils import Bunch

from ..io import load_audio
from ._duplicates import refuse_duplicates

__all__ = [
    "ON_ERROR_OPTIONS",
    "build_bunch",
    "check_flag",
    "check_options",
    "check_root",
    "list_files",
    "load_corpus",
    "lookup_code",
    "match_name",
    "read_files",
    "walk_files",
]

ON_ERROR_OPTIONS = ("raise", "skip")


def check_flag(name, value):
    """Raise ``ValueError`` naming the parameter unless ``value`` is a bool."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name}={value!r} must be True or False")


def check_options(*, on_error, check_files):
    """Validate the ``on_error`` and ``check_files`` options of a loader.

    Raises
    ------
    ValueError
        ``on_error`` is not one of :data:`ON_ERROR_OPTIONS`, or ``check_files``
        is not a bool; the message names the parameter and repeats the value.
    """
    if not isinstance(on_error, str) or on_error not in ON_ERROR_OPTIONS:
        raise ValueError(f"on_error={on_error!r} must be one of {ON_ERROR_OPTIONS}")
    check_flag("check_files", check_files)


def check_root(root):
    """Return the absolute path of an existing corpus folder.

    Symbolic links are kept as given (no ``resolve``), so the returned file
    names stay under the folder the user named.

    Parameters
    ----------
    root : str or os.PathLike
        The corpus folder.

    Returns
    -------
    root : pathlib.Path
        Absolute path.

    Raises
    ------
    TypeError
        ``root`` is not a path.
    FileNotFoundError
        ``root`` does not exist.
    NotADirectoryError
        ``root`` is a file.
    """
    if not isinstance(root, str | os.PathLike):
        raise TypeError(f"root must be a path (str or os.PathLike), got {type(root).__name__}")
    path = Path(os.path.abspath(os.fspath(root)))
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "corpus root not found", str(path))
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "corpus root is not a folder", str(path))
    return path


def walk_files(root):
    """Every file under ``root``, through symlinked folders too, sorted.

    ``Path.rglob`` does not enter a symlinked folder, so a class folder
    linked into a corpus would vanish without a word. The rules that keep
    every file listed once, under one label and one speaker:

    - a link to a folder outside ``root`` is followed;
    - a link to a folder inside ``root``, or back to a folder that holds
      the link (a cycle, inside or outside ``root``), is not: that folder is
      listed under its own path (or not at all, if hidden), and a
      ``UserWarning`` names the link (following it would list its files
      twice, under two labels);
    - a folder or file reached by two paths (two links to one folder outside
      ``root``, a file linked next to itself, or one file hard-linked under
      two names) is a ``ValueError`` naming both: which label or speaker it
      has would be a guess, and a file on both sides of a split leaks the
      test set into training;
    - a broken link is listed (:func:`read_files` reports it), and names
      starting with ``"."`` (hidden files and folders, macOS ``._*`` files)
      are not.

    Parameters
    ----------
    root : pathlib.Path

    Returns
    -------
    paths : list of pathlib.Path
        Paths under ``root`` (through the links, not resolved), sorted by
        path components.

    Raises
    ------
    ValueError
        A folder or a file is reached by two paths.
    """
    import warnings

    root_real = os.path.realpath(root)

    def inside_root(real):
        return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)

    def reached_twice(kind, first, second, how="through a symbolic link"):
        return ValueError(
            f"the {kind} {second} is the {kind} {first} ({how}): its files "
            "would be listed twice, with two labels or speakers, or on both sides of a split; "
            "remove one of the two paths"
        )

    folders, files, inodes, paths = {}, {}, {}, []
    for folder, subfolders, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in folders:
            raise reached_twice("folder", folders[real], folder)
        folders[real] = folder
        kept = []
        for name in sorted(subfolders):
            path = os.path.join(folder, name)
            if name.startswith("."):
                continue
            target = os.path.realpath(path)
            if os.path.islink(path):
                cycle = real == target or real.startswith(target.rstrip(os.sep) + os.sep)
                if cycle or inside_root(target):
                    below_root = Path(os.path.relpath(target, root_real)).parts
                    hidden = not cycle and any(part.startswith(".") for part in below_root)
                    why = ("back to a folder that holds the link (a cycle)" if cycle else
                           "to a hidden folder, whose files are not corpus files" if hidden else
                           f"to a folder under {root}, listed under its own path")
                    warnings.warn(f"not following the link {path}: it leads {why} ({target})",
                                  UserWarning, stacklevel=3)
                    continue
            kept.append(name)
        subfolders[:] = kept
        for name in names:
            if name.startswith("."):
                continue
            path = Path(folder) / name
            if path.is_symlink() and not path.exists():
                paths.append(path)  # broken: read_files names it
                continue
            if not path.is_file():
                continue
            target = os.path.realpath(path)
            if target in files:
                raise reached_twice("file", files[target], path)
            files[target] = path
            status = path.stat()
            inode = (status.st_dev, status.st_ino)
            if status.st_ino and inode in inodes:
                raise reached_twice("file", inodes[inode], path, "a hard link: one file, two "
                                                               "names")
            inodes[inode] = path
            paths.append(path)
    return sorted(paths)


def list_files(root, pattern, *, layout):
    """List the files under ``root`` that match a glob pattern, sorted.

    Parameters
    ----------
    root : pathlib.Path
        Corpus folder, from :func:`check_root`.
    pattern : str
        Glob pattern relative to ``root``, e.g. ``"wav/*.wav"``, one part per
        folder level, matched without regard to case (``X.WAV`` is listed),
        through symlinked folders (:func:`walk_files`).
    layout : str
        Human-readable layout for the error message, e.g. ``"wav/SSTTTEV.wav"``.

    Returns
    -------
    paths : list of pathlib.Path
        Sorted by path components, so the order is the same on every machine.

    Raises
    ------
    FileNotFoundError
        No file matches; the message names the expected layout and ``root``.
    """
    wanted = [part.lower() for part in PurePosixPath(pattern).parts]

    def matches(path):
        parts = path.relative_to(root).parts
        return len(parts) == len(wanted) and all(
            fnmatchcase(part.lower(), glob) for part, glob in zip(parts, wanted, strict=True))

    paths = [path for path in walk_files(root) if matches(path)]
    if not paths:
        hint = ""
        if len(wanted) > 1 and fnmatchcase(root.name.lower(), wanted[0]):
            hint = f"; give the folder that holds {root.name}/, {root.parent}"
        raise FileNotFoundError(f"no files matching {layout} under {root}{hint}")
    return paths


def match_name(path, pattern, *, layout):
    """Match a file name against a compiled regular expression.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    pattern : re.Pattern
        Matched against ``path.name`` as a whole (``fullmatch``).
    layout : str
        The expected layout, repeated in the error.

    Returns
    -------
    fields : dict of str to str
        The named groups.

    Raises
    ------
    ValueError
        The name does not match; the message names the file and the layout.
    """
    match = pattern.fullmatch(path.name)
    if match is None:
        raise ValueError(f"{path}: the file name does not follow the layout {layout}")
    return match.groupdict()


def lookup_code(path, what, code, table):
    """Translate one code of a file name through a table, or fail naming the file.

    Parameters
    ----------
    path : pathlib.Path
        The file, for the message.
    what : str
        What the code is ("emotion code", "speaker", ...), for the message.
    code : str
        The code read from the name.
    table : dict
        Valid codes and what they mean.

    Returns
    -------
    value
        ``table[code]``.

    Raises
    ------
    ValueError
        ``code`` is not in ``table``; the message lists the valid codes.
    """
    if code not in table:
        raise ValueError(f"{path}: {what} {code!r} is not one of {sorted(table)}")
    return table[code]


def read_files(paths, parse, *, on_error, check_files):
    """Parse every file name and, optionally, decode every file.

    Parameters
    ----------
    paths : list of pathlib.Path
        Candidate files, in output order.
    parse : callable
        ``parse(path) -> dict or None``: the file's ``target``, ``groups`` and
        metadata, or ``None`` for a valid file the caller leaves out on
        purpose (e.g. RAVDESS song with ``speech_only=True``). It raises
        ``ValueError`` for a name that does not follow the layout.
    on_error : {"raise", "skip"}
        ``"raise"`` re-raises the first error unchanged (it names the file);
        ``"skip"`` records ``(path, reason)`` and goes on.
    check_files : bool
        Decode each kept file with ``load_audio(path, sample_rate=None)``.

    Returns
    -------
    records : list of (str, dict)
        The path of each kept file with its fields.
    skipped : list of (str, str)
        The path and the reason of each skipped file.
    """
    records, skipped = [], []
    for path in paths:
        try:
            if not Path(path).exists():  # a broken link, or a file gone since the listing
                raise FileNotFoundError(errno.ENOENT, "audio file not found (a broken link?)",
                                        str(path))
            fields = parse(path)
            if fields is None:
                continue
            if check_files:
                load_audio(path, sample_rate=None)
        # AudioFileError and InvalidSignalError are ValueErrors; OSError covers a
        # file that vanished or cannot be opened between listing and decoding.
        except (ValueError, OSError) as exc:
            if on_error == "raise":
                raise
            skipped.append((str(path), str(exc)))
            continue
        records.append((str(path), fields))
    return records, skipped


def build_bunch(records, skipped, *, root, layout, target_names, descr):
    """Assemble the loaders' :class:`~sklearn.utils.Bunch`.

    Parameters
    ----------
    records : list of (str, dict)
        From :func:`read_files`. Each dict holds ``target``, ``groups`` (a str,
        or ``None`` for no grouping) and the same metadata keys.
    skipped : list of (str, str)
        From :func:`read_files`.
    root : pathlib.Path
        Corpus folder, for the description and the error.
    layout : str
        Expected layout, for the error.
    target_names : sequence of str or None
        The corpus's full label list; ``None`` takes the sorted labels present.
    descr : str
        The corpus paragraph; a line with the counts is appended.

    Returns
    -------
    data : Bunch
        ``filenames``, ``target``, ``target_names``, ``groups``, one array per
        metadata key, ``skipped`` and ``DESCR``.

    Raises
    ------
    ValueError
        No file was kept (all skipped or left out by the loader's selection),
        or one recording has two labels or groups (:func:`refuse_duplicates`).
    """
    refuse_duplicates(records)
    if not records:
        why = (
            f"the first of {len(skipped)} skipped files, {skipped[0][0]}, failed with: "
            f"{skipped[0][1]}"
            if skipped
            else "the loader's selection (e.g. speech_only=True) left out every file"
        )
        raise ValueError(f"no file of layout {layout} under {root} was loaded; {why}")
    filenames = np.array([path for path, _ in records])
    columns = {key: np.array([fields[key] for _, fields in records]) for key in records[0][1]}
    target = columns.pop("target")
    groups = columns.pop("groups")
    if groups.dtype == object:  # every record has groups=None: no grouping
        groups = None
    if target_names is None:
        target_names = np.unique(target)
    n_groups = "no" if groups is None else len(np.unique(groups))
    summary = (
        f"Loaded from {root}: {len(filenames)} files, {n_groups} groups, "
        f"{len(np.unique(target))} labels, {len(skipped)} files skipped."
    )
    return Bunch(
        filenames=filenames,
        target=target,
        target_names=np.array(sorted(target_names)),
        groups=groups,
        **columns,
        skipped=list(skipped),
        DESCR=f"{descr}\n\n{summary}",
    )


def load_corpus(root, *, pattern, layout, parse, target_names, descr, on_error, check_files):
    """Run the three steps for a corpus whose files follow a fixed layout.

    Parameters
    ----------
    root : str or os.PathLike
        The corpus folder.
    pattern : str
        Glob pattern of the candidate files, relative to ``root``.
    layout : str
        The layout, for error messages (e.g. ``"wav/SSTTTEV.wav"``).
    parse : callable
        ``parse(path) -> dict or None``, see :func:`read_files`.
    target_names : sequence of str
        The corpus's full label list.
    descr : str
        The corpus paragraph of ``DESCR``.
    on_error : {"raise", "skip"}
        Error policy, see :func:`read_files`.
    check_files : bool
        Decode every file.

    Returns
    -------
    data : Bunch
        See :func:`build_bunch`.
    """
    check_options(on_error=on_error, check_files=check_files)
    root = check_root(root)
    paths = list_files(root, pattern, layout=layout)
    records, skipped = read_files(paths, parse, on_error=on_error, check_files=check_files)
    return build_bunch(
        records, skipped, root=root, layout=layout, target_names=target_names, descr=descr
    )
