"""Training and inference throughput of the full-width ADCRNN: skorch beside bare PyTorch.

Prints, from one run, for each precision (float32, bfloat16 autocast):

- chunks per second through ``ADCRNNClassifier.fit`` and through a bare
  PyTorch loop (same module, batch of 32 chunks, Adam, same criterion);
- the skorch overhead (bare / skorch - 1);
- achieved GFLOP/s (FLOPs counted layer by layer from the module's shapes,
  training = 3x forward) against a measured matmul peak in the same precision;
- inference chunks per second.

Usage::

    python benchmarks/bench_training.py [--batches 6] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from skorch.callbacks import Callback

from sklearn_ser import ADCRNNClassifier, ChunkedFeatures
from sklearn_ser.nn import ADCRNN, CenterAugmentedLoss

BATCH = 32


def forward_flops(module, input_shape):
    """Multiply-adds x 2 of one forward pass, from Conv2d / Linear / LSTM shapes."""
    total = 0

    def conv_hook(layer, inputs, output):
        nonlocal total
        kernel = layer.kernel_size[0] * layer.kernel_size[1]
        total += 2 * layer.in_channels // layer.groups * kernel * output.numel()

    def linear_hook(layer, inputs, output):
        nonlocal total
        total += 2 * layer.in_features * output.numel()

    def lstm_hook(layer, inputs, output):
        nonlocal total
        batch, steps = inputs[0].shape[:2]
        directions = 2 if layer.bidirectional else 1
        gates = 4 * layer.hidden_size
        per_step = 2 * gates * (layer.input_size + layer.hidden_size)
        total += batch * steps * directions * per_step

    hooks = []
    for layer in module.modules():
        if isinstance(layer, torch.nn.Conv2d):
            hooks.append(layer.register_forward_hook(conv_hook))
        elif isinstance(layer, torch.nn.Linear):
            hooks.append(layer.register_forward_hook(linear_hook))
        elif isinstance(layer, torch.nn.LSTM):
            hooks.append(layer.register_forward_hook(lstm_hook))
    module.eval()
    with torch.no_grad():
        module(torch.zeros(1, *input_shape))
    for hook in hooks:
        hook.remove()
    return total


def matmul_peak(dtype, size=1536, repeats=5):
    """Measured GFLOP/s of a square matmul in ``dtype`` (what the CPU can do here)."""
    a = torch.randn(size, size, dtype=dtype)
    b = torch.randn(size, size, dtype=dtype)
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9


class BatchTimer(Callback):
    """Wall time of each training batch (from batch begin to batch end)."""

    def on_train_begin(self, net, **kwargs):
        self.times = []

    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            self._start = time.perf_counter()

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.times.append(time.perf_counter() - self._start)


def skorch_seconds_per_batch(X, y, precision, n_batches):
    timer = BatchTimer()
    clf = ADCRNNClassifier(precision=precision, train_split=None, max_epochs=1, verbose=0,
                           random_state=0, callbacks=[("batch_timer", timer)],
                           iterator_train__shuffle=True)
    start = time.perf_counter()
    clf.fit(X, y)
    wall = time.perf_counter() - start
    # the first batch pays one-off allocation costs: report the median of the rest
    return statistics.median(timer.times[1:]), wall / n_batches, clf


def bare_seconds_per_batch(X, y, precision, n_batches, channels_last=False, batch=BATCH):
    torch.manual_seed(0)
    module = ADCRNN(n_classes=7)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    module = module.to(memory_format=memory_format)
    criterion = CenterAugmentedLoss(n_classes=7, n_features=64)
    optimizer = torch.optim.Adam([*module.parameters(), *criterion.parameters()], lr=1e-4)
    dtype = torch.bfloat16 if precision == "bfloat16" else None
    chunks = torch.from_numpy(X.chunks)
    labels = torch.from_numpy(np.repeat(y, X.n_chunks))
    module.train()
    times = []
    for step in range(n_batches):
        start = time.perf_counter()
        index = torch.randperm(len(chunks))[:batch]
        xb, yb = chunks[index].contiguous(memory_format=memory_format), labels[index]
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            logits, embedding = module(xb)
        loss = criterion((logits.float(), embedding.float()), yb)
        loss.backward()
        optimizer.step()
        if step:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def inference_chunks_per_second(clf, X):
    start = time.perf_counter()
    clf.predict_chunk_proba(X)
    return len(X.chunks) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=6, help="training batches of 32 chunks")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--ratio-batch", type=int, default=0,
                        help="also time bf16 against float32 on batches of this size")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    n_chunks = BATCH * args.batches
    X = ChunkedFeatures(rng.standard_normal((n_chunks, 3, 300, 40), dtype=np.float32),
                        np.arange(n_chunks + 1), np.full(n_chunks, 300))
    y = np.arange(n_chunks) % 7
    flops = forward_flops(ADCRNN(n_classes=7), (3, 300, 40))
    n_params = sum(p.numel() for p in ADCRNN(n_classes=7).parameters())
    print(f"ADCRNN full width: {n_params:,} parameters, {flops / 1e9:.2f} GFLOP per chunk "
          f"forward, {3 * flops / 1e9:.2f} GFLOP per chunk trained; torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads; batches of {BATCH}, "
          f"{args.batches} batches per run\n")
    results = {}
    for precision in args.precisions:
        dtype = torch.bfloat16 if precision == "bfloat16" else torch.float32
        peak = matmul_peak(dtype)
        skorch_batch, skorch_wall, clf = skorch_seconds_per_batch(X, y, precision, args.batches)
        bare_batch = bare_seconds_per_batch(X, y, precision, args.batches)
        train_rate = BATCH / skorch_batch
        achieved = 3 * flops * train_rate / 1e9
        results[precision] = train_rate
        print(f"{precision}:")
        print(f"  training  skorch fit   {train_rate:8.1f} chunks/s  ({skorch_batch:.3f} s/batch; "
              f"whole fit incl. data loading {BATCH / skorch_wall:.1f} chunks/s)")
        print(f"  training  bare PyTorch {BATCH / bare_batch:8.1f} chunks/s  "
              f"({bare_batch:.3f} s/batch)")
        print(f"  skorch overhead        {100 * (skorch_batch / bare_batch - 1):+8.1f} %")
        if precision == "float32":
            last = bare_seconds_per_batch(X, y, precision, args.batches, channels_last=True)
            print(f"  bare, channels-last    {BATCH / last:8.1f} chunks/s  "
                  f"({bare_batch / last:.2f}x contiguous)")
        print(f"  achieved {achieved:7.1f} GFLOP/s vs matmul peak {peak:7.1f} GFLOP/s "
              f"({100 * achieved / peak:.0f} % of peak)")
        inference = inference_chunks_per_second(clf, X[:64])
        print(f"  inference              {inference:8.1f} chunks/s\n")
    if {"float32", "bfloat16"} <= results.keys():
        print(f"bfloat16 / float32 training throughput: "
              f"{results['bfloat16'] / results['float32']:.2f}x")
    if args.ratio_batch:
        # bfloat16 against float32 on a small batch, for CPUs where bf16 is emulated
        # and a full batch of 32 would take minutes.
        small = X[: args.ratio_batch * 3]
        times = {p: bare_seconds_per_batch(small, y[: len(small)], p, 3, batch=args.ratio_batch)
                 for p in ("float32", "bfloat16")}
        print(f"bare loop, batches of {args.ratio_batch}: float32 {times['float32']:.2f} s, "
              f"bfloat16 {times['bfloat16']:.2f} s per batch -> bfloat16 / float32 "
              f"throughput {times['float32'] / times['bfloat16']:.2f}x")


if __name__ == "__main__":
    main()
