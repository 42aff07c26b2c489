"""Segmentation speed and memory: CPU throughput, the cost of tiling, peak memory on 8192 x 8192.

Run: python benchmarks/grains_segment_speed.py [--model PATH] [--size 2048] [--big 8192] [--threads 2]
                                               [--denoise 0.7] [--equalize 0]

- throughput: megapixels per second of `GrainSegmenter.segment` (generator + post-processing), of the
  same without the boundary refinement (`refine=None`), and of the generator pass alone, on a rendered
  `--size` x `--size` micrograph;
- tiling cost: the generator pass with the default tiles (1024 px, 64 px overlap) against one
  whole-image pass on the same image (same run, best of `--repeats`);
- peak memory: a fresh process reads a `--big` x `--big` PNG and segments it with the default
  tiles; its peak resident set size (ru_maxrss) is reported.
`--denoise K` runs every pass with that denoising strength (default: the shipped one); `--equalize C`
with that CLAHE clip (default: the model's own; 0 = off).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def rendered(size: int, seed: int = 5) -> np.ndarray:
    from matgan.grains.render import render
    from matgan.grains.synth import synthesize

    _, labels, _ = synthesize(size, 32, dispersion=0.3, seed=seed)
    return render(labels, "brightfield", seed=seed)


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


CHILD = """
import resource, sys, time
import numpy as np
from matgan.io import read_image, to_gray_float
from matgan.grains.segment import GrainSegmenter
model = sys.argv[2] if sys.argv[2] else None
image = to_gray_float(read_image(sys.argv[1]))
start = time.perf_counter()
labels = GrainSegmenter(model).segment(image, denoise_strength=float(sys.argv[3]),
                                      equalize_clip=float(sys.argv[4]) if sys.argv[4] else None)
seconds = time.perf_counter() - start
print(seconds, int(labels.max()), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--big", type=int, default=8192, help="0 skips the memory run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--denoise", type=float, default=None, help="denoising strength (default: the shipped one)")
    parser.add_argument("--equalize", type=float, default=None, help="CLAHE clip (default: the model's own)")
    args = parser.parse_args()
    import torch

    from matgan.grains.segment import DENOISE_STRENGTH, GrainSegmenter
    from matgan.io import to_gray_float, write_image

    torch.set_num_threads(args.threads)
    segmenter = GrainSegmenter(args.model)
    gray = to_gray_float(rendered(args.size))
    megapixels = gray.size / 1e6
    dn = DENOISE_STRENGTH if args.denoise is None else args.denoise
    eq = segmenter.equalize_clip if args.equalize is None else args.equalize
    whole = best_time(lambda: segmenter.boundary_probability(gray, tile=args.size + 64, denoise_strength=dn,
                                                             equalize_clip=eq), args.repeats)
    tiled = best_time(lambda: segmenter.boundary_probability(gray, denoise_strength=dn, equalize_clip=eq),
                      args.repeats)
    full = best_time(lambda: segmenter.segment(gray, denoise_strength=dn, equalize_clip=eq), 1)
    plain = best_time(lambda: segmenter.segment(gray, denoise_strength=dn, refine=None, equalize_clip=eq), 1)
    result = {"size": args.size, "threads": args.threads, "denoise": dn, "equalize": eq,
              "generator_mp_per_s": megapixels / tiled,
              "segment_mp_per_s": megapixels / full, "segment_no_refine_mp_per_s": megapixels / plain,
              "whole_image_s": whole, "tiled_s": tiled, "tiling_cost": tiled / whole - 1.0}
    print(f"{args.size}x{args.size}: generator {megapixels / tiled:.2f} MP/s, segment (with post-processing) "
          f"{megapixels / full:.2f} MP/s ({megapixels / plain:.2f} MP/s without the boundary refinement) on "
          f"{args.threads} threads; tiling cost {100 * (tiled / whole - 1):+.1f} % "
          f"({tiled:.1f} s tiled vs {whole:.1f} s whole; target < 15 %)")
    if args.big:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "big.png"
            tile = rendered(2048, seed=6)
            write_image(path, np.tile(tile, (args.big // 2048 + 1, args.big // 2048 + 1))[: args.big, : args.big])
            del tile
            env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
            out = subprocess.run([sys.executable, "-c", CHILD, str(path), args.model or "", str(dn), str(eq)], env=env,
                                 capture_output=True, text=True, check=True).stdout.split()
        seconds, grains, peak_gb = float(out[0]), int(out[1]), float(out[2])
        result.update(big=args.big, big_seconds=seconds, big_grains=grains, big_peak_gb=peak_gb)
        print(f"{args.big}x{args.big}: {seconds:.0f} s, {grains} grains, peak memory {peak_gb:.2f} GB "
              f"(target < 2 GB)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
