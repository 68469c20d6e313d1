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
