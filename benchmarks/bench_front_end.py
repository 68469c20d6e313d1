"""Front-end speed, memory and resampler quality: sklearn_ser beside python_speech_features.

Runs over every file of the Emo-DB copy (the folder given by ``--root`` or
``$SKLEARN_SER_EMODB``) and prints, from one run, medians over ``--repeats``
rounds in which every contender runs once in turn (speed-ups are medians of
the per-round ratios, steadier on a shared machine, with their quartiles):

1. features only: 16 kHz signals already in memory -> 3-D log-Mel
   (psf: ``logfbank`` + ``delta`` twice, same parameters);
2. end to end: files on disk -> read, resample to 16 kHz, features, chunks,
   normalisation (psf pipeline: soundfile + ``scipy.signal.resample_poly``
   + psf features);
3. peak traced memory of the full-corpus ``fit_transform``;
4. resampler quality and speed: soxr (HQ) against ``resample_poly``.

Usage::

    python benchmarks/bench_front_end.py [--repeats 5] [--root PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from sklearn_ser import LogMel3DTransformer
from sklearn_ser.features import log_mel_3d_batch
from sklearn_ser.io import load_audio, read_wav, resample

PSF_PARAMS = dict(samplerate=16000, winlen=0.025, winstep=0.01, nfilt=40, nfft=512,
                  lowfreq=300, highfreq=8000, preemph=0.97)


def psf_3d(signal):
    import python_speech_features as psf

    static = psf.logfbank(signal, **PSF_PARAMS)
    first = psf.delta(static, 2)
    return np.stack([static, first, psf.delta(first, 2)])


def psf_end_to_end(files):
    """The paper's tool chain: read, resample_poly to 16 kHz, psf 3-D log-Mel."""
    out = []
    for path in files:
        signal, rate = sf.read(path, dtype="float64")
        out.append(psf_3d(resample_poly(signal, 320, 441) if rate == 22050 else signal))
    return out


def interleaved(contenders, repeats):
    """Median seconds, median speed-up over the first contender and the speed-up's
    first and third quartiles over the rounds, timed round-robin.

    Every round runs each contender once, in turn, so a slow spell of a shared
    machine hits all of them; the speed-up is the median of the per-round
    ratios, which is steadier than the ratio of medians.
    """
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, function in contenders.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    reference = times[next(iter(contenders))]
    results = {}
    for name, seconds in times.items():
        ratios = [r / s for r, s in zip(reference, seconds, strict=True)]
        quartiles = (statistics.quantiles(ratios, n=4, method="inclusive") if len(ratios) > 1
                     else ratios * 3)
        results[name] = (statistics.median(seconds), statistics.median(ratios),
                         quartiles[0], quartiles[2])
    return results


def print_rows(results):
    """One line per contender: median time, median speed-up and its quartiles over rounds."""
    print(f"   {'':<34}{'median':>10}{'speed-up':>10}   quartiles")
    for name, (seconds, speedup, low, high) in results.items():
        print(f"   {name:<34}{seconds:8.3f} s{speedup:8.1f}x   {low:.1f}-{high:.1f}x")


def resampler_quality():
    """Error of a 1 kHz tone (pass band) and leak of an 8.5 kHz tone (aliasing), in dB."""
    t = np.arange(22050 * 2) / 22050
    rows = []
    for name in ("soxr", "scipy"):
        passband = resample(np.sin(2 * np.pi * 1000 * t), 22050, 16000, resampler=name)
        reference = np.sin(2 * np.pi * 1000 * np.arange(passband.size) / 16000)
        alias = resample(np.sin(2 * np.pi * 8500 * t), 22050, 16000, resampler=name)
        inner = slice(2000, -2000)
        rows.append((
            name,
            20 * np.log10(np.sqrt(np.mean((passband[inner] - reference[inner]) ** 2))),
            20 * np.log10(np.sqrt(np.mean(alias[inner] ** 2)) + 1e-300),
        ))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_root = os.environ.get(
        "SKLEARN_SER_EMODB", Path(__file__).resolve().parents[2] / "shared" / "data" / "emodb"
    )
    parser.add_argument("--root", type=Path, default=Path(default_root))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", "--blas-threads", dest="threads", type=int, default=1,
                        help="BLAS and torch threads (default 1: strictly single-threaded, "
                             "like psf; 0 leaves both their own defaults)")
    args = parser.parse_args()
    if args.threads:
        import torch
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.threads, user_api="blas")
        torch.set_num_threads(args.threads)
    files = sorted((args.root / "wav").glob("*.wav"))
    if not files:
        raise SystemExit(f"no wav files under {args.root / 'wav'}")
    print(f"{len(files)} files from {args.root}; medians of {args.repeats} interleaved rounds, "
          f"BLAS and torch threads: {args.threads or 'default'}\n")

    signals = [load_audio(path, resampler="scipy") for path in files]
    print("1. features only (16 kHz signals in memory -> 3-D log-Mel), single process")
    print_rows(interleaved({
        "python_speech_features": lambda: [psf_3d(s) for s in signals],
        "sklearn_ser float32 (default)": lambda: log_mel_3d_batch(signals),
        "sklearn_ser float64 (psf-exact)": lambda: log_mel_3d_batch(signals, dtype=np.float64),
    }, args.repeats))

    raw = [sf.read(p, dtype="float64")[0] for p in files]
    parts = interleaved({
        "read": lambda: [sf.read(p, dtype="float64") for p in files],
        "read (WAV fast path)": lambda: [read_wav(p) for p in files],
        "resample_poly": lambda: [resample_poly(s, 320, 441) for s in raw],
        "soxr HQ": lambda: [resample(s, 22050, 16000) for s in raw],
    }, args.repeats)
    transformers = {n_jobs: LogMel3DTransformer(n_jobs=n_jobs) for n_jobs in (1, 2)}
    for transformer in transformers.values():
        transformer.fit_transform(files)  # warm up the worker pool
    print("\n2. end to end (files on disk -> normalised 300x40x3 chunks)")
    print("   " + "; ".join(f"{name} {seconds:.3f} s" for name, (seconds, *_) in parts.items()))
    print_rows(interleaved({
        "psf + resample_poly": lambda: psf_end_to_end(files),
        **{f"LogMel3DTransformer n_jobs={n_jobs}": (lambda t=t: t.fit_transform(files))
           for n_jobs, t in transformers.items()},
    }, args.repeats))
    t_soxr, t_poly = parts["soxr HQ"][0], parts["resample_poly"][0]

    tracemalloc.start()
    out = LogMel3DTransformer().fit_transform(files)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print("\n3. memory of the full-corpus fit_transform (n_jobs=1)")
    print(f"   output {out.chunks.nbytes / 2**20:.1f} MiB ({len(out.chunks)} chunks); "
          f"peak traced {peak / 2**20:.1f} MiB")

    print("\n4. resampling 22.05 -> 16 kHz")
    print(f"   {'engine':<8}{'1 kHz tone error':>18}{'8.5 kHz alias':>16}{'535 files':>12}")
    for (name, passband, alias), seconds in zip(resampler_quality(), (t_soxr, t_poly), strict=True):
        print(f"   {name:<8}{passband:>15.1f} dB{alias:>13.1f} dB{seconds:>10.3f} s")


if __name__ == "__main__":
    main()
