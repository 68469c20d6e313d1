"""The source-filter voice of the synthetic corpus: glottal pulses through formant resonators.

A vowel is a Rosenberg glottal pulse train (Rosenberg 1971, JASA 49, 583-590;
the flow derivative, which includes lip radiation) with jitter, shimmer and
aspiration noise, through a cascade of four formant resonators (Klatt 1980,
JASA 67, 971-995):

    y[n] = A x[n] + B y[n-1] + C y[n-2],
    C = -exp(-2 pi bw / sr),  B = 2 exp(-pi bw / sr) cos(2 pi f / sr),  A = 1 - B - C.

A fricative is high-passed noise in a sin^2 window. Every sample is rendered
without a Python loop over samples or syllables (:func:`ragged`).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

__all__ = [
    "FORMANT_BANDWIDTHS",
    "OPEN_PHASE",
    "TAIL_SECONDS",
    "VOWEL_FORMANTS",
    "formant_filter",
    "glottal_pulse",
    "ragged",
    "render_fricatives",
    "render_vowels",
]

#: F1-F4 in Hz of /i/, /e/, /a/, /o/, /u/ for an adult male (F1-F3 from
#: Peterson and Barney 1952, JASA 24, 175-184; F4 set to 3500 Hz).
VOWEL_FORMANTS = np.array(
    [
        [270.0, 2290.0, 3010.0, 3500.0],
        [530.0, 1840.0, 2480.0, 3500.0],
        [730.0, 1090.0, 2440.0, 3500.0],
        [570.0, 840.0, 2410.0, 3500.0],
        [300.0, 870.0, 2240.0, 3500.0],
    ]
)
FORMANT_BANDWIDTHS = np.array([70.0, 100.0, 140.0, 200.0])  # Hz

OPEN_PHASE = 0.4  # opening phase of the glottal pulse, fraction of the period
TAIL_SECONDS = 0.03  # resonator ringing kept after a vowel (-65 dB at 70 Hz bandwidth)


def ragged(lengths):
    """Lay segments of the given lengths end to end on one sample axis.

    Returns ``offsets`` [shape=(n_segments + 1,)], and per sample its segment
    ``owner`` and its ``position`` inside the segment, without a Python loop
    (int32 when the axis fits, which halves the memory traffic).
    """
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    index = np.int32 if offsets[-1] < 2**31 else np.int64
    owner = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
    position = np.arange(offsets[-1], dtype=index) - np.repeat(offsets[:-1].astype(index), lengths)
    return offsets, owner, position


def glottal_pulse(frac, closing):
    """Rosenberg pulse: flow derivative (scaled to a peak of 1) and flow.

    Parameters
    ----------
    frac : np.ndarray
        Position in the glottal period, in [0, 1).
    closing : np.ndarray
        Closing phase as a fraction of the period, broadcast against ``frac``.

    Returns
    -------
    derivative, flow : np.ndarray
        The pulse opens over :data:`OPEN_PHASE` of the period as
        ``(1 - cos) / 2``, closes over ``closing`` as a quarter cosine
        (Rosenberg 1971) and stays closed for the rest.
    """
    opening = frac < OPEN_PHASE
    closing_part = ~opening & (frac < OPEN_PHASE + closing)
    angle_open = np.pi * frac / OPEN_PHASE
    angle_close = 0.5 * np.pi * (frac - OPEN_PHASE) / closing
    flow = np.where(opening, 0.5 - 0.5 * np.cos(angle_open), 0.0)
    flow = np.where(closing_part, np.cos(angle_close), flow)
    derivative = np.where(opening, (closing / OPEN_PHASE) * np.sin(angle_open), 0.0)
    derivative = np.where(closing_part, -np.sin(angle_close), derivative)
    return derivative, flow


# The pulse tabulated over the period (1024 bins) for 48 closing phases: a
# table look-up per sample costs a fraction of evaluating sines.
_PULSE_BITS = 10
_CLOSING_LEVELS = np.linspace(0.08, 0.55, 48)
_PULSE_DERIVATIVE, _PULSE_FLOW = (
    table.astype(np.float32).ravel()
    for table in glottal_pulse(
        np.arange(2**_PULSE_BITS)[None, :] / 2**_PULSE_BITS, _CLOSING_LEVELS[:, None]
    )
)


def formant_filter(formants, sample_rate):
    """Cascade of Klatt resonators as one IIR filter.

    Parameters
    ----------
    formants : np.ndarray [shape=(4,)]
        Formant frequencies in Hz; those at or above 0.45 ``sample_rate``
        are left out.
    sample_rate : int
        In Hz.

    Returns
    -------
    b : np.ndarray [shape=(1,)]
        The product of the resonators' gains ``A`` (unit gain at 0 Hz).
    a : np.ndarray [shape=(1 + 2 * n_audible,)]
        The product of their denominators ``1 - B z^-1 - C z^-2``; one
        8th-order pass is faster than four 2nd-order ones and, in float64,
        as accurate.
    """
    audible = formants < 0.45 * sample_rate
    bandwidth = FORMANT_BANDWIDTHS[audible]
    c = -np.exp(-2 * np.pi * bandwidth / sample_rate)
    b = (
        2
        * np.exp(-np.pi * bandwidth / sample_rate)
        * np.cos(2 * np.pi * formants[audible] / sample_rate)
    )
    denominator = np.ones(1)
    for b_k, c_k in zip(b, c, strict=True):
        denominator = np.convolve(denominator, [1.0, -b_k, -c_k])
    return np.array([np.prod(1 - b - c)]), denominator


# Shapes tabulated on [0, 1] (the last entry also serves the vowel's tail):
# sin(pi x) for the rise-fall F0 accent and the fricative window, and the
# vowel's amplitude envelope with 25% attack and 35% decay.
_TABLE_SIZE = 512
_GRID = np.linspace(0.0, 1.0, _TABLE_SIZE + 1)
_SINE_TABLE = np.sin(np.pi * _GRID).astype(np.float32)
_ENVELOPE_TABLE = (
    np.sin(0.5 * np.pi * np.clip(np.minimum(_GRID / 0.25, (1 - _GRID) / 0.35), 0, 1)) ** 2
).astype(np.float32)


def render_vowels(syl, utt, formant_scale, filter_key, *, duration, sample_rate, n_total, rng):
    """Voiced part of every syllable, through its formant filter.

    Syllables arrive sorted by ``filter_key`` (speaker, class, vowel), so each
    filter runs once over a contiguous run of the sample axis. A vowel is
    followed by a silent tail that keeps the resonators' ringing.

    Returns the destination index ``row * n_total + sample`` and the value
    of every rendered sample, both of shape (n_rendered,).
    """
    u = syl["utterance"]
    vowel_start = syl["start"] + syl["n_consonant"]
    n_tail = round(TAIL_SECONDS * sample_rate)
    lengths = np.maximum(np.minimum(syl["n_vowel"] + n_tail, n_total - vowel_start), 0)
    if not lengths.any():  # every vowel starts after the end (a very short duration)
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    offsets, owner, position = ragged(lengths)
    position_f = position.astype(np.float32)
    vowel_scale = (_TABLE_SIZE / syl["n_vowel"]).astype(np.float32)
    shape_index = np.minimum(position_f * vowel_scale[owner], _TABLE_SIZE).astype(np.int32)

    # F0 contour in semitones: level, linear declination over the utterance,
    # and a rise-fall accent over the vowel.
    slope = (utt["declination"][u] / (duration * sample_rate)).astype(np.float32)
    level = (utt["f0_shift"][u] + slope * vowel_start).astype(np.float32)
    semitones = level[owner] + slope[owner] * position_f
    semitones += syl["accent"].astype(np.float32)[owner] * _SINE_TABLE[shape_index]
    f0_step = (utt["f0_base"][u] / sample_rate).astype(np.float32)[owner]
    f0_step *= np.exp2(semitones / np.float32(12))
    # Jitter: a random F0 factor every 4 ms, about one glottal period.
    block = max(round(0.004 * sample_rate), 1)
    jitter = rng.standard_normal(len(position) // block + 1, dtype=np.float32)
    f0_step *= (
        1 + utt["jitter"][u].astype(np.float32)[owner] * np.repeat(jitter, block)[: len(position)]
    )
    # Phase in 1/1024 periods; its high bits count periods, its low bits index the pulse.
    phase = (np.cumsum(f0_step, dtype=np.float64) * 2**_PULSE_BITS).astype(np.int64)
    closing_row = np.abs(utt["closing"][u][:, None] - _CLOSING_LEVELS).argmin(axis=1)
    pulse = (closing_row << _PULSE_BITS)[owner] + (phase & (2**_PULSE_BITS - 1))
    period = phase >> _PULSE_BITS
    shimmer = rng.standard_normal(period[-1] + 1, dtype=np.float32)
    derivative = _PULSE_DERIVATIVE[pulse]
    derivative *= 1 + utt["shimmer"][u].astype(np.float32)[owner] * shimmer[period]
    aspiration = rng.standard_normal(len(position), dtype=np.float32)
    aspiration *= _PULSE_FLOW[pulse] * utt["breathiness"][u].astype(np.float32)[owner]
    source = (derivative + aspiration) * _ENVELOPE_TABLE[shape_index]

    formants = VOWEL_FORMANTS[syl["vowel"]] * formant_scale[:, None]
    formants[:, 0] *= utt["f1_scale"][u]
    for first in np.flatnonzero(np.diff(filter_key, prepend=-1)):
        last = np.searchsorted(filter_key, filter_key[first], side="right")
        run = slice(offsets[first], offsets[last])
        source[run] = lfilter(*formant_filter(formants[first], sample_rate), source[run])
    # Set each syllable's RMS to its gain: a harmonic that meets a narrow formant
    # would otherwise make one syllable 20 dB louder than its neighbours.
    rms = np.sqrt(np.bincount(owner, weights=source**2, minlength=len(u)) / syl["n_vowel"])
    source *= (syl["gain"] / np.maximum(rms, 1e-12)).astype(np.float32)[owner]
    return (syl["row"] * n_total + vowel_start)[owner] + position, source


def render_fricatives(syl, *, n_total, rng):
    """Consonant part of the syllables that have one: high-passed noise in a sin^2 window.

    Returns destination indices and values as :func:`render_vowels` does,
    at a level relative to the voice (``syl["frication"]``, scaled later).
    """
    lengths = np.minimum(syl["n_consonant"], n_total - syl["start"]) * (syl["frication"] > 0)
    _, owner, position = ragged(lengths)
    window = _SINE_TABLE[(position * (_TABLE_SIZE / syl["n_consonant"][owner])).astype(np.int32)]
    noise = rng.standard_normal(len(position) + 1, dtype=np.float32)
    hiss = np.diff(noise) * window**2 * syl["frication"].astype(np.float32)[owner]
    destination = (syl["row"] * n_total + syl["start"])[owner] + position
    return destination, hiss
