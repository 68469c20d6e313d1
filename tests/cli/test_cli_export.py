"""``sklearn-ser export``, and ``predict`` and ``timeline`` reading the bundle it writes."""

import csv
import io

import numpy as np
import pytest
import soundfile as sf

from sklearn_ser.cli import main

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def bundle(model_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("bundle") / "model.onnx.zip"
    assert main(["export", str(model_path), str(path), "-q"]) == 0
    return path


def _csv(capsys):
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def test_predict_with_the_bundle_prints_the_models_probabilities(model_path, bundle, corpus,
                                                                  capsys):
    _, files, _ = corpus
    names = [str(path) for path in files[:6]]
    assert main(["predict", str(model_path), *names, "--format", "csv", "-q"]) == 0
    expected = _csv(capsys)
    assert main(["predict", str(bundle), *names, "--format", "csv", "-q", "--threads", "1"]) == 0
    got = _csv(capsys)
    assert [row["file"] for row in got] == names
    assert [row["label"] for row in got] == [row["label"] for row in expected]
    classes = [key for key in expected[0] if key not in ("file", "label")]
    np.testing.assert_allclose([[float(row[c]) for c in classes] for row in got],
                               [[float(row[c]) for c in classes] for row in expected],
                               atol=1e-4)


def test_timeline_with_the_bundle_prints_the_models_rows(model_path, bundle, corpus, tmp_path,
                                                         capsys):
    _, files, _ = corpus
    signal = np.concatenate([sf.read(path)[0] for path in files[:4]])
    path = tmp_path / "long.wav"
    sf.write(path, signal, 16000)
    assert main(["timeline", str(model_path), str(path), "--format", "csv", "-q"]) == 0
    expected = _csv(capsys)
    assert main(["timeline", str(bundle), str(path), "--format", "csv", "-q"]) == 0
    got = _csv(capsys)
    assert [(r["start"], r["end"], r["label"]) for r in got] == \
        [(r["start"], r["end"], r["label"]) for r in expected]


def test_export_says_what_it_wrote(model_path, tmp_path, capsys):
    out = tmp_path / "sub" / "m.onnx.zip"
    assert main(["export", str(model_path), str(out)]) == 0
    assert out.is_file()
    assert f"written as an ONNX bundle to {out}" in capsys.readouterr().err


def test_export_of_an_audio_file_or_into_a_folder_is_one_line(model_path, corpus, tmp_path,
                                                              one_line_error):
    _, files, _ = corpus
    assert main(["export", str(files[0]), str(tmp_path / "m.zip")]) == 2
    one_line_error("is an audio file, not a model")
    assert main(["export", str(model_path), str(tmp_path)]) != 0
    one_line_error("is a folder")
    assert main(["export", str(model_path), str(tmp_path / "m.zip"), "--opset", "5"]) == 2
    one_line_error("--opset")


def test_explain_refuses_a_bundle_naming_the_file(bundle, corpus, one_line_error):
    _, files, _ = corpus
    assert main(["explain", str(bundle), str(files[0]), "--format", "json"]) != 0
    one_line_error(str(bundle))
