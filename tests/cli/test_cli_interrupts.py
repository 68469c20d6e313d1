"""Ctrl-C and SIGTERM during ``train`` and ``cross-validate``: exit codes 130 and 143, no
model or report written, an existing model left as it was, the command that resumes.

Each test runs the program in a child process, waits until it has trained its first
epoch (the time-left line on stderr), then sends the signal.
"""

import json
import shlex
import signal
import subprocess
import sys
import threading

import joblib

from sklearn_ser.cli import main

#: The program, with Python's Ctrl-C handler in place whatever the test runner's
#: (a child started from a background job would otherwise inherit SIGINT ignored).
#: ``{sigint}`` is what SIGINT does: Python's default, or ignored.
PROGRAM = ("import signal, sys; signal.signal(signal.SIGINT, {sigint}); "
           "from sklearn_ser.cli import console_main; sys.exit(console_main(sys.argv[1:]))")
#: Long enough that the signal always comes during training.
TRAINING = ["--width", "tiny", "--max-epochs", "1000", "--chunk-frames", "100", "--batch-size",
            "4", "--precision", "float32", "--threads", "1"]


def interrupt(argv, signum, *, sigint="signal.default_int_handler"):
    """Run ``sklearn-ser argv``, send ``signum`` once its first epoch is trained;
    return the exit code, stdout and stderr."""
    child = subprocess.Popen([sys.executable, "-c", PROGRAM.format(sigint=sigint), *argv],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, child.kill)
    watchdog.start()
    try:
        err = []
        for line in child.stderr:
            err.append(line)
            if "the first epoch took" in line:
                child.send_signal(signum)
                break
        out, rest = child.communicate()
    finally:
        watchdog.cancel()
    return child.returncode, out, "".join(err) + rest


def test_ctrl_c_keeps_the_model_file_and_prints_the_command_that_resumes(
        corpus, tmp_path, capsys):
    root, _, _ = corpus
    out, checkpoints = tmp_path / "m.joblib", tmp_path / "ckpt"
    out.write_bytes(b"the model of an earlier run")
    argv = ["train", "--dataset", "folder", "--root", str(root), *TRAINING,
            "--checkpoint-dir", str(checkpoints), "--out", str(out)]
    code, stdout, stderr = interrupt(argv, signal.SIGINT)
    assert code == 130, stderr
    assert stdout == ""  # no "saved" line
    assert out.read_bytes() == b"the model of an earlier run"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ckpt", "m.joblib"]
    last = stderr.strip().splitlines()[-2:]
    assert last[0] == (f"sklearn-ser: stopped by Ctrl-C (SIGINT); no model written to {out}; "
                       f"the checkpoint in {checkpoints} keeps the last complete epoch; to go "
                       "on from it, run:")
    assert last[1] == "  " + shlex.join(["sklearn-ser", *argv, "--resume"])
    # the printed command goes on from the checkpoint (for one epoch more, here)
    done = len(json.loads((checkpoints / "history.json").read_text()))
    resume = [*shlex.split(last[1])[1:], "--max-epochs", str(done + 1), "-q"]
    assert main(resume) == 0
    assert joblib.load(out)[-1].history[:, "epoch"] == list(range(1, done + 2))


def test_sigterm_stops_training_with_143_and_writes_no_model(corpus, tmp_path):
    # in a background job, where Ctrl-C is ignored: training, which raises only a Ctrl-C
    # again, ends its loop; the command still stops before saving
    root, _, _ = corpus
    out = tmp_path / "new" / "m.sser"
    code, stdout, stderr = interrupt(["train", "--dataset", "folder", "--root", str(root),
                                      *TRAINING, "--out", str(out)], signal.SIGTERM,
                                     sigint="signal.SIG_IGN")
    assert code == 143, stderr
    assert stdout == ""
    assert stderr.strip().splitlines()[-1] == (
        f"sklearn-ser: stopped by SIGTERM; no model written to {out}")
    assert list(out.parent.iterdir()) == []  # created before training, left empty


def test_sigterm_stops_a_cross_validation_before_its_report(corpus, tmp_path):
    # SIGTERM acts as Ctrl-C: training raises it again, so the next fold never starts
    root, _, _ = corpus
    output = tmp_path / "cv"
    code, stdout, stderr = interrupt(["cross-validate", "--dataset", "folder", "--root",
                                      str(root), "--cv", "2", *TRAINING, "--output",
                                      str(output)], signal.SIGTERM)
    assert code == 143, stderr
    assert stdout == ""  # no fold table
    assert stderr.strip().splitlines()[-1] == (
        f"sklearn-ser: stopped by SIGTERM; no report written to {output}")
    assert list(output.iterdir()) == []


def test_the_sigterm_handler_is_only_in_place_while_a_command_runs(model_path, corpus,
                                                                   capsys):
    before = signal.getsignal(signal.SIGTERM)
    seen = []
    original = signal.signal

    def spy(signum, handler):
        seen.append((signum, handler))
        return original(signum, handler)

    signal.signal = spy
    try:
        assert main(["predict", str(model_path), str(corpus[1][0]), "-q"]) == 0
    finally:
        signal.signal = original
    terms = [handler for signum, handler in seen if signum == signal.SIGTERM]
    assert len(terms) == 2 and callable(terms[0]) and terms[0] is not before
    assert signal.getsignal(signal.SIGTERM) is before
