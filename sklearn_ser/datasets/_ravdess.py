"""Loader of RAVDESS, the Ryerson Audio-Visual Database of Emotional Speech and Song."""

from __future__ import annotations

import re

from ._base import check_flag, load_corpus, lookup_code, match_name

__all__ = ["load_ravdess"]

LAYOUT = "Actor_NN/MM-VV-EE-II-SS-RR-AA.wav"

#: Emotion code -> English name, the same names as the other corpora use.
EMOTIONS = {
    "01": "neutral",
    "02": "calm",
    "03": "happiness",
    "04": "sadness",
    "05": "anger",
    "06": "fear",
    "07": "disgust",
    "08": "surprise",
}
MODALITIES = {"01": "audio-video", "02": "video-only", "03": "audio-only"}
VOCAL_CHANNELS = {"01": "speech", "02": "song"}
INTENSITIES = {"01": "normal", "02": "strong"}
STATEMENTS = {"01": "01", "02": "02"}
REPETITIONS = {"01": "01", "02": "02"}
ACTORS = {f"{actor:02d}": "male" if actor % 2 else "female" for actor in range(1, 25)}

_NAME = re.compile(
    r"(?P<modality>\d{2})-(?P<channel>\d{2})-(?P<emotion>\d{2})-(?P<intensity>\d{2})"
    r"-(?P<statement>\d{2})-(?P<repetition>\d{2})-(?P<actor>\d{2})\.(?i:wav)"
)
_LAYOUT_HINT = (
    f"{LAYOUT} (two-digit codes: MM modality 01..03, VV vocal channel 01..02, "
    "EE emotion 01..08, II intensity 01..02, SS statement 01..02, RR repetition 01..02, "
    "AA actor 01..24, the same actor as the Actor_NN folder)"
)

_DESCR = """\
RAVDESS (Livingstone and Russo, "The Ryerson Audio-Visual Database of
Emotional Speech and Song (RAVDESS)", PLoS ONE 13(5): e0196391, 2018): 24
actors (odd ids male, even female) saying two statements ("Kids are talking
by the door", "Dogs are sitting by the door") in speech and song. Labels come
from the file name Actor_NN/MM-VV-EE-II-SS-RR-AA.wav: modality, vocal channel
(01 speech, 02 song), emotion (01 neutral, 02 calm, 03 happiness, 04 sadness,
05 anger, 06 fear, 07 disgust, 08 surprise), intensity (01 normal, 02
strong), statement, repetition and actor."""


def _parse(path, *, speech_only):
    """Labels and metadata of one RAVDESS file, from its folder and name."""
    code = match_name(path, _NAME, layout=_LAYOUT_HINT)
    folder = path.parent.name
    if folder != f"Actor_{code['actor']}":
        raise ValueError(
            f"{path}: the name says actor {code['actor']} but the file is in {folder}/; "
            f"expected the layout {LAYOUT}"
        )
    lookup_code(path, "modality code", code["modality"], MODALITIES)
    channel = lookup_code(path, "vocal channel code", code["channel"], VOCAL_CHANNELS)
    fields = {
        "target": lookup_code(path, "emotion code", code["emotion"], EMOTIONS),
        "groups": code["actor"],
        "vocal_channel": channel,
        "intensity": lookup_code(path, "intensity code", code["intensity"], INTENSITIES),
        "statement": lookup_code(path, "statement code", code["statement"], STATEMENTS),
        "repetition": lookup_code(path, "repetition code", code["repetition"], REPETITIONS),
        "sex": lookup_code(path, "actor", code["actor"], ACTORS),
    }
    # A song file is valid but left out on request, so it is not "skipped".
    return None if speech_only and channel != "speech" else fields


def load_ravdess(root, *, speech_only=True, on_error="raise", check_files=True):
    """Load the file list, labels and actors of RAVDESS from a local copy.

    No network access: ``root`` is a folder holding
    ``Actor_NN/MM-VV-EE-II-SS-RR-AA.wav`` files (the audio-only archives
    ``Audio_Speech_Actors_01-24`` and ``Audio_Song_Actors_01-24`` unpacked
    into one folder, or either of them).

    Parameters
    ----------
    root : str or os.PathLike
        The corpus folder (the one that holds ``Actor_01/`` ...).
    speech_only : bool, default=True
        Keep only speech (vocal channel 01). Song files are then left out
        before any decoding, and are not listed in ``skipped``.
    on_error : {"raise", "skip"}, default="raise"
        What to do with a file whose name does not follow the layout or, with
        ``check_files=True``, that cannot be decoded. ``"raise"`` raises the
        error, which names the file; ``"skip"`` leaves the file out of every
        array and records ``(path, reason)`` in ``skipped``.
    check_files : bool, default=True
        Decode every kept file once with ``load_audio(path,
        sample_rate=None)``. Turn off to list the corpus quickly;
        ``on_error`` then applies to the names only.

    Returns
    -------
    data : sklearn.utils.Bunch
        filenames : np.ndarray of str [shape=(n_files,)]
            Absolute paths, sorted (by actor folder, then name).
        target : np.ndarray of str [shape=(n_files,)]
            English emotion names: anger, calm, disgust, fear, happiness,
            neutral, sadness, surprise.
        target_names : np.ndarray of str [shape=(8,)]
            All eight RAVDESS emotions, sorted, whether present or not (song
            has no disgust or surprise).
        groups : np.ndarray of str [shape=(n_files,)]
            Actor id ("01" .. "24"), for speaker-independent splits.
        vocal_channel : np.ndarray of str [shape=(n_files,)]
            "speech" or "song".
        intensity : np.ndarray of str [shape=(n_files,)]
            "normal" or "strong".
        statement, repetition : np.ndarray of str [shape=(n_files,)]
            "01" or "02", as in the file name.
        sex : np.ndarray of str [shape=(n_files,)]
            "male" (odd actor) or "female" (even actor).
        skipped : list of (str, str)
            Files left out by ``on_error="skip"`` and why.
        DESCR : str
            Corpus description and citation.

    Raises
    ------
    FileNotFoundError
        ``root`` does not exist, or holds no ``Actor_*/*.wav`` file.
    ValueError
        Invalid ``on_error`` or ``speech_only``; with ``on_error="raise"``, a
        file name outside the layout, a code outside its range or a file in
        another actor's folder; every file skipped.
    sklearn_ser.exceptions.AudioFileError
        With ``on_error="raise"`` and ``check_files=True``, a file that cannot
        be decoded.
    """
    check_flag("speech_only", speech_only)

    def parse(path):
        return _parse(path, speech_only=speech_only)

    return load_corpus(
        root,
        pattern="Actor_*/*.wav",
        layout=LAYOUT,
        parse=parse,
        target_names=EMOTIONS.values(),
        descr=_DESCR,
        on_error=on_error,
        check_files=check_files,
    )
