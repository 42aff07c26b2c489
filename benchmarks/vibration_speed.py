"""Figure: spectra generated per second on CPU by the shipped vibration InfoGAN.

Reference measured in the same run: spectra per second of the physical simulator
(`matgan.vibration.dataset.synth_dataset`, records + Welch spectra) at the same settings.

    python benchmarks/vibration_speed.py [--model PATH] [-n 65536] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from matgan.vibration.dataset import SpectrumOptions, synth_dataset
from matgan.vibration.gan import load_model
from matgan.vibration.generate import generate


def best_rate(fn, n: int, repeats: int = 3) -> float:
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        rates.append(n / (time.perf_counter() - start))
    return max(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("-n", type=int, default=65536)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    variant, meta = load_model(args.model)
    generate(variant, meta, 256, "mid")  # warm-up
    result = {"machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads available, "
                         f"torch {torch.__version__}", "n": args.n, "generated_per_s": {}}
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        result["generated_per_s"][threads] = best_rate(lambda: generate(variant, meta, args.n, "mid", seed=1), args.n)
    n_ref = max(512, args.n // 64)
    options = SpectrumOptions(n_bins=meta["spectrum"]["n_bins"])
    result["simulator_per_s"] = best_rate(lambda: synth_dataset(n_ref, options=options, seed=1), n_ref, repeats=1)
    best = max(result["generated_per_s"].values())
    result["ratio_generator_over_simulator"] = best / result["simulator_per_s"]
    print(json.dumps(result, indent=1))
    print(f"\n| generation | {best:,.0f} spectra/s (target >= 10,000) | simulator {result['simulator_per_s']:,.0f}/s "
          f"| ratio {result['ratio_generator_over_simulator']:.1f}x |")


if __name__ == "__main__":
    main()
