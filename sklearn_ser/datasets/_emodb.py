"""Loader of the Berlin Database of Emotional Speech (Emo-DB)."""

from __future__ import annotations

import re

from ._base import load_corpus, lookup_code, match_name

__all__ = ["load_emodb"]

LAYOUT = "wav/SSTTTEV.wav"

#: Emotion letter of the file name (German initial) -> English name.
EMOTIONS = {
    "W": "anger",  # Wut, Ärger
    "L": "boredom",  # Langeweile
    "E": "disgust",  # Ekel
    "A": "fear",  # Angst
    "F": "happiness",  # Freude
    "T": "sadness",  # Trauer
    "N": "neutral",
}

#: The ten speakers and their sex (Burkhardt et al. 2005, table of speakers).
SPEAKER_SEX = {
    "03": "male",
    "08": "female",
    "09": "female",
    "10": "male",
    "11": "male",
    "12": "male",
    "13": "female",
    "14": "female",
    "15": "male",
    "16": "female",
}

_NAME = re.compile(
    r"(?P<speaker>\d{2})(?P<text>[a-z]\d{2})(?P<emotion>[A-Z])(?P<version>[a-z])\.(?i:wav)"
)
_LAYOUT_HINT = (
    f"{LAYOUT} (SS speaker 03..16, TTT text code such as a01, "
    f"E emotion code in {''.join(EMOTIONS)}, V version letter)"
)

_DESCR = """\
Emo-DB, the Berlin Database of Emotional Speech (Burkhardt, Paeschke, Rolfes,
Sendlmeier and Weiss, "A database of German emotional speech", Proc.
Interspeech 2005, 1517-1520): 535 utterances of 10 sentences acted by 10
German speakers (5 female, 5 male) in 7 emotions. Labels come from the file
name SSTTTEV.wav: speaker SS, text TTT, emotion E (W anger, L boredom, E
disgust, A fear, F happiness, T sadness, N neutral) and version V."""


def _parse(path):
    """Labels and metadata of one Emo-DB file, from its name."""
    code = match_name(path, _NAME, layout=_LAYOUT_HINT)
    return {
        "target": lookup_code(path, "emotion code", code["emotion"], EMOTIONS),
        "groups": code["speaker"],
        "text": code["text"],
        "version": code["version"],
        "sex": lookup_code(path, "speaker", code["speaker"], SPEAKER_SEX),
    }


def load_emodb(root, *, on_error="raise", check_files=True):
    """Load the file list, labels and speakers of Emo-DB from a local copy.

    No network access: ``root`` is a folder holding ``wav/SSTTTEV.wav`` files.

    Parameters
    ----------
    root : str or os.PathLike
        The corpus folder (the one that holds ``wav/``).
    on_error : {"raise", "skip"}, default="raise"
        What to do with a file whose name does not follow the layout or, with
        ``check_files=True``, that cannot be decoded. ``"raise"`` raises the
        error, which names the file; ``"skip"`` leaves the file out of every
        array and records ``(path, reason)`` in ``skipped``.
    check_files : bool, default=True
        Decode every file once with ``load_audio(path, sample_rate=None)`` so
        that a broken file shows up now rather than during feature
        extraction. Turn off to list a large corpus quickly; ``on_error`` then
        applies to the names only.

    Returns
    -------
    data : sklearn.utils.Bunch
        filenames : np.ndarray of str [shape=(n_files,)]
            Absolute paths, sorted.
        target : np.ndarray of str [shape=(n_files,)]
            English emotion names: anger, boredom, disgust, fear, happiness,
            neutral, sadness.
        target_names : np.ndarray of str [shape=(7,)]
            All seven Emo-DB emotions, sorted, whether present or not, so that
            label codes do not depend on which files were loaded.
        groups : np.ndarray of str [shape=(n_files,)]
            Speaker id ("03" .. "16"), for speaker-independent splits.
        text : np.ndarray of str [shape=(n_files,)]
            Sentence code ("a01" .. "b10").
        version : np.ndarray of str [shape=(n_files,)]
            Take letter ("a", "b", ...).
        sex : np.ndarray of str [shape=(n_files,)]
            "male" or "female".
        skipped : list of (str, str)
            Files left out by ``on_error="skip"`` and why.
        DESCR : str
            Corpus description and citation.

    Raises
    ------
    FileNotFoundError
        ``root`` does not exist, or holds no ``wav/*.wav`` file.
    ValueError
        Invalid ``on_error``; with ``on_error="raise"``, a file name outside
        the layout or an unknown speaker or emotion code; every file skipped.
    sklearn_ser.exceptions.AudioFileError
        With ``on_error="raise"`` and ``check_files=True``, a file that cannot
        be decoded.
    """
    return load_corpus(
        root,
        pattern="wav/*.wav",
        layout=LAYOUT,
        parse=_parse,
        target_names=EMOTIONS.values(),
        descr=_DESCR,
        on_error=on_error,
        check_files=check_files,
    )
