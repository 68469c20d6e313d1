"""The ``--dataset`` options -> ``(X, y, groups)``, by :func:`sklearn_ser.datasets.load_dataset`.

The checks here are of option combinations only (an option given with a dataset
it does not apply to, a pattern that does not compile), so that they fail as
usage errors before the corpus is read; the loaders check everything else.
"""

from __future__ import annotations

import os
import re
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from sklearn import config_context

from ..datasets import DEMO_DEFAULTS, load_dataset
from ..features import normalizes_by_speaker
from ._console import log, progress, strip_name
from ._parser import PROG, UsageError
from ._training import random_state

__all__ = ["fit_speakers", "load_data"]


def _check_folder_options(args):
    """``--label``, ``--groups`` and ``--extensions`` apply to ``--dataset folder`` only."""
    for option in ("label", "groups"):
        pattern = getattr(args, option, None)
        if pattern is None:
            continue
        if args.dataset != "folder":
            raise UsageError(f"--{option} applies to --dataset folder only")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise UsageError(f"--{option} {pattern!r} is not a valid regular expression: "
                             f"{exc}") from exc
    if getattr(args, "extensions", None) is not None:
        if args.dataset != "folder":
            raise UsageError("--extensions applies to --dataset folder only")
        bad = [ext for ext in args.extensions if not ext.startswith(".")]
        if bad:
            raise UsageError(f"--extensions takes endings that start with a dot, e.g. "
                             f".{bad[0]}; got {' '.join(bad)}")


def _demo_kwargs(args):
    """The demo corpus's arguments; ``--n-samples`` and ``--n-classes`` take their
    defaults here, so that a report's options record them."""
    if args.root is not None:
        raise UsageError("--root does not apply to --dataset demo (synthetic speech, made "
                         "in memory)")
    if getattr(args, "on_error", "raise") != "raise":
        raise UsageError("--on-error applies to a corpus (--root), not to --dataset demo")
    if args.n_samples is None:
        args.n_samples = DEMO_DEFAULTS["n_samples"]
    if args.n_classes is None:
        args.n_classes = DEMO_DEFAULTS["n_classes"]
    return {"n_samples": args.n_samples, "n_classes": args.n_classes,
            "random_state": random_state(args)}


def _corpus_kwargs(args):
    """The loader's arguments for a corpus under ``--root``."""
    for option in ("n_samples", "n_classes"):
        if getattr(args, option, None) is not None:
            raise UsageError(f"--{option.replace('_', '-')} applies to --dataset demo only")
    if args.root is None:
        raise UsageError(f"--dataset {args.dataset} needs --root PATH, the corpus folder")
    kwargs = {"on_error": getattr(args, "on_error", "raise")}
    if args.dataset == "folder":
        kwargs.update(label=args.label, groups=args.groups)
        if args.extensions is not None:
            kwargs["extensions"] = args.extensions
    return kwargs


def _check_root_level(args, data):
    """A folder corpus whose one label is a folder of further folders: ``--root``
    was given one level too high (``corpus/`` for ``corpus/emotions/<label>/``)."""
    labels = np.unique(data.target)
    if args.dataset != "folder" or args.label is not None or len(labels) != 1:
        return
    root = Path(os.path.abspath(args.root))
    if min(len(Path(name).relative_to(root).parts) for name in data.filenames) >= 3:
        raise UsageError(
            f"--root {args.root}: every file is under {args.root / labels[0]}, so '{labels[0]}' "
            "is the only class (the first folder under --root is the label); did you mean "
            f"--root {args.root / labels[0]}?"
        )


def load_data(args):
    """``(X, y, groups)`` for the ``--dataset`` options; X holds paths or waveforms."""
    _check_folder_options(args)
    demo = args.dataset == "demo"
    kwargs = _demo_kwargs(args) if demo else _corpus_kwargs(args)
    data = load_dataset(args.dataset, None if demo else args.root, **kwargs)
    for path, reason in data.skipped:  # always shown: these files are not trained on
        log(f"{PROG}: skipping {path}: {strip_name(reason, path)}")
    _check_root_level(args, data)
    if progress(args):  # the counts of labels and speakers: in the command's training line
        skipped = f" ({len(data.skipped)} skipped)" if data.skipped else ""
        log(f"demo: {len(data.target)} synthetic utterances of {DEMO_DEFAULTS['duration']:g} s"
            if demo else f"{args.dataset}: {len(data.target)} files from {args.root}{skipped}")
    return (data.data if demo else data.filenames), data.target, data.groups


def fit_speakers(settings, groups):
    """How the speakers reach the front end when the pipeline is fitted.

    Parameters
    ----------
    settings : dict
        The training settings (``training_settings(args)``).
    groups : np.ndarray [shape=(n_files,)] or None
        The speaker of every file, from :func:`load_data`.

    Returns
    -------
    context : context manager
        scikit-learn's metadata routing with ``--normalize speaker`` (the
        speakers go to ``fit`` as ``groups``), else a context that changes
        nothing.
    fit_params : dict
        ``{"groups": groups}`` with ``--normalize speaker``, else empty.

    Raises
    ------
    UsageError
        ``--normalize speaker`` on files without speakers.
    """
    if not normalizes_by_speaker(settings["normalize"]):
        return nullcontext(), {}
    if groups is None:
        raise UsageError("--normalize speaker needs the speaker of every file: pass "
                         "--groups REGEX (folder dataset)")
    return config_context(enable_metadata_routing=True), {"groups": groups}
