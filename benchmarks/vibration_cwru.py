"""Figure: the vibration InfoGAN trained on real CWRU bearing spectra, its control and fidelity.

Each CWRU record (../shared/data/vibration) is split in time: the first 70 % makes the training
spectra, the last 30 % the real set the fidelity is measured against (no segment in both). The
model is trained with `matgan vibration train` (the same command a user runs), then scored as in
vibration_quality.py. About 15 minutes on 2 CPU cores at the default 3000 steps.

    python benchmarks/vibration_cwru.py [--data ../shared/data/vibration] [--out runs/vibration_cwru] [--steps 3000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from matgan.vibration.dataset import cwru_dataset, write_spectra

sys.path.insert(0, str(Path(__file__).parent))
from vibration_quality import report  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent / "shared/data/vibration"))
    parser.add_argument("--out", default="runs/vibration_cwru")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    files = sorted(Path(args.data).glob("*/*.mat"))
    if not files:
        sys.exit(f"no CWRU .mat files under {args.data}")
    out = Path(args.out)
    train_h5, test_h5 = out / "cwru_train.h5", out / "cwru_test.h5"
    for path, portion in ((train_h5, (0.0, 0.7)), (test_h5, (0.7, 1.0))):
        arrays, attrs = cwru_dataset(files, portion=portion)
        write_spectra(path, arrays, attrs, overwrite=True)
        print(f"{path}: {arrays['spectra'].shape[0]} spectra", file=sys.stderr)
    subprocess.run(["matgan", "vibration", "train", str(train_h5), "--steps", str(args.steps), "--seed",
                    str(args.seed), "--out", str(out / "run"), "--overwrite"], check=True)
    report(out / "run", test_h5, seed=args.seed)


if __name__ == "__main__":
    main()
