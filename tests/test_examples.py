"""The runnable examples, on the built-in synthetic corpus at reduced size."""

import importlib.util
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
import soundfile as sf

from sklearn_ser import load_model
from sklearn_ser.datasets import make_emotional_speech

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name):
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(EXAMPLES))
    return module


def test_quickstart_learns_and_the_saved_model_is_usable_elsewhere(tmp_path, capsys):
    model_path = tmp_path / "model.sser"
    scores = load_example("quickstart").main(
        ["--n-samples", "96", "--max-epochs", "10", "--out", str(model_path)])
    # speaker-independent 4-fold UAR, 4 classes: chance is 0.25
    assert np.mean(scores["test_balanced_accuracy"]) > 0.4
    X, _, _ = make_emotional_speech(2, n_classes=4, random_state=123)
    paths = []
    for i, signal in enumerate(X):
        paths.append(str(tmp_path / f"clip {i}.wav"))
        sf.write(paths[-1], signal, 16000)
    proba = load_example("use_saved_model").main([str(model_path), *paths])
    assert proba.shape == (2, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    printed = capsys.readouterr().out
    assert all(f"clip {i}.wav:" in printed for i in range(2))
    # The same pipeline as a joblib pickle predicts the same.
    for name in ("model.joblib", "model.PKL", "model.pickle.gz"):  # as the CLI names pickles
        joblib.dump(load_model(model_path), tmp_path / name)
        np.testing.assert_allclose(
            load_example("use_saved_model").main([str(tmp_path / name), *paths]), proba,
            rtol=1e-6)
    # The timeline example reads the safe format too, not only pickles.
    rows, truth = load_example("timeline").main([str(model_path), paths[0]])
    assert truth is None and len(rows) == 1  # a clip no longer than one window
    assert rows[0][2] == load_model(model_path).predict([paths[0]])[0]
    with pytest.raises(SystemExit):  # a model without a recording is a usage error
        load_example("timeline").main([str(model_path)])


def test_paper_grid_has_one_row_per_model_and_loss(capsys):
    uar = load_example("paper_grid").main(["--n-samples", "24", "--max-epochs", "1", "--folds",
                                           "2"])
    assert uar.shape == (6,)
    table = capsys.readouterr().out
    for model in ("ADCRNN", "ACRNN"):
        for loss in ("contrastive-center", "center", "cross-entropy"):
            assert any(line.startswith(model) and loss in line for line in table.splitlines())


def test_timeline_follows_the_emotions_of_a_long_recording():
    rows, truth = load_example("timeline").main(["--hop", "2"])
    assert rows[0][0] == 0.0 and rows[-1][1] == truth[-1][1]
    # a window lying wholly inside one emotion's stretch: how often is it recognised?
    starts = [0.0] + [end for _, end in truth[:-1]]
    inside = [(label, [r[2] for r in rows if begin <= r[0] and r[1] <= end])
              for (label, end), begin in zip(truth, starts, strict=True)]
    hits = sum(predicted.count(label) for label, predicted in inside)
    total = sum(len(predicted) for _, predicted in inside)
    # Four emotions: chance is 3 of 12, and so is a model stuck on one class. The demo's
    # tiny model scores 5-10 of 12 across seeds and epochs (5 with the seed used here),
    # so this checks that it follows the recording at all; tests/test_timeline.py checks
    # that every window is exactly the pipeline's prediction.
    assert total == 12 and hits >= 5
    assert len({row[2] for row in rows}) >= 3
