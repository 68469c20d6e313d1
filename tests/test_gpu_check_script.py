"""``benchmarks/gpu_check.py`` runs on a machine without CUDA, saying what it skips."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def test_gpu_check_runs_on_the_cpu_and_names_the_skipped_steps():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("accelerate")
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the script is run by hand there")
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no CUDA device: CPU only" in result.stdout
    assert "skipped: no CUDA device" in result.stdout
    assert "7 of 7 checks passed" in result.stdout
