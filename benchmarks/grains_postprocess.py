"""How the CycleGAN's post-processing parameters were chosen: a grid over smoothing, flooding depth and splitting.

Run: python benchmarks/grains_postprocess.py [--model PATH] [--n 64] [--sigma 1,1.5,2] [--h 0.1,0.2,0.3]
                                             [--split off,0.5,1] [--min-depth 1.5] [--min-area 25] [--tta 1]
                                             [--denoise 0,0.7] [--equalize 0,2.5] [--equalize-tile 32]
                                             [--refine off,4] [--temperature 1,2] [--noisy 64]
                                             [--real ../shared/data/micrographs/tbm/train --real-model M]
                                             [--method watershed] [--styles brightfield]

Validation images only: `--n` micrographs rendered in the *training* styles of the default model
(brightfield, tint, dirty, heavy in turn; seeds 70000+, 256 x 256, grain sizes 16-56 px), never the
held-out style that `grains_quality.py` scores. The generator runs once per image; each (sigma, h,
split) then goes through `grains.segment.probability_to_labels`, the code path `grains segment` uses
(split: the evidence threshold of `split_concave_grains`, off = no splitting). Prints F1 (2 px), ARI,
the count and G errors against the exact and the resolvable truth (see
`grains.evaluate.resolvable_truth`), the count error per style, the selection criterion
1 - F1 + 1 - ARI + count error (res) + G error (res) (lower is better), and a JSON line.

`--noisy N` adds N micrographs of the same training styles taken with a noisier camera (shot noise
at 150-1500 photons per full-scale pixel, drawn per image; seeds 72000+): robustness to the camera,
which the training styles hardly vary. Its criterion (same formula, resolvable truth) is added to the
sum. `--denoise` runs the generator once per non-local-means strength (`grains.segment.denoise`;
0 = off) and makes it a grid axis; `--equalize` and `--equalize-tile` do the same for the adaptive
histogram equalisation before the generator (`grains.segment.equalize`: OpenCV's clip limit, 0 = off,
and its tile side in px; default = each model's own setting, the default; `own` is read the same), and
`--temperature` for the generator's output temperature (`GrainSegmenter.boundary_probability`: its logits
divided by it before the tanh; 1 = as trained); `--refine` is the radius of `grains.segment.refine_boundaries`
(off = none), another axis.

`--real` adds another validation set: real crops with expert masks (`images/`, `masks/`) segmented by
`--real-model`, a model adapted on those very crops with `grains train` (which never sees the masks),
so that the defaults also serve the adapted models users make. Its criterion (same formula, exact
masks) is added to the rendered one; the defaults are the minimum of the sum.

`--styles` replaces the four training styles of the rendered and noisy-camera sets (cycled, same seeds):
a model trained with one of them left out (`pipelines/grains_loso.toml`) is validated on that style alone,
a look its training does not share.
"""

from __future__ import annotations

import argparse
import itertools
import json

import numpy as np
from grains_quality import rendered_set, settings, tbm_set  # benchmarks/ is the script's folder, so on sys.path

STYLES = ("brightfield", "tint", "dirty", "heavy")
HELD_OUT = "faint"  # grains_quality.py's test style: never a validation set
NOISY_PHOTONS = (150.0, 1500.0)  # the noisy-camera validation set's photon counts (log-uniform)


def criterion(mean: dict, suffix: str = "") -> float:
    """The selection criterion of a set's mean scores: 1 - F1 + 1 - ARI + count error + G error."""
    return 2 - mean["f1"] - mean["ari"] + mean["count_error" + suffix] + mean["G_error" + suffix]


def mean_of(rows: list[dict], kinds) -> dict:
    """Mean scores of the rows whose kind (a style, "noisy" or "real") is in `kinds`."""
    from matgan.grains.evaluate import mean_scores

    return mean_scores([{k: v for k, v in r.items() if k != "kind"} for r in rows if r["kind"] in kinds])


def main() -> None:
    import inspect

    from tqdm.auto import tqdm

    from matgan.grains.baselines import darkness, watershed
    from matgan.grains.evaluate import score
    from matgan.grains.segment import (
        DENOISE_STRENGTH,
        EQUALIZE_TILE,
        OUTPUT_TEMPERATURE,
        REFINE_RADIUS,
        SPLIT_EVIDENCE,
        SPLIT_MIN_AREA,
        SPLIT_MIN_DEPTH,
        WATERSHED_DEPTH,
        WATERSHED_SIGMA,
        GrainSegmenter,
        denoise,
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
    parser.add_argument("--denoise", default=None,
                        help="non-local-means strengths before the generator (default: the shipped one; 0 = off)")
    parser.add_argument("--equalize", default="default",
                        help="CLAHE clip limits before the generator (default or own = each model's own setting; "
                             "0 = off)")
    parser.add_argument("--equalize-tile", default=str(EQUALIZE_TILE), help="CLAHE tile sides (px)")
    parser.add_argument("--temperature", default=str(OUTPUT_TEMPERATURE),
                        help="output temperatures of the generator (1 = its own tanh output)")
    parser.add_argument("--refine", default=None,
                        help="radii of the boundary refinement (default: the shipped one; off = none)")
    parser.add_argument("--noisy", type=int, default=0, help="images in the noisy-camera validation set (0 = none)")
    parser.add_argument("--method", choices=("cyclegan", "watershed"), default="cyclegan",
                        help="watershed: the classical baseline (its landscape is the image's darkness smoothed "
                             "by sigma, flooded unsmoothed)")
    parser.add_argument("--real", default=None, help="folder of real crops with images/ and masks/")
    parser.add_argument("--real-model", default=None, help="the model adapted on the --real crops")
    parser.add_argument("--styles", default=",".join(STYLES),
                        help="rendering styles of the rendered and noisy-camera sets (default: the training styles)")
    args = parser.parse_args()
    from matgan.errors import MatganError
    from matgan.grains.render import get_style

    styles = tuple(s.strip() for s in args.styles.split(","))
    for style in styles:
        try:
            get_style(style)
        except MatganError as exc:
            parser.error(f"--styles: {exc}")
        if HELD_OUT in style.split("+"):
            parser.error(f"--styles: {HELD_OUT!r} is the held-out test style (grains_quality.py); nothing is chosen on it")
    classical = args.method == "watershed"
    own = {k: v.default for k, v in inspect.signature(watershed).parameters.items()}
    strengths = ([0.0 if classical else DENOISE_STRENGTH] if args.denoise is None
                 else [float(d) for d in args.denoise.split(",")])
    # what the generator is shown and how its output is read: (denoising strength, equalisation clip,
    # equalisation tile, output temperature); one map each
    clips = settings(args.equalize, default=("default", "own"))
    inputs = list(itertools.product(strengths, [0.0] if classical else clips,
                                    [int(t) for t in args.equalize_tile.split(",")][:1 if classical else None],
                                    [float(t) for t in args.temperature.split(",")][:1 if classical else None]))

    segmenters = {}  # one per checkpoint, loaded once

    def landscapes(items, model, kind_of):
        """{input: [(kind, landscape, truth, resolvable truth)]}: the generator runs once per image and input."""
        if not classical and model not in segmenters:
            segmenters[model] = GrainSegmenter(model)
        segmenter = None if classical else segmenters[model]
        out = {key: [] for key in inputs}
        for name, image, truth, resolvable in tqdm(items, desc="images"):
            for key in inputs:
                d, clip, side, temperature = key
                if classical:
                    land = denoise(image, d)
                else:
                    land = np.rint(segmenter.boundary_probability(image, 512, tta=args.tta, denoise_strength=d,
                                                                  equalize_clip=clip, equalize_tile=side,
                                                                  temperature=temperature)
                                   * 255).astype(np.uint8)
                out[key].append((kind_of(name), land, truth, truth if resolvable is None else resolvable))
        return out

    sets = [landscapes(rendered_set(args.n, styles, seed=70000), args.model, lambda name: name.rsplit("_", 1)[0])]
    if args.noisy:
        sets.append(landscapes(rendered_set(args.noisy, styles, seed=72000, photons=NOISY_PHOTONS), args.model,
                               lambda name: "noisy"))
    if args.real:
        from pathlib import Path

        sets.append(landscapes(tbm_set(Path(args.real)), args.real_model, lambda name: "real"))
    maps = {key: [item for one in sets for item in one[key]] for key in inputs}
    if classical:
        defaults = ((0.0, 0.0, inputs[0][2], inputs[0][3]),
                    *(own[k] for k in ("sigma", "h", "split", "split_min_depth", "split_min_area", "refine")))
    else:
        defaults = ((DENOISE_STRENGTH, None, EQUALIZE_TILE, OUTPUT_TEMPERATURE), WATERSHED_SIGMA, WATERSHED_DEPTH, SPLIT_EVIDENCE,
                    SPLIT_MIN_DEPTH, SPLIT_MIN_AREA, REFINE_RADIUS)
    refines = ([defaults[-1]] if args.refine is None
               else [None if v.strip() == "off" else float(v) for v in args.refine.split(",")])
    shapes = list(itertools.product([float(d) for d in args.min_depth.split(",")],
                                    [int(a) for a in args.min_area.split(",")]))
    splits = []  # (evidence, min_depth, min_area); one "off" whatever the shapes
    for v in args.split.split(","):
        splits += [(None, None, None)] if v.strip() == "off" else [(float(v), d, a) for d, a in shapes]
    grid = [(d, sigma, h, *split, refine) for d, sigma, h, split, refine in itertools.product(
        inputs, [float(s) for s in args.sigma.split(",")], [float(h) for h in args.h.split(",")], splits, refines)]
    extra = [name for name, on in (("noisy", args.noisy), ("real", args.real)) if on]
    results = []
    print(f"\n{'dn':>4} {'eq':>4} {'eqt':>3} {'T':>4} {'sigma':>5} {'h':>5} {'split':>5} {'depth':>5} {'area':>4} {'rf':>4} {'f1':>6} {'ari':>6} {'count':>6} "
          f"{'G':>6} {'count_res':>9} {'G_res':>6} {'crit':>6}" + "".join(f" {e + '_crit':>10}" for e in extra)
          + f" {'sum':>6}  " + " ".join(f"{s[:6]:>6}" for s in styles) + "  (rendered; count_res per style)")
    dark = {}  # the classical landscape, once per (strength, image, sigma)
    for d, sigma, h, split, depth, area, refine in grid:
        options = dict(refine=refine) if split is None else dict(split_min_depth=depth, split_min_area=area,
                                                                 refine=refine)
        rows = []
        for index, (kind, land, truth, resolvable) in enumerate(maps[d]):
            if classical:
                if (d, index, sigma) not in dark:
                    dark[d, index, sigma] = darkness(land, sigma)
                pred = probability_to_labels(dark[d, index, sigma], h=h, sigma=0.0, split=split, **options)
            else:
                pred = probability_to_labels(land, h=h, sigma=sigma, split=split, **options)
            exact, res = score(pred, truth), score(pred, resolvable)
            rows.append(dict(kind=kind, f1=exact["f1"], ari=exact["ari"], count_error=exact["count_error"],
                             G_error=exact["G_error"], count_error_res=res["count_error"], G_error_res=res["G_error"]))
        mean = mean_of(rows, styles)
        per_style = {s: float(np.mean([r["count_error_res"] for r in rows if r["kind"] == s])) for s in styles}
        mean["criterion"] = mean["total"] = criterion(mean, "_res")
        for e in extra:  # the real crops' truth is the experts' masks: no resolvable version
            mean[e] = mean_of(rows, (e,))
            mean[e + "_criterion"] = criterion(mean[e], "_res" if e == "noisy" else "")
            mean["total"] += mean[e + "_criterion"]
        default = " (default)" if (d, sigma, h, split, depth, area, refine) == defaults else ""
        print(f"{d[0]:4.2f} {'own' if d[1] is None else format(d[1], '4.2f'):>4} {d[2]:3d} {d[3]:4.2f} {sigma:5.2f} {h:5.2f} {'off' if split is None else split:>5} {depth or '':>5} {area or '':>4} "
              f"{'off' if refine is None else refine:>4} "
              f"{mean['f1']:6.3f} {mean['ari']:6.3f} "
              f"{mean['count_error']:6.3f} {mean['G_error']:6.3f} {mean['count_error_res']:9.3f} "
              f"{mean['G_error_res']:6.3f} {mean['criterion']:6.3f}"
              + "".join(f" {mean[e + '_criterion']:10.3f}" for e in extra) + f" {mean['total']:6.3f}  "
              + " ".join(f"{per_style[s]:6.2f}" for s in styles) + default)
        results.append(dict(denoise=d[0], equalize=d[1], equalize_tile=d[2], temperature=d[3], sigma=sigma, h=h, split=split, min_depth=depth, min_area=area, refine=refine,
                            **mean, per_style_count_error_res=per_style))
    best = min(results, key=lambda r: r["total"])
    print(f"\nlowest criterion sum: denoise {best['denoise']}, equalize {best['equalize']} over "
          f"{best['equalize_tile']} px, temperature {best['temperature']}, sigma {best['sigma']}, h {best['h']}, split "
          f"{best['split']}, min depth {best['min_depth']}, min area {best['min_area']}, refine {best['refine']} "
          f"({best['total']:.3f})")
    print(json.dumps({"method": args.method, "model": args.model or "default", "n": args.n, "noisy": args.noisy,
                      "styles": list(styles), "tta": args.tta, "real": args.real, "real_model": args.real_model, "grid": results}))


if __name__ == "__main__":
    main()
