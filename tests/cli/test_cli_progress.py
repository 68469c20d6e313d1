"""What ``train`` and ``cross-validate`` show while networks train: the line that names
the recipe, device, arithmetic and data; the time left after the first epoch;
skorch's progress bar on a terminal only; and none of it in a saved model."""

import io
import re
import sys

import joblib

from sklearn_ser.cli import main
from sklearn_ser.cli._progress import time_left
from sklearn_ser.nn import resolve_device
from sklearn_ser.recipes import DEFAULT_RECIPE, describe_recipe

#: A tiny network on 1-s chunks, two epochs, in float32 on every machine.
TWO_EPOCHS = ["--width", "tiny", "--max-epochs", "2", "--chunk-frames", "100", "--batch-size",
              "4", "--precision", "float32"]


def _callback_names(net):
    return [name for name, _ in [*(net.callbacks or []), *getattr(net, "callbacks_", [])]]


def test_train_names_recipe_device_arithmetic_and_data_then_the_time_left(
        corpus, speaker, tmp_path, capsys):
    root, _, _ = corpus
    out = tmp_path / "m.joblib"
    assert main(["train", "--dataset", "folder", "--root", str(root), "--groups", speaker,
                 *TWO_EPOCHS, "--out", str(out)]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"folder: 24 files from {root}"
    assert lines[1] == (
        f"training: 24 utterances, 2 classes, 4 speakers; recipe {describe_recipe(DEFAULT_RECIPE)}"
        " with --width tiny --max-epochs 2 --batch-size 4 --chunk-frames 100 --precision float32;"
        f" on {resolve_device('auto')}, float32")
    # after the first epoch, from its duration: one more epoch of the same length
    first_epoch = joblib.load(out)[-1].history[0, "dur"]
    (left,) = [line for line in lines if "first epoch" in line]
    assert left == (f"sklearn-ser: the first epoch took {first_epoch:.1f} s: "
                    f"{time_left(first_epoch)} left for the other epoch")
    assert time_left(0.4) == "less than 1 s" and time_left(65) == "about 1 min 05 s"
    assert time_left(65, early=True) == "at most 1 min 05 s"
    assert lines.index(left) < min(i for i, line in enumerate(lines) if "train_loss" in line)
    # no progress bar nor colours in a log: no escape codes, no carriage returns
    assert not any("\x1b[" in line or "\r" in line for line in lines)


def test_cross_validate_counts_every_fold_and_network_in_the_time_left(corpus, capsys):
    root, _, _ = corpus
    assert main(["cross-validate", "--dataset", "folder", "--root", str(root), "--cv", "2",
                 *TWO_EPOCHS, "--batch-size", "2", "--n-seeds", "2"]) == 0
    err = capsys.readouterr().err
    assert "cross-validating (2 folds): 24 utterances, 2 classes; recipe cpu (" in err
    # 2 folds x 2 networks x 2 epochs, one of them done
    (left,) = re.findall(r"sklearn-ser: the first epoch took .* left for the .*", err)
    assert left.endswith(" left for the 7 other epochs (2 folds x 2 networks x 2 epochs)")
    assert err.count("the first epoch took") == 1  # said once, not once per network


def test_quiet_shows_nothing_while_training(corpus, tmp_path, capsys):
    root, _, _ = corpus
    assert main(["train", "--dataset", "folder", "--root", str(root), *TWO_EPOCHS, "-q",
                 "--out", str(tmp_path / "m.sser")]) == 0
    assert capsys.readouterr().err == ""


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_skorchs_progress_bar_and_the_model_keeps_none_of_it(
        corpus, tmp_path, monkeypatch):
    root, _, _ = corpus
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    out = tmp_path / "vote.joblib"
    assert main(["train", "--dataset", "folder", "--root", str(root), *TWO_EPOCHS,
                 "--n-seeds", "2", "--out", str(out)]) == 0
    shown = terminal.getvalue()
    # tqdm's bar over each epoch's 6 batches (24 one-second chunks in batches of 4),
    # redrawn in place and erased at the epoch's end
    assert shown.count("| 0/6 [") == 4 and "\r" in shown, shown[-2000:]
    vote = joblib.load(out)[-1]
    assert "augment" in _callback_names(vote.estimators_[0])  # the recipe's are kept
    for net in [*(net for _, net in vote.estimators), *vote.estimators_]:
        assert not [name for name in _callback_names(net) if name.startswith("cli_")]
    assert len(vote.estimators_[0].history) == 2
