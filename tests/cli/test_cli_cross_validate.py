"""``sklearn-ser cross-validate``: the printed and written report, usage errors before any work."""

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

from sklearn_ser.cli import main
from sklearn_ser.recipes import DEFAULT_RECIPE, RECIPES


def test_cross_validate_with_too_few_speakers_is_a_usage_error_before_any_output(
        one_line_error, tiny, speaker, corpus, tmp_path):
    # 4 speakers for 5 folds: said in the options' words, before --output is made
    root, _, _ = corpus
    out = tmp_path / "cv"
    assert main(["cross-validate", "--dataset", "folder", "--root", str(root), "--groups",
                 speaker, "--cv", "group5", *tiny, "--output", str(out), "-q"]) == 2
    line = one_line_error("--cv group5 needs at least 5 speakers",
                          "found 4; use --cv group4 or --cv loso")
    assert "cv='" not in line
    assert not out.exists()


def test_cross_validate_prints_and_writes_a_report(tiny, speaker, corpus, tmp_path, capsys):
    root, files, y = corpus
    out = tmp_path / "cv"
    assert main(["cross-validate", "--dataset", "folder", "--root", str(root), "--groups",
                 speaker, "--cv", "group2", *tiny, "--output", str(out)]) == 0
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
    # what trained: the recipe's settings, with the flags given over them
    assert report["training"] == {**RECIPES[DEFAULT_RECIPE], "recipe": DEFAULT_RECIPE,
                                  "width": "tiny", "max_epochs": 1, "chunk_frames": 100,
                                  "batch_size": 4, "lr": 3e-3, "random_state": 0}
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


def test_cross_validate_recipe_flags_reach_the_report(tiny, corpus, tmp_path):
    root, _, _ = corpus
    out = tmp_path / "cv"
    recipe = ["--recipe", "paper", "--width", "tiny", "--max-epochs", "3", "--chunk-frames",
              "100", "--chunk-hop-frames", "50", "--lr", "3e-3", "--batch-size", "4",
              "--valid-fraction", "0.25", "--schedule", "cosine", "--patience", "5", "--augment",
              "-q"]
    assert main(["cross-validate", "--dataset", "folder", "--root", str(root), "--cv", "2",
                 *recipe, "--output", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["fit_time"] and all(len(fold) == 3 for fold in report["history"])
    for fold in report["history"]:
        assert [row["epoch"] for row in fold] == [1, 2, 3]
        assert fold[0]["event_lr"] == pytest.approx(3e-3)
        assert fold[1]["event_lr"] < fold[0]["event_lr"] and "valid_acc" in fold[0]
    assert report["options"]["chunk_hop_frames"] == 50 and report["options"]["augment"] is True
    assert report["training"]["recipe"] == "paper" and report["training"]["augment"] is True
    assert report["training"]["trim_zeros"] is RECIPES["paper"]["trim_zeros"]


def test_cross_validate_checks_its_output_folder_before_training(tiny, corpus, tmp_path, capsys):
    root, _, _ = corpus
    in_the_way = tmp_path / "afile"
    in_the_way.write_text("not a folder")
    assert main(["cross-validate", "--dataset", "folder", "--root", str(root), "--cv", "2",
                 *tiny, "--output", str(in_the_way)]) == 1
    captured = capsys.readouterr()
    assert "is a file" in captured.err and str(in_the_way) in captured.err
    assert "fold 1/2" not in captured.err and "train_loss" not in captured.err  # no training


def test_cross_validate_usage_error_creates_no_output_folder(tiny, corpus, tmp_path):
    root, _, _ = corpus
    out = tmp_path / "never"
    assert main(["cross-validate", "--dataset", "folder", "--root", str(root), "--cv", "2",
                 *tiny, "--patience", "3", "-q", "--output", str(out)]) == 2
    assert not out.exists()


def test_cross_validate_patience_needs_a_validation_split(one_line_error, tiny, corpus):
    root, _, _ = corpus
    assert main(["cross-validate", "--dataset", "folder", "--root", str(root), "--cv", "2",
                 *tiny, "--patience", "3", "-q"]) == 2
    one_line_error("--patience 3", "--valid-fraction > 0")


def test_cross_validate_by_speaker_needs_groups(one_line_error, tiny, corpus):
    root, _, _ = corpus
    assert main(["cross-validate", "--dataset", "folder", "--root", str(root), "--cv", "loso",
                 *tiny, "--quiet"]) == 2
    one_line_error("--groups REGEX", "--cv 5")
