"""Datasets the trainer reads: tensors in memory, HDF5 arrays, unpaired domains, random crops, toys."""

from __future__ import annotations

import math
import os

import numpy as np
import torch
from torch.utils.data import Dataset

from matgan.errors import MatganError


class TensorPairs(Dataset):
    """Items (x[i],) or (x[i], y[i]) from tensors already in memory."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None = None):
        if y is not None and len(x) != len(y):
            raise ValueError(f"{len(x)} samples but {len(y)} labels")
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        return (self.x[i], self.y[i]) if self.y is not None else (self.x[i],)

    def __getitems__(self, indices: list[int]):
        """A whole batch by one indexing operation (the DataLoader's batched fetch; no per-item collation)."""
        return BatchedItems(self[torch.as_tensor(indices)])


class BatchedItems(tuple):
    """A batch already stacked by its dataset's `__getitems__`; the Trainer's collate passes it through."""


def collate(items):
    """DataLoader collate: batches from `__getitems__` as they are, lists of items stacked as usual."""
    if isinstance(items, BatchedItems):
        return tuple(items)
    return torch.utils.data.default_collate(items)


class HDF5Arrays(TensorPairs):
    """Samples from an HDF5 dataset scaled to [-1, 1] as float32, optionally with integer labels.

    The whole array is read once (data sets here are small enough); `scale` maps stored values:
    "uint8" (0..255), "unit" (0..1) or "none" (already in [-1, 1]).
    """

    def __init__(self, path: str | os.PathLike, name: str, label_name: str | None = None, scale: str = "uint8"):
        from matgan.io import read_hdf5

        names = [name] + ([label_name] if label_name else [])
        arrays, self.attrs = read_hdf5(path, names)
        x = torch.from_numpy(np.asarray(arrays[name])).float()
        if scale == "uint8":
            x = x / 127.5 - 1.0
        elif scale == "unit":
            x = x * 2.0 - 1.0
        elif scale != "none":
            raise ValueError(f"unknown scale {scale!r}")
        if x.ndim == 3:
            x = x[:, None]
        if len(x) == 0:
            raise MatganError(f"{path}: dataset '{name}' is empty")
        try:
            super().__init__(x, torch.from_numpy(np.asarray(arrays[label_name])).long() if label_name else None)
        except ValueError as exc:
            raise MatganError(f"{path}: {exc}") from None


def random_crop(image: torch.Tensor, size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A random size x size crop of (C, H, W); images smaller than `size` are reflect-padded first."""
    _, h, w = image.shape
    if h < size or w < size:
        pad_h, pad_w = max(0, size - h), max(0, size - w)
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        image = torch.nn.functional.pad(image[None], (0, pad_w, 0, pad_h), mode=mode)[0]
        _, h, w = image.shape
    top = int(torch.randint(h - size + 1, (), generator=generator))
    left = int(torch.randint(w - size + 1, (), generator=generator))
    return image[:, top : top + size, left : left + size]


class UnpairedCrops(Dataset):
    """Unpaired samples (a, b): item i takes image i of domain A and a pseudo-random image of B,
    each randomly cropped (and flipped) to `crop`, so no fixed pairing is ever learned.

    Domains are lists of float tensors (C, H, W) in [-1, 1] of any sizes. Randomness comes from a
    generator seeded by (seed, epoch, item index): repeatable, and exact on resume (the Trainer
    calls `set_epoch`, as it does for its sampler).
    """

    def __init__(self, domain_a: list[torch.Tensor], domain_b: list[torch.Tensor], crop: int, seed: int = 0,
                 length: int | None = None, flips: bool = True):
        if not domain_a or not domain_b:
            raise MatganError("both domains need at least one image")
        self.a, self.b, self.crop, self.seed, self.flips = domain_a, domain_b, crop, seed, flips
        self.length = length or max(len(domain_a), len(domain_b))
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def _augment(self, image: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        image = random_crop(image, self.crop, g)
        if self.flips:
            if torch.rand((), generator=g) < 0.5:
                image = image.flip(-1)
            if torch.rand((), generator=g) < 0.5:
                image = image.flip(-2)
        return image

    def __getitem__(self, i: int):
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) * 1_000_033 + i)
        a = self._augment(self.a[i % len(self.a)], g)
        b = self._augment(self.b[int(torch.randint(len(self.b), (), generator=g))], g)
        return a, b


def gaussian_mixture(n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05, seed: int = 0):
    """n points (N, 2) from `modes` Gaussians on a circle, and the circle's centres (modes, 2)."""
    g = torch.Generator().manual_seed(seed)
    angles = 2 * math.pi * torch.arange(modes) / modes
    centres = radius * torch.stack([torch.cos(angles), torch.sin(angles)], 1)
    which = torch.randint(modes, (n,), generator=g)
    return centres[which] + std * torch.randn(n, 2, generator=g), centres
