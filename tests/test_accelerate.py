"""AcceleratedADCRNNClassifier / AcceleratedACRNNClassifier: Hugging Face Accelerate on the CPU."""

import os
import pickle
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("accelerate")
torch = pytest.importorskip("torch")

from accelerate import Accelerator  # noqa: E402
from accelerate.optimizer import AcceleratedOptimizer  # noqa: E402
from accelerate.state import AcceleratorState, GradientState  # noqa: E402
from sklearn.base import clone  # noqa: E402
from skorch.exceptions import DeviceWarning  # noqa: E402

from sklearn_ser import ACRNNClassifier, ADCRNNClassifier, LogMel3DTransformer  # noqa: E402
from sklearn_ser.datasets import make_emotional_speech  # noqa: E402
from sklearn_ser.nn import ACRNN, ADCRNN  # noqa: E402
from sklearn_ser.nn._accelerate import (  # noqa: E402
    AcceleratedACRNNClassifier,
    AcceleratedADCRNNClassifier,
)

TINY = dict(
    module__conv_channels=4, module__dilated_channels=8, module__linear_units=16,
    module__lstm_units=8, module__embedding_dim=8, module__dropout=0.0,
)
TINY_ACRNN = dict(
    module__conv_channels=4, module__stacked_channels=8, module__n_stacked=2,
    module__linear_units=16, module__lstm_units=8, module__embedding_dim=8,
)
COMMON = dict(lr=3e-3, max_epochs=2, batch_size=8, train_split=None, random_state=0, verbose=0)


def reset_accelerate():
    # Accelerate's state is a per-process singleton that refuses a second
    # configuration; its own test case resets it the same way.
    AcceleratorState._reset_state(True)
    GradientState._reset_state()


@pytest.fixture
def make_accelerator():
    reset_accelerate()
    yield lambda **kwargs: Accelerator(cpu=True, **kwargs)
    reset_accelerate()


@pytest.fixture(scope="module")
def features():
    X, y, _ = make_emotional_speech(12, n_classes=3, duration=0.6, random_state=0)
    return LogMel3DTransformer(chunk_frames=30, n_mels=20).fit_transform(X), y


@pytest.mark.parametrize(
    ("accelerated", "plain", "module", "widths"),
    [(AcceleratedADCRNNClassifier, ADCRNNClassifier, ADCRNN, TINY),
     (AcceleratedACRNNClassifier, ACRNNClassifier, ACRNN, TINY_ACRNN)],
)
def test_cpu_path_trains_exactly_like_the_plain_classifier(
    accelerated, plain, module, widths, features, make_accelerator
):
    X, y = features
    clf = accelerated(accelerator=make_accelerator(), **widths, **COMMON).fit(X, y)
    reference = plain(device="cpu", precision="float32", **widths, **COMMON).fit(X, y)

    proba = clf.predict_proba(X)
    # Same seed, same batches, same steps: accelerate's CPU path changes nothing.
    np.testing.assert_array_equal(proba, reference.predict_proba(X))
    assert proba.shape == (len(y), 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert list(clf.classes_) == sorted(set(y))
    assert set(clf.predict(X)) <= set(y) and clf.predict(X).dtype.kind == "U"
    assert clf.predict_chunk_proba(X).shape == (X.n_chunks.sum(), 3)
    # accelerate's loader draws its seeds at the first batch: on the fork too
    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    clf.predict_proba(X)
    assert torch.equal(torch.rand(2), expected)
    # Unwrapped after training, the optimizer still prepared.
    assert type(clf.module_) is module and isinstance(clf.optimizer_, AcceleratedOptimizer)
    assert clf.device is None and clf.device_ == "cpu" and clf.autocast_dtype_ is None


def test_pickle_round_trip(features, make_accelerator):
    X, y = features
    clf = AcceleratedADCRNNClassifier(accelerator=make_accelerator(), **TINY, **COMMON).fit(X, y)
    with pytest.warns(DeviceWarning, match="device = cpu"):
        loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    # skorch maps device=None to "cpu" on loading; training again needs None back.
    assert str(loaded.device) == "cpu"
    with pytest.raises(ValueError, match="set device=None"):
        loaded.fit(X, y)
    loaded.set_params(device=None, max_epochs=1).fit(X, y)
    assert len(loaded.history) == 1


def test_params_clone_and_errors(features, make_accelerator):
    X, y = features
    accelerator = make_accelerator()
    clf = AcceleratedADCRNNClassifier(accelerator=accelerator, **TINY, **COMMON)
    params = clone(clf).get_params()
    assert params["accelerator"] is accelerator
    assert params["device"] is None and params["precision"] == "float32"
    with pytest.raises(ValueError, match="mixed_precision='bf16'"):
        clone(clf).set_params(precision="bfloat16").fit(X, y)
    for device in ("auto", "cpu"):
        with pytest.raises(ValueError, match=f"device='{device}'.*set device=None"):
            clone(clf).set_params(device=device).fit(X, y)
    # on a fitted net too: the accelerator chooses the autocast, predict keeps working
    fitted = clone(clf).set_params(max_epochs=1).fit(X, y)
    expected = fitted.predict_proba(X)
    with pytest.raises(ValueError, match="mixed_precision='bf16'"):
        fitted.set_params(precision="bfloat16")
    assert fitted.precision == "float32" and fitted.autocast_dtype_ is None
    np.testing.assert_array_equal(fitted.set_params(precision="float32").predict_proba(X),
                                  expected)
    # a built net names the value given, not the device it resolves to
    with pytest.raises(ValueError, match=r"device='auto'.*set device=None"):
        fitted.set_params(device="auto").fit(X, y)


def test_verbose_follows_the_parameter(features, make_accelerator, capsys):
    X, y = features
    clf = AcceleratedADCRNNClassifier(accelerator=make_accelerator(), **TINY,
                                      **{**COMMON, "max_epochs": 1})
    clf.fit(X, y)
    assert capsys.readouterr().out == ""
    clf.set_params(verbose=1).fit(X, y)
    assert "train_loss" in capsys.readouterr().out
    # The mixin replaces "auto" by accelerator.print; we put the request back.
    assert clf.callbacks__print_log__sink == "auto"


class RecordingClassifier(AcceleratedADCRNNClassifier):
    """Notes, for every loss computed, the autocast state and the dtype it received."""

    def get_loss(self, y_pred, y_true, X=None, training=False):
        self.loss_calls_ = [*getattr(self, "loss_calls_", []), (
            torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"), y_pred[0].dtype)]
        return super().get_loss(y_pred, y_true, X=X, training=training)


def test_mixed_precision_is_the_accelerators(features, make_accelerator):
    X, y = features
    X, y = X[:6], y[:6]
    params = dict(**TINY, **{**COMMON, "max_epochs": 1})
    clf = RecordingClassifier(accelerator=make_accelerator(mixed_precision="bf16"), **params)
    clf.fit(X, y)
    # Training steps ran under the accelerator's bfloat16 autocast, with the
    # outputs converted back to float32 (accelerate's convert_to_fp32).
    assert clf.loss_calls_ and set(clf.loss_calls_) == {(True, torch.bfloat16, torch.float32)}
    assert clf.autocast_dtype_ is None
    reset_accelerate()
    reference = AcceleratedADCRNNClassifier(accelerator=make_accelerator(), **params).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), reference.predict_proba(X), atol=0.02)


DATA_PARALLEL_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import torch
    from accelerate import Accelerator
    from sklearn_ser import LogMel3DTransformer
    from sklearn_ser.datasets import make_emotional_speech
    from sklearn_ser.nn._accelerate import AcceleratedADCRNNClassifier

    X, y, _ = make_emotional_speech(12, n_classes=2, duration=0.6, random_state=0)
    X = LogMel3DTransformer(chunk_frames=30, n_mels=20).fit_transform(X)
    accelerator = Accelerator(cpu=True)
    results = {"num_processes": accelerator.num_processes}
    for aux in ("contrastive-center", None):  # with and without a trainable criterion
        clf = AcceleratedADCRNNClassifier(
            accelerator=accelerator, module__conv_channels=4, module__dilated_channels=8,
            module__linear_units=16, module__lstm_units=8, module__embedding_dim=8,
            lr=3e-2, max_epochs=2, batch_size=4, train_split=None, random_state=0, verbose=0,
            criterion__aux=aux).fit(X, y)
        module = clf.module_.eval()
        with torch.no_grad():
            direct = torch.softmax(module(torch.as_tensor(X.chunks))[0], dim=-1).numpy()
        name = str(aux)
        results[name + "_params"] = (
            torch.cat([p.detach().flatten() for p in module.parameters()]).numpy())
        results[name + "_buffers"] = (
            torch.cat([b.flatten().double() for b in module.buffers()]).numpy())
        results[name + "_chunk_proba"] = clf.predict_chunk_proba(X)
        results[name + "_direct"] = direct
        results[name + "_proba"] = clf.predict_proba(X)
        results[name + "_batches"] = len(clf.history[-1, "batches"])
    results["n_chunks"] = int(X.n_chunks.sum())
    np.savez(sys.argv[1] + f"/rank{accelerator.process_index}.npz", **results)
    # Leave together and close the process group: a process exiting while gloo's
    # threads still run aborts with "terminate called without an active exception".
    accelerator.wait_for_everyone()
    torch.distributed.destroy_process_group()
""")


def test_data_parallel_training_on_two_cpu_processes(tmp_path):
    """DDP over gloo on 127.0.0.1: the same code path as ``accelerate launch --multi_gpu``."""
    script = tmp_path / "train.py"
    script.write_text(DATA_PARALLEL_SCRIPT)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1",
               "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", str(port),
               str(script), str(tmp_path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # 2 processes, 1 thread each
    done = subprocess.run(command, capture_output=True, text=True, timeout=150, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [np.load(tmp_path / f"rank{rank}.npz") for rank in (0, 1)]
    assert int(ranks[0]["num_processes"]) == 2
    n_chunks = int(ranks[0]["n_chunks"])
    for aux in ("contrastive-center", "None"):
        # Gradients were all-reduced and the buffers broadcast: one model.
        for key in ("params", "buffers", "proba", "chunk_proba", "direct"):
            np.testing.assert_array_equal(ranks[0][f"{aux}_{key}"], ranks[1][f"{aux}_{key}"])
        for rank in ranks:
            # Each process drew its share of the batches: 4 chunks x 2 processes per step.
            assert int(rank[f"{aux}_batches"]) == -(-n_chunks // (4 * 2))
            # Gathered over the processes, in order, every chunk once.
            np.testing.assert_allclose(rank[f"{aux}_chunk_proba"], rank[f"{aux}_direct"],
                                       rtol=1e-5, atol=1e-6)
            assert rank[f"{aux}_proba"].shape == (12, 2)


def test_importing_the_module_does_not_import_accelerate():
    code = "import sys, sklearn_ser.nn._accelerate; print('accelerate' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "False"
