"""Benchmark: train one textbook MNIST variant on CPU, score it, print the figure against its target.

    python benchmarks/mnist_variants.py --model cgan --steps 1800
    python benchmarks/mnist_variants.py --model aae --prior mixture --steps 4000

Trains with the same code as `matgan mnist train`, evaluates as `matgan mnist eval` (10000 samples,
the evaluation classifier from benchmarks/mnist_classifier.py), writes the sample picture, and prints
one JSON line: steps, wall and CPU seconds, the metrics, and measured / target for the variant's target.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from matgan.io import write_image
from matgan.mnist.classifier import load_classifier
from matgan.mnist.data import load_mnist
from matgan.mnist.evaluate import evaluate_run, load_run
from matgan.mnist.models import MODELS, train_model
from matgan.mnist.pictures import sample_picture

ROOT = Path(__file__).resolve().parents[1]
# (metric, target, "min" = at least / "max" = at most), as in DESIGN.md and issue 3
TARGETS = {"cgan": [("label_accuracy", 0.97, "min")], "infogan": [("cat_accuracy", 0.95, "min")],
           "cyclegan": [("mae_to_inverse", 0.05, "max"), ("digit_kept", 0.98, "min")]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=MODELS, required=True)
    parser.add_argument("--prior", default="gaussian", choices=["gaussian", "mixture", "style"])
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ema", type=float, default=0.0, help="generator EMA decay (0: off)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1: the 2-core box is shared, and more threads oversubscribe it)")
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--classifier", default=str(ROOT / "runs" / "bench-mnist-classifier"))
    parser.add_argument("--out", default=None, help="run folder (default runs/bench-mnist-MODEL[-PRIOR])")
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out up to --steps (train_cpu_s then counts this slice only)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    out = Path(args.out or ROOT / "runs" / f"bench-mnist-{args.model}{'-' + args.prior if args.model == 'aae' else ''}")
    classifier = load_classifier(args.classifier)  # fail before training, not after
    wall, cpu = time.perf_counter(), time.process_time()
    summary = train_model(args.model, out, args.data_dir, steps=args.steps, batch_size=args.batch_size, seed=args.seed,
                          device="cpu", prior=args.prior, overwrite=not args.resume, resume=args.resume,
                          ema_decay=args.ema, sample_every=500, progress=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

    variant, payload = load_run(out)
    test_images, test_labels = load_mnist("test", args.data_dir)
    metrics = evaluate_run(variant, payload["meta"], classifier, test_images, test_labels, args.samples, args.seed)
    picture, _ = sample_picture(variant, payload["meta"], 100, None, args.seed, test_images, test_labels)
    write_image(out / "sample.png", picture)

    row = {"model": args.model, "prior": args.prior if args.model == "aae" else None, "steps": summary["step"],
           "resumed": args.resume,
           "batch_size": payload["train_config"]["batch_size"], "ema": args.ema, "threads": args.threads,
           "train_wall_s": round(wall, 1), "train_cpu_s": round(cpu, 1),
           "samples_per_s": round(summary["samples_per_s"], 1), "metrics": metrics, "targets": []}
    for name, target, kind in TARGETS.get(args.model, []):
        value = metrics[name]
        met = value >= target if kind == "min" else value <= target
        row["targets"].append({"metric": name, "value": value, "target": target, "kind": f"{kind} target",
                               "ratio": round(value / target, 4), "met": bool(met)})
    print(json.dumps(row, default=float))


if __name__ == "__main__":
    main()
