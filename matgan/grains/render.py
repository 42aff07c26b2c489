"""Realistic optical appearance for virtual micrographs: etch contrast, boundaries, optics, noise, dirt.

`render(grain_labels, style, seed)` turns an exact virtual structure into an image that looks like
a bright-field (or otherwise etched) optical micrograph, so that tests, demos and benchmarks get
real-looking inputs with exact ground truth. Every random choice comes from `seed`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np

from matgan.errors import MatganError
from matgan.grains.segment import fill_boundaries


@dataclass(frozen=True)
class RenderStyle:
    """How a rendered micrograph looks. Intensities are fractions of full scale (0..1).

    Attributes:
        grain_level: mean grain brightness.
        grain_contrast: standard deviation of the per-grain etch brightness.
        grain_texture: amplitude of smooth in-grain mottling.
        boundary_depth: mean darkening at the centre of a boundary (0..1).
        boundary_width: Gaussian half-width of the boundary groove in px.
        faint_share: share of boundary segments (grain pairs) drawn faint (10-40 % of full depth).
        depth_jitter: relative variation of depth and width along boundaries.
        dark_boundaries: True for dark grooves (bright field); False for bright lines (dark field).
        blur: Gaussian blur sigma in px (optics).
        illumination: peak-to-peak strength of the illumination gradient / vignette.
        gauss_noise: Gaussian read-noise sigma.
        photons: mean photon count at full scale for Poisson noise (0 = none).
        scratches: mean number of polishing scratches.
        inclusions: mean number of dark inclusions per 100 grains.
    """

    grain_level: float = 0.78
    grain_contrast: float = 0.05
    grain_texture: float = 0.02
    boundary_depth: float = 0.55
    boundary_width: float = 1.2
    faint_share: float = 0.1
    depth_jitter: float = 0.3
    dark_boundaries: bool = True
    blur: float = 0.8
    illumination: float = 0.12
    gauss_noise: float = 0.02
    photons: float = 0.0
    scratches: float = 0.0
    inclusions: float = 0.0


STYLES: dict[str, RenderStyle] = {
    # clean bright-field etch, e.g. ferrite: bright grains, dark thin grooves
    "brightfield": RenderStyle(),
    # tint etch: grains differ strongly in grey level, boundaries weaker
    "tint": RenderStyle(grain_level=0.6, grain_contrast=0.16, boundary_depth=0.35, boundary_width=1.0,
                        faint_share=0.25, blur=1.0, illumination=0.08),
    # light etch under a noisy camera: faint boundaries, shot noise
    "faint": RenderStyle(grain_contrast=0.03, boundary_depth=0.3, boundary_width=1.5, faint_share=0.3,
                         blur=1.2, gauss_noise=0.03, photons=300.0, illumination=0.2),
    # a badly prepared specimen: scratches, inclusions, strong vignette
    "dirty": RenderStyle(grain_contrast=0.07, grain_texture=0.04, boundary_depth=0.5, boundary_width=1.4,
                         faint_share=0.15, blur=1.0, illumination=0.3, gauss_noise=0.025, scratches=6.0,
                         inclusions=8.0),
    # heavy etch with wide dark boundaries and little grain contrast
    "heavy": RenderStyle(grain_level=0.82, grain_contrast=0.04, boundary_depth=0.75, boundary_width=2.2,
                         faint_share=0.05, blur=1.5, illumination=0.1, gauss_noise=0.015),
}


def style_names() -> list[str]:
    return sorted(STYLES)


def get_style(style: str | RenderStyle, seed: int = 0) -> RenderStyle:
    """A named style, a `RenderStyle`, or a mixture "a+b+..." drawn by `mixed_style` with `seed`."""
    if isinstance(style, RenderStyle):
        return style
    if "+" in style:
        return mixed_style(style.split("+"), np.random.default_rng([seed, 1]))
    if style not in STYLES:
        raise MatganError(f"unknown render style {style!r}: expected one of {', '.join(style_names())} "
                          f"or a mixture such as brightfield+tint")
    return STYLES[style]


def mixed_style(names, rng: np.random.Generator) -> RenderStyle:
    """A random style between named ones: every number drawn uniformly between the styles' smallest and
    largest value of it, every switch taken from one of them at random. Rendering a training set with
    "brightfield+tint+dirty+heavy" fills the space between those looks instead of four points of it."""
    looks = [get_style(name.strip()) for name in names]
    drawn = {}
    for field in fields(RenderStyle):
        values = [getattr(look, field.name) for look in looks]
        if isinstance(values[0], bool):
            drawn[field.name] = values[int(rng.integers(len(values)))]
        else:
            drawn[field.name] = float(rng.uniform(min(values), max(values)))
    return RenderStyle(**drawn)


def render(
    grain_labels: np.ndarray,
    style: str | RenderStyle = "brightfield",
    seed: int = 0,
    bit_depth: int = 8,
    **overrides,
) -> np.ndarray:
    """Render a virtual structure as an optical micrograph.

    Parameters
    ----------
    grain_labels : (H, W) int
        1..K per grain, 0 on boundaries (as made by `grains.synth.synthesize`).
    style : str or RenderStyle
        One of `STYLES` (brightfield, tint, faint, dirty, heavy), a mixture of them such as
        "brightfield+tint" (a random style between them, drawn from `seed`; see `mixed_style`), or a
        custom style.
    seed : int
        Same seed, same picture.
    bit_depth : 8 or 16
        uint8 or uint16 output.
    overrides
        Fields of `RenderStyle` to change, e.g. ``blur=2.0``.

    Returns
    -------
    (H, W) uint8 or uint16 grey image; boundaries dark (or bright for dark-field styles).
    """
    import cv2

    if bit_depth not in (8, 16):
        raise MatganError(f"bit depth {bit_depth}: expected 8 or 16")
    look = replace(get_style(style, seed), **overrides) if overrides else get_style(style, seed)
    labels = np.asarray(grain_labels).astype(np.int32)
    if labels.ndim != 2:
        raise MatganError(f"grain labels must be 2-D, got shape {labels.shape}")
    rng = np.random.default_rng(seed)
    h, w = labels.shape
    n = int(labels.max()) + 1
    filled = fill_boundaries(labels)
    grain_tone = look.grain_level + look.grain_contrast * rng.standard_normal(n)
    image = grain_tone[filled].astype(np.float32)
    image += look.grain_texture * _smooth_noise((h, w), 12.0, rng)
    groove = _boundary_groove(labels, filled, look, rng)
    image = image * (1.0 - groove) if look.dark_boundaries else image + (1.0 - image) * groove
    image = _add_inclusions(image, n, look.inclusions, rng)
    image = _add_scratches(image, look.scratches, rng)
    if look.blur > 0:
        image = cv2.GaussianBlur(image, (0, 0), look.blur)
    image *= _illumination((h, w), look.illumination, rng)
    if look.photons > 0:
        image = rng.poisson(np.clip(image, 0, None) * look.photons).astype(np.float32) / look.photons
    image += look.gauss_noise * rng.standard_normal((h, w)).astype(np.float32)
    top = 255 if bit_depth == 8 else 65535
    return np.round(np.clip(image, 0.0, 1.0) * top).astype(np.uint8 if bit_depth == 8 else np.uint16)


def _smooth_noise(shape: tuple[int, int], scale: float, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean, unit-ish smooth random field with correlation length `scale` px."""
    import cv2

    h, w = shape
    small = rng.standard_normal((max(2, int(h / scale) + 2), max(2, int(w / scale) + 2))).astype(np.float32)
    field = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return field / max(float(field.std()), 1e-6)


def _boundary_groove(labels: np.ndarray, filled: np.ndarray, look: RenderStyle,
                     rng: np.random.Generator) -> np.ndarray:
    """Darkening (0..1) around boundaries; depth set per grain pair and varying along the boundary."""
    import cv2

    on_boundary = labels == 0
    distance = cv2.distanceTransform((~on_boundary).astype(np.uint8), cv2.DIST_L2, 3)
    # which pair of grains each pixel's nearest boundary separates: max and min id nearby
    kernel = np.ones((5, 5), np.uint8)
    high = cv2.dilate(filled.astype(np.float32), kernel)
    low = -cv2.dilate(-filled.astype(np.float32), kernel)
    pair = (high.astype(np.int64) * 1_000_003 + low.astype(np.int64)) % 65_521
    pair_depth = np.where(rng.random(65_521) < look.faint_share, rng.uniform(0.1, 0.4, 65_521), 1.0)
    along = 1.0 + look.depth_jitter * _smooth_noise(labels.shape, 25.0, rng)
    depth = np.clip(look.boundary_depth * pair_depth[pair] * along, 0.0, 0.95)
    width = np.maximum(look.boundary_width * (1.0 + 0.5 * look.depth_jitter * _smooth_noise(labels.shape, 30.0, rng)),
                       0.3)
    return (depth * np.exp(-((distance / width) ** 2))).astype(np.float32)


def _illumination(shape: tuple[int, int], strength: float, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative lighting: a linear gradient in a random direction plus a vignette, mean about 1."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy, xx = yy / max(h - 1, 1) - 0.5, xx / max(w - 1, 1) - 0.5
    theta = rng.uniform(0, 2 * math.pi)
    gradient = (math.cos(theta) * xx + math.sin(theta) * yy) * strength
    vignette = -0.5 * strength * (xx**2 + yy**2) * 2
    return (1.0 + gradient + vignette).astype(np.float32)


def _add_scratches(image: np.ndarray, mean_count: float, rng: np.random.Generator) -> np.ndarray:
    """Long straight polishing scratches, slightly dark or bright, 1-2 px wide."""
    import cv2

    if mean_count <= 0:
        return image
    h, w = image.shape
    mask = np.zeros((h, w), np.float32)
    for _ in range(rng.poisson(mean_count)):
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        theta = rng.uniform(0, math.pi)
        length = rng.uniform(0.3, 1.5) * max(h, w)
        dx, dy = math.cos(theta) * length / 2, math.sin(theta) * length / 2
        tone = rng.choice([-1.0, 1.0]) * rng.uniform(0.05, 0.2)
        cv2.line(mask, (int(x0 - dx), int(y0 - dy)), (int(x0 + dx), int(y0 + dy)), tone, int(rng.integers(1, 3)))
    return image + mask


def _add_inclusions(image: np.ndarray, n_grains: int, per_100: float, rng: np.random.Generator) -> np.ndarray:
    """Dark round inclusions (oxides, sulphides), 1.5-4 px radius."""
    import cv2

    if per_100 <= 0:
        return image
    h, w = image.shape
    out = image.copy()
    for _ in range(rng.poisson(per_100 * n_grains / 100.0)):
        centre = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
        cv2.circle(out, centre, int(rng.uniform(1.5, 4.0)), float(rng.uniform(0.05, 0.25)), -1)
    return out
