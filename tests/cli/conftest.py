"""Fixtures of the command-line tests: a tiny corpus of WAV files and a model trained on it."""

import joblib
import pytest
import soundfile as sf

from sklearn_ser.cli import main
from sklearn_ser.datasets import make_emotional_speech

#: Tiny network, one epoch, 1-s chunks, batches of 4 (6 steps an epoch on the corpus
#: below): the commands' plumbing, not their accuracy. The rest is the default recipe's.
TINY = ("--width", "tiny", "--max-epochs", "1", "--chunk-frames", "100", "--batch-size", "4",
        "--lr", "3e-3")


@pytest.fixture(scope="session")
def tiny():
    """Training flags of a tiny network trained for one epoch on 1-s chunks."""
    return list(TINY)


@pytest.fixture(scope="session")
def speaker():
    """``--groups`` of the corpus fixture: the speaker of ``spkG_NN.wav``."""
    return r"spk(\d+)_"


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def model_path(corpus, tmp_path_factory):
    """A model trained by ``sklearn-ser train -q --precision float32`` on the corpus."""
    root, _, _ = corpus
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    assert main(["train", "--dataset", "folder", "--root", str(root), *TINY, "-q",
                 "--precision", "float32", "--out", str(path)]) == 0
    return path


@pytest.fixture(scope="session")
def model(model_path):
    return joblib.load(model_path)


@pytest.fixture
def one_line_error(capsys):
    """Check that the command wrote exactly one line on stderr, naming what went wrong
    with every fragment given, and nothing on stdout; return the line."""

    def check(*fragments):
        captured = capsys.readouterr()
        assert captured.out == ""
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1, captured.err
        assert lines[0].startswith("sklearn-ser")
        for fragment in fragments:
            assert fragment in lines[0]
        return lines[0]

    return check
