"""What the commands write: probability rows as a table, CSV or JSON, the
cross-validation report (JSON and the confusion-matrix plot), a model file
(whole or not at all), and the checks that an output can be written before a
long run."""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import tempfile
from pathlib import Path

from ..evaluation import plot_confusion_matrix
from ..persistence import save
from ._console import log
from ._parser import CliError

__all__ = ["RowWriter", "options_of", "prepare_output_file", "prepare_output_folder",
           "save_whole", "write_report"]


def _cell(key):
    """A key column's text: seconds with 3 decimals, anything else as it is."""
    return f"{key:.3f}" if isinstance(key, float) else str(key)


class RowWriter:
    """Write rows of ``key columns + label + one probability per class`` as a table or
    CSV (a line per row, as it comes), or JSON (a list of records, at :meth:`close`).

    A row whose label is None (nothing to classify) has no probabilities: NaN
    in a table or CSV, ``null`` in JSON.
    """

    def __init__(self, fmt, keys, classes, *, key_widths=None, stream=None):
        self.fmt = fmt
        self.keys = list(keys)
        self.classes = [str(name) for name in classes]
        self.stream = stream or sys.stdout
        self.key_widths = key_widths or [len(key) for key in self.keys]
        self.label_width = max(len("label"), *(len(name) for name in self.classes))
        self.csv = csv.writer(self.stream, lineterminator="\n") if fmt == "csv" else None
        self.records = []

    def header(self):
        if self.fmt == "json":
            return
        if self.csv:
            self.csv.writerow([*self.keys, "label", *self.classes])
            return
        cells = [f"{key:<{width}}" for key, width in zip(self.keys, self.key_widths, strict=True)]
        cells.append(f"{'label':<{self.label_width}}")
        cells += [f"{name:>{max(len(name), 5)}}" for name in self.classes]
        print("  ".join(cells).rstrip(), file=self.stream)

    def row(self, keys, label, proba):
        if self.fmt == "json":
            probabilities = None if label is None else dict(
                zip(self.classes, map(float, proba), strict=True))
            self.records.append({**dict(zip(self.keys, keys, strict=True)), "label": label,
                                 "probabilities": probabilities})
            return
        keys = [_cell(key) for key in keys]
        proba = [math.nan] * len(self.classes) if label is None else proba
        label = "(silence)" if label is None else label
        if self.csv:
            self.csv.writerow([*keys, label, *(repr(float(p)) for p in proba)])
            return
        cells = [f"{key:<{width}}" for key, width in zip(keys, self.key_widths, strict=True)]
        cells.append(f"{label!s:<{self.label_width}}")
        cells += [
            f"{p:>{max(len(name), 5)}.3f}" for p, name in zip(proba, self.classes, strict=True)
        ]
        print("  ".join(cells).rstrip(), file=self.stream, flush=True)

    def close(self):
        """Print the JSON records (nothing for a table or CSV, already written)."""
        if self.fmt == "json":
            print(json.dumps(self.records, indent=2), file=self.stream)


def write_report(report, output, *, extra=None):
    """Write ``report.json`` and ``confusion_matrix.png`` into ``output``; return the paths."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    path = output / "report.json"
    path.write_text(json.dumps({**(extra or {}), **report}, indent=2) + "\n")
    written = [path]
    try:
        written.append(
            plot_confusion_matrix(report["confusion_matrix"], report["labels"],
                                  output / "confusion_matrix.png")
        )
    except ImportError as exc:
        log(f"skipping confusion_matrix.png: {exc}")
    return written


def options_of(args):
    """The parsed options as JSON-ready values, for a report's record of how it was made."""
    return {
        name: str(value) if isinstance(value, Path) else value
        for name, value in vars(args).items()
        if name not in ("run", "parser", "argv", "stop_signals")
    }


def prepare_output_file(path):
    """Before a long run, not after it: create the folder of the output file
    ``path`` and check that a file can be written there (and over ``path``, where
    it exists, which stays as it is)."""
    path = Path(path)
    if path.is_dir():
        raise CliError(
            f"{path} is a folder; give the file name to write, e.g. {path / 'model.sser'}"
        )
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        raise CliError(f"cannot write {path}: {folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc} "
                       f"({exc.filename or folder})") from exc
    if path.exists() and not os.access(path, os.W_OK):
        raise CliError(f"cannot write {path}: the file exists and is read-only")
    return path


def save_whole(model, path):
    """:func:`sklearn_ser.persistence.save` into a file next to ``path`` with the same
    name ending (so the same format), renamed to ``path`` once complete: an
    interrupted save leaves no partial file, and an existing ``path`` as it was."""
    path = Path(path)
    partial = path.with_name(f".{os.getpid()}-partial-{path.name}")
    try:
        save(model, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def prepare_output_folder(path):
    """Create the ``--output`` folder ``path`` (and its parents) before a long run,
    so a file in the way or a folder that cannot be written fails now, not after
    the training (which would lose the report)."""
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise CliError(f"--output {path} is a broken symbolic link; give a folder to write "
                       "the report into")
    if path.exists() and not path.is_dir():
        raise CliError(f"--output {path} is a file; give a folder to write the report into")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create the --output folder {path}: "
                       f"{exc.strerror or exc}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise CliError(f"cannot write into the --output folder {path}: permission denied")
    return path
