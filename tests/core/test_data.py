"""Data sets: HDF5 arrays scaled to [-1, 1], batched fetches, unpaired crops repeatable per epoch."""

import numpy as np
import pytest
import torch

from matgan.core.data import HDF5Arrays, TensorPairs, UnpairedCrops, collate, random_crop
from matgan.errors import MatganError
from matgan.io import write_hdf5


def test_hdf5_arrays_scale_and_batch(tmp_path):
    path = tmp_path / "d.h5"
    write_hdf5(path, {"images": np.full((6, 8, 8), 255, np.uint8), "labels": np.arange(6)})
    data = HDF5Arrays(path, "images", "labels")
    x, y = data[2]
    assert x.shape == (1, 8, 8) and torch.all(x == 1.0) and y == 2
    xb, yb = collate(data.__getitems__([0, 3, 5]))
    assert xb.shape == (3, 1, 8, 8) and yb.tolist() == [0, 3, 5]
    with pytest.raises(MatganError, match="missing dataset"):
        HDF5Arrays(path, "spectra")


def test_batched_fetch_equals_item_by_item():
    data = TensorPairs(torch.randn(10, 3), torch.arange(10))
    xb, yb = collate(data.__getitems__([4, 1]))
    xs, ys = collate([data[4], data[1]])
    assert torch.equal(xb, xs) and torch.equal(yb, ys)


def test_random_crop_pads_small_images():
    crop = random_crop(torch.rand(1, 20, 30), 32, torch.Generator().manual_seed(0))
    assert crop.shape == (1, 32, 32)


def test_unpaired_crops_repeat_per_epoch_and_differ_across_epochs():
    a = [torch.rand(1, 40, 40) for _ in range(3)]
    b = [torch.rand(1, 50, 50) for _ in range(5)]
    data = UnpairedCrops(a, b, 16, seed=1)
    first = data[0]
    assert torch.equal(first[0], data[0][0]) and torch.equal(first[1], data[0][1])
    data.set_epoch(1)
    assert not torch.equal(first[0], data[0][0])
    assert first[0].shape == first[1].shape == (1, 16, 16)
