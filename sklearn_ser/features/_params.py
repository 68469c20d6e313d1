"""The front end's parameters, each named once: its default, its valid values, its doc.

:class:`~sklearn_ser.features.LogMel3DTransformer`'s signature and
``_parameter_constraints``, the pure functions' defaults and checks, their
docstrings and the command line's ``default=`` values all read the tables
here. The defaults are the paper's (Pham, Dang and Nguyen, JAEC 2020), with
``python_speech_features``' where the paper leaves a choice open.
"""

from __future__ import annotations

from numbers import Integral, Real
from types import MappingProxyType

import numpy as np

from ..io import RESAMPLERS, SAMPLE_RATE_RANGE
from ..utils import check_params, is_number
from ..utils.constraints import Interval, Options, StrOptions

__all__ = [
    "FEATURE_PARAMS",
    "FRONT_END_CONSTRAINTS",
    "FRONT_END_DEFAULTS",
    "FRONT_END_LIMITS",
    "FUNCTION_CONSTRAINTS",
    "FUNCTION_DEFAULTS",
    "MAX_CHUNK_OVERLAP",
    "WINDOWS",
    "check_front_end",
    "front_end_problems",
    "normalizes_by_speaker",
    "samples_per",
]

#: Frame windows; psf frames with a rectangular one (``winfunc=np.ones``).
WINDOWS = ("rectangular", "hamming", "hann")

#: Every parameter of :class:`~sklearn_ser.features.LogMel3DTransformer` and its default.
FRONT_END_DEFAULTS = MappingProxyType({
    "sample_rate": 16000,
    "n_mels": 40,
    "n_fft": 512,
    "frame_seconds": 0.025,
    "hop_seconds": 0.010,
    "f_min": 300.0,
    "f_max": 8000.0,
    "preemphasis": 0.97,
    "window": WINDOWS[0],
    "delta_width": 2,
    "chunk_frames": 300,
    "chunk_hop_frames": None,
    "max_chunks": None,
    "normalize": True,
    "resampler": RESAMPLERS[0],
    "trim_zeros": False,
    "speed_perturbation": None,
    "noise_snr": None,
    "random_state": None,
    "precision": "float32",
    "n_jobs": None,
    "verbose": 0,
})

#: Settings of the pure functions that the transformer sets for them.
FUNCTION_DEFAULTS = MappingProxyType({
    # the transformer's precision; the one-signal functions default to
    # float64 instead, psf to round-off
    "dtype": np.dtype(FRONT_END_DEFAULTS["precision"]),
    "block_frames": 512,
})


def _count():
    return Interval(Integral, 1, None, closed="left")


class _FloatDtype(Options):
    """numpy's float32 or float64 in either byte order, however numpy names them."""

    def __init__(self):
        super().__init__(object, {"float32", "float64"})

    def is_satisfied_by(self, val):
        try:
            return np.dtype(val).newbyteorder("=") in (np.float32, np.float64)
        except TypeError:
            return False

    def __str__(self):
        return "float32 or float64"


#: scikit-learn constraints of the transformer's parameters (``_parameter_constraints``).
FRONT_END_CONSTRAINTS = MappingProxyType({
    "sample_rate": [_count()],
    "n_mels": [_count()],
    "n_fft": [_count()],
    "frame_seconds": [Interval(Real, 0, None, closed="neither")],
    "hop_seconds": [Interval(Real, 0, None, closed="neither")],
    "f_min": [Interval(Real, 0, None, closed="left")],
    "f_max": [Interval(Real, 0, None, closed="neither")],
    "preemphasis": [Interval(Real, 0, 1, closed="both")],
    "window": [StrOptions(set(WINDOWS))],
    "delta_width": [_count()],
    "chunk_frames": [_count()],
    "chunk_hop_frames": [_count(), None],
    "max_chunks": [_count(), None],
    "normalize": ["boolean", StrOptions({"utterance", "speaker"})],
    "resampler": [StrOptions(set(RESAMPLERS))],
    "trim_zeros": ["boolean"],
    "speed_perturbation": [list, tuple, None],
    "noise_snr": [list, tuple, None],
    "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both"), np.random.RandomState,
                     None],
    "precision": [StrOptions({"float32", "float64"})],
    "n_jobs": [Integral, None],
    "verbose": ["verbose"],
})

#: Constraints of the functions' own parameters, beside the transformer's.
FUNCTION_CONSTRAINTS = MappingProxyType({
    **FRONT_END_CONSTRAINTS,
    "dtype": [_FloatDtype()],
    "block_frames": [_count()],
    # deltas' N, the transformer's delta_width
    "width": FRONT_END_CONSTRAINTS["delta_width"],
    # frame_count's and frame_signal's lengths in samples
    "frame_length": [_count()],
    "hop_length": [_count()],
})


#: The supported range, ``(lowest, highest)`` inclusive, of every parameter that
#: sizes the work, checked with the constraints (by ``fit``, by the functions and
#: when a model file is loaded), so that neither a typo nor a tampered model file
#: can ask for gigabytes: a sample rate from below telephone speech to the
#: highest studio rate (it also bounds resampling to a factor of 384); an FFT of
#: up to 2**16 points (4 s at 16 kHz); frames and hops of at most a second (a hop
#: pads each signal by up to one hop); up to 256 Mel filters; deltas over up to
#: 100 frames on each side; chunks of up to 6000 frames (60 s at the default
#: hop; each utterance holds at least one chunk, so this bounds the padding of
#: a short one). Finite values only; ``f_min`` and ``f_max`` are bounded by
#: ``sample_rate / 2``.
FRONT_END_LIMITS = MappingProxyType({
    "sample_rate": SAMPLE_RATE_RANGE,
    "n_mels": (1, 256),
    "n_fft": (1, 2**16),
    "frame_seconds": (0, 1.0),
    "hop_seconds": (0, 1.0),
    "delta_width": (1, 100),
    "chunk_frames": (1, 6000),
    "chunk_hop_frames": (1, 100_000),
    "max_chunks": (1, 10**9),
    # the functions' own names for the same sizes
    "width": (1, 100),
    "frame_length": (1, 2**16),
    "hop_length": (1, SAMPLE_RATE_RANGE[1]),
})

#: Speed factors of ``speed_perturbation``: at most this many, each within this range
#: (half to twice the speed: a training copy holds up to twice the chunks).
MAX_SPEED_FACTORS = 8
SPEED_RANGE = (0.5, 2.0)

#: Signal-to-noise ratios in dB that ``noise_snr`` may draw from: from noise
#: louder than the speech to noise far below the quietest recording's own.
NOISE_SNR_RANGE = (-10.0, 60.0)

#: Chunks that may overlap one frame: ``chunk_hop_frames`` is at least
#: ``ceil(chunk_frames / MAX_CHUNK_OVERLAP)`` (87.5 % overlap), so the chunks of an
#: utterance hold at most 8 times its frames.
MAX_CHUNK_OVERLAP = 8

#: The parameters that decide what a frame of the features means: a classifier
#: records those of the front end it was fitted behind and refuses features from
#: another. (``chunk_hop_frames``, ``max_chunks`` and ``trim_zeros`` change which
#: frames are cut into chunks, ``precision`` and ``resampler`` the last bits,
#: ``normalize`` acts through the statistics learned in ``fit``; ``n_jobs`` and
#: ``verbose`` change nothing of the output.)
FEATURE_PARAMS = ("sample_rate", "n_mels", "n_fft", "frame_seconds", "hop_seconds", "f_min",
                  "f_max", "preemphasis", "window", "delta_width", "chunk_frames")


def _shown_number(value):
    """``repr(value)``, or its size for an integer too long to print."""
    if isinstance(value, int) and value.bit_length() > 128:
        return f"<an integer of {value.bit_length()} bits>"
    return repr(value)


def _limit_problems(params):
    """``(problems, names)``: each value outside :data:`FRONT_END_LIMITS`, and the
    names of those values (left out of the checks across parameters)."""
    problems, names = [], set()
    for name, (low, high) in FRONT_END_LIMITS.items():
        value = params.get(name)
        if value is None or isinstance(value, (bool, str)):
            continue
        try:
            inside = bool(low <= value <= high)
        except TypeError:
            continue  # not a number: the constraints name it
        if not inside:
            problems.append(f"{name}={_shown_number(value)} is outside the supported range "
                            f"{low:,g} to {high:,g}")
            names.add(name)
    return problems, names


def _speed_problems(speeds, sample_rate):
    """What is wrong with ``speed_perturbation`` (a list or tuple, or None), the
    rates its copies are resampled to included."""
    if speeds is None:
        return []
    low, high = SPEED_RANGE
    if not (1 <= len(speeds) <= MAX_SPEED_FACTORS
            and all(is_number(s) and low <= s <= high and s != 1 for s in speeds)
            and len(set(speeds)) == len(speeds)):
        return [f"speed_perturbation={speeds!r} must list 1 to {MAX_SPEED_FACTORS} different "
                f"speed factors other than 1, each from {low:g} to {high:g} (e.g. (0.9, 1.1)), "
                "or be None"]
    if sample_rate is None:
        return []
    lowest, highest = SAMPLE_RATE_RANGE
    outside = [s for s in speeds if not lowest <= round(sample_rate / s) <= highest]
    if outside:
        return [f"speed_perturbation={speeds!r}: the copies at {outside} would be resampled "
                f"to sample_rate / factor, outside {lowest:,} to {highest:,} Hz "
                f"(sample_rate={sample_rate})"]
    return []


def _noise_problems(snr):
    """What is wrong with ``noise_snr`` (a ``(low, high)`` pair in dB, or None)."""
    if snr is None:
        return []
    low, high = NOISE_SNR_RANGE
    if not (len(snr) == 2 and all(is_number(v) and low <= v <= high for v in snr)
            and snr[0] <= snr[1]):
        return [f"noise_snr={snr!r} must be a (low, high) pair of signal-to-noise ratios in "
                f"dB, low <= high, each from {low:g} to {high:g} (e.g. (10, 30)), or be None"]
    return []


def normalizes_by_speaker(normalize):
    """Whether a ``normalize`` value is ``"speaker"``: a front end that needs the
    speakers of the utterances (``groups``) whenever it transforms.

    Parameters
    ----------
    normalize : bool or str
        A value of ``LogMel3DTransformer``'s ``normalize``.

    Returns
    -------
    bool
    """
    return isinstance(normalize, str) and normalize == "speaker"


def samples_per(seconds, sample_rate):
    """Number of samples in ``seconds`` at ``sample_rate``, rounded half up as psf does.

    Parameters
    ----------
    seconds : float
        A duration, e.g. ``frame_seconds`` or ``hop_seconds``.
    sample_rate : int
        Samples per second (Hz).

    Returns
    -------
    n_samples : int
        ``floor(seconds * sample_rate + 0.5)``: 400 for 25 ms at 16 kHz.
    """
    return int(np.floor(seconds * sample_rate + 0.5))


def front_end_problems(params):
    """What is wrong with a valid set of parameters taken together, as a list of strings.

    Each value is assumed to meet its own constraint; the checks made here are
    the limits of :data:`FRONT_END_LIMITS`, then those that involve several
    parameters, for the parameters in ``params`` within their limits: the
    filterbank within ``[0, sample_rate / 2]`` (eq. 3), an FFT at least one
    frame long, a frame and a hop of at least one sample, and a chunk hop of
    at least ``chunk_frames / MAX_CHUNK_OVERLAP``.
    """
    problems, outside = _limit_problems(params)
    params = {name: value for name, value in params.items() if name not in outside}
    f_min, f_max, rate = (params.get(name) for name in ("f_min", "f_max", "sample_rate"))
    if f_min is not None and f_max is not None and not f_min < f_max:
        problems.append(f"f_min={f_min} must be < f_max={f_max}")
    if f_max is not None and rate is not None and f_max > rate / 2:
        problems.append(f"f_max={f_max} must be <= sample_rate/2 = {rate / 2:g} Hz "
                        f"(sample_rate={rate})")
    frames, hop = params.get("chunk_frames"), params.get("chunk_hop_frames")
    if frames is not None and hop is not None and hop * MAX_CHUNK_OVERLAP < frames:
        problems.append(
            f"chunk_hop_frames={hop} must be >= chunk_frames/{MAX_CHUNK_OVERLAP} = "
            f"{-(-frames // MAX_CHUNK_OVERLAP)} (chunk_frames={frames}): a frame may sit in at "
            f"most {MAX_CHUNK_OVERLAP} overlapping chunks, or the chunks of a long recording "
            "would take many times its memory")
    problems.extend(_speed_problems(params.get("speed_perturbation"), rate))
    problems.extend(_noise_problems(params.get("noise_snr")))
    if rate is None:
        return problems
    for name in ("frame_seconds", "hop_seconds"):
        if name in params and samples_per(params[name], rate) < 1:
            problems.append(f"{name}={params[name]} is shorter than one sample at "
                            f"sample_rate={rate}")
    if "frame_seconds" in params and "n_fft" in params:
        frame_length = samples_per(params["frame_seconds"], rate)
        if params["n_fft"] < frame_length:
            problems.append(
                f"n_fft={params['n_fft']} must be >= the frame length of {frame_length} samples "
                f"(frame_seconds={params['frame_seconds']} at sample_rate={rate})"
            )
    return problems


def check_front_end(params, *, caller):
    """Check a function's front-end arguments: each one, then the ones that go together.

    Parameters
    ----------
    params : dict
        ``{name: value}`` of the call; names of :data:`FUNCTION_CONSTRAINTS`.
    caller : str
        The function's name, which starts the message.

    Raises
    ------
    ValueError
        Naming every bad argument (:func:`sklearn_ser.utils.check_params`),
        or, all being valid, every problem of :func:`front_end_problems`.
    """
    check_params(params, FUNCTION_CONSTRAINTS, caller=caller)
    problems = front_end_problems(params)
    if problems:
        raise ValueError(f"{caller}: " + "; ".join(problems))
