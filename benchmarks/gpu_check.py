"""One script that checks the toolkit on a CUDA device, and runs on a CPU too.

On a CUDA device it: fits and predicts a pipeline with ``device="auto"``;
trains under bfloat16 autocast and predicts on the float32 path; saves the
fitted model on the GPU and loads it in a process that sees no GPU (the safe
format and a joblib pickle), comparing probabilities; runs a small
``GridSearchCV``; trains the Accelerate classifier on one GPU; exports the
ONNX bundle and compares it; and prints training and inference throughput at
full width beside the CPU's (on the GPU in PyTorch's default layout and in
channels-last, the CPU's). On a machine without CUDA every step runs on the
CPU and the CUDA-only ones say they are skipped. Finishes in a few minutes.

Usage::

    python benchmarks/gpu_check.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import torch
from sklearn.model_selection import GridSearchCV

from sklearn_ser import ADCRNNClassifier, ChunkedFeatures
from sklearn_ser.datasets import make_emotional_speech
from sklearn_ser.persistence import save_model
from sklearn_ser.pipeline import build_pipeline

CUDA = torch.cuda.is_available()
results = []


def step(name):
    def wrap(function):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                outcome = function(*args, **kwargs) or "ok"
            except Exception as exc:  # a check that fails is reported, the others still run
                outcome = f"FAILED: {type(exc).__name__}: {exc}"
            results.append((name, outcome, time.perf_counter() - started))
            print(f"[{time.perf_counter() - started:6.1f} s] {name}: {outcome}", flush=True)
        return run
    return wrap


def small_pipeline(**params):
    pipe = build_pipeline(width="tiny", max_epochs=2, chunk_frames=100, batch_size=8,
                          verbose=0, **params)
    return pipe.set_params(clf__device="auto")


@step("fit and predict with device='auto'")
def fit_predict(X, y):
    pipe = small_pipeline(precision="float32").fit(X, y)
    device = next(pipe[-1].module_.parameters()).device
    assert device.type == ("cuda" if CUDA else "cpu"), device
    assert pipe.predict(X).shape == (len(X),)
    return f"trained and predicted on {device}"


@step("bfloat16 autocast training, float32 inference")
def bfloat16(X, y):
    if not CUDA:
        return "skipped: no CUDA device (the CPU's bfloat16 is covered by the test suite)"
    pipe = small_pipeline(precision="bfloat16").fit(X, y)
    proba = pipe.predict_proba(X)
    alone = pipe.predict_proba(X[:1])
    assert np.allclose(proba[:1], alone, atol=1e-5), "prediction depends on the batch"
    return "ok: float32 predictions independent of the batch"


@step("save on the device, load in a process without a GPU")
def cpu_reload(X, y, folder):
    pipe = small_pipeline(precision="float32").fit(X, y)
    np.save(folder / "X.npy", np.stack(X))
    np.save(folder / "proba.npy", pipe.predict_proba(X))
    save_model(pipe, folder / "model.sser")
    joblib.dump(pipe, folder / "model.joblib")
    script = textwrap.dedent(f"""
        import joblib, numpy as np
        from sklearn_ser.persistence import load_model
        X = list(np.load({str(folder / "X.npy")!r}))
        expected = np.load({str(folder / "proba.npy")!r})
        for model in (load_model({str(folder / "model.sser")!r}),
                      joblib.load({str(folder / "model.joblib")!r})):
            assert np.allclose(model.predict_proba(X), expected, atol=1e-5)
    """)
    subprocess.run([sys.executable, "-c", script], check=True,
                   env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    return "ok: both formats give the same probabilities on the CPU"


@step("GridSearchCV over the learning rate")
def grid_search(X, y):
    search = GridSearchCV(small_pipeline(precision="float32"), {"clf__lr": [1e-3, 3e-3]},
                          cv=2, scoring="balanced_accuracy").fit(X, y)
    return f"ok: best {search.best_params_}, UAR {search.best_score_:.2f}"


@step("Accelerate classifier on one device")
def accelerate(X, y):
    try:
        from accelerate import Accelerator

        from sklearn_ser.nn import AcceleratedADCRNNClassifier
    except ImportError as exc:
        return f"skipped: {exc}"
    pipe = small_pipeline(precision="float32")
    params = {k: v for k, v in pipe[-1].get_params(deep=False).items()
              if k not in ("device", "precision", "callbacks")}
    clf = AcceleratedADCRNNClassifier(accelerator=Accelerator(), device=None, **params)
    pipe.set_params(clf=clf).fit(X, y)
    return f"ok: trained on {clf.device_}"


@step("ONNX bundle against the pipeline")
def onnx_bundle(X, y, folder):
    try:
        from sklearn_ser.export import export_onnx
        from sklearn_ser.runtime import load_bundle
    except ImportError as exc:
        return f"skipped: {exc}"
    pipe = small_pipeline(precision="float32").fit(X, y)
    bundle = load_bundle(export_onnx(pipe, folder / "model.onnx.zip"))
    difference = float(np.abs(bundle.predict_proba(X) - pipe.predict_proba(X)).max())
    assert difference <= 1e-4, difference
    return f"ok: max difference {difference:.1e}"


class ChannelsLastADCRNNClassifier(ADCRNNClassifier):
    """The classifier with channels-last chunks on every device (the CPU's layout)."""

    def _chunk_memory_format(self, device_type):
        return torch.channels_last


def throughput(device, precision, batches, cls=ADCRNNClassifier):
    chunks = np.random.default_rng(0).standard_normal((32 * batches, 3, 300, 40))
    X = ChunkedFeatures(chunks.astype(np.float32), np.arange(32 * batches + 1),
                        np.full(32 * batches, 300))
    y = np.arange(32 * batches) % 7
    clf = cls(device=device, precision=precision, max_epochs=1, batch_size=32,
                           train_split=None, verbose=0, callbacks=[])
    with warnings.catch_warnings():  # random chunks: the small-data advice does not apply
        warnings.simplefilter("ignore")
        clf.fit(X, y)  # warm-up: kernels, allocator
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(X, y)
    train = len(chunks) / (time.perf_counter() - started)
    started = time.perf_counter()
    clf.predict_chunk_proba(X)
    infer = len(chunks) / (time.perf_counter() - started)
    return train, infer


@step("full-width throughput (chunks per second)")
def full_width(quick):
    rows = [("cpu", "float32", 2 if quick else 4, ADCRNNClassifier)]
    if CUDA:
        # the toolkit's layout on CUDA (PyTorch's default) beside channels-last
        rows += [("cuda", precision, 40, cls) for precision in ("float32", "bfloat16")
                 for cls in (ADCRNNClassifier, ChannelsLastADCRNNClassifier)]
    lines = []
    for device, precision, batches, cls in rows:
        train, infer = throughput(device, precision, batches, cls)
        layout = ", channels-last" if cls is ChannelsLastADCRNNClassifier else ""
        lines.append(f"{device}/{precision}{layout}: train {train:.0f}, inference {infer:.0f}")
    return "; ".join(lines) + ("" if CUDA else " (CUDA rows skipped: no CUDA device)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer batches on the CPU")
    args = parser.parse_args()
    name = torch.cuda.get_device_name(0) if CUDA else "no CUDA device: CPU only"
    print(f"torch {torch.__version__}; {name}")
    X, y, _ = make_emotional_speech(32, n_classes=2, duration=1.5, random_state=0)
    X = list(X)
    with tempfile.TemporaryDirectory() as folder:
        fit_predict(X, y)
        bfloat16(X, y)
        cpu_reload(X, y, Path(folder))
        grid_search(X, y)
        accelerate(X, y)
        onnx_bundle(X, y, Path(folder))
        full_width(args.quick)
    failed = [name for name, outcome, _ in results if outcome.startswith("FAILED")]
    print(f"{len(results) - len(failed)} of {len(results)} checks passed"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
