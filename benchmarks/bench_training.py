"""Training and inference throughput of the full-width ADCRNN: skorch beside bare PyTorch.

Prints, from one run, for each precision (float32, bfloat16 autocast):

- chunks per second through ``ADCRNNClassifier.fit`` with the chunks in the
  layout the toolkit picks for the CPU (channels-last), beside the same fit
  in torch's default (contiguous) layout, the two interleaved round by round,
  and the paired speed-up (median and range over the rounds);
- the same through a bare PyTorch loop (same module, batch of 32 chunks,
  Adam, same criterion), and the skorch overhead (skorch / bare - 1);
- achieved GFLOP/s (FLOPs counted layer by layer from the module's shapes,
  training = 3x forward) against a measured matmul peak in the same precision;
- inference chunks per second in both layouts, interleaved.

Usage::

    python benchmarks/bench_training.py [--batches 6] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from functools import partial

import numpy as np
import torch
from skorch.callbacks import Callback

from sklearn_ser import ADCRNNClassifier, ChunkedFeatures
from sklearn_ser.exceptions import SmallDataWarning
from sklearn_ser.nn import ADCRNN, CenterAugmentedLoss
from sklearn_ser.nn._runtime import chunk_memory_format

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


class ContiguousADCRNNClassifier(ADCRNNClassifier):
    """The classifier with torch's default layout on every device: the reference."""

    def _chunk_memory_format(self, device_type):
        return torch.contiguous_format


def skorch_fit(cls, X, y, precision):
    """Median seconds per training batch through ``fit`` (the first batch, which
    pays one-off allocation costs, left out), the whole fit's wall time, the net."""
    timer = BatchTimer()
    clf = cls(precision=precision, train_split=None, max_epochs=1, verbose=0,
              random_state=0, callbacks=[("batch_timer", timer)], iterator_train__shuffle=True)
    start = time.perf_counter()
    clf.fit(X, y)
    return statistics.median(timer.times[1:]), time.perf_counter() - start, clf


def bare_seconds_per_batch(X, y, precision, n_batches, memory_format, batch=BATCH):
    torch.manual_seed(0)
    module = ADCRNN(n_classes=7)
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


def infer_sample(nets, X, name):
    """Seconds ``nets[name]`` takes to predict every chunk of ``X``."""
    start = time.perf_counter()
    nets[name].predict_chunk_proba(X)
    return time.perf_counter() - start


def interleaved(measure, variants, repeats):
    """``{name: [seconds, ...]}``, the variants run in turn, each round in the
    other order, so drifts of the machine fall on both alike."""
    times = {name: [] for name in variants}
    for round_ in range(repeats):
        order = variants if round_ % 2 == 0 else variants[::-1]
        for name in order:
            times[name].append(measure(name))
    return times


def paired(times, ours, reference):
    """Median and range of the per-round speed-up of ``ours`` over ``reference``."""
    ratios = sorted(r / o for o, r in zip(times[ours], times[reference], strict=True))
    return statistics.median(ratios), ratios[0], ratios[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=6, help="training batches of 32 chunks")
    parser.add_argument("--repeats", type=int, default=3,
                        help="interleaved rounds of each A/B comparison")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--ratio-batch", type=int, default=0,
                        help="also time bf16 against float32 on batches of this size")
    args = parser.parse_args()
    # a one-epoch fit of a few batches is what is timed here, not a model to use
    warnings.filterwarnings("ignore", category=SmallDataWarning)
    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    n_chunks = BATCH * args.batches
    X = ChunkedFeatures(rng.standard_normal((n_chunks, 3, 300, 40), dtype=np.float32),
                        np.arange(n_chunks + 1), np.full(n_chunks, 300))
    y = np.arange(n_chunks) % 7
    flops = forward_flops(ADCRNN(n_classes=7), (3, 300, 40))
    n_params = sum(p.numel() for p in ADCRNN(n_classes=7).parameters())
    layout = chunk_memory_format("cpu")
    layout_name = "channels-last" if layout is torch.channels_last else "contiguous"
    print(f"ADCRNN full width: {n_params:,} parameters, {flops / 1e9:.2f} GFLOP per chunk "
          f"forward, {3 * flops / 1e9:.2f} GFLOP per chunk trained; torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads; batches of {BATCH}, "
          f"{args.batches} batches per fit, {args.repeats} interleaved rounds; chunks "
          f"{layout_name} on the CPU (the toolkit's choice) beside contiguous\n")
    classes = {"ours": ADCRNNClassifier, "contiguous": ContiguousADCRNNClassifier}
    results = {}
    for precision in args.precisions:
        dtype = torch.bfloat16 if precision == "bfloat16" else torch.float32
        peak = matmul_peak(dtype)
        fits = {}

        def measure(name, precision=precision, fits=fits):
            batch, wall, clf = skorch_fit(classes[name], X, y, precision)
            fits.setdefault(name, []).append(wall)
            fits[name + " net"] = clf
            return batch

        train = interleaved(measure, ["ours", "contiguous"], args.repeats)
        bare = bare_seconds_per_batch(X, y, precision, args.batches, layout)
        ours = statistics.median(train["ours"])
        reference = statistics.median(train["contiguous"])
        train_rate = BATCH / ours
        achieved = 3 * flops * train_rate / 1e9
        results[precision] = train_rate
        speedup, low, high = paired(train, "ours", "contiguous")
        print(f"{precision}:")
        print(f"  training  skorch fit, {layout_name:<13s} {train_rate:7.1f} chunks/s  "
              f"({ours:.3f} s/batch; whole fit incl. data loading "
              f"{BATCH * args.batches / statistics.median(fits['ours']):.1f} chunks/s)")
        print(f"  training  skorch fit, contiguous    {BATCH / reference:7.1f} chunks/s  "
              f"-> x{speedup:.2f} paired (x{low:.2f}-x{high:.2f} over {args.repeats} rounds)")
        print(f"  training  bare PyTorch, {layout_name:<13s}{BATCH / bare:7.1f} chunks/s  "
              f"(skorch overhead {100 * (ours / bare - 1):+.1f} %)")
        print(f"  achieved {achieved:7.1f} GFLOP/s vs matmul peak {peak:7.1f} GFLOP/s "
              f"({100 * achieved / peak:.0f} % of peak)")
        nets = {name: fits[name + " net"] for name in classes}
        infer = interleaved(partial(infer_sample, nets, X[:64]), ["ours", "contiguous"],
                            max(args.repeats, 3))
        speedup, low, high = paired(infer, "ours", "contiguous")
        print(f"  inference {layout_name:<13s} {64 / statistics.median(infer['ours']):7.1f} "
              f"chunks/s, contiguous {64 / statistics.median(infer['contiguous']):7.1f} "
              f"-> x{speedup:.2f} paired (x{low:.2f}-x{high:.2f})\n")
    if {"float32", "bfloat16"} <= results.keys():
        print(f"bfloat16 / float32 training throughput: "
              f"{results['bfloat16'] / results['float32']:.2f}x")
    if args.ratio_batch:
        # bfloat16 against float32 on a small batch, for CPUs where bf16 is emulated
        # and a full batch of 32 would take minutes.
        small = X[: args.ratio_batch * 3]
        times = {p: bare_seconds_per_batch(small, y[: len(small)], p, 3, layout,
                                           batch=args.ratio_batch)
                 for p in ("float32", "bfloat16")}
        print(f"bare loop, batches of {args.ratio_batch}: float32 {times['float32']:.2f} s, "
              f"bfloat16 {times['bfloat16']:.2f} s per batch -> bfloat16 / float32 "
              f"throughput {times['float32'] / times['bfloat16']:.2f}x")


if __name__ == "__main__":
    main()
