"""Figure: peak control and fidelity of the shipped vibration InfoGAN on synthetic spectra.

Real set: fresh synthetic spectra (another seed than the training set, same settings). Fidelity
reference measured in the same run: the Frechet distance between two halves of that real set's
held-out part and the classifier's accuracy on real spectra.

    python benchmarks/vibration_quality.py [--model PATH] [--real spectra.h5] [-n 2000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from matgan.vibration.dataset import SpectrumOptions, synth_dataset, write_spectra
from matgan.vibration.evaluate import evaluate_model
from matgan.vibration.gan import load_model


def table(scores: dict) -> str:
    c, f = scores["control"], scores.get("fidelity")
    rows = [
        "| figure | measured | target / reference | ratio |",
        "| --- | --- | --- | --- |",
        f"| Spearman abs(rho) code vs peak | {c['abs_spearman_rho']:.3f} | >= 0.95 "
        f"| {c['abs_spearman_rho'] / 0.95:.2f} |",
    ]
    for word in ("low", "mid", "high"):
        share = c["in_band_share"][word]
        rows.append(f"| --peak {word}: share in its third | {100 * share:.1f} % | >= 95 % | {share / 0.95:.2f} |")
    rows.append(f"| --peak <F>Hz error, median / p90 | {c['hz_error']['median']:.0f} / {c['hz_error']['p90']:.0f} Hz "
                f"| bin width {scores['df_hz']:.1f} Hz | - |")
    if f:
        rows.append(f"| Frechet distance generated vs real | {f['frechet_generated_vs_real']:.3g} | real vs real "
                    f"{f['frechet_real_vs_real']:.3g} | {f['frechet_ratio']:.1f}x |")
        rows.append(f"| class accuracy of generated spectra | {100 * f['class_accuracy_generated']:.1f} % | real "
                    f"{100 * f['class_accuracy_real']:.1f} % | "
                    f"{f['class_accuracy_generated'] / max(f['class_accuracy_real'], 1e-9):.2f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--real", default=None, help="real spectra HDF5 (default: 4000 fresh synthetic spectra)")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    variant, meta = load_model(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        real = args.real
        if real is None:
            real = Path(tmp) / "real.h5"
            arrays, attrs = synth_dataset(4000, options=SpectrumOptions(n_bins=meta["spectrum"]["n_bins"]), seed=12345)
            write_spectra(real, arrays, attrs)
        report(args.model, real, args.n, args.seed)


def report(model, real, n: int = 2000, seed: int = 0) -> dict:
    """Score `model` against the real spectra file `real`; print the JSON and the markdown table."""
    variant, meta = load_model(model)
    scores = evaluate_model(variant, meta, real, n=n, seed=seed)
    scores["df_hz"] = meta["spectrum"]["df_hz"]
    print(json.dumps(scores, default=float))
    print()
    print(table(scores))
    return scores


if __name__ == "__main__":
    main()
