"""Generic loader: audio files in a folder tree, labels from paths."""

from __future__ import annotations

import re
import warnings

from ._base import build_bunch, check_options, check_root, read_files, walk_files

__all__ = ["load_audio_folder"]

#: Endings of audio files a folder may hold (libsndfile's formats and common
#: compressed ones): those left out by ``extensions`` are named in a warning, so
#: that a class recorded in another format does not vanish without a word.
AUDIO_SUFFIXES = (".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif",
                  ".aifc", ".au", ".snd", ".caf", ".w64", ".rf64", ".m4a", ".aac", ".wma",
                  ".webm")


def _check_extensions(extensions):
    """Return the extensions as a tuple of lower-case strings that start with a dot."""
    if isinstance(extensions, str):
        extensions = (extensions,)
    extensions = tuple(extensions)
    bad = [ext for ext in extensions if not isinstance(ext, str) or not ext.startswith(".")]
    if not extensions or bad:
        raise ValueError(
            f"extensions={extensions!r} must be a non-empty sequence of strings that start "
            f"with a dot, such as ('.wav', '.flac')"
        )
    return tuple(ext.lower() for ext in extensions)


def _path_reader(spec, param):
    """Turn a ``label`` or ``groups`` option into ``read(path, relative) -> str``.

    ``spec`` is None (the first folder under the root, as in torchvision's
    ``ImageFolder``), a regular expression (str or
    compiled) searched in the relative path, or a callable on the relative
    path. The reader raises ``ValueError`` naming the file when it finds no
    value.
    """
    if spec is None:

        def read(path, relative):
            if "/" not in relative:
                raise ValueError(
                    f"{path}: the file sits directly in the root, so it has no {param} "
                    f"folder; expected ROOT/<{param}>/<file>, or pass {param}= a regex or "
                    "a callable"
                )
            return relative.split("/", 1)[0]

        return read
    if isinstance(spec, str | re.Pattern):
        try:
            pattern = re.compile(spec)
        except re.error as exc:
            raise ValueError(f"{param}={spec!r} is not a valid regular expression: {exc}") from exc

        def read(path, relative):
            match = pattern.search(relative)
            value = None if match is None else match.group(1 if pattern.groups else 0)
            if not value:
                raise ValueError(
                    f"{path}: {param}={pattern.pattern!r} does not match (or captures an "
                    f"empty string in) its path relative to the root, {relative!r}"
                )
            return value

        return read
    if callable(spec):

        def read(path, relative):
            value = spec(relative)
            if value is None or value == "":
                raise ValueError(f"{path}: {param}={spec!r} returned {value!r} for {relative!r}")
            return str(value)

        return read
    raise TypeError(
        f"{param} must be None, a regular expression or a callable, got {type(spec).__name__}"
    )


def _describe(spec, param):
    """How a ``label`` or ``groups`` option is read, for ``DESCR``."""
    if spec is None:
        return ("the name of the first folder under the root" if param == "label"
                else "none (groups is None)")
    if isinstance(spec, str | re.Pattern):
        return f"the regular expression {re.compile(spec).pattern!r}"
    return f"the callable {getattr(spec, '__name__', spec)!r}"


def load_audio_folder(
    root,
    *,
    label=None,
    groups=None,
    extensions=(".wav", ".flac", ".ogg"),
    on_error="raise",
    check_files=True,
):
    """Load the audio files found under a folder, with labels read from their paths.

    The folder is walked recursively; files and folders whose name starts
    with a dot (e.g. macOS ``._x.wav`` resource forks) are ignored.

    Parameters
    ----------
    root : str or os.PathLike
        The folder to walk.
    label : None, str, re.Pattern or callable, default=None
        Where each file's label comes from. ``None``: the name of the
        first folder under ``root`` on the file's path, whatever the nesting
        below it, as in torchvision's ``ImageFolder`` (``root/anger/x.wav``
        and ``root/anger/session1/x.wav`` -> "anger"; a file directly in
        ``root`` has no label). For another layout, e.g.
        ``root/<speaker>/<emotion>/x.wav``, pass a regular expression such
        as ``r"^[^/]+/([^/]+)/"``. A regular expression: searched
        (``re.search``) in the path relative to ``root`` written with "/"
        separators; the label is its first group, or the whole match when it
        has no group. A callable: called with that relative path (str),
        returning the label (converted with ``str``), or ``None`` when the
        file has none. A file without a label is an error (see ``on_error``).
    groups : None, str, re.Pattern or callable, default=None
        Where each file's group (speaker) comes from, read as ``label`` is
        from a regex or callable. ``None`` gives ``groups=None`` in the
        result rather than one group per file, so that a group-aware splitter
        such as ``GroupKFold`` fails loudly instead of splitting one speaker's
        files across folds.
    extensions : sequence of str, default=(".wav", ".flac", ".ogg")
        File name endings to load, matched case-insensitively. Audio files
        with another ending (``.aiff``, ``.mp3``, ``.wave``, ``.m4a`` and the
        other common audio endings) are named in a ``UserWarning``; other
        files (annotations, READMEs) are ignored silently.
    on_error : {"raise", "skip"}, default="raise"
        What to do with a file without a label or group or, with
        ``check_files=True``, that cannot be decoded. ``"raise"`` raises the
        error, which names the file; ``"skip"`` leaves the file out of every
        array and records ``(path, reason)`` in ``skipped``.
    check_files : bool, default=True
        Decode every file once with ``load_audio(path, sample_rate=None)``.

    Returns
    -------
    data : sklearn.utils.Bunch
        filenames : np.ndarray of str [shape=(n_files,)]
            Absolute paths, sorted.
        target : np.ndarray of str [shape=(n_files,)]
            The labels.
        target_names : np.ndarray of str [shape=(n_labels,)]
            The sorted unique labels present (a folder has no fixed label list).
        groups : np.ndarray of str [shape=(n_files,)] or None
            The groups, or ``None`` when ``groups=None``.
        skipped : list of (str, str)
            Files left out by ``on_error="skip"`` and why.
        DESCR : str
            Where the files, labels and groups came from.

    Raises
    ------
    FileNotFoundError
        ``root`` does not exist or holds no file with one of the extensions.
    ValueError
        Invalid ``on_error``, ``extensions`` or regular expression; with
        ``on_error="raise"``, a file without a label or group; every file
        skipped.
    TypeError
        ``label`` or ``groups`` of an unsupported type.
    sklearn_ser.exceptions.AudioFileError
        With ``on_error="raise"`` and ``check_files=True``, a file that cannot
        be decoded.
    """
    check_options(on_error=on_error, check_files=check_files)
    extensions = _check_extensions(extensions)
    read_label = _path_reader(label, "label")
    read_group = None if groups is None else _path_reader(groups, "groups")
    root = check_root(root)
    layout = f"ROOT/**/*{{{','.join(extensions)}}}"
    visible = [
        path for path in walk_files(root)
        if not any(part.startswith(".") for part in path.relative_to(root).parts)
    ]
    paths = [path for path in visible if path.name.lower().endswith(extensions)]
    left_out = [path for path in visible if path.suffix.lower() in AUDIO_SUFFIXES
                and not path.name.lower().endswith(extensions)]
    if left_out:
        endings = sorted({path.suffix.lower() for path in left_out})
        warnings.warn(
            f"{len(left_out)} audio file(s) under {root} are left out, since their names "
            f"do not end in {', '.join(extensions)}: "
            f"{', '.join(str(path) for path in left_out[:5])}"
            f"{f' and {len(left_out) - 5} more' if len(left_out) > 5 else ''}. To load "
            f"them, add their endings to extensions= (command line: --extensions "
            f"{' '.join(extensions + tuple(endings))})",
            UserWarning, stacklevel=2,
        )
    if not paths:
        raise FileNotFoundError(f"no files ending in {', '.join(extensions)} under {root}")

    def parse(path):
        relative = path.relative_to(root).as_posix()
        return {
            "target": read_label(path, relative),
            "groups": None if read_group is None else read_group(path, relative),
        }

    records, skipped = read_files(paths, parse, on_error=on_error, check_files=check_files)
    descr = (
        f"Audio files ending in {', '.join(extensions)} found under {root}. Labels from "
        f"{_describe(label, 'label')}; groups from {_describe(groups, 'groups')}."
    )
    return build_bunch(records, skipped, root=root, layout=layout, target_names=None, descr=descr)
