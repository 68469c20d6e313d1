"""The light predictor beside the PyTorch pipeline: parity, speed, install size, memory.

Trains the cpu recipe on the Emo-DB copy (``--max-epochs``, few by default:
parity and speed do not depend on how well it is trained), exports it with
``export_onnx``, then prints from one run:

- parity: the largest difference between the bundle's probabilities and the
  pipeline's over every file (float32; the toolkit promises 1e-4);
- speed: utterances per second, audio file to probabilities (front end
  included), for the pipeline (torch threads) and the bundle (onnxruntime
  threads), at one and two threads, as medians of interleaved rounds;
- install size of each runtime (the torch wheel's files against onnxruntime's);
- peak memory (VmHWM, its high-water mark) of a fresh process that loads the model and predicts
  every file: the pipeline, and the bundle where PyTorch, skorch and
  scikit-learn cannot be imported;
- one long recording (every file end to end, repeated to ``--long-minutes``,
  at the corpus's own rate, so it is resampled): the peak memory, time and
  probabilities of a fresh process that predicts it whole with
  ``predict_proba([path])``, and block by block with
  ``sklearn_ser.timeline.predict_file`` (the pipeline's and the bundle's),
  in interleaved rounds.

Usage::

    python benchmarks/bench_runtime.py [--root PATH] [--max-epochs 3] [--repeats 3]
        [--long-minutes 30]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import torch

from sklearn_ser.datasets import load_emodb
from sklearn_ser.export import export_onnx
from sklearn_ser.persistence import save_model
from sklearn_ser.pipeline import build_pipeline
from sklearn_ser.runtime import load_bundle

BLOCK_HEAVY = """
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "skorch", "sklearn"):
            raise ImportError(name + " is not installed here")
sys.meta_path.insert(0, Refuse())
"""
# VmHWM, the process's own high-water mark (ru_maxrss would carry the parent's
# over the fork and exec)
PEAK = """
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print(int(line.split()[1]) / 1024)
"""


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def installed_megabytes(package):
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return float("nan")
    root = Path(next(iter(spec.submodule_search_locations)))
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) / 2**20


def peak_megabytes(script):
    result = subprocess.run([sys.executable, "-c", script + PEAK], capture_output=True,
                            text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def write_long_recording(files, path, minutes):
    """``files`` end to end, again and again up to ``minutes``, at their own rate."""
    import soundfile as sf

    rate = sf.info(files[0]).samplerate
    wanted, written = round(minutes * 60 * rate), 0
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as out:
        while written < wanted:
            for name in files:
                samples, file_rate = sf.read(name, dtype="float32")
                if file_rate != rate:
                    continue  # a corpus of mixed rates: the files at the first one's
                out.write(samples[: wanted - written])
                written += min(len(samples), wanted - written)
                if written >= wanted:
                    break
    return written / rate


def run_long(script):
    """``(peak MiB, seconds, probabilities)`` of a fresh process running ``script``."""
    timed = textwrap.dedent("""
        import json, time
        started = time.perf_counter()
    """) + script + textwrap.dedent("""
        print(json.dumps([time.perf_counter() - started, [float(p) for p in proba]]))
    """)
    result = subprocess.run([sys.executable, "-c", timed + PEAK], capture_output=True,
                            text=True, check=True)
    *_, timing, peak = result.stdout.strip().splitlines()
    seconds, proba = json.loads(timing)
    return float(peak), seconds, np.array(proba)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_root = os.environ.get(
        "SKLEARN_SER_EMODB", Path(__file__).resolve().parents[2] / "shared" / "data" / "emodb")
    parser.add_argument("--root", type=Path, default=Path(default_root))
    parser.add_argument("--max-epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--long-minutes", type=float, default=30.0)
    args = parser.parse_args()

    data = load_emodb(args.root)
    files = [str(f) for f in data.filenames]
    print(f"{len(files)} files of {args.root.name}; {cpu_model()}, {os.cpu_count()} CPUs; "
          f"torch {torch.__version__}")
    torch.set_num_threads(2)
    started = time.perf_counter()
    pipe = build_pipeline(max_epochs=args.max_epochs, verbose=0, random_state=0)
    pipe.set_params(clf__predict_precision="float32").fit(files, data.target)
    print(f"trained the cpu recipe for {args.max_epochs} epochs in "
          f"{time.perf_counter() - started:.0f} s")
    with tempfile.TemporaryDirectory() as folder:
        bundle_path = export_onnx(pipe, Path(folder) / "model.onnx.zip")
        model_path = save_model(pipe, Path(folder) / "model.sser")
        print(f"bundle {bundle_path.stat().st_size / 2**20:.1f} MiB, safe model file "
              f"{model_path.stat().st_size / 2**20:.1f} MiB")

        # parity, every file
        expected = pipe.predict_proba(files)
        bundle = load_bundle(bundle_path)
        got = bundle.predict_proba(files)
        difference = float(np.abs(got - expected).max())
        agree = float((got.argmax(1) == expected.argmax(1)).mean())
        print(f"parity: max |bundle - pipeline| = {difference:.2e} over {len(files)} files "
              f"({'within' if difference <= 1e-4 else 'BEYOND'} 1e-4); same label for "
              f"{agree:.1%}")

        # speed, interleaved rounds
        contenders = {}
        for threads in (1, 2):
            def torch_run(threads=threads):
                torch.set_num_threads(threads)
                pipe.predict_proba(files)
            contenders[f"pipeline (torch), {threads} thread(s)"] = torch_run
            onnx_bundle = load_bundle(bundle_path, n_threads=threads)
            contenders[f"bundle (onnxruntime), {threads} thread(s)"] = \
                lambda b=onnx_bundle: b.predict_proba(files)
        times = {name: [] for name in contenders}
        for _ in range(args.repeats):
            for name, run in contenders.items():
                started = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - started)
        print(f"\nspeed, audio file to probabilities (median of {args.repeats} rounds):")
        reference = {t: statistics.median(times[f"pipeline (torch), {t} thread(s)"])
                     for t in (1, 2)}
        for name, values in times.items():
            median = statistics.median(values)
            threads = 1 if "1 thread" in name else 2
            print(f"  {name:<34} {len(files) / median:7.1f} utt/s   "
                  f"x{reference[threads] / median:.2f} vs the pipeline")

        print("\ninstall size (the package's own files):")
        for package in ("torch", "onnxruntime", "skorch", "sklearn"):
            print(f"  {package:<12} {installed_megabytes(package):8.1f} MiB")

        listing = Path(folder) / "files.txt"
        listing.write_text("\n".join(files))
        predict_all = f"files = open({str(listing)!r}).read().split(chr(10))\n"
        pipeline_script = predict_all + textwrap.dedent(f"""
            from sklearn_ser.persistence import load_model
            load_model({str(model_path)!r}).predict_proba(files)
        """)
        bundle_script = BLOCK_HEAVY + predict_all + textwrap.dedent(f"""
            from sklearn_ser.runtime import load_bundle
            load_bundle({str(bundle_path)!r}).predict_proba(files)
        """)
        print("\npeak memory of a fresh process predicting every file (VmHWM):")
        for name, script in (("pipeline (torch, skorch, scikit-learn)", pipeline_script),
                             ("bundle (onnxruntime, no torch)", bundle_script)):
            print(f"  {name:<40} {peak_megabytes(script):7.0f} MiB")

        long_path = Path(folder) / "long.wav"
        seconds = write_long_recording(files, long_path, args.long_minutes)
        loaded = f"from sklearn_ser.persistence import load_model\n" \
                 f"pipe = load_model({str(model_path)!r})\n"
        ways = {
            "pipeline, predict_proba([path])":
                loaded + f"proba = pipe.predict_proba([{str(long_path)!r}])[0]\n",
            "pipeline, predict_file(pipe, path)":
                loaded + "from sklearn_ser.timeline import predict_file\n"
                f"proba = predict_file(pipe, {str(long_path)!r})\n",
            "bundle, bundle.predict_file(path)":
                BLOCK_HEAVY + "from sklearn_ser.runtime import load_bundle\n"
                f"proba = load_bundle({str(bundle_path)!r}).predict_file({str(long_path)!r})\n",
        }
        runs = {name: [] for name in ways}
        for _ in range(args.repeats):
            for name, script in ways.items():
                runs[name].append(run_long(script))
        reference = runs["pipeline, predict_proba([path])"]
        print(f"\none recording of {seconds / 60:.1f} minutes at the corpus's rate, in a fresh "
              f"process (median of {args.repeats} interleaved rounds):")
        for name, values in runs.items():
            peak = statistics.median(v[0] for v in values)
            took = statistics.median(v[1] for v in values)
            ratio = statistics.median(r[1] / v[1] for r, v in zip(reference, values,
                                                                    strict=True))
            difference = float(np.abs(values[0][2] - reference[0][2]).max())
            print(f"  {name:<36} peak {peak:6.0f} MiB   {took:6.1f} s (x{ratio:.2f} vs whole)"
                  f"   max |p - whole| {difference:.1e}")


if __name__ == "__main__":
    main()
