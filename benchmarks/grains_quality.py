"""Segmentation quality: the CycleGAN model against the classical baselines, same images, same run.

Run: python benchmarks/grains_quality.py [--model PATH] [--methods cyclegan,otsu,local,canny,watershed]
                                         [--style faint] [--n 8] [--tbm ../shared/data/micrographs/tbm/test]
                                         [--tta 1,8] [--denoise 0,0.7] [--equalize 0,2.5] [--temperature 1,2]
                                         [--nist ../shared/data/micrographs/nist_ti64_sem] [--zoom 1]
                                         (--n 0: the real sets only)

Three image sets:
- rendered: `--n` virtual micrographs (256 x 256, grain sizes 16-56 px, seeds 90000+) rendered in
  `--style` (default "faint", the style the default model never saw); truth = the exact labels;
- tbm: the real TBM optical crops with expert boundary masks (skipped when the folder is absent);
- nist: NIST's Ti-6Al-4V SEM backscatter image (768 x 1024, alpha laths with *bright* boundaries, so
  every method sees it inverted, as `grains segment --boundary bright` does; the CycleGAN also as it
  is, "-dark") against NIST's own skeletonised segmentation (skipped when absent). That reference is an
  algorithm's output with open line ends, not closed grains, so only the boundary scores and the mean
  lineal intercept are given: matgan's intercept of each result (`measure.image_summary`, test lines in
  8 orientations) against NIST's own count on its reference with the E112 pattern (29.6 px; matgan's
  measure counts only boundaries between grains, and the reference's open lines close few).
Scores (means over images): boundary precision/recall/F1 at 2 px, adjusted Rand index, variation of
information, relative grain-count error, ASTM G error. On the rendered set the count and G errors
are also given against the resolvable truth (`res`: grains narrower than 3 px merged away, see
`grains.evaluate.resolvable_truth`), since slivers that the drawn boundaries cover completely cannot
be counted by any method. Prints one table per set and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def rendered_set(n: int, style, size: int = 256, seed: int = 90000, photons: tuple[float, float] | None = None,
                 grain_range: tuple[float, float] = (16, 56)):
    """n rendered micrographs (name, grey image, exact truth, resolvable truth); a list of styles is cycled.

    `photons` (low, high): a noisier camera, shot noise at a photon count drawn log-uniformly per image.
    `grain_range`: mean grain diameters in px, drawn per image (`train.draw_grain_size`).
    """
    from matgan.grains.evaluate import resolvable_truth
    from matgan.grains.render import render
    from matgan.grains.synth import synthesize
    from matgan.grains.train import draw_grain_size
    from matgan.io import to_gray_float

    styles = [style] if isinstance(style, str) else list(style)
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        look = styles[i % len(styles)]
        _, labels, _ = synthesize(size, draw_grain_size(grain_range, rng), dispersion=0.3, seed=seed + i)
        camera = {} if photons is None else {"photons": float(np.exp(rng.uniform(*np.log(photons))))}
        items.append((f"{look}_{i}", to_gray_float(render(labels, look, seed=seed + i, **camera)), labels,
                      resolvable_truth(labels)))
    return items


def tbm_set(folder: Path):
    from matgan.grains.measure import labels_from_boundaries
    from matgan.io import list_images, read_image, to_gray_float

    items = []
    for image_path in list_images([folder / "images"]):
        mask = read_image(folder / "masks" / image_path.name)
        items.append((image_path.stem, to_gray_float(read_image(image_path)), labels_from_boundaries(mask, "bright"),
                      None))
    return items


def nist_set(folder: Path):
    """[(name, grey image as it is, reference labels, None)] and NIST's E112 mean intercept in px."""
    import csv

    from matgan.grains.measure import labels_from_boundaries
    from matgan.io import read_image, to_gray_float

    stem = folder / "sem_alpha_beta_ti_6al_4v"
    reference = labels_from_boundaries(read_image(f"{stem}_segmented.tif"), "bright")
    with open(f"{stem}_distances_e112.csv", newline="") as f:
        e112 = [float(row[1]) for row in list(csv.reader(f))[1:]]
    return [(stem.name, to_gray_float(read_image(f"{stem}.tif")), reference, None)], float(np.mean(e112))


def boundary_and_intercept(pred: np.ndarray, reference: np.ndarray, reference_intercept: float) -> dict:
    """Boundary scores against an open-line reference, and the mean lineal intercept (px) of `pred`
    against `reference_intercept` (the reference's own E112 count, which counts open lines too)."""
    from matgan.grains.evaluate import boundary_scores
    from matgan.grains.measure import image_summary

    mine = image_summary(pred)["mean_intercept_px"]
    return dict(boundary_scores(pred, reference), intercept_px=mine, intercept_ref_px=reference_intercept,
                intercept_error=abs(mine - reference_intercept) / reference_intercept)


def settings(text: str, default=("default",)) -> tuple:
    """A comma-separated option: numbers, and None for a word in `default` (the shipped or the model's own)."""
    return tuple(None if v.strip() in default else float(v) for v in text.split(","))


def evaluate_methods(items, methods, model, tile, ttas=(1,), denoises=(None,), scorer=None, zoom=1.0,
                     equalizes=(None,), temperatures=(None,)):
    """Mean scores per method; the CycleGAN once per (tta, denoise strength, equalisation clip, output
    temperature; None = the default: the model's own clip, the shipped temperature), at `zoom`.

    `scorer(pred, truth)`: the scores of one image (default `grains.evaluate.score`).
    """
    from matgan.grains.baselines import segment_classical
    from matgan.grains.evaluate import mean_scores, score
    from matgan.grains.segment import DENOISE_STRENGTH, OUTPUT_TEMPERATURE

    segmenter = None
    table = {}
    for method in methods:
        if method == "cyclegan":
            from matgan.grains.segment import GrainSegmenter

            segmenter = segmenter or GrainSegmenter(model)
        runs = [(t, DENOISE_STRENGTH if d is None else d, c, OUTPUT_TEMPERATURE if T is None else T)
                for t in ttas for d in denoises for c in equalizes for T in temperatures]
        for tta, strength, clip, temperature in runs if method == "cyclegan" else [(1, 0.0, None, None)]:
            rows, start = [], time.perf_counter()
            for _, image, truth, resolvable in items:
                pred = (segmenter.segment(image, tile, tta=tta, denoise_strength=strength, zoom=zoom,
                                          equalize_clip=clip, temperature=temperature)
                        if method == "cyclegan"
                        else segment_classical(image, method))
                row = (scorer or score)(pred, truth)
                if resolvable is not None:
                    res = score(pred, resolvable)
                    row.update(n_true_res=res["n_true"], count_error_res=res["count_error"], G_error_res=res["G_error"])
                rows.append(row)
            name = method
            if method == "cyclegan":
                name += (f"-tta{tta}" if tta > 1 else "") + ("" if strength == DENOISE_STRENGTH else f"-dn{strength:g}")
                name += "" if clip is None else f"-eq{clip:g}"
                name += "" if temperature == OUTPUT_TEMPERATURE else f"-T{temperature:g}"
                name += "" if zoom == 1 else f"-zoom{zoom:g}"
            table[name] = dict(mean_scores(rows), seconds=time.perf_counter() - start)
    return table


def print_table(title, table):
    keys = ("f1", "precision", "recall", "ari", "vi", "count_error", "G_error", "count_error_res", "G_error_res",
            "intercept_px", "intercept_ref_px", "intercept_error")
    keys = [k for k in keys if k in next(iter(table.values()))]
    print(f"\n{title}")
    print(f"{'method':<20} " + " ".join(f"{k.replace('_error', '_err').replace('intercept', 'icpt'):>11}"
                                        for k in keys))
    for method, s in table.items():
        print(f"{method:<20} " + " ".join(f"{s[k]:11.3f}" for k in keys))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="CycleGAN checkpoint (default: the shipped model)")
    parser.add_argument("--methods", default="cyclegan,otsu,local,canny,watershed")
    parser.add_argument("--style", default="faint")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--tbm", default=str(ROOT.parent / "shared" / "data" / "micrographs" / "tbm" / "test"))
    parser.add_argument("--zoom", type=float, default=1.0, help="the CycleGAN's --zoom (all sets)")
    parser.add_argument("--nist", default=str(ROOT.parent / "shared" / "data" / "micrographs" / "nist_ti64_sem"))
    parser.add_argument("--label", default="", help="a name for this run in the JSON line")
    parser.add_argument("--tta", default="1", help="comma-separated flip/turn counts for the CycleGAN (1, 2, 4, 8)")
    parser.add_argument("--denoise", default="default",
                        help="comma-separated denoising strengths for the CycleGAN (default = the shipped one, 0 = off)")
    parser.add_argument("--equalize", default="default",
                        help="comma-separated CLAHE clip limits for the CycleGAN (default = the model's own, 0 = off)")
    parser.add_argument("--temperature", default="default",
                        help="comma-separated output temperatures for the CycleGAN (default = the shipped one, "
                             "1 = the generator's own output)")
    args = parser.parse_args()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    ttas = tuple(int(t) for t in args.tta.split(","))
    denoises, equalizes, temperatures = settings(args.denoise), settings(args.equalize), settings(args.temperature)
    result = {"label": args.label, "model": args.model or "default", "style": args.style,
              "machine": f"{os.cpu_count()} CPUs"}
    if args.n:  # --n 0: the real sets only
        rendered = evaluate_methods(rendered_set(args.n, args.style), methods, args.model, args.tile, ttas, denoises,
                                    zoom=args.zoom, equalizes=equalizes, temperatures=temperatures)
        print_table(f"rendered micrographs, style {args.style!r}, {args.n} images 256x256 (exact truth)", rendered)
        result["rendered"] = rendered
    tbm = Path(args.tbm)
    if tbm.is_dir():
        scores = evaluate_methods(tbm_set(tbm), methods, args.model, args.tile, ttas, denoises, zoom=args.zoom,
                                  equalizes=equalizes, temperatures=temperatures)
        print_table(f"TBM optical crops ({tbm}), expert masks", scores)
        result["tbm"] = scores
    else:
        print(f"\n{tbm}: absent, TBM set skipped")
    nist = Path(args.nist)
    if nist.is_dir():
        from matgan.grains.segment import dark_boundaries

        as_is, e112 = nist_set(nist)
        bright = [(name, dark_boundaries(image, "bright"), ref, res) for name, image, ref, res in as_is]
        scorer = partial(boundary_and_intercept, reference_intercept=e112)
        scores = evaluate_methods(bright, methods, args.model, args.tile, ttas, denoises, scorer, args.zoom, equalizes,
                                  temperatures)
        if "cyclegan" in methods:  # the image as it is: dark boundaries expected, bright ones given
            scores.update({f"{k}-dark": v for k, v in evaluate_methods(
                as_is, ["cyclegan"], args.model, args.tile, ttas[:1], denoises[:1], scorer, args.zoom,
                equalizes[:1], temperatures[:1]).items()})
        print_table(f"NIST Ti-6Al-4V SEM ({nist}), inverted (bright boundaries), against NIST's segmentation; "
                    f"NIST's E112 mean intercept {e112:.1f} px", scores)
        result["nist"] = dict(scores, e112_mean_intercept_px=e112)
    else:
        print(f"\n{nist}: absent, NIST set skipped")
    print(json.dumps(result, default=float))


if __name__ == "__main__":
    main()
