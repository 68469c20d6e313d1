"""The numpydoc entries of the front end's parameters, each written once.

:class:`~sklearn_ser.features.LogMel3DTransformer` and the pure functions
fill their docstrings from :data:`FRONT_END_DOCS`, each entry showing the
default of :data:`~sklearn_ser.features.FRONT_END_DEFAULTS`.
"""

from __future__ import annotations

from types import MappingProxyType

from ..io import RESAMPLERS
from ._params import FRONT_END_DEFAULTS, FUNCTION_DEFAULTS, WINDOWS

__all__ = ["FRONT_END_DOCS"]


def _shown(value):
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _doc(names, kind, description, *, shown=_shown):
    defaults = {**FRONT_END_DEFAULTS, **FUNCTION_DEFAULTS}
    shown = ", ".join(shown(defaults[name]) for name in names.split(", "))
    return f"{names} : {kind}, default={shown}\n    " + description.replace("\n", "\n    ")


_CHUNK_SECONDS = FRONT_END_DEFAULTS["chunk_frames"] * FRONT_END_DEFAULTS["hop_seconds"]

_ENTRIES = {
    "sample_rate": _doc("sample_rate", "int", "Sampling rate in Hz, 1,000 to 384,000."),
    "n_mels": _doc("n_mels", "int", "Number of triangular Mel filters, 1 to 256."),
    "n_fft": _doc("n_fft", "int",
                  "FFT size in samples; at least the frame length, at most 2**16."),
    "frame_seconds": _doc(
        "frame_seconds", "float",
        "Frame (window) length in seconds (at most 1), rounded half up to whole\n"
        "samples."),
    "hop_seconds": _doc(
        "hop_seconds", "float",
        "Frame hop in seconds (at most 1), rounded half up to whole samples."),
    "f_min_f_max": _doc(
        "f_min, f_max", "float",
        "Edges of the lowest and highest filter in Hz;\n"
        "``0 <= f_min < f_max <= sample_rate / 2``."),
    "preemphasis": _doc(
        "preemphasis", "float",
        "Pre-emphasis coefficient ``a`` in [0, 1], ``y[n] = x[n] - a x[n-1]``;\n"
        "0 disables it."),
    "window": _doc(
        "window", "{" + ", ".join(f'"{name}"' for name in WINDOWS) + "}",
        "Frame window. The paper does not name one; psf's default is rectangular."),
    "delta_width": _doc(
        "delta_width", "int",
        "``N`` of the delta regression (eq. 5), used for both deltas; 1 to 100."),
    "chunk_frames": _doc(
        "chunk_frames", "int",
        f"Frames per chunk, 1 to 6000; the default, {_CHUNK_SECONDS:g} s at the default\n"
        "hop, is the paper's input length."),
    "chunk_hop_frames": _doc(
        "chunk_hop_frames", "int or None",
        "Hop between chunk starts in frames; ``None`` means ``chunk_frames``\n"
        "(no overlap). Smaller values give overlapping chunks, at least\n"
        "``chunk_frames / 8`` (a frame in at most 8 chunks); larger ones skip\n"
        "the frames between chunks."),
    "max_chunks": _doc(
        "max_chunks", "int or None",
        "Keep at most this many chunks per utterance (the first ones); bounds\n"
        "the memory a very long outlier can take."),
    "normalize": _doc(
        "normalize", 'bool, "utterance" or "speaker"',
        "Standardise each (channel, Mel bin) with the mean and standard\n"
        "deviation of the real frames seen in :meth:`fit`. ``\"utterance\"``\n"
        "first standardises each utterance with its own frames' statistics\n"
        "(which removes a speaker's or a channel's constant colouring, and any\n"
        "overall level, the loudness of anger included), then with those of\n"
        ":meth:`fit`. ``\"speaker\"`` first standardises each utterance with\n"
        "the statistics of all its speaker's utterances in the same call, the\n"
        "speakers given as ``groups`` to :meth:`fit` and :meth:`transform`\n"
        "(at prediction, only that speaker's unlabelled audio; see the user\n"
        "guide on when each is legitimate). Padding frames are set to 0 after\n"
        "normalisation, i.e. to the training mean."),
    "resampler": _doc(
        "resampler", "{" + ", ".join(f'"{name}"' for name in RESAMPLERS) + "}",
        "Resampling engine (see :func:`sklearn_ser.io.resample`)."),
    "trim_zeros": _doc(
        "trim_zeros", "bool",
        "Drop each source's leading and trailing samples that are exactly 0\n"
        "(digital silence, as in a corpus padded or cut to a fixed length)\n"
        "before resampling and framing. Left in, they become frames at the log floor\n"
        "(log(eps) = -36), far below speech, which inflate the statistics;\n"
        "trimmed, the utterance is shorter and its last chunk is padded\n"
        "instead. Off by default: psf (and the paper) frame every sample."),
    "speed_perturbation": _doc(
        "speed_perturbation", "tuple of float or None",
        "Speed factors of extra training copies, e.g. ``(0.9, 1.1)`` (Ko et al.\n"
        "2015): in :meth:`fit_transform`, the training side of a ``Pipeline``,\n"
        "every utterance also gives the chunks of a copy resampled to\n"
        "``sample_rate / factor`` and read at ``sample_rate`` (0.9: slower and\n"
        "lower, 1.1: faster and higher), after its own chunks, so a label\n"
        "covers them all; each factor adds about ``1 / factor`` times the\n"
        "training chunks. :meth:`fit`'s statistics and :meth:`transform` (the\n"
        "prediction side) see the recordings as they are. ``None``, the\n"
        "default, makes no copies."),
    "noise_snr": _doc(
        "noise_snr", "tuple of float or None",
        "``(low, high)`` signal-to-noise ratios in dB of a noisy training copy,\n"
        "e.g. ``(10, 30)``: in :meth:`fit_transform`, the training side of a\n"
        "``Pipeline``, every utterance also gives the chunks of a copy with white\n"
        "Gaussian noise added at an SNR drawn uniformly from the range (one draw\n"
        "per utterance, against the power of its samples after resampling and\n"
        "trimming), after its own chunks and those of ``speed_perturbation``, so\n"
        "a label covers them all; it doubles the training chunks. :meth:`fit`'s\n"
        "statistics and :meth:`transform` see the recordings as they are.\n"
        "``None``, the default, makes no copy."),
    "random_state": _doc(
        "random_state", "int, RandomState instance or None",
        "Seed of the noise of ``noise_snr`` (each utterance's own stream, so\n"
        "the copies do not depend on ``n_jobs``); unused without it."),
    "precision": _doc(
        "precision", '{"float32", "float64"}',
        'Precision of the feature computation. ``"float64"`` reproduces psf to\n'
        "round-off; the output is float32 either way."),
    "n_jobs": _doc(
        "n_jobs", "int or None",
        "Parallel workers (joblib) for decoding and feature extraction;\n"
        "``None`` means 1 unless in a ``joblib.parallel_backend`` context."),
    "verbose": _doc(
        "verbose", "int",
        "When > 0, a progress line on stderr as groups of files are done\n"
        "(``[LogMel3DTransformer] 96/535 files``)."),
    "dtype": _doc(
        "dtype", "{np.float32, np.float64}",
        "Precision of the computation. float64 matches psf to round-off;\n"
        "float32 (the transformer's precision) is faster and agrees to about\n"
        "1e-3 except in near-silent bins.",
        shown=lambda dtype: f"np.{dtype.name}"),
    "block_frames": _doc(
        "block_frames", "int",
        "Frames per FFT block (bounds the temporary memory); at most\n"
        "``2**20 // n_fft`` whatever is asked, so a large ``n_fft`` stays small."),
}
#: numpydoc entries of the parameters, for :class:`~sklearn_ser.utils.docstrings.Substitution`
#: (a docstring may add lines of its own under an entry); ``log_mel_settings`` holds the
#: entries that the transformer and the batch functions share, in their order.
FRONT_END_DOCS = MappingProxyType({**_ENTRIES, "log_mel_settings": "\n".join(
    _ENTRIES[name] for name in ("sample_rate", "n_mels", "n_fft", "frame_seconds",
                                "hop_seconds", "f_min_f_max", "preemphasis", "window")
)})
