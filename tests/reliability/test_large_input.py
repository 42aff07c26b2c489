"""An 8192 x 8192 micrograph segments with the default model within the 2 GB memory bound."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from matgan.io import read_image, write_image

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "micrographs" / "steel_brightfield.png"
CHILD = """
import resource, sys
from matgan.cli import main
main(["grains", "segment", sys.argv[1], "-o", sys.argv[2]], standalone_mode=False)
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.slow  # 3-12 min on two CPU cores, most of it the post-processing of 67 megapixels
def test_8192_square_micrograph_segments_within_2_gb(tmp_path):
    side = 8192
    tile = read_image(SAMPLE)
    tile = tile if tile.ndim == 2 else tile.mean(axis=2).astype(np.uint8)
    reps = side // tile.shape[0] + 1
    big = tmp_path / "big.png"
    write_image(big, np.tile(tile, (reps, reps))[:side, :side])
    del tile
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", CHILD, str(big), str(out)], capture_output=True, text=True,
                            timeout=900, env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert result.returncode == 0, result.stderr[-2000:]
    peak_gb = int(result.stdout.split("PEAK_KB")[-1]) / 2**20
    assert peak_gb < 2.0, f"peak memory {peak_gb:.2f} GB"
    boundaries = read_image(out / "big_boundaries.png")
    assert boundaries.shape == (side, side) and set(np.unique(boundaries)) <= {0, 255}
    assert 0.02 < (boundaries == 0).mean() < 0.5  # a boundary network, not an empty or black map
