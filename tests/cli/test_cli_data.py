"""The ``--dataset`` options: folder layouts, skipped and left-out files."""

import json
import re

import numpy as np
import pytest
import soundfile as sf

from sklearn_ser.cli import build_parser, console_main, main
from sklearn_ser.datasets import make_emotional_speech


def test_folder_dataset_label_regex_on_a_speaker_emotion_layout(tiny, tmp_path, capsys):
    X, y, groups = make_emotional_speech(8, n_classes=2, n_speakers=2, duration=0.5,
                                         random_state=0)
    for i, (signal, label, speaker) in enumerate(zip(X, y, groups, strict=True)):
        folder = tmp_path / f"spk{speaker}" / label
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"{i}.wav", signal, 16000)
    args = ["cross-validate", "--dataset", "folder", "--root", str(tmp_path), "--cv", "loso",
            "--groups", r"^spk(\w+)/", *tiny, "-q"]
    assert main([*args, "--label", r"^[^/]+/([^/]+)/", "--output", str(tmp_path / "cv")]) == 0
    report = json.loads((tmp_path / "cv" / "report.json").read_text())
    assert report["labels"] == sorted(set(y))
    # Without --label, the first folder (the speaker) would be the label.
    assert main([*args, "--cv", "2"]) == 0
    assert f"spk{groups[0]}" in capsys.readouterr().out


def test_a_folder_corpus_names_skipped_and_left_out_files(
        one_line_error, tiny, corpus, tmp_path, capsys):
    _, files, y = corpus
    for path in files:  # a copy of the corpus, to add files to
        (tmp_path / path.parent.name).mkdir(exist_ok=True)
        (tmp_path / path.parent.name / path.name).write_bytes(path.read_bytes())
    signal, rate = sf.read(files[0])
    sf.write(tmp_path / y[0] / "spk9_extra.aiff", signal, rate)  # another format
    (tmp_path / y[1] / "spk9_bad.wav").write_bytes(b"RIFF....WAVEjunk")  # not decodable
    (tmp_path / y[1] / "notes.txt").write_text("not audio, and not reported")
    out = tmp_path / "m.sser"
    argv = ["train", "--dataset", "folder", "--root", str(tmp_path), *tiny, "--out", str(out)]
    # main() leaves warnings to its caller (pytest.warns here, logging elsewhere)
    with pytest.warns(UserWarning, match=r"1 audio file\(s\) .* left out.*spk9_extra\.aiff.*"
                                         r"--extensions \.wav \.flac \.ogg \.aiff"):
        assert main(argv) == 1  # the bad file stops the run, named
    one_line_error("spk9_bad.wav")
    # the program prints a warning as one line, as an error is (not Python's file:line
    # and source line)
    assert console_main(argv) == 1
    warning, error = capsys.readouterr().err.strip().splitlines()[-2:]
    assert re.fullmatch(r"sklearn-ser: warning: 1 audio file\(s\) .* left out.*spk9_extra\.aiff"
                        r".*--extensions \.wav \.flac \.ogg \.aiff\)", warning)
    assert error.startswith("sklearn-ser: error: ") and "spk9_bad.wav" in error
    with pytest.warns(UserWarning, match="left out"):
        assert main([*argv, "--on-error", "skip", "-q"]) == 0
    err = capsys.readouterr().err  # skipped files are named even with -q
    assert f"sklearn-ser: skipping {tmp_path / y[1] / 'spk9_bad.wav'}: cannot decode audio file: " \
        in err
    assert "notes.txt" not in err
    assert main([*argv, "--on-error", "skip", "--extensions", ".wav", ".AIFF"]) == 0  # no warning
    err = capsys.readouterr().err
    assert f"folder: {len(files) + 1} files from {tmp_path} (1 skipped)" in err


def test_the_demo_dataset_is_the_synthetic_corpus_of_the_seed(capsys):
    from sklearn_ser.cli._data import load_data

    args = build_parser().parse_args(["cross-validate", "--dataset", "demo", "--random-state",
                                      "5"])
    X, y, groups = load_data(args)
    expected = make_emotional_speech(240, n_classes=4, random_state=5)
    for got, want in zip((X, y, groups), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert (args.n_samples, args.n_classes) == (240, 4)  # recorded in a report's options
    assert capsys.readouterr().err == "demo: 240 synthetic utterances of 2 s\n"


def test_a_root_one_level_too_high_names_the_folder_meant(one_line_error, tiny, corpus,
                                                          tmp_path):
    _, files, _ = corpus
    for path in files:  # the corpus one level down: tmp_path/emotions/<label>/<file>
        (tmp_path / "emotions" / path.parent.name).mkdir(parents=True, exist_ok=True)
        (tmp_path / "emotions" / path.parent.name / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "out" / "m.sser"
    assert main(["train", "--dataset", "folder", "--root", str(tmp_path), *tiny, "-q",
                 "--out", str(out)]) == 2
    one_line_error(f"--root {tmp_path}: every file is under {tmp_path / 'emotions'}, so "
                   f"'emotions' is the only class", f"did you mean --root {tmp_path / 'emotions'}?")
    assert not out.exists()
