"""``sklearn-ser demo``."""

import json
import zipfile

import numpy as np

from sklearn_ser import load_model
from sklearn_ser.cli import main
from sklearn_ser.datasets import make_emotional_speech


def test_demo_writes_a_model_in_the_safe_format_that_predicts(tmp_path, capsys):
    assert main(["demo", "--n-samples", "40", "--epochs", "1", "--output", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split() == ["fold", "train", "test", "accuracy", "UAR", "seconds", "epochs"]
    assert [line.split()[0] for line in lines[1:4]] == ["1", "2", "3"]
    assert lines[4].startswith("accuracy ") and "chance UAR 0.250" in lines[4]
    assert "refitting on all 40 utterances" in captured.err
    report = json.loads((tmp_path / "report.json").read_text())
    assert np.sum(report["confusion_matrix"]) == 40 and len(report["labels"]) == 4
    assert "demo: 40 utterances, 4 classes, 8 speakers; recipe demo (adcrnn tiny, 1 epochs" \
        in captured.err
    # the safe format (a zip of JSON and safetensors), without the command line's callbacks
    assert zipfile.is_zipfile(tmp_path / "demo_model.sser")
    assert not list(tmp_path.glob("*.joblib"))
    model = load_model(tmp_path / "demo_model.sser")
    signals = make_emotional_speech(3, random_state=9)[0]
    np.testing.assert_allclose(model.predict_proba(signals).sum(axis=1), 1.0)
    if "skipping" not in captured.err:
        assert (tmp_path / "confusion_matrix.png").exists()
        assert (tmp_path / "log_mel_3d.png").exists()
