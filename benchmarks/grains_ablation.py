"""The grain additions on and off: closed boundaries, scale matching, photometric jitter; same data, same run.

Run: python benchmarks/grains_ablation.py [--steps 150] [--crop 96] [--out runs/grains_ablation]

Real domain: 96 rendered micrographs (256 x 256, styles brightfield/tint/dirty/heavy) with small
grains (18-24 px), so that the unmatched virtual domain (the 40 px default) is visibly off scale.
Four CycleGANs (closed boundaries on/off x scale matching on/off), and a fifth with both on plus
`augment` (photometric jitter of the real crops), are trained with identical seeds and steps; each
is scored on 8 rendered micrographs of the unseen "faint" style at the same grain size (exact truth).
Small budgets: the point is the difference between the rows, not the absolute level (see
BENCHMARKS.md for the budget used).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--n-real", type=int, default=96)
    parser.add_argument("--out", default="runs/grains_ablation")
    args = parser.parse_args()

    from matgan.grains.datasets import synth_dataset
    from matgan.grains.evaluate import mean_scores, score
    from matgan.grains.render import render
    from matgan.grains.segment import GrainSegmenter
    from matgan.grains.synth import synthesize
    from matgan.grains.train import train
    from matgan.io import to_gray_float

    out = Path(args.out)
    data = out / "real"
    if not (data / "rendered").is_dir():
        synth_dataset(data, args.n_real, 256, "18:24", {"dispersion": 0.3}, ["brightfield", "tint", "dirty", "heavy"],
                      seed=21, overwrite=True, progress=False)
    tests = []
    for i in range(8):
        _, labels, _ = synthesize(256, 21.0, dispersion=0.3, seed=70000 + i)
        tests.append((to_gray_float(render(labels, "faint", seed=70000 + i)), labels))
    results = {}
    arms = [(closed, scale, False) for closed in (False, True) for scale in (False, True)] + [(True, True, True)]
    for closed, scale, augment in arms:
        name = f"closed={'on' if closed else 'off'} scale={'on' if scale else 'off'}"
        name += " augment=on" if augment else ""
        run_dir = out / (f"closed_{int(closed)}_scale_{int(scale)}" + ("_augment" if augment else ""))
        if not (run_dir / "model.pt").exists():
            summary = train([data / "rendered"], run_dir, steps=args.steps, crop=args.crop, batch_size=4,
                            n_virtual=96, closed_boundaries=closed, scale_matching=scale, augment=augment,
                            model={"n_blocks": 4, "ndf": 16}, seed=0, sample_every=args.steps,
                            overwrite=True, progress=False)
            size_range = summary["grain_size_range"]
        else:
            size_range = json.loads((run_dir / "config.json").read_text())["meta"]["grain_size_range"]
        segmenter = GrainSegmenter(run_dir / "model.pt")
        rows = [score(segmenter.segment(image), labels) for image, labels in tests]
        results[name] = dict(mean_scores(rows), virtual_grain_px=float(np.mean(size_range)))
        r = results[name]
        print(f"{name:<36} virtual {r['virtual_grain_px']:5.1f} px  F1 {r['f1']:.3f}  ARI {r['ari']:.3f}  "
              f"count error {r['count_error']:.3f}  G error {r['G_error']:.3f}", flush=True)
    print(json.dumps({"steps": args.steps, "crop": args.crop, "true_grain_px": 21.0, "results": results}))


if __name__ == "__main__":
    main()
