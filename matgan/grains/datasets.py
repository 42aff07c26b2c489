"""Data sets of virtual micrographs: many synthesized (and rendered) images in one HDF5 file or a folder."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from matgan.errors import MatganError


def synth_dataset(
    out: str | os.PathLike,
    count: int,
    size: int,
    grain_size: str | float,
    options: dict,
    styles: Sequence[str] = (),
    bit_depth: int = 8,
    image_format: str = "png",
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Synthesize `count` micrographs and write them to `out`.

    `out` ending in .h5/.hdf5: one file with datasets ``images`` (N, H, W) uint8 virtual
    micrographs, ``labels`` (N, H, W) int32, ``grain_size`` (N,) target px and, with `styles`,
    ``rendered`` (N, H, W) uint8/uint16 and ``style`` (N,) names; attributes hold every parameter
    and the seed. Otherwise a folder with ``virtual/NNNNN.png``, ``labels/NNNNN.tif`` and
    ``rendered/NNNNN.png`` (or .tif). Image i uses seed ``seed * 1_000_003 + i``, so any one image can
    be remade alone; `grain_size` may be 'LO:HI' (each image draws its own size log-uniformly).
    """
    from tqdm.auto import tqdm

    from matgan.grains.render import get_style, render
    from matgan.grains.synth import params_dict, synthesize
    from matgan.grains.train import draw_grain_size, parse_grain_size
    from matgan.io import check_writable, write_hdf5, write_image

    out = Path(out)
    size_range = parse_grain_size(grain_size)
    for style in styles:
        get_style(style)
    params = params_dict(size=size, grain_size=size_range[0], **options)
    to_hdf5 = out.suffix.lower() in (".h5", ".hdf5")
    if to_hdf5:
        check_writable([out], overwrite)
    else:
        if out.exists() and not out.is_dir():
            raise MatganError(f"{out}: exists and is not a folder")
        check_writable([out / "virtual"], overwrite)
    rng = np.random.default_rng(seed)
    sizes = np.array([draw_grain_size(size_range, rng) for _ in range(count)])
    images = np.empty((count, size, size), np.uint8) if to_hdf5 else None
    labels = np.empty((count, size, size), np.int32) if to_hdf5 else None
    rendered = np.empty((count, size, size), np.uint8 if bit_depth == 8 else np.uint16) if to_hdf5 and styles else None
    suffix = "." + image_format
    for i in tqdm(range(count), desc="synth", unit="image", disable=not progress or count < 8):
        image_seed = seed * 1_000_003 + i
        virtual, grain_labels, _ = synthesize(size, float(sizes[i]), seed=image_seed, **options)
        look = render(grain_labels, styles[i % len(styles)], seed=image_seed, bit_depth=bit_depth) if styles else None
        if to_hdf5:
            images[i], labels[i] = virtual, grain_labels
            if look is not None:
                rendered[i] = look
        else:
            name = f"{i:05d}"
            write_image(out / "virtual" / f"{name}{suffix}", virtual, overwrite=True)
            write_image(out / "labels" / f"{name}.tif", grain_labels, overwrite=True)
            if look is not None:
                write_image(out / "rendered" / f"{name}{suffix}", look, overwrite=True)
    attrs = dict(params, grain_size_range=list(size_range), count=count, seed=seed,
                 styles=list(styles), bit_depth=bit_depth, seed_rule="image i: seed * 1000003 + i")
    if to_hdf5:
        arrays = {"images": images, "labels": labels, "grain_size": sizes}
        if rendered is not None:
            arrays["rendered"] = rendered
            arrays["style"] = np.array([styles[i % len(styles)] for i in range(count)])
        write_hdf5(out, arrays, attrs, overwrite=overwrite)
    else:
        import json

        from matgan.io import write_text

        write_text(out / "params.json", json.dumps(dict(attrs, grain_size=sizes.tolist()), indent=2))
    return out
