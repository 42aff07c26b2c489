"""How the CycleGAN's post-processing parameters were chosen: a grid over flooding depth and smoothing.

Run: python benchmarks/grains_postprocess.py [--model PATH] [--n 16] [--sigma 1,1.5,2] [--h 0.05,0.1,0.2,0.3]
                                             [--tta 1]

Validation images only: `--n` micrographs rendered in the *training* styles of the default model
(brightfield, tint, dirty, heavy in turn; seeds 70000+, 256 x 256, grain sizes 16-56 px), never the
held-out style that `grains_quality.py` scores. The generator runs once per image; each (sigma, h)
pair then goes through `grains.segment.probability_to_labels`, the code path `grains segment` uses.
Prints F1 (2 px), ARI, the count and G errors against the exact and the resolvable truth (see
`grains.evaluate.resolvable_truth`), the count error per style, and a JSON line.
"""

from __future__ import annotations

import argparse
import itertools
import json

import numpy as np
from grains_quality import rendered_set  # benchmarks/ is the script's folder, so on sys.path

STYLES = ("brightfield", "tint", "dirty", "heavy")


def main() -> None:
    from tqdm.auto import tqdm

    from matgan.grains.evaluate import score
    from matgan.grains.segment import WATERSHED_DEPTH, WATERSHED_SIGMA, GrainSegmenter, probability_to_labels

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="CycleGAN checkpoint (default: the shipped model)")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--sigma", default="1,1.5,2")
    parser.add_argument("--h", default="0.05,0.1,0.2,0.3")
    parser.add_argument("--tta", type=int, default=1)
    args = parser.parse_args()
    segmenter = GrainSegmenter(args.model)
    maps = []
    for name, image, truth, resolvable in tqdm(rendered_set(args.n, STYLES, seed=70000), desc="generator"):
        prob = np.rint(segmenter.boundary_probability(image, 512, tta=args.tta) * 255).astype(np.uint8)
        maps.append((name.rsplit("_", 1)[0], prob, truth, resolvable))
    grid = list(itertools.product([float(s) for s in args.sigma.split(",")], [float(h) for h in args.h.split(",")]))
    results = []
    print(f"\n{'sigma':>5} {'h':>5} {'f1':>6} {'ari':>6} {'count':>6} {'G':>6} {'count_res':>9} {'G_res':>6}  "
          + " ".join(f"{s[:6]:>6}" for s in STYLES) + "  (count_res per style)")
    for sigma, h in grid:
        rows = []
        for style, prob, truth, resolvable in maps:
            pred = probability_to_labels(prob, h=h, sigma=sigma)
            exact, res = score(pred, truth), score(pred, resolvable)
            rows.append(dict(style=style, f1=exact["f1"], ari=exact["ari"], count_error=exact["count_error"],
                             G_error=exact["G_error"], count_error_res=res["count_error"], G_error_res=res["G_error"]))
        mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "style"}
        per_style = {s: float(np.mean([r["count_error_res"] for r in rows if r["style"] == s])) for s in STYLES}
        default = " (default)" if (sigma, h) == (WATERSHED_SIGMA, WATERSHED_DEPTH) else ""
        print(f"{sigma:5.2f} {h:5.2f} {mean['f1']:6.3f} {mean['ari']:6.3f} {mean['count_error']:6.3f} "
              f"{mean['G_error']:6.3f} {mean['count_error_res']:9.3f} {mean['G_error_res']:6.3f}  "
              + " ".join(f"{per_style[s]:6.2f}" for s in STYLES) + default)
        results.append(dict(sigma=sigma, h=h, **mean, per_style_count_error_res=per_style))
    print(json.dumps({"model": args.model or "default", "n": args.n, "tta": args.tta, "grid": results}))


if __name__ == "__main__":
    main()
