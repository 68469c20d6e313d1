"""Device and autocast choices: :mod:`sklearn_ser.nn._runtime`."""

import pytest
import torch

from sklearn_ser.nn import _runtime
from sklearn_ser.nn._runtime import autocast_dtype, predict_autocast_dtype, resolve_device


@pytest.mark.parametrize("native", [True, False])
def test_auto_trains_in_bfloat16_only_where_native(native, monkeypatch):
    # both branches of the hardware probe, whatever this CPU has
    monkeypatch.setattr(_runtime, "_bfloat16_is_native", lambda device_type: native)
    assert autocast_dtype("auto", "cpu") is (torch.bfloat16 if native else None)
    assert autocast_dtype("float32", "cpu") is None
    assert autocast_dtype("bfloat16", "cpu") is torch.bfloat16


def test_inference_is_float32_unless_bfloat16_is_asked_for():
    assert predict_autocast_dtype("float32") is None
    assert predict_autocast_dtype("bfloat16") is torch.bfloat16
    with pytest.raises(ValueError, match=r"predict_precision='auto' must be one of"):
        predict_autocast_dtype("auto")
    with pytest.raises(ValueError, match=r"precision='half' must be one of"):
        autocast_dtype("half", "cpu")


def test_the_probe_agrees_with_the_cpus_own_flags():
    # oracle: the kernel's list of CPU features (Linux), AVX512-BF16 or AMX-BF16
    from pathlib import Path

    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        pytest.skip("no /proc/cpuinfo to read the CPU's features from")
    flags = set(cpuinfo.read_text().split())
    assert _runtime._bfloat16_is_native("cpu") is bool({"avx512_bf16", "amx_bf16"} & flags)
    assert _runtime._bfloat16_is_native("meta") is False


def test_auto_device_is_cuda_only_when_visible():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto") == expected
    assert resolve_device("cpu") == "cpu" and resolve_device(None) is None


def test_chunks_go_channels_last_on_the_cpu_only():
    assert _runtime.chunk_memory_format("cpu") is torch.channels_last
    assert _runtime.chunk_memory_format(None) is torch.channels_last
    assert _runtime.chunk_memory_format(torch.device("cpu")) is torch.channels_last
    for device in ("cuda", "cuda:1", "meta", "mps"):
        assert _runtime.chunk_memory_format(device) is torch.contiguous_format


@pytest.mark.parametrize("channels_last", [True, False])
def test_the_network_sees_the_layout_chosen_for_its_device(channels_last, monkeypatch):
    # both branches of the per-device choice, in training and in prediction; the
    # layout changes the speed only: the oracle is the other layout's numbers
    import numpy as np

    from sklearn_ser import ADCRNNClassifier, ChunkedFeatures
    from sklearn_ser.nn import ADCRNN

    seen = []

    class Recording(ADCRNN):
        def forward(self, x):
            seen.append((self.training, x.is_contiguous(memory_format=torch.channels_last)))
            return super().forward(x)

    def fitted(devices):
        monkeypatch.setattr(_runtime, "_CHANNELS_LAST_DEVICES", devices)
        rng = np.random.default_rng(0)
        X = ChunkedFeatures(rng.standard_normal((12, 3, 20, 12), dtype=np.float32),
                            np.arange(13), np.full(12, 20))
        clf = ADCRNNClassifier(
            module=Recording, module__n_mels=12, module__conv_channels=4,
            module__dilated_channels=8, module__linear_units=8, module__lstm_units=4,
            module__embedding_dim=4, module__dropout=0.0, max_epochs=2, batch_size=4,
            train_split=None, random_state=0, precision="float32", verbose=0,
        ).fit(X, np.arange(12) % 2)
        return clf.predict_proba(X)

    chosen = fitted(frozenset({"cpu"}) if channels_last else frozenset())
    assert {layout for _, layout in seen} == {channels_last}
    assert {training for training, _ in seen} == {True, False}
    seen.clear()
    other = fitted(frozenset() if channels_last else frozenset({"cpu"}))
    assert {layout for _, layout in seen} == {not channels_last}
    np.testing.assert_allclose(chosen, other, atol=1e-5)
