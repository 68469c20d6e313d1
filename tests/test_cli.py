"""The sklearn-ser command line, run in-process on a tiny corpus of WAV files."""

import copy
import csv
import io
import json
import math
import re
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
import soundfile as sf
from sklearn.ensemble import VotingClassifier
from sklearn.metrics import confusion_matrix
from sklearn.pipeline import Pipeline

from sklearn_ser import (
    ACRNNClassifier,
    ADCRNNClassifier,
    LogMel3DTransformer,
    __version__,
    load_model,
)
from sklearn_ser.cli import console_main, main
from sklearn_ser.datasets import make_emotional_speech
from sklearn_ser.timeline import WINDOWS_PER_BLOCK, predict_timeline, window_bounds

COMMANDS = ["demo", "cross-validate", "train", "predict", "timeline"]
# Tiny network, one epoch, 1-s chunks: the commands' plumbing, not their accuracy.
TINY = ["--width", "tiny", "--epochs", "1", "--chunk-frames", "100", "--valid-fraction", "0",
        "--lr", "3e-3"]
SPEAKER = r"spk(\d+)_"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """24 one-second utterances of 2 emotions by 4 speakers, as ROOT/<label>/spkG_NN.wav."""
    root = tmp_path_factory.mktemp("corpus")
    X, y, groups = make_emotional_speech(24, n_classes=2, n_speakers=4, duration=1.0,
                                         random_state=0)
    files = []
    for i, (signal, label, speaker) in enumerate(zip(X, y, groups, strict=True)):
        (root / label).mkdir(exist_ok=True)
        files.append(root / label / f"spk{speaker}_{i:02d}.wav")
        sf.write(files[-1], signal, 16000)
    return root, files, y


@pytest.fixture(scope="module")
def model_path(corpus, tmp_path_factory):
    root, _, _ = corpus
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    assert main(["train", "--dataset", "folder", "--root", str(root), *TINY, "-q",
                 "--precision", "float32", "--out", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def model(model_path):
    return joblib.load(model_path)


def one_line_error(captured, *fragments):
    """stderr is exactly one line, naming what went wrong; stdout is empty."""
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("sklearn-ser")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


# -- help, version, usage errors -----------------------------------------------------
def test_python_m_sklearn_ser_help_lists_the_commands():
    result = subprocess.run([sys.executable, "-m", "sklearn_ser", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: sklearn-ser")
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: sklearn-ser {command}")
    assert "--threads" in out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sklearn-ser {__version__}"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ([], "COMMAND"),
        (["fly"], "invalid choice: 'fly'"),
        (["predict", "m.joblib", "a.wav", "--format", "xml"], "--format"),
        (["cross-validate", "--dataset", "demo", "--cv", "fold5"], "--cv"),
        (["cross-validate", "--dataset", "emodb"], "--root PATH"),
        (["train", "--dataset", "demo", "--groups", "x", "--out", "m.joblib"], "--groups"),
        (["train", "--dataset", "demo", "--label", "x", "--out", "m.joblib"],
         "--label applies to --dataset folder only"),
        (["train", "--dataset", "folder", "--root", ".", "--groups", "(spk", "--out",
          "m.joblib"], "--groups '(spk' is not a valid regular expression"),
        (["timeline", "m.joblib", "a.wav", "--hop", "-1"], "--hop"),
        (["train", "--dataset", "demo", "--out", "m.sser", "--aux-weight", "nan"], "--aux-weight"),
        (["train", "--dataset", "demo", "--out", "m.sser", "--aux-weight", "-1"], "--aux-weight"),
        (["demo", "--n-samples", "10"], "--n-samples"),
        (["cross-validate", "--dataset", "emodb", "--root", ".", "--n-samples", "50"],
         "--n-samples applies to --dataset demo only"),
        (["train", "--dataset", "folder", "--root", ".", "--n-classes", "2", "--out",
          "m.joblib"], "--n-classes applies to --dataset demo only"),
        (["train", "--dataset", "demo", "--n-seeds", "2", "--out", "m.joblib",
          "--checkpoint-dir", "ck"], "--n-seeds 2"),
        (["cross-validate", "--dataset", "demo", "--n-seeds", "0"], "--n-seeds"),
        (["train", "--dataset", "demo", "--seed", "-1", "--n-seeds", "2", "--out", "m.sser"],
         "'seed-1'"),
        (["train", "--dataset", "demo", "--n-seeds", "65", "--out", "m.sser"], "not 65"),
        (["train", "--dataset", "demo", "--root", ".", "--out", "m.sser"],
         "--root does not apply to --dataset demo"),
        (["train", "--dataset", "demo", "--on-error", "skip", "--out", "m.sser"],
         "--on-error applies to a corpus"),
        (["train", "--dataset", "emodb", "--root", ".", "--extensions", ".aiff", "--out",
          "m.sser"], "--extensions applies to --dataset folder only"),
        (["train", "--dataset", "folder", "--root", ".", "--extensions", ".wav", "aiff",
          "--out", "m.sser"], "--extensions takes endings that start with a dot, e.g. .aiff"),
        # before any feature is computed, not after
        (["train", "--dataset", "demo", "--chunk-frames", "2", "--out", "m.sser"],
         "--chunk-frames 2 is too short for ADCRNN, which needs chunks of at least 4"),
        (["cross-validate", "--dataset", "demo", "--model", "acrnn", "--chunk-frames", "1"],
         "--chunk-frames 1 is too short for ACRNN"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv, fragment, capsys):
    assert main(argv) == 2
    one_line_error(capsys.readouterr(), fragment)


# -- train ----------------------------------------------------------------------------
def test_train_saves_a_fitted_pipeline(model, corpus):
    _, files, y = corpus
    assert isinstance(model, Pipeline)
    assert isinstance(model[0], LogMel3DTransformer) and model[0].chunk_frames == 100
    assert isinstance(model[-1], ADCRNNClassifier) and len(model[-1].history) == 1
    assert model[-1].precision == "float32" and model[-1].autocast_dtype_ is None
    assert model.classes_.tolist() == sorted(set(y))
    assert model.predict_proba([str(f) for f in files]).shape == (len(files), 2)


def test_train_acrnn_without_auxiliary_loss(corpus, tmp_path, capsys):
    root, _, _ = corpus
    out = tmp_path / "acrnn.joblib"
    assert main(["train", "--dataset", "folder", "--root", str(root), "--model", "acrnn",
                 "--loss", "none", *TINY, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"saved {out}: acrnn") and "24 utterances" in captured.out
    assert "train_loss" in captured.err and "train_loss" not in captured.out  # progress: stderr
    clf = joblib.load(out)[-1]
    assert isinstance(clf, ACRNNClassifier) and clf.criterion_.center_loss is None


@pytest.mark.parametrize("suffix", [".joblib", ".sser"])
def test_train_n_seeds_saves_a_soft_vote_that_predicts(suffix, corpus, tmp_path, capsys):
    root, files, y = corpus
    out = tmp_path / f"vote{suffix}"
    assert main(["train", "--dataset", "folder", "--root", str(root), *TINY, "--seed", "4",
                 "--n-seeds", "2", "-q", "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"saved {out}: 2 networks (adcrnn")
    model = joblib.load(out) if suffix == ".joblib" else load_model(out)
    vote = model[-1]
    assert isinstance(vote, VotingClassifier) and vote.voting == "soft"
    assert [name for name, _ in vote.estimators] == ["seed4", "seed5"]
    assert all(isinstance(net, ADCRNNClassifier) for net in vote.estimators_)
    assert main(["predict", str(out), "--format", "json", *map(str, files[:3])]) == 0
    rows = json.loads(capsys.readouterr().out)
    expected = model.predict_proba([str(f) for f in files[:3]])
    assert not np.allclose(*(net.predict_proba(model[0].transform([str(files[0])]))
                             for net in vote.estimators_))  # two different networks
    np.testing.assert_allclose([[row["probabilities"][c] for c in sorted(set(y))]
                                for row in rows], expected, atol=1e-6)


def test_train_in_the_safe_format_predicts_like_the_pickle(corpus, tmp_path, capsys):
    root, files, _ = corpus
    safe, pickle = tmp_path / "model.sser", tmp_path / "model.joblib"
    for out in (safe, pickle):
        assert main(["train", "--dataset", "folder", "--root", str(root), *TINY, "--seed", "3",
                     "--out", str(out)]) == 0
    assert zipfile.is_zipfile(safe) and not zipfile.is_zipfile(pickle)
    outputs = []
    for out in (safe, pickle):
        capsys.readouterr()
        assert main(["predict", str(out), *map(str, files[:4]), "--format", "json"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1]


def test_train_resumes_from_its_checkpoint(corpus, tmp_path, capsys):
    root, _, _ = corpus
    checkpoints, out = tmp_path / "ckpt", tmp_path / "m.joblib"
    three_epochs = [*TINY[:2], "--epochs", "3", *TINY[4:]]
    two_epochs = [*TINY[:2], "--epochs", "2", *TINY[4:]]
    assert main(["train", "--dataset", "folder", "--root", str(root), *two_epochs,
                 "--checkpoint-dir", str(checkpoints), "--out", str(out)]) == 0
    assert main(["train", "--dataset", "folder", "--root", str(root), *three_epochs,
                 "--checkpoint-dir", str(checkpoints), "--resume", "--out", str(out)]) == 0
    history = joblib.load(out)[-1].history
    assert history[:, "epoch"] == [1, 2, 3]  # two from the first run, one more on resume
    capsys.readouterr()
    assert main(["train", "--dataset", "folder", "--root", str(root), *TINY, "--resume",
                 "--out", str(out)]) == 2
    one_line_error(capsys.readouterr(), "--resume needs --checkpoint-dir")


def test_train_with_checkpoints_keeps_the_training_recipe(corpus, tmp_path):
    root, _, _ = corpus
    out = tmp_path / "m.joblib"
    assert main(["train", "--dataset", "folder", "--root", str(root), "--width", "tiny",
                 "--epochs", "30", "--chunk-frames", "100", "--lr", "0.3",
                 "--valid-fraction", "0.25", "--schedule", "cosine", "--patience", "1",
                 "--augment", "--checkpoint-dir", str(tmp_path / "ckpt"), "-q",
                 "--out", str(out)]) == 0
    clf = joblib.load(out)[-1]
    names = [name for name, _ in clf.callbacks]
    assert names == ["checkpoint_best", "checkpoint", "train_data", "augment", "lr_schedule",
                     "early_stopping"]
    # without --resume too, so a later --resume can check it trains on the same data
    assert (tmp_path / "ckpt" / "train_data.json").exists()
    # early stopping ended the run, and the checkpoint holds its last epoch
    assert len(clf.history) < 30
    saved = json.loads((tmp_path / "ckpt" / "history.json").read_text())
    assert len(saved) == len(clf.history)
    assert [row["event_lr"] for row in saved] == clf.history[:, "event_lr"]


def test_train_checks_the_output_folder_before_training(corpus, tmp_path, capsys):
    root, _, _ = corpus
    out = tmp_path / "missing" / "m.joblib"
    assert main(["train", "--dataset", "folder", "--root", str(root), *TINY,
                 "--out", str(out)]) == 1
    one_line_error(capsys.readouterr(), "folder of the output file not found", str(out.parent))


def test_missing_corpus_root_is_a_runtime_error(tmp_path, capsys):
    root = tmp_path / "nowhere"
    assert main(["train", "--dataset", "emodb", "--root", str(root), "--out", "m.joblib"]) == 1
    one_line_error(capsys.readouterr(), "corpus root not found", str(root))


# -- predict ------------------------------------------------------------------------
def test_predict_json_gives_the_pipelines_probabilities(model_path, model, corpus, capsys):
    _, files, _ = corpus
    names = [str(f) for f in files[:5]]
    assert main(["predict", str(model_path), *names, "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    expected = model.predict_proba(names)
    assert [r["file"] for r in records] == names
    for record, proba in zip(records, expected, strict=True):
        assert list(record["probabilities"]) == model.classes_.tolist()
        np.testing.assert_allclose(list(record["probabilities"].values()), proba, rtol=1e-12)
        assert sum(record["probabilities"].values()) == pytest.approx(1.0)
        assert record["label"] == model.classes_[proba.argmax()]


def test_predict_csv_and_table(model_path, model, corpus, capsys):
    _, files, _ = corpus
    names = [str(f) for f in files[:4]]
    classes = model.classes_.tolist()
    assert main(["predict", str(model_path), *names, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["file"] for row in rows] == names
    np.testing.assert_allclose([[float(row[c]) for c in classes] for row in rows],
                               model.predict_proba(names), rtol=1e-12)
    assert [row["label"] for row in rows] == model.predict(names).tolist()

    assert main(["predict", str(model_path), *names]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["file", "label", *classes]
    for line, name in zip(lines[1:], names, strict=True):
        file, label, *proba = line.split()
        assert file == name and label in classes
        assert sum(map(float, proba)) == pytest.approx(1.0, abs=2e-3)  # 3 decimals each


def test_predict_missing_model_names_the_file(tmp_path, corpus, capsys):
    missing = tmp_path / "no_model.joblib"
    assert main(["predict", str(missing), str(corpus[1][0])]) == 1
    one_line_error(capsys.readouterr(), "model file not found", str(missing))


def test_predict_missing_audio_names_the_file(model_path, tmp_path, capsys):
    missing = tmp_path / "gone.wav"
    assert main(["predict", str(model_path), str(missing)]) == 1
    one_line_error(capsys.readouterr(), "audio file not found", str(missing))


def test_predict_rejects_a_file_that_is_not_a_model(tmp_path, corpus, capsys):
    not_a_model = tmp_path / "notes.joblib"
    not_a_model.write_text("hello")
    assert main(["predict", str(not_a_model), str(corpus[1][0])]) == 1
    one_line_error(capsys.readouterr(), "cannot load model file", str(not_a_model))
    joblib.dump({"a": 1}, not_a_model)
    assert main(["predict", str(not_a_model), str(corpus[1][0])]) == 1
    one_line_error(capsys.readouterr(), "not a fitted classifier")


def test_predict_and_timeline_refuse_a_classifier_saved_without_its_front_end(model, corpus,
                                                                              tmp_path, capsys):
    from sklearn_ser import save_model

    alone = save_model(model.steps[-1][1], tmp_path / "classifier.sser")
    for command in ("predict", "timeline"):
        assert main([command, str(alone), str(corpus[1][0])]) == 1
        one_line_error(capsys.readouterr(), str(alone), "without a LogMel3DTransformer first")


def test_predict_never_unpickles_a_file_named_like_the_safe_format(tmp_path, corpus, capsys):
    marker = tmp_path / "pwned"
    evil = tmp_path / "model.sser"
    joblib.dump(_RunsOnLoad(str(marker)), evil)
    for command in (["predict", str(evil), str(corpus[1][0])],
                    ["timeline", str(evil), str(corpus[1][0])]):
        assert main(command) == 1
        one_line_error(capsys.readouterr(), str(evil), "looks like a pickle", ".joblib")
        assert not marker.exists()


class _RunsOnLoad:
    """A pickle that creates a file when it is loaded."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_predict_skips_an_unreadable_file_and_keeps_the_others(model_path, model, corpus,
                                                               tmp_path, capsys):
    _, files, _ = corpus
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    names = [str(files[0]), str(empty), str(files[1])]
    assert main(["predict", str(model_path), *names, "--format", "json"]) == 1
    captured = capsys.readouterr()
    records = json.loads(captured.out)
    assert [r["file"] for r in records] == [names[0], names[2]]
    expected = model.predict_proba([names[0], names[2]])
    np.testing.assert_allclose([list(r["probabilities"].values()) for r in records], expected,
                               rtol=1e-6)
    lines = captured.err.strip().splitlines()
    skipped = [line for line in lines if line.startswith("sklearn-ser predict: skipping")]
    # the file is named once: the error's own "<name>: " prefix is not repeated
    assert skipped == [f"sklearn-ser predict: skipping {empty}: cannot decode audio file: the "
                       "file is empty (0 bytes)"]
    assert "1 of 3 files could not be read" in lines[-1] and str(empty) in lines[-1]


def test_predict_and_timeline_progress_follow_the_commands_quiet_flag(model_path, model,
                                                                      corpus, tmp_path, capsys):
    # model_path was trained with -q; "loud" is the same model saved with progress on.
    _, files, _ = corpus
    loud = tmp_path / "loud.joblib"
    joblib.dump(copy.deepcopy(model).set_params(features__verbose=1), loud)
    for saved in (model_path, loud):
        for command in (["predict", str(saved), str(files[0])],
                        ["timeline", str(saved), str(files[0])]):
            assert main([*command, "-q"]) == 0
            assert capsys.readouterr().err == ""
            assert main(command) == 0
            assert "[LogMel3DTransformer] 1/1 files" in capsys.readouterr().err


# -- timeline -----------------------------------------------------------------------
def test_timeline_of_a_short_file_is_the_pipelines_chunk_prediction(model_path, model,
                                                                     tmp_path, capsys):
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


def test_timeline_windows_are_the_pipeline_on_slices_of_the_file(model, tmp_path):
    # 22.05 kHz stereo: windows are cut in the file's samples, mixed and resampled each.
    rate, seconds, hop = 22050, 7.3, 0.4
    rng = np.random.default_rng(1)
    stereo = rng.standard_normal((round(seconds * rate), 2)).astype(np.float32) * 0.1
    path = tmp_path / "long.wav"
    sf.write(path, stereo, rate, subtype="FLOAT")
    rows = list(predict_timeline(model, path, hop_seconds=hop, windows_per_block=3))

    mono = stereo.mean(axis=1, dtype=np.float32)
    window = rate  # the model's chunk: 100 frames of 10 ms
    starts, stops = window_bounds(len(mono), window, round(hop * rate))
    assert len(rows) == len(starts) == 1 + math.ceil((len(mono) - window) / (hop * rate))
    windows = [(mono[a:b], rate) for a, b in zip(starts, stops, strict=True)]
    # Batched as the timeline batches them (3 per block): float32 convolutions
    # round differently for another batch size.
    expected = np.concatenate([model.predict_proba(windows[i : i + 3])
                               for i in range(0, len(windows), 3)])
    np.testing.assert_allclose([row[2] for row in rows], expected, rtol=1e-12)
    np.testing.assert_allclose([row[0] for row in rows], starts / rate)
    assert rows[-1][1] == pytest.approx(seconds)  # the last window ends with the file


@pytest.mark.parametrize("n_samples, window, hop", [
    (96000, 32000, 48000),  # 6 s, 2-s windows every 3 s: 0-2, 3-5 (no window at 6 s)
    (72000, 16000, 36000),  # 4.5 s, 1-s windows every 2.25 s: 0-1, 2.25-3.25
    (50, 20, 7), (50, 20, 20), (50, 20, 30), (50, 80, 7), (1, 20, 30), (60, 20, 20),
])
def test_window_bounds_never_start_a_window_at_or_past_the_end(n_samples, window, hop):
    starts, stops = window_bounds(n_samples, window, hop)
    expected = [0]  # windows every hop until one reaches the end, none past it
    while expected[-1] + window < n_samples and expected[-1] + hop < n_samples:
        expected.append(expected[-1] + hop)
    assert starts.tolist() == expected
    np.testing.assert_array_equal(stops, np.minimum(np.array(expected) + window, n_samples))
    assert (stops > starts).all()


def test_timeline_with_a_hop_longer_than_the_window_skips_the_gaps(model_path, model, tmp_path,
                                                                    capsys):
    # 4.5 s at 16 kHz, the model's 1-s window every 2.25 s: the third window
    # would start at 4.5 s, the end of the file (it used to fail as an empty signal).
    signal = np.random.default_rng(4).standard_normal(72000).astype(np.float32) * 0.1
    path = tmp_path / "gaps.wav"
    sf.write(path, signal, 16000, subtype="FLOAT")
    rows = list(predict_timeline(model, path, hop_seconds=2.25))
    assert [(row[0], row[1]) for row in rows] == [(0.0, 1.0), (2.25, 3.25)]
    expected = model.predict_proba([(signal[:16000], 16000), (signal[36000:52000], 16000)])
    np.testing.assert_allclose([row[2] for row in rows], expected, rtol=1e-12)
    assert main(["timeline", str(model_path), str(path), "--hop", "2.25", "--format", "csv",
                 "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[:2] for line in lines[1:]] == [["0.000", "1.000"], ["2.250", "3.250"]]


def test_timeline_of_a_trim_zeros_model_skips_digital_silence(model, tmp_path, capsys):
    trimming = copy.deepcopy(model).set_params(features__trim_zeros=True)
    rate = 22050
    speech = np.random.default_rng(2).standard_normal(rate // 2).astype(np.float32) * 0.1
    path = tmp_path / "pause.wav"
    sf.write(path, np.concatenate([speech, np.zeros(3 * rate, np.float32)]), rate,
             subtype="FLOAT")
    rows = list(predict_timeline(trimming, path, hop_seconds=1.0))
    assert [row[0] for row in rows] == [0.0, 1.0, 2.0, 3.0]
    # the first window is the speech, trimmed before resampling as a file would be
    np.testing.assert_allclose(rows[0][2], trimming.predict_proba([(speech, rate)])[0],
                               rtol=1e-12)
    assert all(np.isnan(row[2]).all() for row in rows[1:])
    # a file no longer than one window: its row is predict_proba of the file
    short = tmp_path / "short.wav"
    sf.write(short, np.concatenate([speech, np.zeros(rate // 4, np.float32)]), rate,
             subtype="FLOAT")
    (row,) = predict_timeline(trimming, short)
    np.testing.assert_array_equal(row[2], trimming.predict_proba([short])[0])
    saved = tmp_path / "trimming.joblib"
    joblib.dump(trimming, saved)
    assert main(["timeline", str(saved), str(path), "--format", "csv", "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[2] for line in lines[2:]] == ["(silence)"] * 3


def write_long_wav(path, minutes, rate=16000):
    """A tone in noise written 10 s at a time (the test itself never holds the whole file)."""
    rng = np.random.default_rng(0)
    t = np.arange(10 * rate) / rate
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as out:
        for _ in range(6 * minutes):
            out.write(0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t)))
    return 60 * minutes * rate


def test_timeline_memory_does_not_grow_with_the_file(model, tmp_path):
    peaks = {}
    for minutes in (1, 10):
        path = tmp_path / f"{minutes}min.wav"
        n_samples = write_long_wav(path, minutes)
        tracemalloc.start()
        n_rows = sum(1 for _ in predict_timeline(model, path, hop_seconds=1.0))
        peaks[minutes] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert n_rows == 60 * minutes
    whole_file_float32 = n_samples * 4  # 38.4 MB decoded at the front end's precision
    assert peaks[10] < whole_file_float32 / 4
    assert peaks[10] < 1.2 * peaks[1]  # bounded by the block, not the length
    assert WINDOWS_PER_BLOCK < n_rows


def test_timeline_errors(model_path, model, tmp_path, capsys):
    missing = tmp_path / "none.wav"
    assert main(["timeline", str(model_path), str(missing)]) == 1
    one_line_error(capsys.readouterr(), "audio file not found", str(missing))
    # the front end's wording for a folder and an empty file (was "Format not recognised")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    for path, fragment in ((tmp_path, "is a directory, not an audio file"),
                           (empty, "the file is empty (0 bytes)")):
        assert main(["timeline", str(model_path), str(path)]) == 1
        one_line_error(capsys.readouterr(), str(path), fragment)
    bare = tmp_path / "bare.joblib"
    joblib.dump(model[-1], bare)  # a classifier without its front end
    audio = tmp_path / "a.wav"
    sf.write(audio, np.zeros(16000, dtype=np.float32), 16000)
    assert main(["timeline", str(bare), str(audio)]) == 1
    one_line_error(capsys.readouterr(), "LogMel3DTransformer")
    # a window no longer than an analysis frame is the option's fault, said before any row
    assert main(["timeline", str(model_path), str(audio), "--window", "0.001"]) == 2
    one_line_error(capsys.readouterr(), "--window 0.001 is no longer than one analysis frame")


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


# -- cross-validate and demo ------------------------------------------------------------
def test_cross_validate_with_too_few_speakers_is_a_usage_error_before_any_output(
        corpus, tmp_path, capsys):
    # 4 speakers for 5 folds: it used to exit 1 in Python's words after making --output
    root, _, _ = corpus
    out = tmp_path / "cv"
    assert main(["cross-validate", "--dataset", "folder", "--root", str(root), "--groups",
                 SPEAKER, "--cv", "group5", *TINY, "--output", str(out), "-q"]) == 2
    line = one_line_error(capsys.readouterr(), "--cv group5 needs at least 5 speakers",
                          "found 4; use --cv group4 or --cv loso")
    assert "cv='" not in line
    assert not out.exists()


def test_cross_validate_prints_and_writes_a_report(corpus, tmp_path, capsys):
    root, files, y = corpus
    out = tmp_path / "cv"
    assert main(["cross-validate", "--dataset", "folder", "--root", str(root), "--groups",
                 SPEAKER, "--cv", "group2", *TINY, "--output", str(out)]) == 0
    captured = capsys.readouterr()
    assert "accuracy" in captured.out and "UAR" in captured.out and "± " in captured.out
    for label in set(y):
        assert label in captured.out
    assert "fold 1/2: training on" in captured.err and "train_loss" in captured.err
    assert "train_loss" not in captured.out
    report = json.loads((out / "report.json").read_text())
    assert np.sum(report["confusion_matrix"]) == len(files)
    assert report["labels"] == sorted(set(y)) and report["n_splits"] == 2
    assert report["epochs"] == [1, 1]
    assert report["options"]["cv"] == "group2" and report["options"]["width"] == "tiny"
    # Per-sample predictions point at the files and rebuild the summed matrix.
    label_of = {Path(f).name: label for f, label in zip(files, y, strict=True)}
    assert sorted(Path(f).name for f in report["files"]) == sorted(label_of)
    truth = [label_of[Path(report["files"][i]).name] for fold in report["test_index"] for i in fold]
    predicted = [label for fold in report["predictions"] for label in fold]
    assert confusion_matrix(truth, predicted, labels=report["labels"]).tolist() == report[
        "confusion_matrix"]
    assert all(len(rows) == len(fold) for rows, fold in zip(report["probabilities"],
                                                             report["test_index"], strict=True))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "skipping confusion_matrix.png" in captured.err
    else:
        assert (out / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"


def test_cross_validate_recipe_flags_reach_the_report(corpus, tmp_path, capsys):
    root, _, _ = corpus
    out = tmp_path / "cv"
    recipe = ["--width", "tiny", "--epochs", "3", "--chunk-frames", "100", "--chunk-hop", "50",
              "--lr", "3e-3", "--valid-fraction", "0.25", "--schedule", "cosine",
              "--patience", "5", "--augment", "-q"]
    assert main(["cross-validate", "--dataset", "folder", "--root", str(root), "--cv", "2",
                 *recipe, "--output", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["fit_time"] and all(len(fold) == 3 for fold in report["history"])
    for fold in report["history"]:
        assert [row["epoch"] for row in fold] == [1, 2, 3]
        assert fold[0]["event_lr"] == pytest.approx(3e-3)
        assert fold[1]["event_lr"] < fold[0]["event_lr"] and "valid_acc" in fold[0]
    assert report["options"]["chunk_hop"] == 50 and report["options"]["augment"] is True


def test_cross_validate_checks_its_output_folder_before_training(corpus, tmp_path, capsys):
    root, _, _ = corpus
    in_the_way = tmp_path / "afile"
    in_the_way.write_text("not a folder")
    assert main(["cross-validate", "--dataset", "folder", "--root", str(root), "--cv", "2",
                 *TINY, "--output", str(in_the_way)]) == 1
    captured = capsys.readouterr()
    assert "is a file" in captured.err and str(in_the_way) in captured.err
    assert "fold 1/2" not in captured.err and "train_loss" not in captured.err  # no training


def test_cross_validate_usage_error_creates_no_output_folder(corpus, tmp_path, capsys):
    root, _, _ = corpus
    out = tmp_path / "never"
    assert main(["cross-validate", "--dataset", "folder", "--root", str(root), "--cv", "2",
                 *TINY, "--patience", "3", "-q", "--output", str(out)]) == 2
    assert not out.exists()


@pytest.mark.parametrize(("name", "pickled"), [
    ("m.joblib", True), ("m.PKL", True), ("m.pickle", True), ("m.joblib.gz", True),
    ("m.pkl.bz2", True), ("m.sser", False), ("m.gz", False), ("m.joblib.sser", False),
    ("model", False), ("m.zip", False),
])
def test_which_model_names_are_pickles(name, pickled):
    from sklearn_ser.cli._common import is_pickle_name

    assert is_pickle_name(name) is pickled


def test_a_compressed_pickle_loads_by_name_and_is_refused_under_another(model, tmp_path,
                                                                        corpus, capsys):
    packed = tmp_path / "m.joblib.gz"
    joblib.dump(model, packed)  # joblib compresses by the name
    assert main(["predict", str(packed), str(corpus[1][0]), "--format", "json"]) == 0
    capsys.readouterr()
    renamed = packed.rename(tmp_path / "m.model")
    assert main(["predict", str(renamed), str(corpus[1][0])]) == 1
    one_line_error(capsys.readouterr(), "looks like a pickle", ".gz")


def test_folder_dataset_label_regex_on_a_speaker_emotion_layout(tmp_path, capsys):
    X, y, groups = make_emotional_speech(8, n_classes=2, n_speakers=2, duration=0.5,
                                         random_state=0)
    for i, (signal, label, speaker) in enumerate(zip(X, y, groups, strict=True)):
        folder = tmp_path / f"spk{speaker}" / label
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"{i}.wav", signal, 16000)
    args = ["cross-validate", "--dataset", "folder", "--root", str(tmp_path), "--cv", "loso",
            "--groups", r"^spk(\w+)/", *TINY, "-q"]
    assert main([*args, "--label", r"^[^/]+/([^/]+)/", "--output", str(tmp_path / "cv")]) == 0
    report = json.loads((tmp_path / "cv" / "report.json").read_text())
    assert report["labels"] == sorted(set(y))
    # Without --label, the first folder (the speaker) would be the label.
    assert main([*args, "--cv", "2"]) == 0
    assert f"spk{groups[0]}" in capsys.readouterr().out


def test_cross_validate_patience_needs_a_validation_split(corpus, capsys):
    root, _, _ = corpus
    assert main(["cross-validate", "--dataset", "folder", "--root", str(root), "--cv", "2",
                 *TINY, "--patience", "3", "-q"]) == 2
    one_line_error(capsys.readouterr(), "--patience 3", "--valid-fraction > 0")


def test_cross_validate_by_speaker_needs_groups(corpus, capsys):
    root, _, _ = corpus
    assert main(["cross-validate", "--dataset", "folder", "--root", str(root), "--cv", "loso",
                 *TINY, "--quiet"]) == 2
    one_line_error(capsys.readouterr(), "--groups REGEX", "--cv 5")


def test_demo_writes_a_model_that_predicts(tmp_path, capsys):
    assert main(["demo", "--n-samples", "40", "--epochs", "1", "--output", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split() == ["fold", "train", "test", "accuracy", "UAR", "seconds", "epochs"]
    assert [line.split()[0] for line in lines[1:4]] == ["1", "2", "3"]
    assert lines[4].startswith("accuracy ") and "chance UAR 0.250" in lines[4]
    assert "refitting on all 40 utterances" in captured.err
    report = json.loads((tmp_path / "report.json").read_text())
    assert np.sum(report["confusion_matrix"]) == 40 and len(report["labels"]) == 4
    model = joblib.load(tmp_path / "demo_model.joblib")
    signals = make_emotional_speech(3, random_state=9)[0]
    np.testing.assert_allclose(model.predict_proba(signals).sum(axis=1), 1.0)
    if "skipping" not in captured.err:
        assert (tmp_path / "confusion_matrix.png").exists()
        assert (tmp_path / "log_mel_3d.png").exists()


def test_a_folder_corpus_names_skipped_and_left_out_files(corpus, tmp_path, capsys):
    _, files, y = corpus
    for path in files:  # a copy of the corpus, to add files to
        (tmp_path / path.parent.name).mkdir(exist_ok=True)
        (tmp_path / path.parent.name / path.name).write_bytes(path.read_bytes())
    signal, rate = sf.read(files[0])
    sf.write(tmp_path / y[0] / "spk9_extra.aiff", signal, rate)  # another format
    (tmp_path / y[1] / "spk9_bad.wav").write_bytes(b"RIFF....WAVEjunk")  # not decodable
    (tmp_path / y[1] / "notes.txt").write_text("not audio, and not reported")
    out = tmp_path / "m.sser"
    argv = ["train", "--dataset", "folder", "--root", str(tmp_path), *TINY, "--epochs", "1",
            "--out", str(out)]
    # main() leaves warnings to its caller (pytest.warns here, logging elsewhere)
    with pytest.warns(UserWarning, match=r"1 audio file\(s\) .* left out.*spk9_extra\.aiff.*"
                                         r"--extensions \.wav \.flac \.ogg \.aiff"):
        assert main(argv) == 1  # the bad file stops the run, named
    one_line_error(capsys.readouterr(), "spk9_bad.wav")
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


@pytest.mark.parametrize("message", [
    "/c/x.wav: the signal is empty (0 samples)",
    "cannot decode audio file '/c/x.wav': the file is empty (0 bytes)",
    "[Errno 2] audio file not found (a broken link?): '/c/x.wav'",
])
def test_a_skip_line_names_the_file_once(message):
    from sklearn_ser.cli._common import strip_name

    reason = strip_name(message, "/c/x.wav")
    assert "/c/x.wav" not in reason and not reason.endswith(":")
    assert reason.split()[-1] in ("samples)", "bytes)", "link?)")
