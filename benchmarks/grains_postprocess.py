"""How the CycleGAN's post-processing parameters were chosen: a grid over smoothing, flooding depth and splitting.

Run: python benchmarks/grains_postprocess.py [--model PATH] [--n 64] [--sigma 1,1.5,2] [--h 0.1,0.2,0.3]
                                             [--split off,0.5,1] [--min-depth 1.5] [--min-area 25] [--tta 1]
                                             [--real ../shared/data/micrographs/tbm/train --real-model M]
                                             [--method watershed]

Validation images only: `--n` micrographs rendered in the *training* styles of the default model
(brightfield, tint, dirty, heavy in turn; seeds 70000+, 256 x 256, grain sizes 16-56 px), never the
held-out style that `grains_quality.py` scores. The generator runs once per image; each (sigma, h,
split) then goes through `grains.segment.probability_to_labels`, the code path `grains segment` uses
(split: the evidence threshold of `split_concave_grains`, off = no splitting). Prints F1 (2 px), ARI,
the count and G errors against the exact and the resolvable truth (see
`grains.evaluate.resolvable_truth`), the count error per style, the selection criterion
1 - F1 + 1 - ARI + count error (res) + G error (res) (lower is better), and a JSON line.

`--real` adds a second validation set: real crops with expert masks (`images/`, `masks/`) segmented by
`--real-model`, a model adapted on those very crops with `grains train` (which never sees the masks),
so that the defaults also serve the adapted models users make. Its criterion (same formula, exact
masks) is added to the rendered one; the defaults are the minimum of the sum.
"""

from __future__ import annotations

import argparse
import itertools
import json

import numpy as np
from grains_quality import rendered_set, tbm_set  # benchmarks/ is the script's folder, so on sys.path

STYLES = ("brightfield", "tint", "dirty", "heavy")


def criterion(mean: dict, suffix: str = "") -> float:
    """The selection criterion of a set's mean scores: 1 - F1 + 1 - ARI + count error + G error."""
    return 2 - mean["f1"] - mean["ari"] + mean["count_error" + suffix] + mean["G_error" + suffix]


def main() -> None:
    from tqdm.auto import tqdm

    import inspect

    from matgan.grains.baselines import darkness, watershed
    from matgan.grains.evaluate import mean_scores, score
    from matgan.grains.segment import (
        SPLIT_EVIDENCE,
        SPLIT_MIN_AREA,
        SPLIT_MIN_DEPTH,
        WATERSHED_DEPTH,
        WATERSHED_SIGMA,
        GrainSegmenter,
        probability_to_labels,
    )

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="CycleGAN checkpoint (default: the shipped model)")
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--sigma", default="1,1.5,2")
    parser.add_argument("--h", default="0.1,0.2,0.3")
    parser.add_argument("--split", default="off,0.5,1", help="evidence thresholds for splitting (off = none)")
    parser.add_argument("--min-depth", default=str(SPLIT_MIN_DEPTH), help="concavity depths (px) for splitting")
    parser.add_argument("--min-area", default=str(SPLIT_MIN_AREA), help="smallest piece a split may leave (px)")
    parser.add_argument("--tta", type=int, default=1)
    parser.add_argument("--method", choices=("cyclegan", "watershed"), default="cyclegan",
                        help="watershed: the classical baseline (its landscape is the image's darkness smoothed "
                             "by sigma, flooded unsmoothed)")
    parser.add_argument("--real", default=None, help="folder of real crops with images/ and masks/")
    parser.add_argument("--real-model", default=None, help="the model adapted on the --real crops")
    args = parser.parse_args()
    classical = args.method == "watershed"

    def landscapes(items, model, style_of):
        segmenter = None if classical else GrainSegmenter(model)
        out = []
        for name, image, truth, resolvable in tqdm(items, desc="images"):
            land = image if classical else np.rint(segmenter.boundary_probability(image, 512, tta=args.tta) * 255
                                                   ).astype(np.uint8)
            out.append((style_of(name), land, truth, truth if resolvable is None else resolvable))
        return out

    maps = landscapes(rendered_set(args.n, STYLES, seed=70000), args.model, lambda name: name.rsplit("_", 1)[0])
    if args.real:
        from pathlib import Path

        maps += landscapes(tbm_set(Path(args.real)), args.real_model, lambda name: "real")
    if classical:
        own = {k: v.default for k, v in inspect.signature(watershed).parameters.items()}
        defaults = tuple(own[k] for k in ("sigma", "h", "split", "split_min_depth", "split_min_area"))
    else:
        defaults = (WATERSHED_SIGMA, WATERSHED_DEPTH, SPLIT_EVIDENCE, SPLIT_MIN_DEPTH, SPLIT_MIN_AREA)
    shapes = list(itertools.product([float(d) for d in args.min_depth.split(",")],
                                    [int(a) for a in args.min_area.split(",")]))
    splits = []  # (evidence, min_depth, min_area); one "off" whatever the shapes
    for v in args.split.split(","):
        splits += [(None, None, None)] if v.strip() == "off" else [(float(v), d, a) for d, a in shapes]
    grid = [(sigma, h, *split) for sigma, h, split in itertools.product(
        [float(s) for s in args.sigma.split(",")], [float(h) for h in args.h.split(",")], splits)]
    results = []
    real = " real_crit    sum" if args.real else ""
    print(f"\n{'sigma':>5} {'h':>5} {'split':>5} {'depth':>5} {'area':>4} {'f1':>6} {'ari':>6} {'count':>6} {'G':>6} "
          f"{'count_res':>9} {'G_res':>6} {'crit':>6}{real}  " + " ".join(f"{s[:6]:>6}" for s in STYLES)
          + "  (rendered; count_res per style)")
    dark = {}  # the classical landscape, once per (image, sigma)
    for sigma, h, split, depth, area in grid:
        options = {} if split is None else dict(split_min_depth=depth, split_min_area=area)
        rows = []
        for index, (style, land, truth, resolvable) in enumerate(maps):
            if classical:
                if (index, sigma) not in dark:
                    dark[index, sigma] = darkness(land, sigma)
                pred = probability_to_labels(dark[index, sigma], h=h, sigma=0.0, split=split, **options)
            else:
                pred = probability_to_labels(land, h=h, sigma=sigma, split=split, **options)
            exact, res = score(pred, truth), score(pred, resolvable)
            rows.append(dict(style=style, f1=exact["f1"], ari=exact["ari"], count_error=exact["count_error"],
                             G_error=exact["G_error"], count_error_res=res["count_error"], G_error_res=res["G_error"]))
        mean = mean_scores([{k: v for k, v in r.items() if k != "style"} for r in rows if r["style"] != "real"])
        per_style = {s: float(np.mean([r["count_error_res"] for r in rows if r["style"] == s])) for s in STYLES}
        mean["criterion"] = mean["total"] = criterion(mean, "_res")
        if args.real:
            mean["real"] = mean_scores([{k: r[k] for k in ("f1", "ari", "count_error", "G_error")}
                                        for r in rows if r["style"] == "real"])
            mean["real_criterion"] = criterion(mean["real"])
            mean["total"] += mean["real_criterion"]
        default = " (default)" if (sigma, h, split, depth, area) == defaults else ""
        print(f"{sigma:5.2f} {h:5.2f} {'off' if split is None else split:>5} {depth or '':>5} {area or '':>4} "
              f"{mean['f1']:6.3f} {mean['ari']:6.3f} "
              f"{mean['count_error']:6.3f} {mean['G_error']:6.3f} {mean['count_error_res']:9.3f} "
              f"{mean['G_error_res']:6.3f} {mean['criterion']:6.3f}"
              + (f" {mean['real_criterion']:9.3f} {mean['total']:6.3f}" if args.real else "") + "  "
              + " ".join(f"{per_style[s]:6.2f}" for s in STYLES) + default)
        results.append(dict(sigma=sigma, h=h, split=split, min_depth=depth, min_area=area, **mean, per_style_count_error_res=per_style))
    best = min(results, key=lambda r: r["total"])
    print(f"\nlowest criterion{' sum' if args.real else ''}: sigma {best['sigma']}, h {best['h']}, split "
          f"{best['split']}, min depth {best['min_depth']}, min area {best['min_area']} ({best['total']:.3f})")
    print(json.dumps({"method": args.method, "model": args.model or "default", "n": args.n, "tta": args.tta,
                      "real": args.real, "real_model": args.real_model, "grid": results}))


if __name__ == "__main__":
    main()
