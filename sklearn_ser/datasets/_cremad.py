"""Loader of CREMA-D, the Crowd-sourced Emotional Multimodal Actors Dataset."""

from __future__ import annotations

import re

from ._base import load_corpus, lookup_code, match_name

__all__ = ["load_cremad"]

LAYOUT = "AudioWAV/AAAA_SSS_EMO_LVL.wav"

#: Emotion code of the file name -> English name.
EMOTIONS = {
    "ANG": "anger",
    "DIS": "disgust",
    "FEA": "fear",
    "HAP": "happiness",
    "NEU": "neutral",
    "SAD": "sadness",
}

#: Intensity code of the file name -> word.
INTENSITIES = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}

ACTORS = range(1001, 1092)

_NAME = re.compile(
    r"(?P<actor>\d{4})_(?P<sentence>[A-Z]{3})_(?P<emotion>[A-Z]{3})_(?P<intensity>[A-Z]{2})\.(?i:wav)"
)
_LAYOUT_HINT = (
    f"{LAYOUT} (AAAA actor 1001..1091, SSS sentence code such as DFA, "
    f"EMO one of {', '.join(EMOTIONS)}, LVL one of {', '.join(INTENSITIES)})"
)

_DESCR = """\
CREMA-D (Cao, Cooper, Keutmann, Gur, Nenkova and Verma, "CREMA-D:
Crowd-sourced emotional multimodal actors dataset", IEEE Transactions on
Affective Computing 5(4), 2014, 377-390): 7,442 clips of 12 sentences spoken
by 91 actors (1001 to 1091) in 6 emotions. Labels come from the file name
AAAA_SSS_EMO_LVL.wav: actor, sentence, emotion (ANG anger, DIS disgust, FEA
fear, HAP happiness, NEU neutral, SAD sadness) and intensity (LO low, MD
medium, HI high, XX unspecified). The target is the emotion the actor was
asked to portray, not the crowd's perceived label."""


def _parse(path):
    """Labels and metadata of one CREMA-D file, from its name."""
    code = match_name(path, _NAME, layout=_LAYOUT_HINT)
    if int(code["actor"]) not in ACTORS:
        raise ValueError(f"{path}: actor {code['actor']} is outside 1001..1091")
    return {
        "target": lookup_code(path, "emotion code", code["emotion"], EMOTIONS),
        "groups": code["actor"],
        "sentence": code["sentence"],
        "intensity": lookup_code(path, "intensity code", code["intensity"], INTENSITIES),
    }


def load_cremad(root, *, on_error="raise", check_files=True):
    """Load the file list, labels and actors of CREMA-D from a local copy.

    No network access: ``root`` is a folder holding
    ``AudioWAV/AAAA_SSS_EMO_LVL.wav`` files.

    Parameters
    ----------
    root : str or os.PathLike
        The corpus folder (the one that holds ``AudioWAV/``).
    on_error : {"raise", "skip"}, default="raise"
        What to do with a file whose name does not follow the layout or, with
        ``check_files=True``, that cannot be decoded. ``"raise"`` raises the
        error, which names the file; ``"skip"`` leaves the file out of every
        array and records ``(path, reason)`` in ``skipped``.
    check_files : bool, default=True
        Decode every file once with ``load_audio(path, sample_rate=None)``.
        Turn off to list the corpus quickly; ``on_error`` then applies to the
        names only.

    Returns
    -------
    data : sklearn.utils.Bunch
        filenames : np.ndarray of str [shape=(n_files,)]
            Absolute paths, sorted.
        target : np.ndarray of str [shape=(n_files,)]
            English emotion names: anger, disgust, fear, happiness, neutral,
            sadness.
        target_names : np.ndarray of str [shape=(6,)]
            All six CREMA-D emotions, sorted, whether present or not.
        groups : np.ndarray of str [shape=(n_files,)]
            Actor id ("1001" .. "1091"), for speaker-independent splits.
        sentence : np.ndarray of str [shape=(n_files,)]
            Sentence code ("DFA", "IEO", ...).
        intensity : np.ndarray of str [shape=(n_files,)]
            "low", "medium", "high" or "unspecified".
        skipped : list of (str, str)
            Files left out by ``on_error="skip"`` and why.
        DESCR : str
            Corpus description and citation.

    Raises
    ------
    FileNotFoundError
        ``root`` does not exist, or holds no ``AudioWAV/*.wav`` file.
    ValueError
        Invalid ``on_error``; with ``on_error="raise"``, a file name outside
        the layout; every file skipped.
    sklearn_ser.exceptions.AudioFileError
        With ``on_error="raise"`` and ``check_files=True``, a file that cannot
        be decoded.
    """
    return load_corpus(
        root,
        pattern="AudioWAV/*.wav",
        layout=LAYOUT,
        parse=_parse,
        target_names=EMOTIONS.values(),
        descr=_DESCR,
        on_error=on_error,
        check_files=check_files,
    )
