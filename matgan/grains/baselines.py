"""Classical grain segmenters: Otsu + skeleton, adaptive threshold + skeleton, Canny, gradient watershed.

Each takes a grey image (H, W) float in [0, 1] with dark boundaries (bright-field) and returns
grain labels (H, W) int32 (1..K, 0 on boundaries), the same interface the CycleGAN segmenter has.
They share the post-processing in `grains.segment.boundaries_to_labels`.
"""

from __future__ import annotations

import numpy as np

from matgan.errors import MatganError
from matgan.grains.segment import SPLIT_EVIDENCE, boundaries_to_labels, probability_to_labels


def _smooth(image: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    image = np.asarray(image, dtype=np.float32)
    return cv2.GaussianBlur(image, (0, 0), sigma) if sigma > 0 else image


def _flatten(image: np.ndarray, scale: float = 40.0) -> np.ndarray:
    """Remove slow illumination changes: divide by a heavily blurred copy."""
    background = _smooth(image, scale)
    return image / np.maximum(background, 1e-3)


def otsu(image: np.ndarray, sigma: float = 1.0, min_area: int = 12) -> np.ndarray:
    """Global Otsu threshold on the flattened image; the dark class is boundary."""
    from skimage.filters import threshold_otsu

    flat = _flatten(_smooth(image, sigma))
    dark = flat < threshold_otsu(flat)
    return boundaries_to_labels(dark.astype(np.float32), min_area=min_area)


def local(image: np.ndarray, sigma: float = 1.0, block: int = 31, offset: float = 0.03,
          min_area: int = 12) -> np.ndarray:
    """Adaptive (local mean) threshold: boundary where darker than the neighbourhood by `offset`."""
    import cv2

    smooth = _smooth(image, sigma)
    neighbourhood = cv2.blur(smooth, (block, block))
    dark = smooth < neighbourhood - offset
    return boundaries_to_labels(dark.astype(np.float32), min_area=min_area)


def canny(image: np.ndarray, sigma: float = 1.5, join_radius: int = 3, min_area: int = 12) -> np.ndarray:
    """Canny edges (skimage, hysteresis on gradient quantiles), dilated by `join_radius` px so the
    two flanks of a boundary groove merge into one band, then thinned into boundaries."""
    import cv2
    from skimage.feature import canny as skimage_canny

    edges = skimage_canny(np.asarray(image, dtype=np.float64), sigma=sigma, low_threshold=0.7,
                          high_threshold=0.9, use_quantiles=True)
    k = 2 * join_radius + 1
    band = cv2.dilate(edges.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return boundaries_to_labels(band.astype(np.float32), min_area=min_area, close_radius=0)


def darkness(image: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """The landscape the classical watershed floods: smoothed, flattened darkness in [0, 1]."""
    return 1.0 - _flatten(_smooth(image, sigma)).clip(0, 2) / 2


def watershed(image: np.ndarray, sigma: float = 1.5, h: float = 0.04, min_area: int = 12,
              split: float | None = SPLIT_EVIDENCE, split_min_depth: float = 2.0,
              split_min_area: int = 60, refine: float | None = None) -> np.ndarray:
    """Watershed of the smoothed darkness from its regional minima (h-minima), with watershed lines.

    Dark boundaries are ridges of darkness, so flooding it from the grain interiors meets on them;
    the same flooding and splitting (`segment.probability_to_labels`) that turns the CycleGAN's
    boundary map into grains. Defaults chosen like the CycleGAN's (benchmarks/grains_postprocess.py
    --method watershed); its grid declines the boundary refinement (`refine`, a radius; off), which
    helps the CycleGAN's map but moves lines off the darkness's ridges.
    """
    return probability_to_labels(darkness(image, sigma), h, sigma=0.0, min_area=min_area, split=split,
                                 split_min_depth=split_min_depth, split_min_area=split_min_area, refine=refine)


METHODS = {"otsu": otsu, "local": local, "canny": canny, "watershed": watershed}


def segment_classical(image: np.ndarray, method: str, **options) -> np.ndarray:
    """Run the classical method `method` on a grey (H, W) float image in [0, 1]; returns grain labels."""
    if method not in METHODS:
        raise MatganError(f"unknown method {method!r}: expected one of {', '.join(METHODS)}")
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise MatganError(f"expected a grey (H, W) image, got shape {image.shape}")
    return METHODS[method](image, **options)
