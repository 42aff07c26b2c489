"""Grain scale: the CycleGAN model on grains smaller and larger than it was trained on, with `--zoom`.

Run: python benchmarks/grains_scale.py [--model PATH] [--n 8] [--size 384]
                                      [--ranges 6:10,10:16,16:56,60:90,90:140] [--zoom 0.5,0.75,1,1.5,2,3]

A magnification change moves every grain out of the size range a model was trained on (the shipped
default: 16-56 px). For each grain-size range, `--n` micrographs (`--size` px square) are rendered in
the default model's training styles in turn (brightfield, tint, dirty, heavy; seeds 50000+, a set no
choice was made on), and segmented by `GrainSegmenter.segment(zoom=Z)` for every `--zoom` (the
generator sees each tile resampled by Z; the post-processing runs at the image's own size), and by
the classical watershed for reference. Scores as in `grains_quality.py`: F1 (2 px), ARI, count and G
errors against the resolvable truth. Prints one table per range and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os

from grains_postprocess import STYLES  # benchmarks/ is the script's folder, so on sys.path
from grains_quality import rendered_set


def main() -> None:
    from tqdm.auto import tqdm

    from matgan.grains.baselines import segment_classical
    from matgan.grains.evaluate import mean_scores, score
    from matgan.grains.segment import GrainSegmenter

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="CycleGAN checkpoint (default: the shipped model)")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--ranges", default="6:10,10:16,16:56,60:90,90:140")
    parser.add_argument("--zoom", default="0.5,0.75,1,1.5,2,3")
    args = parser.parse_args()
    segmenter = GrainSegmenter(args.model)
    zooms = [float(z) for z in args.zoom.split(",")]
    result = {"model": args.model or "default", "n": args.n, "size": args.size, "machine": f"{os.cpu_count()} CPUs",
              "ranges": {}}
    for text in args.ranges.split(","):
        lo, hi = (float(v) for v in text.split(":"))
        items = rendered_set(args.n, STYLES, args.size, seed=50000, grain_range=(lo, hi))
        table = {}
        runs = [(f"cyclegan zoom {z:g}", lambda image, z=z: segmenter.segment(image, zoom=z)) for z in zooms]
        runs.append(("watershed", lambda image: segment_classical(image, "watershed")))
        for name, method in tqdm(runs, desc=f"grains {text} px", leave=False):
            rows = []
            for _, image, truth, resolvable in items:
                pred = method(image)
                exact, res = score(pred, truth), score(pred, resolvable)
                rows.append(dict(f1=exact["f1"], ari=exact["ari"], count_error_res=res["count_error"],
                                 G_error_res=res["G_error"], n_pred=res["n_pred"], n_true_res=res["n_true"]))
            table[name] = mean_scores(rows)
        print(f"\ngrains {text} px ({args.n} images {args.size} x {args.size}, styles {', '.join(STYLES)})")
        print(f"{'method':<18} {'f1':>6} {'ari':>6} {'count_res':>9} {'G_res':>6} {'n_pred':>7} {'n_res':>7}")
        for name, s in table.items():
            print(f"{name:<18} {s['f1']:6.3f} {s['ari']:6.3f} {s['count_error_res']:9.3f} {s['G_error_res']:6.2f} "
                  f"{s['n_pred']:7.1f} {s['n_true_res']:7.1f}")
        result["ranges"][text] = table
    print(json.dumps(result))


if __name__ == "__main__":
    main()
