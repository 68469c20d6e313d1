"""Figures written straight to PNG: a confusion matrix, the three log-Mel channels,
and where a model listened.

matplotlib is optional: it is imported when a function is called, through
its object-oriented ``Figure`` (no ``pyplot``), so no global backend or open
figure is left behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..utils.validation import is_integer

__all__ = ["plot_confusion_matrix", "plot_explanation", "plot_log_mel_3d"]

CHANNEL_NAMES = ("static", "delta", "delta-delta")


def _new_figure(function, **kwargs):
    """A matplotlib ``Figure``, or an ImportError that says how to get matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            f"{function} needs matplotlib, which is not installed: pip install matplotlib"
        ) from exc
    return Figure(**kwargs)


def _save(figure, path):
    """Write the PNG next to ``path`` and rename it there: an interrupted write
    (Ctrl-C) leaves no partial file, and an earlier figure stays whole."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        figure.savefig(partial, format="png", dpi=120)
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()
    return path


def plot_confusion_matrix(cm, labels, path, *, title=None):
    """Write a confusion matrix as a PNG: counts, coloured by the row's recall.

    Parameters
    ----------
    cm : array-like [shape=(n_classes, n_classes)], int
        Rows are the true class, columns the predicted one (scikit-learn's
        :func:`~sklearn.metrics.confusion_matrix` convention), e.g. the
        ``confusion_matrix`` of :func:`cross_validate_report`.
    labels : sequence of str [length=n_classes]
        Class names, in the order of the rows.
    path : str or os.PathLike
        Where to write the PNG.
    title : str or None, default=None
        Figure title; default "Confusion matrix (N samples)".

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ValueError
        ``cm`` is not square or does not match ``labels``.
    ImportError
        matplotlib is not installed.
    """
    cm = np.asarray(cm)
    labels = [str(label) for label in labels]
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(labels):
        raise ValueError(
            f"cm must be a square matrix with one row per label: got shape {cm.shape} "
            f"for {len(labels)} labels"
        )
    support = cm.sum(axis=1, keepdims=True)
    recall = np.divide(cm, support, out=np.zeros(cm.shape), where=support > 0)
    size = 1.6 + 0.75 * len(labels)
    figure = _new_figure("plot_confusion_matrix", figsize=(size + 1.2, size))
    ax = figure.subplots()
    image = ax.imshow(recall, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    for (row, col), count in np.ndenumerate(cm):
        ax.text(
            col, row, f"{count}\n{recall[row, col]:.0%}", ha="center", va="center", fontsize=8,
            color="white" if recall[row, col] > 0.5 else "black",
        )
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks, labels, rotation=45, ha="right")
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or f"Confusion matrix ({int(cm.sum())} samples)")
    figure.tight_layout()
    return _save(figure, path)


def plot_log_mel_3d(features, path, *, hop_seconds=0.010, n_frames=None, title=None):
    """Write the static, delta and delta-delta log-Mel channels of one utterance as a PNG.

    The three panels of Pham et al. (2020), Fig. 1: time on the horizontal
    axis, Mel bin on the vertical one.

    Parameters
    ----------
    features : array-like [shape=(3, n_frames, n_mels) or (n_chunks, 3, chunk_frames, n_mels)]
        One utterance: the output of
        :func:`~sklearn_ser.features.log_mel_3d`, or its chunks from
        :class:`~sklearn_ser.LogMel3DTransformer` (``np.asarray(X[i])``),
        which are laid end to end (non-overlapping chunks give the utterance
        back, padding included).
    path : str or os.PathLike
        Where to write the PNG.
    hop_seconds : float, default=0.010
        Frame hop, for the time axis.
    n_frames : int or None, default=None
        Plot only the first ``n_frames`` frames, e.g. the real frames
        ``X.n_frames[X.offsets[i]:X.offsets[i + 1]].sum()`` to drop the
        padding of the last chunk.
    title : str or None, default=None
        Figure title.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ValueError
        ``features`` has another shape.
    ImportError
        matplotlib is not installed.
    """
    features = np.asarray(features, dtype=np.float32)
    if features.ndim == 4:  # chunks laid end to end: (3, n_chunks * chunk_frames, n_mels)
        features = features.transpose(1, 0, 2, 3).reshape(features.shape[1], -1, features.shape[3])
    if features.ndim != 3 or features.shape[0] != len(CHANNEL_NAMES) or 0 in features.shape:
        raise ValueError(
            "features must be one utterance of shape (3, n_frames, n_mels) or its chunks of "
            f"shape (n_chunks, 3, chunk_frames, n_mels), got shape {np.shape(features)}"
        )
    if n_frames is not None:
        if not is_integer(n_frames) or n_frames < 1:
            raise ValueError(f"n_frames={n_frames!r} must be an integer >= 1 (frames to plot)")
        features = features[:, : int(n_frames)]
    seconds = features.shape[1] * hop_seconds
    figure = _new_figure("plot_log_mel_3d", figsize=(8.0, 7.0))
    axes = figure.subplots(len(CHANNEL_NAMES), 1, sharex=True)
    for ax, channel, name in zip(axes, features, CHANNEL_NAMES, strict=True):
        # Symmetric colour limits for the deltas, so 0 (no change) sits mid-scale.
        limit = float(np.percentile(np.abs(channel), 99.5)) or 1.0
        levels = dict(vmin=-limit, vmax=limit) if name != "static" else {}
        image = ax.imshow(
            channel.T, origin="lower", aspect="auto", interpolation="nearest",
            extent=(0.0, seconds, 0, channel.shape[1]),
            cmap="magma" if name == "static" else "coolwarm", **levels,
        )
        figure.colorbar(image, ax=ax, pad=0.02)
        ax.set_ylabel("Mel bin")
        ax.set_title(name, fontsize=10, loc="left")
    axes[-1].set_xlabel("time (s)")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return _save(figure, path)


def plot_explanation(explanation, path, *, top_classes=3, title=None):
    """Write where a model listened as a PNG: the log-Mel input, the attention
    over time under it, and each chunk's probabilities of the top classes.

    Parameters
    ----------
    explanation : sklearn.utils.Bunch
        What :func:`sklearn_ser.explain.explain` returns.
    path : str or os.PathLike
        Where to write the PNG.
    top_classes : int, default=3
        How many classes' chunk probabilities to draw: those most probable
        for the whole utterance.
    title : str or None, default=None
        Figure title; by default the source and the predicted label.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ImportError
        matplotlib is not installed.
    """
    if not is_integer(top_classes) or top_classes < 1:
        raise ValueError(f"top_classes={top_classes!r} must be an integer >= 1")
    e = explanation
    times, hop = np.asarray(e.frame_times), float(e.hop_seconds)
    start, end = times[0] - hop / 2, times[-1] + hop / 2
    # a long recording gets a wider figure, up to a page
    width = float(np.clip(4.0 + 1.2 * (end - start), 8.0, 16.0))
    figure = _new_figure("plot_explanation", figsize=(width, 7.0))
    axes = figure.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": (3, 1.5, 1.5)})
    axes[0].imshow(np.asarray(e.log_mel).T, origin="lower", aspect="auto",
                   interpolation="nearest", cmap="magma",
                   extent=(start, end, 0, np.shape(e.log_mel)[1]))
    axes[0].set_ylabel("Mel bin")
    axes[0].set_title("static log-Mel (normalised)", fontsize=10, loc="left")
    axes[1].fill_between(times, e.attention, step="mid", alpha=0.6)
    axes[1].set_ylabel("attention")
    axes[1].set_ylim(bottom=0)
    axes[1].set_title("attention weight per 10 ms frame (sums to 1 per chunk)", fontsize=10,
                      loc="left")
    order = np.argsort(e.proba)[::-1][: int(top_classes)]
    for colour, k in enumerate(order):
        # each chunk over its own real frames (chunks may overlap, or leave gaps)
        axes[2].hlines(e.chunk_proba[:, k], e.chunk_start, e.chunk_end, colors=f"C{colour}",
                       linewidth=2, label=f"{e.classes[k]} ({e.proba[k]:.2f})")
    axes[2].set_ylim(0, 1)
    axes[2].set_ylabel("probability")
    axes[2].set_title("chunk probabilities (utterance's in brackets)", fontsize=10, loc="left")
    axes[2].legend(loc="upper right", fontsize=8, ncol=min(len(order), 4))
    axes[2].set_xlabel("time (s)")
    for ax in axes[1:]:
        for boundary in e.chunk_start[1:]:
            ax.axvline(boundary, color="0.5", linewidth=0.8, linestyle="--")
    source = Path(e.source).name if isinstance(e.source, str) else str(e.source)
    figure.suptitle(title if title is not None else f"{source}: predicted {e.label}")
    figure.tight_layout()
    return _save(figure, path)
