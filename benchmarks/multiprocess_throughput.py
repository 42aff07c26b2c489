"""Samples/s of the trainer with 1 and N processes under torchrun (DDP; gloo on CPU, NCCL on GPUs).

    python benchmarks/multiprocess_throughput.py [--procs 1 2] [--steps 60] [--batch-size 64]

Each run trains the MNIST-sized DCGAN on in-memory random data (the per-process batch is fixed, so N
processes see N times the samples per step). On CPU the cores are shared out: OMP_NUM_THREADS =
cores / N. Prints one JSON object with samples/s per process count and the speed-up over 1 process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile


def worker(steps: int, batch_size: int, out: str) -> None:
    import torch

    from matgan.core.data import TensorPairs
    from matgan.core.trainer import TrainConfig, Trainer, seed_everything
    from matgan.core.variants import build_variant

    seed_everything(0)
    data = torch.rand(8192, 1, 28, 28) * 2 - 1
    variant = build_variant("dcgan", {"data_shape": (1, 28, 28)})
    config = TrainConfig(steps=steps, batch_size=batch_size, progress=False, log_every=10_000, sample_every=0,
                         checkpoint_every=0)
    summary = Trainer(variant, TensorPairs(data), config, out, overwrite=True).fit()
    if int(os.environ.get("RANK", "0")) == 0:
        print("RESULT " + json.dumps({"samples_per_s": summary["samples_per_s"]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.steps, args.batch_size, args.out)
        return
    import torch

    cores = os.cpu_count() or 1
    results = {}
    for n in args.procs:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ)
            if not torch.cuda.is_available():
                env["OMP_NUM_THREADS"] = str(max(1, cores // n))
            cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}",
                   __file__, "--worker", "--steps", str(args.steps), "--batch-size", str(args.batch_size), "--out", tmp]
            output = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
            line = next(line for line in output.splitlines() if line.startswith("RESULT "))
            results[n] = json.loads(line[7:])["samples_per_s"]
    base = results.get(1)
    print(json.dumps({"device": "cuda" if torch.cuda.is_available() else "cpu", "cores": cores,
                      "steps": args.steps, "batch_size_per_process": args.batch_size,
                      "samples_per_s": results,
                      "speedup_vs_1": {n: v / base for n, v in results.items()} if base else None}))


if __name__ == "__main__":
    main()
