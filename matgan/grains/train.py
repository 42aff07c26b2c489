"""Train the grain CycleGAN: real micrographs (A) <-> virtual micrographs (B), unpaired.

This module only prepares data and configures the core's `cyclegan` variant; the loop is the
core Trainer's. Two grain-specific additions, each switchable:

- closed boundaries: D_B also sees virtual maps with boundary pieces cut out, labelled fake, so
  G_AB is pushed towards closed boundary networks; optionally (`merged_fakes`) some of those maps
  lose whole boundaries between two grains instead, the failure a faint boundary left out causes;
- scale matching: the virtual domain is synthesized at the real images' mean grain size,
  estimated by a classical first pass (unless a grain size is given).

And one for real domains that are partly synthetic: `paired` names the virtual micrographs of those real
images whose answer is known (`matgan grains synth` writes rendered/ and virtual/ from the same label
maps), matched by file name; G_AB is pulled towards them by L1 (`paired_weight`) on top of the CycleGAN's
losses, while the other real images (a lab's own) stay unpaired.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from matgan.errors import MatganError

MODEL_DEFAULTS = {"ngf": 16, "ndf": 32, "n_blocks": 6, "n_down": 2, "d_layers": 3}


def parse_grain_size(text: str | float | None) -> tuple[float, float] | None:
    """'40' -> (40, 40); '20:60' -> (20, 60) (a log-uniform range); None stays None."""
    if text is None or text == "":
        return None
    if isinstance(text, (int, float)):
        return float(text), float(text)
    try:
        parts = [float(p) for p in str(text).split(":")]
    except ValueError:
        raise MatganError(f"grain size {text!r}: expected a number of pixels or a range LO:HI") from None
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not 3 <= parts[0] <= parts[1]:
        raise MatganError(f"grain size {text!r}: expected PX >= 3 or LO:HI with 3 <= LO <= HI")
    return parts[0], parts[1]


def draw_grain_size(size_range: tuple[float, float], rng: np.random.Generator) -> float:
    lo, hi = size_range
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi)))) if hi > lo else lo


def estimate_grain_size(images: Sequence[np.ndarray], method: str = "watershed", max_images: int = 16) -> float:
    """Mean grain diameter in px of real micrographs, from a classical first pass.

    Parameters
    ----------
    images : grey float images (H, W) in [0, 1], dark boundaries.

    Returns the diameter of the circle with the mean grain area, area per grain taken as the
    image area over the Jeffries count (the same definition `synthesize` uses for its target).
    """
    from matgan.grains.baselines import segment_classical
    from matgan.grains.measure import jeffries_count

    area, count = 0.0, 0.0
    for image in list(images)[:max_images]:
        labels = segment_classical(image, method)
        area += labels.size
        count += jeffries_count(labels)[2]
    if count == 0:
        raise MatganError("no grains found in the real images; give --grain-size")
    return math.sqrt(4.0 * area / count / math.pi)


def make_virtual(n: int, size: int, size_range: tuple[float, float], seed: int, thickness: int = 2,
                 dispersion: float = 0.3, progress: bool = False) -> np.ndarray:
    """n virtual micrographs (n, size, size) uint8 (0 on boundaries), grain sizes drawn from `size_range`."""
    from tqdm.auto import tqdm

    from matgan.grains.synth import synthesize

    rng = np.random.default_rng(seed)
    out = np.empty((n, size, size), np.uint8)
    for i in tqdm(range(n), desc="virtual", disable=not progress, leave=False):
        out[i] = synthesize(size, draw_grain_size(size_range, rng), dispersion=dispersion, thickness=thickness,
                            lloyd=int(rng.integers(0, 3)), seed=int(rng.integers(2**31)))[0]
    return out


def load_real(paths: Sequence[str | os.PathLike]) -> tuple[list[np.ndarray], list[Path]]:
    """Grey float images (H, W) in [0, 1] from image files and folders; one line per unreadable file."""
    from matgan.io import list_images, read_image, to_gray_float

    files = list_images(paths)
    if not files:
        raise MatganError(f"{', '.join(str(p) for p in paths)}: no images found (PNG, TIFF, JPEG or BMP)")
    return [to_gray_float(read_image(f)) for f in files], files


def load_paired(paired: str | os.PathLike | Sequence[str | os.PathLike], files: Sequence[Path],
                real: Sequence[np.ndarray]) -> list[np.ndarray | None]:
    """The known virtual micrograph of each real image (matched by file stem; None where there is none):
    uint8 maps of the image's size. Errors name the file; finding no match at all is an error too."""
    from matgan.io import list_images, read_image, to_gray_float

    sources = [paired] if isinstance(paired, (str, os.PathLike)) else list(paired)
    by_stem: dict[str, Path] = {}
    for path in list_images(sources):
        if path.stem in by_stem:
            raise MatganError(f"{path}: a second paired map for {path.stem!r} (also {by_stem[path.stem]})")
        by_stem[path.stem] = path
    targets: list[np.ndarray | None] = []
    for file, image in zip(files, real):
        path = by_stem.get(file.stem)
        if path is None:
            targets.append(None)
            continue
        target = np.round(to_gray_float(read_image(path)) * 255).astype(np.uint8)
        if target.shape != image.shape:
            raise MatganError(f"{path}: paired map is {target.shape[1]} x {target.shape[0]} px, its real image "
                              f"{file} is {image.shape[1]} x {image.shape[0]} px")
        targets.append(target)
    if not any(t is not None for t in targets):
        raise MatganError(f"{', '.join(map(str, sources))}: no paired map has the name of a real image")
    return targets


def break_boundaries(virtual, generator, n_cuts: tuple[int, int] = (3, 8), radius: tuple[int, int] = (3, 7)):
    """Copies of virtual maps (N, 1, H, W) in [-1, 1] with boundary pieces cut out (set to grain).

    Each map loses a few discs centred on random boundary pixels: open boundary networks, the
    failure that merges grains. Torch tensors in, torch tensors out.
    """
    import torch

    out = virtual.clone()
    _, _, h, w = out.shape
    yy = torch.arange(h).view(h, 1)
    xx = torch.arange(w).view(1, w)
    for image in out:
        on_boundary = (image[0] < 0).nonzero()
        if len(on_boundary) == 0:
            continue
        k = int(torch.randint(n_cuts[0], n_cuts[1] + 1, (), generator=generator))
        picks = on_boundary[torch.randint(len(on_boundary), (k,), generator=generator)]
        r = torch.randint(radius[0], radius[1] + 1, (k,), generator=generator)
        hole = torch.zeros(h, w, dtype=torch.bool)
        for (cy, cx), rr in zip(picks.tolist(), r.tolist()):
            hole |= (yy - cy) ** 2 + (xx - cx) ** 2 <= rr * rr
        image[0][hole] = 1.0
    return out


def drop_boundaries(virtual, generator, n_edges: tuple[int, int] = (1, 3), min_pixels: int = 16):
    """Copies of virtual maps (N, 1, H, W) in [-1, 1] with whole boundaries between two grains removed.

    Each map loses `n_edges` boundaries, each the set of boundary pixels whose neighbourhood (5 x 5,
    enough to see across a 2 px line) touches exactly that pair of grains, set to grain: two grains
    merged into one, with a kinked two-way vertex where each end of the lost boundary met a triple
    junction. This is what a generator that leaves out a faint boundary draws, and unlike a cut
    (`break_boundaries`) it leaves no loose ends. Pairs with fewer than `min_pixels` such pixels
    (junction fragments and edges under about 8 px) are never picked. Torch tensors in, torch tensors out.
    """
    import cv2
    import torch

    out = virtual.clone()
    kernel = np.ones((5, 5), np.uint8)

    def neighbour_labels(labels, grain, n):  # the lowest and highest grain label within 5 x 5 of each pixel
        high = cv2.dilate(labels, kernel, borderType=cv2.BORDER_REPLICATE)
        low = -cv2.dilate(np.where(grain, -labels, -np.float32(n)), kernel, borderType=cv2.BORDER_REPLICATE)
        return low, high

    for image in out:
        plane = image[0].numpy()
        grain = plane > 0
        n, labels = cv2.connectedComponents(grain.astype(np.uint8), connectivity=4)
        if n < 3:
            continue
        labels = labels.astype(np.float32)  # exact for < 2**24 grains; OpenCV's min/max filters take float
        low, high = neighbour_labels(labels, grain, n)
        between = ~grain & (low > 0) & (low < high)
        pairs = low[between].astype(np.int64) * n + high[between].astype(np.int64)
        kinds, counts = np.unique(pairs, return_counts=True)
        kinds = kinds[counts >= min_pixels]
        if len(kinds) == 0:
            continue
        k = int(torch.randint(n_edges[0], n_edges[1] + 1, (), generator=generator))
        picked = kinds[torch.randperm(len(kinds), generator=generator)[:k].numpy()]
        gone = np.zeros_like(grain)
        gone[between] = np.isin(pairs, picked)
        # the pair's two grains become one; pixels of a thick or slanted line that saw only one side of
        # it go too, twice over, so no specks of the lost boundary stay behind (junctions see a third grain)
        merged = np.arange(n, dtype=np.float32)
        for pair in picked:
            merged[merged == pair % n] = merged[pair // n]
        for _ in range(2):
            grain |= gone
            labels[gone] = low[gone]  # then merged with the rest: when two dropped boundaries share a grain,
            labels = merged[labels.astype(np.int64)]  # that grain's label may itself have been merged away
            low, high = neighbour_labels(labels, grain, n)
            near = cv2.dilate(gone.astype(np.uint8), kernel) > 0
            gone = ~grain & near & (low == high) & np.isin(low, merged[picked // n])
        grain |= gone
        image[0][torch.from_numpy(grain & (plane <= 0))] = 1.0
    return out


def photometric_jitter(image, generator, contrast: tuple[float, float] = (0.35, 1.0), noise: float = 0.06,
                       blur: float = 1.0, field: float = 0.0):
    """A real crop (1, H, W) in [-1, 1] as a weaker etch or a noisier camera would show it.

    Contrast is scaled toward the crop's mean by a factor drawn from `contrast`, then the crop is
    blurred with a Gaussian of sigma up to `blur` px and gets Gaussian noise of sigma up to `noise`
    (in [0, 1] units). Trained on such crops, the generator learns to find boundaries that stand
    barely above the noise. With `field` > 0 px the factor varies over the crop instead (an uneven
    etch): drawn from `contrast` at the nodes of a grid `field` px apart and interpolated bilinearly,
    so some boundaries of a crop stay deep while others fade. Torch tensor in, torch tensor out.
    """
    import cv2
    import torch

    u = torch.rand(3, generator=generator)
    share = float(u[0])  # where in the contrast range: one value per crop, or a smooth field of them
    if field > 0:
        _, height, width = image.shape
        nodes = torch.rand(1, 1, math.ceil(height / field) + 1, math.ceil(width / field) + 1, generator=generator)
        share = torch.nn.functional.interpolate(nodes, scale_factor=field, mode="bilinear",
                                                align_corners=True)[0, :, :height, :width]
    out = image.mean() + (image - image.mean()) * (contrast[0] + (contrast[1] - contrast[0]) * share)
    sigma = blur * float(u[1])
    if sigma > 0.3:
        out = torch.from_numpy(cv2.GaussianBlur(out[0].numpy(), (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101))[None]
    out = out + 2 * noise * float(u[2]) * torch.randn(out.shape, generator=generator)
    return out.clamp(-1, 1)


def grain_dataset(real: Sequence[np.ndarray], virtual: np.ndarray, crop: int, seed: int, closed_boundaries: bool,
                  length: int | None = None, augment: bool = False, augment_field: float = 0.0,
                  merged_fakes: float = 0.0, targets: Sequence[np.ndarray | None] | None = None):
    """The unpaired training set: items (a, b) or, with closed boundaries, (a, b, broken b).

    `targets`: known virtual micrographs of the real images (None where unknown); items then end with
    {"target_b": the target cropped and flipped as a, "weight": 1 or 0 where unknown}.

    `augment` passes each real crop through `photometric_jitter` (its `field`: `augment_field`).
    `merged_fakes`: the share of broken maps that lose whole boundaries (`drop_boundaries`) instead of
    pieces (`break_boundaries`).
    """
    import torch

    from matgan.core.data import UnpairedCrops

    def virtual_tensor(v):
        return torch.from_numpy(v.astype(np.float32))[None] / 127.5 - 1

    domain_a = [torch.from_numpy(np.ascontiguousarray(im, dtype=np.float32))[None] * 2 - 1 for im in real]
    if targets is not None:  # each target rides along as a second channel: cropped and flipped with its image
        domain_a = [a if t is None else torch.cat([a, virtual_tensor(t)]) for a, t in zip(domain_a, targets)]
    domain_b = [virtual_tensor(v) for v in virtual]

    class GrainCrops(UnpairedCrops):
        def __getitem__(self, i):
            a, b = super().__getitem__(i)
            paired = None
            if targets is not None:
                known = len(a) == 2
                a, target = (a[:1], a[1:]) if known else (a, torch.zeros_like(a))
                paired = {"target_b": target, "weight": torch.tensor(float(known))}
            g = torch.Generator().manual_seed((self.seed * 7919 + self.epoch) * 1_000_033 + i)
            if augment:
                a = photometric_jitter(a, g, field=augment_field)
            item = (a, b)
            if closed_boundaries:
                if merged_fakes > 0 and float(torch.rand((), generator=g)) < merged_fakes:
                    item += (drop_boundaries(b[None], g)[0],)
                else:
                    item += (break_boundaries(b[None], g)[0],)
            return item + (paired,) if paired is not None else item

    return GrainCrops(domain_a, domain_b, crop, seed=seed, length=length or max(len(domain_a), len(domain_b)))


def train(
    real_paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    virtual_path: str | os.PathLike | None = None,
    grain_size: str | float | None = None,
    steps: int = 2000,
    crop: int = 128,
    batch_size: int = 4,
    n_virtual: int = 200,
    closed_boundaries: bool = True,
    merged_fakes: float = 0.0,
    paired: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    paired_weight: float = 10.0,
    scale_matching: bool = True,
    augment: bool = False,
    augment_field: float = 0.0,
    ema_decay: float = 0.0,
    boundary: str = "dark",
    equalize: float = 0.0,
    model: dict | None = None,
    seed: int = 0,
    device: str = "auto",
    precision: str = "fp32",
    sample_every: int = 250,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Train a grain CycleGAN and write the run folder plus `model.pt` (the inference checkpoint).

    Parameters
    ----------
    real_paths : image files or folders of real micrographs (domain A; any size, 8/16-bit, grey/RGB).
    out_dir : the run folder (config.json, metrics.jsonl, samples/, last.pt, model.pt).
    virtual_path : an HDF5 file from `matgan grains synth` (dataset `images`) as domain B; otherwise
        `n_virtual` virtual micrographs are synthesized.
    grain_size : px or 'LO:HI' for the synthesized domain B; None with `scale_matching` estimates
        it from the real images, None without it uses 40 px.
    crop : training crop side in px (a multiple of 4).
    merged_fakes : with `closed_boundaries`, the share (0-1) of D_B's broken maps that lose whole
        boundaries between two grains (merged grains, `drop_boundaries`) instead of pieces.
    paired : virtual micrographs (files or folders) known to be the answers for some real images, matched
        by file stem (`grains synth` writes rendered/NNNNN.png and virtual/NNNNN.png); G_AB(a) is pulled
        towards them by an L1 of weight `paired_weight` (a semi-supervised CycleGAN; images without one
        stay unpaired). None = plain unpaired training.
    augment : photometric jitter of the real crops (weaker contrast, blur, noise; `photometric_jitter`).
    augment_field : with `augment`, the contrast factor varies over each crop on this scale (px; an
        uneven etch; 0 = one factor per crop).
    ema_decay : keep a moving average of the generators' weights with this decay (0 = none); `model.pt`
        then segments with the average (the trainer's EMA, started from the weights at hand when resuming).
    boundary : how the real micrographs show boundaries, "dark" or "bright" (SEM backscatter,
        dark-field); bright ones are inverted before anything else (`segment.dark_boundaries`), and
        `model.pt` records it, so `grains segment` with this model inverts by default too.
    equalize : show the generator the real micrographs through `segment.equalize` (CLAHE) at this clip
        (0 = off), each whole image once, as `grains segment` does; `model.pt` records it (`equalize_clip`),
        so `grains segment` with this model equalizes by default too. The scale is estimated before it.
    model : CycleGAN options overriding `MODEL_DEFAULTS` (ngf, ndf, n_blocks, ...).

    Returns the trainer's summary with the grain size used.
    """
    import torch

    from matgan.core.checkpoint import save_variant
    from matgan.core.trainer import TrainConfig, Trainer, seed_everything
    from matgan.core.variants import build_variant

    if crop % 4 or crop < 32:
        raise MatganError(f"--crop {crop}: expected a multiple of 4, at least 32")
    if not 0 <= merged_fakes <= 1:
        raise MatganError(f"--merged-fakes {merged_fakes}: expected a share from 0 to 1")
    merged_fakes = merged_fakes if closed_boundaries else 0.0  # a kind of broken map: none without them
    from matgan.grains.segment import EQUALIZE_TILE, dark_boundaries
    from matgan.grains.segment import equalize as equalized

    if paired is not None and paired_weight <= 0:
        raise MatganError(f"--paired-weight {paired_weight}: expected a positive weight with --paired")
    real, files = load_real(real_paths)
    targets = load_paired(paired, files, real) if paired is not None else None
    real = [dark_boundaries(image, boundary) for image in real]
    size_range = parse_grain_size(grain_size)
    estimated = None
    if virtual_path is not None:
        from matgan.io import read_hdf5

        arrays, _ = read_hdf5(virtual_path, ["images"])
        virtual = np.asarray(arrays["images"])
        if virtual.ndim != 3 or virtual.dtype != np.uint8:
            raise MatganError(f"{virtual_path}: 'images' must be (N, H, W) uint8 virtual micrographs")
    else:
        if size_range is None:
            if scale_matching:
                estimated = estimate_grain_size(real)
                size_range = (estimated * 0.85, estimated * 1.15)
            else:
                size_range = (40.0, 40.0)
        side = max(2 * crop, 256)
        virtual = make_virtual(n_virtual, side, size_range, seed + 1, progress=progress)
    if equalize > 0:
        real = [equalized(image, equalize, EQUALIZE_TILE) for image in real]
    seed_everything(seed)
    options = dict(MODEL_DEFAULTS, **(model or {}), lambda_paired=paired_weight if targets is not None else 0.0)
    variant = build_variant("cyclegan", options)
    dataset = grain_dataset(real, virtual, crop, seed, closed_boundaries,
                            length=max(len(real), len(virtual), batch_size), augment=augment,
                            augment_field=augment_field, merged_fakes=merged_fakes, targets=targets)
    meta = {"domain": "grains", "real": [str(f) for f in files[:1000]], "n_real": len(files),
            "grain_size_range": list(size_range) if size_range else None, "estimated_grain_size": estimated,
            "closed_boundaries": closed_boundaries, "merged_fakes": merged_fakes,
            "paired": None if targets is None else sum(t is not None for t in targets),
            "paired_weight": paired_weight if targets is not None else 0.0,
            "scale_matching": scale_matching, "augment": augment,
            "augment_field": augment_field, "ema_decay": ema_decay, "crop": crop, "boundary": boundary,
            "equalize_clip": equalize,
            "virtual": str(virtual_path) if virtual_path else f"synthesized {len(virtual)}"}
    config = TrainConfig(steps=steps, batch_size=batch_size, seed=seed, device=device, precision=precision,
                         sample_every=sample_every, checkpoint_every=max(50, sample_every), log_every=10,
                         ema_decay=ema_decay, progress=progress)
    trainer = Trainer(variant, dataset, config, out_dir, resume=resume, overwrite=overwrite, meta=meta)
    summary = trainer.fit()
    summary["grain_size_range"] = list(size_range) if size_range else None
    if not trainer.is_main:  # under torchrun only rank 0 writes
        return summary
    variant.to(torch.device("cpu"))
    save_variant(Path(out_dir) / "model.pt", variant, meta=dict(meta, kind="grains-segmenter", steps=steps),
                 nets=["G_AB"])
    return summary
