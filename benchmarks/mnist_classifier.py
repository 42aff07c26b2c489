"""Benchmark: train the MNIST evaluation classifier on CPU and print its official test-set accuracy.

    python benchmarks/mnist_classifier.py            # -> runs/bench-mnist-classifier/classifier.pt

The same code as `matgan mnist train-classifier`; the target is >= 99 % on the 10000 test digits.
Prints one JSON line: steps, wall and CPU seconds, accuracy and accuracy / target.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from matgan.mnist.classifier import train_classifier

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the 2-core box is shared)")
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--out", default=str(ROOT / "runs" / "bench-mnist-classifier"))
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    wall, cpu = time.perf_counter(), time.process_time()
    summary = train_classifier(args.out, args.data_dir, steps=args.steps, batch_size=args.batch_size, seed=args.seed,
                               device="cpu", overwrite=True, progress=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    accuracy = summary["test_accuracy"]
    print(json.dumps({"steps": summary["step"], "batch_size": args.batch_size, "threads": args.threads,
                      "train_wall_s": round(wall, 1), "train_cpu_s": round(cpu, 1), "test_accuracy": accuracy,
                      "target": TARGET, "ratio": round(accuracy / TARGET, 4), "met": accuracy >= TARGET,
                      "classifier": summary["classifier"]}))


if __name__ == "__main__":
    main()
