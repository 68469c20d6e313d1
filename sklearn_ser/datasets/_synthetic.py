"""Synthetic emotional speech: a source-filter voice whose prosody follows the class.

Each utterance is a string of syllables separated by short gaps and by
phrase pauses. A syllable is an optional fricative (high-passed noise)
followed by a vowel: a Rosenberg glottal pulse train (Rosenberg 1971, JASA 49,
583-590) with jitter, shimmer and aspiration noise, through a cascade of four
formant resonators (Klatt 1980, JASA 67, 971-995); the voice and its
equations are in ``_voice.py``.

The class sets the prosody; its direction for each emotion follows the reviews
of Murray and Arnott (1993, JASA 93, 1097-1108) and Juslin and Laukka (2003,
Psychol. Bull. 129, 770-814): anger, happiness and fear raise
the F0 level, loudness and speaking rate and flatten the spectral tilt
(a faster glottal closure); sadness and boredom lower them, narrow the F0
range, steepen the tilt and add breathiness. The magnitudes are illustrative.
Speakers differ in base F0, vocal tract length (all formants scaled),
loudness, rate and F0 range, so a speaker-independent split is harder than a
random one.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ..utils.validation import is_integer, is_number
from ._voice import VOWEL_FORMANTS, render_fricatives, render_vowels

__all__ = ["EMOTIONS", "make_emotional_speech"]

#: Class names, in the order ``n_classes`` takes them.
EMOTIONS = ("neutral", "anger", "sadness", "happiness", "fear", "boredom", "disgust")

_CUES = (
    "f0_shift",  # semitones from the speaker's base F0
    "f0_range",  # semitones of the largest syllable accent
    "declination",  # semitones of F0 drift over the whole duration
    "rate",  # syllables per second
    "loudness",  # dB relative to -23 dBFS RMS
    "closing",  # closing phase of the glottal pulse, fraction of the period
    "jitter",  # standard deviation of the period-to-period F0 ratio
    "shimmer",  # standard deviation of the period-to-period amplitude ratio
    "breathiness",  # aspiration noise relative to the pulse peak
    "f1_scale",  # first formant factor (wider mouth opening when aroused)
)
_PROFILES = np.array(
    [
        [0.0, 2.5, -2.0, 4.2, 0.0, 0.30, 0.005, 0.03, 0.10, 1.00],  # neutral
        [4.5, 4.5, -3.5, 5.0, 7.0, 0.10, 0.010, 0.06, 0.05, 1.10],  # anger
        [-1.5, 1.2, -3.0, 3.1, -5.0, 0.45, 0.012, 0.05, 0.35, 0.95],  # sadness
        [4.0, 7.0, 0.5, 4.4, 2.0, 0.24, 0.007, 0.04, 0.10, 1.04],  # happiness
        [6.0, 3.0, 1.0, 5.3, 1.0, 0.25, 0.020, 0.07, 0.25, 1.00],  # fear
        [-2.0, 1.0, -2.0, 3.4, -3.0, 0.40, 0.006, 0.04, 0.20, 0.97],  # boredom
        [-1.0, 3.0, -3.5, 3.6, -1.0, 0.30, 0.012, 0.06, 0.15, 1.00],  # disgust
    ]
)

_REFERENCE_RMS = 0.07  # -23 dBFS, the level of loudness 0 dB
_PEAK_LIMIT = 0.9
_CHUNK_SAMPLES = 2**20  # output samples rendered at a time


def _check_params(n_samples, n_classes, n_speakers, duration, sample_rate, noise_level):
    """Validate the arguments of :func:`make_emotional_speech`."""

    checks = [  # in order, each test run only when the ones before it passed
        ("n_samples", n_samples, lambda: is_integer(n_samples) and n_samples >= 1,
         "an integer >= 1"),
        ("n_classes", n_classes, lambda: is_integer(n_classes) and 2 <= n_classes <= len(EMOTIONS),
         f"an integer between 2 and {len(EMOTIONS)}"),
        ("n_speakers", n_speakers, lambda: is_integer(n_speakers) and n_speakers >= 1,
         "an integer >= 1"),
        ("sample_rate", sample_rate, lambda: is_integer(sample_rate) and sample_rate >= 8000,
         "an integer >= 8000 Hz (the formants reach 4 kHz)"),
        ("duration", duration,
         lambda: is_number(duration) and duration > 0 and round(duration * sample_rate) >= 1,
         f"a finite number of seconds that gives at least one sample at {sample_rate} Hz"),
        ("noise_level", noise_level, lambda: is_number(noise_level) and noise_level >= 0,
         "a finite number >= 0 (full-scale units)"),
    ]
    for name, value, ok, expected in checks:
        if not ok():
            raise ValueError(f"{name}={value!r} must be {expected}")


def _design(n_samples, n_classes, n_speakers):
    """Class and speaker of each utterance, both as balanced as possible.

    Walking ``k -> (k % n_classes, (k + k // lcm) % n_speakers)`` meets every
    (class, speaker) cell equally often, so speaker and class are not confounded.
    """
    k = np.arange(n_samples)
    block = np.lcm(n_classes, n_speakers)
    return k % n_classes, (k + k // block) % n_speakers


def _draw_speakers(n_speakers, rng):
    """Per-speaker voice: base F0 (Hz), formant scale, loudness (dB), rate and range factors."""
    female = np.arange(n_speakers) % 2 == 1
    z = rng.standard_normal((5, n_speakers))
    return {
        "f0_base": np.where(female, 200.0, 115.0) * np.exp(0.10 * z[0]),
        "formant_scale": np.where(female, 1.15, 1.0) * np.exp(0.04 * z[1]),
        "loudness": 1.5 * z[2],
        "rate": np.exp(0.08 * z[3]),
        "f0_range": np.exp(0.20 * z[4]),
    }


def _draw_utterances(y, speaker_of, speakers, rng):
    """Per-utterance prosody: the class profile, the speaker's voice, and a random draw."""
    cue = dict(zip(_CUES, _PROFILES[y].T, strict=True))
    z = rng.standard_normal((9, len(y)))
    return {
        "class": y,
        "speaker": speaker_of,
        "f0_base": speakers["f0_base"][speaker_of],
        "f0_shift": cue["f0_shift"] + 1.0 * z[0],
        "f0_range": cue["f0_range"] * speakers["f0_range"][speaker_of] * np.exp(0.25 * z[1]),
        "declination": cue["declination"] + 1.0 * z[2],
        "rate": cue["rate"] * speakers["rate"][speaker_of] * np.exp(0.12 * z[3]),
        "loudness": cue["loudness"] + speakers["loudness"][speaker_of] + 1.5 * z[4],
        "closing": np.clip(cue["closing"] + 0.04 * z[5], 0.08, 0.55),
        "jitter": cue["jitter"] * np.exp(0.3 * z[6]),
        "shimmer": cue["shimmer"] * np.exp(0.3 * z[7]),
        "breathiness": cue["breathiness"] * np.exp(0.3 * z[8]),
        "f1_scale": cue["f1_scale"],
    }


def _plan_syllables(utt, duration, sample_rate, rng):
    """Timing, vowel and accent of every syllable that starts within the utterance.

    Returns a dict of arrays of shape (n_syllables,), sorted by utterance and
    then by time; ``start``, ``n_consonant`` and ``n_vowel`` count samples.
    """
    n_samples = len(utt["rate"])
    n_max = int(np.ceil(duration * 14)) + 2  # more than the fastest speaker fits
    rate = utt["rate"][:, None]
    length = rng.gamma(6.0, 1 / 6.0, (n_samples, n_max)) / rate  # seconds
    voiced = rng.uniform(0.55, 0.8, (n_samples, n_max))  # vowel share of the syllable
    # A phrase pause follows one syllable in five; slow speakers pause longer.
    pause = (rng.random((n_samples, n_max)) < 0.2) * rng.uniform(0.12, 0.4, (n_samples, n_max))
    step = length + pause * (4.2 / rate)
    onset = rng.uniform(0.05, 0.25, (n_samples, 1)) + np.cumsum(step, axis=1) - step
    utt_of, slot = np.nonzero(onset < duration - 0.05)
    start = np.round(onset[utt_of, slot] * sample_rate).astype(np.int64)
    n_syllable = length[utt_of, slot] * sample_rate
    n_consonant = np.round((1 - voiced[utt_of, slot]) * n_syllable).astype(np.int64)
    n_vowel = np.maximum(np.round(voiced[utt_of, slot] * n_syllable), 1).astype(np.int64)
    n_syllables = len(utt_of)
    accent = utt["f0_range"][utt_of] * rng.uniform(-0.25, 1.0, n_syllables)
    # Accented syllables are louder: 3 dB for an accent as wide as the range.
    gain_db = 3.0 * accent / utt["f0_range"][utt_of] + 1.5 * rng.standard_normal(n_syllables)
    return {
        "utterance": utt_of,
        "start": start,
        "n_consonant": n_consonant,
        "n_vowel": n_vowel,
        "vowel": rng.integers(0, len(VOWEL_FORMANTS), n_syllables),
        "accent": accent,
        "gain": 10 ** (gain_db / 20),
        "frication": (rng.random(n_syllables) < 0.5) * rng.uniform(0.05, 0.3, n_syllables),
    }


def _render_rows(syl, utt, speakers, rows, *, n_total, noise_level, sample_rate, duration, rng):
    """Waveforms of the utterances ``rows`` (a slice), from their syllables.

    Returns a float32 array of shape (rows.stop - rows.start, n_total): voice
    and fricatives overlap-added, scaled to the utterance's loudness, peak
    limited, plus the noise, clipped to [-1, 1].
    """
    n_rows = rows.stop - rows.start
    syl = dict(syl, row=syl["utterance"] - rows.start)
    # Sort syllables by formant filter (speaker, class, vowel) so that each
    # filter runs once, over a contiguous run of the vowels' sample axis.
    speaker = utt["speaker"][syl["utterance"]]
    filter_key = (speaker * len(EMOTIONS) + utt["class"][syl["utterance"]]) * len(VOWEL_FORMANTS)
    filter_key += syl["vowel"]
    by_filter = np.argsort(filter_key, kind="stable")
    syl = {name: values[by_filter] for name, values in syl.items()}
    where, voice = render_vowels(
        syl,
        utt,
        speakers["formant_scale"][speaker[by_filter]],
        filter_key[by_filter],
        duration=duration,
        sample_rate=sample_rate,
        n_total=n_total,
        rng=rng,
    )
    X = np.zeros(n_rows * n_total)
    X += np.bincount(where, weights=voice, minlength=X.size)
    # Fricatives are set against the voice, not the glottal pulse's scale.
    voice_rms = np.sqrt(np.mean(voice**2)) if voice.size else 0.0
    where, hiss = render_fricatives(syl, n_total=n_total, rng=rng)
    X += np.bincount(where, weights=hiss * voice_rms, minlength=X.size)
    X = X.reshape(n_rows, n_total)
    rms = np.sqrt(np.mean(X**2, axis=1))
    gain = _REFERENCE_RMS * 10 ** (utt["loudness"][rows] / 20) / np.maximum(rms, 1e-12)
    peak = np.max(np.abs(X), axis=1) * gain
    gain *= np.minimum(1.0, _PEAK_LIMIT / np.maximum(peak, 1e-12))
    X = (X * gain[:, None]).astype(np.float32)
    X += np.float32(noise_level) * rng.standard_normal(X.shape, dtype=np.float32)
    return np.clip(X, -1.0, 1.0, out=X)


def make_emotional_speech(
    n_samples=200,
    *,
    n_classes=4,
    n_speakers=8,
    duration=2.0,
    sample_rate=16000,
    noise_level=0.01,
    random_state=None,
):
    """Generate a labelled corpus of speech-like utterances whose prosody follows the emotion.

    Like :func:`sklearn.datasets.make_classification`, for audio: a fast,
    offline stand-in for an emotional speech corpus, for examples, tests and
    smoke runs. The task is learnable from prosody (F0 level and range,
    speaking rate, loudness, spectral tilt, jitter and shimmer) but not
    trivial, because speakers differ and every cue varies from utterance to
    utterance. See the module docstring for the synthesis and the references.

    Parameters
    ----------
    n_samples : int, default=200
        Number of utterances.
    n_classes : int, default=4
        Number of emotions, between 2 and 7: the first ``n_classes`` of
        ("neutral", "anger", "sadness", "happiness", "fear", "boredom",
        "disgust").
    n_speakers : int, default=8
        Number of speakers; even ids have a male voice (base F0 near 115 Hz),
        odd ids a female one (near 200 Hz, formants 15% higher).
    duration : float, default=2.0
        Length of every utterance in seconds.
    sample_rate : int, default=16000
        Sampling rate in Hz, at least 8000.
    noise_level : float, default=0.01
        Standard deviation of the additive white Gaussian noise in full-scale
        units (0.01 is -40 dBFS; neutral speech is near -23 dBFS RMS, quiet
        classes and speakers down to about -35 dBFS).
    random_state : int, RandomState instance or None, default=None
        Seed; the same seed gives the same corpus.

    Returns
    -------
    X : np.ndarray [shape=(n_samples, round(duration * sample_rate))], float32
        One waveform per row, in [-1, 1].
    y : np.ndarray [shape=(n_samples,)], str
        Emotion of each utterance; the classes differ in size by at most one.
    groups : np.ndarray [shape=(n_samples,)], int
        Speaker id of each utterance, in ``0 .. n_speakers - 1``; every
        speaker has utterances when ``n_samples >= n_speakers``.

    Raises
    ------
    ValueError
        A parameter out of range; the message names it.

    Notes
    -----
    Class means of the prosodic cues (each utterance also varies around them,
    and each speaker shifts loudness, rate and F0 range):

    =========  ========  ========  =======  ========  =======  =====
    class      F0 (st)   range     decl.    syll./s   dB       close
    =========  ========  ========  =======  ========  =======  =====
    neutral     0.0      2.5       -2.0     4.2        0       0.30
    anger      +4.5      4.5       -3.5     5.0       +7       0.10
    sadness    -1.5      1.2       -3.0     3.1       -5       0.45
    happiness  +4.0      7.0       +0.5     4.4       +2       0.24
    fear       +6.0      3.0       +1.0     5.3       +1       0.25
    boredom    -2.0      1.0       -2.0     3.4       -3       0.40
    disgust    -1.0      3.0       -3.5     3.6       -1       0.30
    =========  ========  ========  =======  ========  =======  =====

    F0 is in semitones from the speaker's base, range is the largest accent
    in semitones, decl. the F0 drift over the utterance, dB the loudness
    relative to -23 dBFS RMS, and close the glottal closing phase (a shorter
    one flattens the spectral tilt). Jitter and shimmer are highest for fear,
    sadness, disgust and anger, breathiness for sadness and fear.

    Examples
    --------
    >>> X, y, groups = make_emotional_speech(8, n_speakers=2, duration=0.5, random_state=0)
    >>> X.shape, X.dtype
    ((8, 8000), dtype('float32'))
    >>> np.unique(y, return_counts=True)[1].tolist(), y[:2].tolist()
    ([2, 2, 2, 2], ['sadness', 'anger'])
    """
    _check_params(n_samples, n_classes, n_speakers, duration, sample_rate, noise_level)
    # The legacy RandomState seeds a PCG64 Generator, whose Gaussian sampler is faster.
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31 - 1))
    n_total = round(duration * sample_rate)
    y, speaker_of = _design(n_samples, n_classes, n_speakers)
    order = rng.permutation(n_samples)
    y, speaker_of = y[order], speaker_of[order]
    speakers = _draw_speakers(n_speakers, rng)
    utt = _draw_utterances(y, speaker_of, speakers, rng)
    syl = _plan_syllables(utt, duration, sample_rate, rng)

    # Render a bounded number of samples at a time: the temporaries then stay
    # a few MB whatever n_samples, and are reused instead of page-faulted anew.
    X = np.empty((n_samples, n_total), dtype=np.float32)
    per_chunk = max(1, _CHUNK_SAMPLES // n_total)
    for first in range(0, n_samples, per_chunk):
        rows = slice(first, min(first + per_chunk, n_samples))
        in_rows = slice(*np.searchsorted(syl["utterance"], [rows.start, rows.stop]))
        X[rows] = _render_rows(
            {name: values[in_rows] for name, values in syl.items()},
            utt,
            speakers,
            rows,
            n_total=n_total,
            noise_level=noise_level,
            sample_rate=sample_rate,
            duration=duration,
            rng=rng,
        )
    return X, np.asarray(EMOTIONS)[y], speaker_of
