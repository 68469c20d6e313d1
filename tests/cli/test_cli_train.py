"""``sklearn-ser train``: fit on a corpus, save in either format, checkpoints."""

import json
import shutil
import zipfile

import joblib
import numpy as np
import pytest
from sklearn.ensemble import VotingClassifier
from sklearn.pipeline import Pipeline

from sklearn_ser import (
    ACRNNClassifier,
    ADCRNNClassifier,
    LogMel3DTransformer,
    load_model,
)
from sklearn_ser.cli import main


def test_train_saves_a_fitted_pipeline(model, corpus):
    _, files, y = corpus
    assert isinstance(model, Pipeline)
    assert isinstance(model[0], LogMel3DTransformer) and model[0].chunk_frames == 100
    assert isinstance(model[-1], ADCRNNClassifier) and len(model[-1].history) == 1
    assert model[-1].precision == "float32" and model[-1].autocast_dtype_ is None
    assert model.classes_.tolist() == sorted(set(y))
    assert model.predict_proba([str(f) for f in files]).shape == (len(files), 2)


def test_train_acrnn_without_auxiliary_loss(tiny, corpus, tmp_path, capsys):
    root, _, _ = corpus
    out = tmp_path / "acrnn.joblib"
    assert main(["train", "--dataset", "folder", "--root", str(root), "--model", "acrnn",
                 "--loss", "none", *tiny, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"saved {out}: acrnn (tiny widths, no auxiliary loss)")
    assert "trained on 24 utterances (0 held out for validation)" in captured.out
    assert "train_loss" in captured.err and "train_loss" not in captured.out  # progress: stderr
    clf = joblib.load(out)[-1]
    assert isinstance(clf, ACRNNClassifier) and clf.criterion_.center_loss is None


@pytest.mark.parametrize("suffix", [".joblib", ".sser"])
def test_train_n_seeds_saves_a_soft_vote_that_predicts(tiny, suffix, corpus, tmp_path, capsys):
    root, files, y = corpus
    out = tmp_path / f"vote{suffix}"
    assert main(["train", "--dataset", "folder", "--root", str(root), *tiny, "--random-state",
                 "4", "--n-seeds", "2", "-q", "--out", str(out)]) == 0
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


def test_train_in_the_safe_format_predicts_like_the_pickle(tiny, corpus, tmp_path, capsys):
    root, files, _ = corpus
    safe, pickle = tmp_path / "model.sser", tmp_path / "model.joblib"
    for out in (safe, pickle):
        assert main(["train", "--dataset", "folder", "--root", str(root), *tiny,
                     "--random-state", "3", "--out", str(out)]) == 0
    assert zipfile.is_zipfile(safe) and not zipfile.is_zipfile(pickle)
    outputs = []
    for out in (safe, pickle):
        capsys.readouterr()
        assert main(["predict", str(out), *map(str, files[:4]), "--format", "json"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1]


def test_train_resumes_from_its_checkpoint(one_line_error, tiny, corpus, tmp_path, capsys):
    root, _, _ = corpus
    checkpoints, out = tmp_path / "ckpt", tmp_path / "m.joblib"
    three_epochs = [*tiny, "--max-epochs", "3"]  # the last flag given counts
    two_epochs = [*tiny, "--epochs", "2"]  # the name of the published commands
    assert main(["train", "--dataset", "folder", "--root", str(root), *two_epochs,
                 "--checkpoint-dir", str(checkpoints), "--out", str(out)]) == 0
    assert main(["train", "--dataset", "folder", "--root", str(root), *three_epochs,
                 "--checkpoint-dir", str(checkpoints), "--resume", "--out", str(out)]) == 0
    history = joblib.load(out)[-1].history
    assert history[:, "epoch"] == [1, 2, 3]  # two from the first run, one more on resume
    capsys.readouterr()
    assert main(["train", "--dataset", "folder", "--root", str(root), *tiny, "--resume",
                 "--out", str(out)]) == 2
    one_line_error("--resume needs --checkpoint-dir")


def test_train_with_checkpoints_keeps_the_training_recipe(tiny, corpus, tmp_path):
    root, _, _ = corpus
    out = tmp_path / "m.joblib"
    assert main(["train", "--dataset", "folder", "--root", str(root), "--width", "tiny",
                 "--max-epochs", "30", "--chunk-frames", "100", "--lr", "0.3",
                 "--batch-size", "4", "--valid-fraction", "0.25", "--schedule", "cosine",
                 "--patience", "1", "--augment", "--checkpoint-dir", str(tmp_path / "ckpt"),
                 "-q", "--out", str(out)]) == 0
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


def test_train_creates_the_folder_of_its_output(tiny, corpus, tmp_path, capsys):
    root, _, _ = corpus
    out = tmp_path / "new" / "deeper" / "m.sser"
    assert main(["train", "--dataset", "folder", "--root", str(root), *tiny, "-q",
                 "--out", str(out)]) == 0
    assert load_model(out).classes_.tolist() == ["anger", "neutral"]
    assert sorted(path.name for path in out.parent.iterdir()) == ["m.sser"]  # nothing partial


def test_train_checks_its_output_before_training(one_line_error, tiny, corpus, tmp_path):
    root, _, _ = corpus
    in_the_way = tmp_path / "afile"
    in_the_way.write_text("not a folder")
    out = in_the_way / "m.sser"
    assert main(["train", "--dataset", "folder", "--root", str(root), *tiny,
                 "--out", str(out)]) == 1
    # one line: no data line, no training
    one_line_error(f"cannot write {out}: {in_the_way} is a file, not a folder")
    assert main(["train", "--dataset", "folder", "--root", str(root), *tiny,
                 "--out", str(tmp_path)]) == 1
    one_line_error(f"{tmp_path} is a folder; give the file name to write, e.g. "
                   f"{tmp_path / 'model.sser'}")


def test_train_fails_on_a_usage_error_before_creating_its_output_folder(tiny, corpus, tmp_path):
    root, _, _ = corpus
    out = tmp_path / "never" / "m.sser"
    assert main(["train", "--dataset", "folder", "--root", str(root), *tiny, "--patience", "2",
                 "-q", "--out", str(out)]) == 2
    assert not out.parent.exists()


def test_train_holds_out_the_validation_fraction_and_says_so(tiny, corpus, tmp_path, capsys):
    root, _, _ = corpus
    out = tmp_path / "m.joblib"
    assert main(["train", "--dataset", "folder", "--root", str(root), *tiny,
                 "--valid-fraction", "0.25", "-q", "--out", str(out)]) == 0
    # 0.25 of 24, stratified: 6 held out, 3 of each class
    assert "trained on 18 utterances (6 held out for validation) for 1 epochs" in \
        capsys.readouterr().out
    assert "valid_loss" in joblib.load(out)[-1].history[-1]


def test_train_on_a_corpus_smaller_than_a_batch(tmp_path, corpus, capsys):
    # CREMA-D's layout, two speakers by six emotions: 12 files, each its own class pair
    # (the data of a first look at a corpus); nothing is held out, so every class trains
    _, files, _ = corpus
    folder = tmp_path / "AudioWAV"
    folder.mkdir()
    for speaker in ("1001", "1002"):
        for i, emotion in enumerate(("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")):
            shutil.copy(files[i], folder / f"{speaker}_DFA_{emotion}_XX.wav")
    out = tmp_path / "m.sser"
    with pytest.warns(UserWarning, match="batch"):  # 1 optimizer step an epoch: said, not fatal
        assert main(["train", "--dataset", "cremad", "--root", str(tmp_path), "--width",
                     "tiny", "--max-epochs", "2", "-q", "--out", str(out)]) == 0
    assert "trained on 12 utterances (0 held out for validation) for 2 epochs" in \
        capsys.readouterr().out
    assert len(load_model(out).classes_) == 6


def test_missing_corpus_root_is_a_runtime_error(one_line_error, tmp_path):
    root = tmp_path / "nowhere"
    assert main(["train", "--dataset", "emodb", "--root", str(root), "--out", "m.joblib"]) == 1
    one_line_error("corpus root not found", str(root))
