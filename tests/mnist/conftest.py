"""A tiny synthetic MNIST folder (ten learnable stroke patterns) and a throwaway classifier trained on it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from matgan.cli import main
from matgan.mnist.data import write_idx


def synthetic_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n 28x28 uint8 'digits': class k is a vertical bar at column 3 + 2k, with jitter and noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    images = rng.integers(0, 30, size=(n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(labels):
        top = 4 + rng.integers(0, 3)
        column = 3 + 2 * int(k)
        images[i, top : top + 18, column : column + 2] = 255
    return images, labels


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mnist")
    for split, stem, n in (("train", "train", 600), ("test", "t10k", 200)):
        images, labels = synthetic_digits(n, seed=0 if split == "train" else 1)
        write_idx(folder / f"{stem}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{stem}-labels-idx1-ubyte.gz", labels)
    return folder


def _invoke(*args):
    """Run `matgan ARGS` in-process: (click Result, the last JSON line of stdout or None)."""
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    return result, (json.loads(lines[-1]) if lines else None)


@pytest.fixture(scope="session")
def matgan_cli():
    return _invoke


@pytest.fixture(scope="session")
def classifier_run(mnist_dir, tmp_path_factory):
    """(folder, train-classifier JSON summary) of a classifier trained on the synthetic digits."""
    out = tmp_path_factory.mktemp("classifier") / "clf"
    result, summary = _invoke("mnist", "train-classifier", "--data-dir", mnist_dir, "--steps", 60,
                              "--batch-size", 32, "--device", "cpu", "-o", out)
    assert result.exit_code == 0, result.output
    return out, summary
