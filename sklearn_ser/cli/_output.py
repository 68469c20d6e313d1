"""What the commands write: probability rows as a table or CSV, the cross-validation
report (JSON and the confusion-matrix plot), and the checks that an output can be
written before a long run."""

from __future__ import annotations

import csv
import errno
import json
import os
import sys
from pathlib import Path

from ..evaluation import plot_confusion_matrix
from ._console import log
from ._parser import CliError

__all__ = ["RowWriter", "check_output_file", "options_of", "prepare_output_folder",
           "write_report"]


class RowWriter:
    """Stream rows of ``key columns + label + one probability per class`` as a table or CSV."""

    def __init__(self, fmt, keys, classes, *, key_widths=None, stream=None):
        self.fmt = fmt
        self.keys = list(keys)
        self.classes = [str(name) for name in classes]
        self.stream = stream or sys.stdout
        self.key_widths = key_widths or [len(key) for key in self.keys]
        self.label_width = max(len("label"), *(len(name) for name in self.classes))
        self.csv = csv.writer(self.stream, lineterminator="\n") if fmt == "csv" else None

    def header(self):
        if self.csv:
            self.csv.writerow([*self.keys, "label", *self.classes])
            return
        cells = [f"{key:<{width}}" for key, width in zip(self.keys, self.key_widths, strict=True)]
        cells.append(f"{'label':<{self.label_width}}")
        cells += [f"{name:>{max(len(name), 5)}}" for name in self.classes]
        print("  ".join(cells).rstrip(), file=self.stream)

    def row(self, keys, label, proba):
        if self.csv:
            self.csv.writerow([*keys, label, *(repr(float(p)) for p in proba)])
            return
        cells = [f"{key:<{width}}" for key, width in zip(keys, self.key_widths, strict=True)]
        cells.append(f"{label!s:<{self.label_width}}")
        cells += [
            f"{p:>{max(len(name), 5)}.3f}" for p, name in zip(proba, self.classes, strict=True)
        ]
        print("  ".join(cells).rstrip(), file=self.stream, flush=True)


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
        if name not in ("run", "parser")
    }


def check_output_file(path):
    """Fail before a long run, not after it, when ``path`` cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise CliError(
            f"{path} is a folder; give the file name to write, e.g. {path / 'model.joblib'}"
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(
            errno.ENOENT, "folder of the output file not found", str(path.parent)
        )
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
