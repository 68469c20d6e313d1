"""``sklearn-ser timeline``: the rows it prints and its errors (the windows themselves:
``tests/test_timeline.py``)."""

import copy
import csv
import io
import json
import math

import joblib
import numpy as np
import soundfile as sf

from sklearn_ser.cli import console_main, main
from sklearn_ser.datasets import make_emotional_speech


def test_timeline_of_a_short_file_is_the_pipelines_chunk_prediction(
        model_path, model, tmp_path, capsys):
    signal = make_emotional_speech(1, duration=0.8, random_state=3)[0][0]
    path = tmp_path / "short.wav"
    sf.write(path, signal, 16000, subtype="FLOAT")
    assert main(["timeline", str(model_path), str(path), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1 and (rows[0]["start"], rows[0]["end"]) == ("0.000", "0.800")
    proba = [float(rows[0][c]) for c in model.classes_]
    chunk_proba = model[-1].predict_chunk_proba(model[0].transform([str(path)]))
    np.testing.assert_allclose(proba, chunk_proba[0], rtol=1e-6)  # float32 chunk output
    np.testing.assert_allclose(proba, model.predict_proba([str(path)])[0], rtol=1e-12)


def test_timeline_csv_rows_are_the_windows_with_gaps_between_them(model_path, model, tmp_path,
                                                                  capsys):
    # 4.5 s at 16 kHz, the model's 1-s window every 2.25 s: no third window at 4.5 s,
    # the end of the file
    signal = np.random.default_rng(4).standard_normal(72000).astype(np.float32) * 0.1
    path = tmp_path / "gaps.wav"
    sf.write(path, signal, 16000, subtype="FLOAT")
    assert main(["timeline", str(model_path), str(path), "--hop", "2.25", "--format", "csv",
                 "-q"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(row["start"], row["end"]) for row in rows] == [("0.000", "1.000"),
                                                             ("2.250", "3.250")]
    expected = model.predict_proba([(signal[:16000], 16000), (signal[36000:52000], 16000)])
    np.testing.assert_allclose([[float(row[c]) for c in model.classes_] for row in rows],
                               expected, rtol=1e-12)
    assert [row["label"] for row in rows] == model.classes_[expected.argmax(axis=1)].tolist()


def test_timeline_json_has_the_csv_rows_values(model_path, model, tmp_path, capsys):
    signal = np.random.default_rng(5).standard_normal(40000).astype(np.float32) * 0.1
    path = tmp_path / "two_and_a_half.wav"
    sf.write(path, signal, 16000, subtype="FLOAT")
    assert main(["timeline", str(model_path), str(path), "--format", "json", "-q"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert main(["timeline", str(model_path), str(path), "--format", "csv", "-q"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["start"], r["end"]) for r in records] == [(0.0, 1.0), (1.0, 2.0), (2.0, 2.5)]
    assert [r["label"] for r in records] == [row["label"] for row in rows]
    for record, row in zip(records, rows, strict=True):
        assert list(record["probabilities"]) == model.classes_.tolist()
        assert [repr(p) for p in record["probabilities"].values()] == \
            [row[c] for c in model.classes_]


def test_timeline_progress_counts_seconds_of_the_recording(model_path, tmp_path, capsys):
    # 40 s, 1-s windows every second, not a terminal: a line at each quarter of the time
    path = tmp_path / "forty.wav"
    sf.write(path, np.random.default_rng(6).standard_normal(16000 * 40) * 0.1, 16000)
    assert main(["timeline", str(model_path), str(path), "--format", "csv"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[:4] == [f"timeline: {seconds:.1f} of 40.0 s of the recording"
                         for seconds in (10, 20, 30, 40)]
    assert lines[4].startswith("timeline: 40 windows in ") and len(lines) == 5


def test_timeline_labels_digital_silence_of_a_trim_zeros_model(model, tmp_path, capsys):
    saved = tmp_path / "trimming.joblib"
    joblib.dump(copy.deepcopy(model).set_params(features__trim_zeros=True), saved)
    audio = np.zeros(16000 * 7 // 2, np.float32)  # 0.5 s of noise, then 3 s of digital silence
    audio[:8000] = np.random.default_rng(2).standard_normal(8000) * 0.1
    path = tmp_path / "pause.wav"
    sf.write(path, audio, 16000, subtype="FLOAT")
    assert main(["timeline", str(saved), str(path), "--format", "csv", "-q"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["start"] for row in rows] == ["0.000", "1.000", "2.000", "3.000"]
    assert rows[0]["label"] != "(silence)"
    for row in rows[1:]:  # nothing to classify: no label, NaN probabilities
        assert row["label"] == "(silence)"
        assert all(math.isnan(float(row[c])) for c in model.classes_)
    # in JSON (which has no NaN): null
    assert main(["timeline", str(saved), str(path), "--format", "json", "-q"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records[0]["label"] == rows[0]["label"]
    assert [(r["label"], r["probabilities"]) for r in records[1:]] == [(None, None)] * 3


def test_timeline_errors(one_line_error, model_path, model, tmp_path):
    missing = tmp_path / "none.wav"
    assert main(["timeline", str(model_path), str(missing)]) == 1
    one_line_error("audio file not found", str(missing))
    # the front end's wording for a folder and an empty file
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    for path, fragment in ((tmp_path, "is a directory, not an audio file"),
                           (empty, "the file is empty (0 bytes)")):
        assert main(["timeline", str(model_path), str(path)]) == 1
        one_line_error(str(path), fragment)
    bare = tmp_path / "bare.joblib"
    joblib.dump(model[-1], bare)  # a classifier without its front end
    audio = tmp_path / "a.wav"
    sf.write(audio, np.zeros(16000, dtype=np.float32), 16000)
    assert main(["timeline", str(bare), str(audio)]) == 1
    one_line_error("LogMel3DTransformer")
    # a window no longer than an analysis frame is the option's fault, said before any row
    assert main(["timeline", str(model_path), str(audio), "--window", "0.001"]) == 2
    one_line_error("--window 0.001 is no longer than one analysis frame")


def test_timeline_warns_once_of_a_file_shorter_than_a_frame_not_of_a_short_tail(
        model_path, tmp_path, capsys):
    click = tmp_path / "click.wav"
    sf.write(click, np.full(160, 0.1), 16000)  # 10 ms
    assert console_main(["timeline", str(model_path), str(click), "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 2  # the header and the one window
    warnings_ = [line for line in captured.err.splitlines() if ": warning: " in line]
    assert warnings_ == [f"sklearn-ser: warning: audio file '{click}' holds 160 samples (0.01 s), "
                         "no longer than one analysis frame: its one window is a single "
                         "zero-padded frame, far too little audio to recognise an emotion from "
                         "(ShortSignalWarning)"]
    tail = tmp_path / "tail.wav"  # 0.6 s windows every 0.6 s: the last one holds 10 ms
    sf.write(tail, np.random.default_rng(0).standard_normal(16000 * 6 // 5 + 160) * 0.1, 16000)
    assert console_main(["timeline", str(model_path), str(tail), "--window", "0.6", "--hop",
                         "0.6", "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().splitlines()[-1].startswith("1.200,1.210,")
    assert "warning" not in captured.err
