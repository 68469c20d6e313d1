"""Where and in which precision a network runs: ``device="auto"``, ``precision="auto"``."""

from __future__ import annotations

import torch

from ..utils.choices import PRECISIONS, PREDICT_PRECISIONS

__all__ = ["autocast_dtype", "predict_autocast_dtype", "resolve_device"]

def resolve_device(device):
    """Turn ``"auto"`` into ``"cuda"`` when a GPU is visible, else ``"cpu"``.

    Any other value (``"cpu"``, ``"cuda:1"``, a ``torch.device``, ``None``) is
    returned unchanged.
    """
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _bfloat16_is_native(device_type):
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type == "cpu":
        # True on CPUs with AVX512-BF16 / AMX (oneDNN's own test), where bf16
        # matmuls and convolutions run natively rather than emulated.
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def predict_autocast_dtype(predict_precision):
    """The dtype inference autocasts to, or ``None`` for plain float32.

    Parameters
    ----------
    predict_precision : {"float32", "bfloat16"}

    Returns
    -------
    dtype : torch.dtype or None
    """
    if predict_precision not in PREDICT_PRECISIONS:
        raise ValueError(
            f"predict_precision={predict_precision!r} must be one of {PREDICT_PRECISIONS}"
        )
    return torch.bfloat16 if predict_precision == "bfloat16" else None


def autocast_dtype(precision, device):
    """The dtype training autocasts to, or ``None`` for plain float32.

    Parameters
    ----------
    precision : {"auto", "float32", "bfloat16"}
        ``"auto"`` chooses bfloat16 where the device computes it natively
        (CUDA with bf16 support, CPUs with AVX512-BF16 or AMX) and float32
        elsewhere. Master weights stay float32 in every case.
    device : str or torch.device
        The resolved device.

    Returns
    -------
    dtype : torch.dtype or None
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r} must be one of {PRECISIONS}")
    device_type = torch.device(device or "cpu").type
    if precision == "float32":
        return None
    if precision == "bfloat16":
        return torch.bfloat16
    return torch.bfloat16 if _bfloat16_is_native(device_type) else None
