"""Synthesis speed: 512 x 512 virtual micrographs per second on one core, against a per-pixel argmin.

Run: python benchmarks/grains_synth_speed.py [--n 200] [--n-reference 3]

Both rasterize the same Laguerre tessellations (the same seeds and weights). "matgan" is the
full `synthesize` call (seeds, exact power-diagram edges drawn with OpenCV, connected-component
labels, truth record); the reference is the straightforward NumPy rasterizer that takes, for
every pixel, the argmin of the power distance over all seeds (`synth.brute_force_labels`), plus
the same labelling. Single-threaded BLAS/OpenMP for both.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def main() -> None:
    import cv2

    from matgan.grains.synth import SynthParams, brute_force_labels, synthesize, tessellation_seeds

    cv2.setNumThreads(1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="micrographs for the matgan timing")
    parser.add_argument("--n-reference", type=int, default=3, help="micrographs for the reference timing")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--grain-size", type=float, default=40.0)
    args = parser.parse_args()

    synthesize(args.size, args.grain_size, seed=0)  # warm-up (imports)
    start = time.perf_counter()
    for seed in range(args.n):
        synthesize(args.size, args.grain_size, dispersion=0.3, seed=seed)
    ours = args.n / (time.perf_counter() - start)

    params = SynthParams((args.size, args.size), args.grain_size, dispersion=0.3).validated()
    start = time.perf_counter()
    for seed in range(args.n_reference):
        points, weights, _ = tessellation_seeds(params, np.random.default_rng(seed))
        owner = brute_force_labels(points, weights, params.size)
        # the same output: boundary pixels where the owner changes, then labels
        edge = np.zeros(owner.shape, bool)
        edge[:, 1:] |= owner[:, 1:] != owner[:, :-1]
        edge[1:] |= owner[1:] != owner[:-1]
        cv2.connectedComponents((~edge).astype(np.uint8), connectivity=4)
    reference = args.n_reference / (time.perf_counter() - start)

    result = {"figure": "512x512 virtual micrographs per second, one core", "size": args.size,
              "grain_size_px": args.grain_size, "matgan_per_s": round(ours, 1),
              "per_pixel_argmin_per_s": round(reference, 3), "ratio": round(ours / reference, 1),
              "target_per_s": 200,
              "machine": f"{platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}"}
    print(f"matgan synthesize: {ours:.1f} micrographs/s; per-pixel argmin: {reference:.3f}/s; "
          f"ratio {ours / reference:.0f}x (target >= 200/s)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
