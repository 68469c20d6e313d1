"""``sklearn-ser predict``, and how the commands read a model file."""

import copy
import csv
import io
import json

import joblib
import numpy as np
import pytest
import soundfile as sf

from sklearn_ser.cli import main


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


def test_predict_missing_model_names_the_file(one_line_error, tmp_path, corpus):
    missing = tmp_path / "no_model.joblib"
    assert main(["predict", str(missing), str(corpus[1][0])]) == 1
    one_line_error("model file not found", str(missing))


def test_predict_missing_audio_names_the_file(one_line_error, model_path, tmp_path):
    missing = tmp_path / "gone.wav"
    assert main(["predict", str(model_path), str(missing)]) == 1
    one_line_error("audio file not found", str(missing))


def test_predict_rejects_a_file_that_is_not_a_model(one_line_error, tmp_path, corpus):
    not_a_model = tmp_path / "notes.joblib"
    not_a_model.write_text("hello")
    assert main(["predict", str(not_a_model), str(corpus[1][0])]) == 1
    one_line_error("cannot load model file", str(not_a_model))
    joblib.dump({"a": 1}, not_a_model)
    assert main(["predict", str(not_a_model), str(corpus[1][0])]) == 1
    one_line_error("not a fitted classifier")


def test_predict_and_timeline_refuse_a_classifier_saved_without_its_front_end(
        one_line_error, model, corpus, tmp_path):
    from sklearn_ser import save_model

    alone = save_model(model.steps[-1][1], tmp_path / "classifier.sser")
    for command in ("predict", "timeline"):
        assert main([command, str(alone), str(corpus[1][0])]) == 1
        one_line_error(str(alone), "without a LogMel3DTransformer first")


def test_predict_and_timeline_refuse_a_pickle_named_like_the_safe_format(one_line_error, model,
                                                                        corpus, tmp_path):
    # persistence.load never unpickles it (tests/test_policy.py); here: the one line
    renamed = tmp_path / "model.sser"
    joblib.dump(model, renamed)
    for command in ("predict", "timeline"):
        assert main([command, str(renamed), str(corpus[1][0])]) == 1
        one_line_error(str(renamed), "looks like a pickle", ".joblib")


def test_predict_skips_an_unreadable_file_and_keeps_the_others(
        model_path, model, corpus, tmp_path, capsys):
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


def test_predict_and_timeline_progress_follow_the_commands_quiet_flag(
        model_path, model, corpus, tmp_path, capsys):
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
            err = capsys.readouterr().err
            if command[0] == "predict":
                assert "[LogMel3DTransformer] 1/1 files" in err
            else:  # the timeline counts seconds of the recording, not files
                assert "LogMel3DTransformer" not in err
                assert "timeline: 1.0 of 1.0 s of the recording" in err.splitlines()


def test_predict_a_folder_predicts_its_audio_files_in_sorted_order(model_path, model, corpus,
                                                                    tmp_path, capsys):
    _, files, _ = corpus
    folder = tmp_path / "clips"
    (folder / "deeper").mkdir(parents=True)
    for name, source in [("b.wav", files[0]), ("deeper/c.wav", files[2]),
                         (".hidden.wav", files[3])]:
        (folder / name).write_bytes(source.read_bytes())
    sf.write(folder / "a.flac", *sf.read(files[1]))
    (folder / "notes.txt").write_text("not audio")
    assert main(["predict", str(model_path), str(folder), str(files[4]), "--format", "json",
                 "-q"]) == 0
    records = json.loads(capsys.readouterr().out)
    # what load_audio_folder loads: .wav .flac .ogg at any depth, no dot files, sorted
    expected = [folder / "a.flac", folder / "b.wav", folder / "deeper" / "c.wav", files[4]]
    assert [record["file"] for record in records] == list(map(str, expected))
    np.testing.assert_allclose([list(r["probabilities"].values()) for r in records],
                               model.predict_proba(list(map(str, expected))), rtol=1e-6)
    # --extensions narrows them, as for a folder corpus, and names the audio left out
    with pytest.warns(UserWarning, match=r"2 audio file\(s\) .* left out.*--extensions "
                                         r"\.flac \.wav"):
        assert main(["predict", str(model_path), str(folder), "--extensions", ".flac",
                     "--format", "csv", "-q"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["file"] for row in rows] == [str(folder / "a.flac")]


def test_a_model_and_an_audio_file_given_the_wrong_way_round(one_line_error, model_path, corpus):
    audio = corpus[1][0]
    assert main(["predict", str(audio), str(model_path)]) == 2
    one_line_error(f"sklearn-ser predict: error: '{audio}' is an audio file, not a model: the "
                   "model comes first: sklearn-ser predict MODEL FILE...")
    assert main(["timeline", str(audio), str(model_path)]) == 2
    one_line_error(f"sklearn-ser timeline: error: '{audio}' is an audio file, not a model: the "
                   "model comes first: sklearn-ser timeline MODEL LONG_AUDIO")


def test_a_compressed_pickle_loads_by_name_and_is_refused_under_another(
        one_line_error, model, tmp_path, corpus, capsys):
    packed = tmp_path / "m.joblib.gz"
    joblib.dump(model, packed)  # joblib compresses by the name
    assert main(["predict", str(packed), str(corpus[1][0]), "--format", "json"]) == 0
    capsys.readouterr()
    renamed = packed.rename(tmp_path / "m.model")
    assert main(["predict", str(renamed), str(corpus[1][0])]) == 1
    one_line_error("looks like a pickle", ".gz")


def test_predict_reads_long_files_block_by_block(model_path, model, corpus, capsys,
                                                 monkeypatch, tmp_path):
    from sklearn_ser.cli import _predict
    from sklearn_ser.timeline import predict_file

    _, files, _ = corpus
    long = tmp_path / "long.wav"  # 5 s: "long" once the threshold is 2 s
    sf.write(long, np.concatenate([sf.read(f)[0] for f in files[:5]]), 16000)
    names = [str(files[0]), str(long), str(files[1])]
    streamed = []
    monkeypatch.setattr(_predict, "STREAM_SECONDS", 2.0)
    monkeypatch.setattr(_predict, "predict_file",
                        lambda m, path: streamed.append(path) or predict_file(m, path))
    assert main(["predict", str(model_path), *names, "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert streamed == [str(long)]
    assert [r["file"] for r in records] == names  # in the order given
    np.testing.assert_allclose([list(r["probabilities"].values()) for r in records],
                               model.predict_proba(names), rtol=1e-6)
