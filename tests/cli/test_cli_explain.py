"""``sklearn-ser explain``: the figure, the numbers, and what it refuses."""

import json

import numpy as np
import pytest

from sklearn_ser.cli import main
from sklearn_ser.explain import explain


def test_json_holds_the_explanation_of_the_api(model_path, model, corpus, capsys):
    _, files, _ = corpus
    assert main(["explain", str(model_path), str(files[0]), "--format", "json", "-q"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = explain(model, files[0])
    assert out["label"] == expected.label and out["classes"] == expected.classes.tolist()
    np.testing.assert_allclose(out["proba"], expected.proba, atol=1e-7)
    np.testing.assert_allclose(out["attention"], expected.attention, atol=1e-7)
    assert len(out["frame_times"]) == len(out["attention"])
    assert [chunk["start"] for chunk in out["chunks"]] == pytest.approx(expected.chunk_start)
    for chunk in out["chunks"]:
        assert sum(chunk["proba"]) == pytest.approx(1.0)


def test_the_figure_is_written_where_asked(model_path, corpus, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    _, files, _ = corpus
    out = tmp_path / "figures" / "explained.png"  # a missing folder is created
    assert main(["explain", str(model_path), str(files[1]), "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert f"figure written to {out}" in capsys.readouterr().err


def test_a_figure_needs_a_place_and_the_model_comes_first(model_path, corpus, one_line_error):
    _, files, _ = corpus
    assert main(["explain", str(model_path), str(files[0])]) == 2
    one_line_error("--format png writes a figure", "--out")
    assert main(["explain", str(files[0]), str(model_path), "--format", "json"]) == 2
    one_line_error("is an audio file, not a model", "MODEL FILE")
