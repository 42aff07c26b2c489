"""From a boundary-probability map to grains, and tiled CycleGAN inference for images of any size.

Post-processing of a boundary map (`probability_to_labels`, shared by the CycleGAN and the classical
watershed): flood from the h-minima into closed lines -> thin, label 4-connected grains, merge specks
(`boundaries_to_labels`, which the threshold baselines use with a hysteresis threshold and gap linking)
-> cut merged grains between their concave corners -> move the boundaries onto the map's ridge.
Tiled inference: overlapping tiles, each weighted by a ramp window, summed and normalised, so
seams are invisible and memory is bounded by the tile, not the image.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import partial

import numpy as np

from matgan.errors import MatganError

# post-processing of the CycleGAN's boundary probability (see `probability_to_labels`)
# (chosen on validation images: rendered micrographs of the training styles with the default model, the
# same styles through a noisier camera, and the TBM train crops with a model adapted on them;
# benchmarks/grains_postprocess.py)
WATERSHED_DEPTH = 0.25
WATERSHED_SIGMA = 1.5
SPLIT_EVIDENCE: float | None = 0.5  # see `split_concave_grains`; None = no splitting
SPLIT_MIN_DEPTH = 1.5
SPLIT_MIN_AREA = 25
MAX_CRUMBS = 10  # px a chord may cut off besides its two pieces
REFINE_RADIUS: float | None = 4.0  # see `refine_boundaries`; None = boundaries stay where the flooding put them
REFINE_SIGMA = 1.0
# non-local means before the CycleGAN, at this multiple of the image's estimated noise (see `denoise`; 0 = off).
# Off by default: 0.7 wins on validation images with a noisier camera but erases the faintest boundaries
# (BENCHMARKS.md, grains); `grains segment --denoise 0.7` for noisy images with clear boundaries.
DENOISE_STRENGTH = 0.0
# contrast-limited adaptive histogram equalisation before the CycleGAN (see `equalize`): OpenCV's clip limit
# (a multiple of the mean histogram bin; 0 = off), over tiles of EQUALIZE_TILE px as the generator sees them.
# A setting of the model, its meta's `equalize_clip` (0 when absent): the shipped default model carries
# EQUALIZE_CLIP (its model rule, rendered and noisy-camera validation images: 0.910 -> 0.853); a model from
# `grains train` carries 0 unless trained with `--equalize` (a model adapted on the TBM crops scored worse
# with it there: BENCHMARKS.md, grains).
EQUALIZE_CLIP = 2.5
EQUALIZE_TILE = 32
# the generator's output is read as tanh(logits / OUTPUT_TEMPERATURE): above 1 its near-binary maps soften, so a
# boundary it draws only weakly stands as a shallow ridge that the flooding can still follow instead of being
# flattened into the grain (see `GrainSegmenter.boundary_probability`). Chosen with the flooding depth above, by the
# same validation sum: 3.240 at 1 and h 0.2 (the defaults before) -> 3.034 at 2 and h 0.25 (BENCHMARKS.md, grains)
OUTPUT_TEMPERATURE = 2.0
BOUNDARY_LOOKS = ("dark", "bright")  # how boundaries look in a micrograph; every method here finds dark ones


def dark_boundaries(gray: np.ndarray, boundary: str = "dark") -> np.ndarray:
    """A grey image in [0, 1] as every method expects it, boundaries dark: inverted when they are
    `bright` (SEM backscatter between laths, dark-field), returned as it is when `dark` (etched, bright-field)."""
    if boundary not in BOUNDARY_LOOKS:
        raise MatganError(f"boundary {boundary!r}: expected one of {', '.join(BOUNDARY_LOOKS)}")
    return 1.0 - gray if boundary == "bright" else gray


def boundaries_to_labels(boundary_prob: np.ndarray, threshold: float = 0.5, low: float = 0.3, min_area: int = 12,
                         close_radius: int = 1, max_gap: int = 10) -> np.ndarray:
    """Grain labels from a boundary probability (or darkness) map.

    Parameters
    ----------
    boundary_prob : (H, W) float in [0, 1], or uint8 in 0..255
        1 (255) = certainly boundary, 0 = certainly grain.
    threshold, low : hysteresis thresholds: pixels above `threshold` are boundary, and so are pixels
        above `low` connected to them (weak stretches of a boundary survive).
    min_area : grains smaller than this (px) are merged into a neighbour.
    close_radius : morphological closing radius in px that bridges small gaps before thinning.
    max_gap : dangling boundary ends (of branches at least 6 px long) are extended along their
        direction by up to this many px when that reaches another boundary (0 = off).

    Returns
    -------
    (H, W) int32 labels, 1..K per grain, 0 on one-pixel-wide (4-separating) boundaries.
    """
    import cv2

    prob = np.asarray(boundary_prob)
    if prob.ndim != 2:
        raise MatganError(f"boundary map must be 2-D, got shape {prob.shape}")
    if prob.dtype == np.uint8:  # a probability stored in 0..255 (a quarter of the memory)
        threshold, low = threshold * 255, low * 255
    else:
        prob = prob.astype(np.float32, copy=False)
    mask = hysteresis(prob, low, threshold) if low < threshold else (prob > threshold).astype(np.uint8)
    if close_radius > 0:
        k = 2 * close_radius + 1
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    skeleton = thin(mask)
    del mask
    if max_gap > 0:
        skeleton = link_gaps(skeleton, max_gap)
    np.equal(skeleton, 0, out=skeleton)
    _, labels = cv2.connectedComponents(skeleton, connectivity=4, ltype=cv2.CV_32S)
    del skeleton
    return merge_small_grains(labels, min_area, inplace=True)


def watershed_boundaries(landscape: np.ndarray, h: float = 0.1, sigma: float = 2.0, tile: int = 2048,
                         margin: int = 128) -> np.ndarray:
    """Watershed lines (uint8 0/1) of a boundary landscape flooded from its h-minima.

    Grains are basins of the landscape (a boundary probability, or the darkness of an image), so
    each basin at least `h` deep gets one marker and flooding from the markers meets on closed
    lines: a faint stretch of boundary still separates two grains as long as it stands above the
    basins, which is what a threshold of the same map cannot do. Large maps are flooded in tiles
    of `tile` px with `margin` px of context on each side, keeping each tile's central part, so
    memory and time stay linear in the image size.

    Parameters
    ----------
    landscape : (H, W) float in [0, 1] or uint8 0..255 (h and the result are the same for both).
    h : minimum basin depth, as a fraction of full scale.
    sigma : Gaussian smoothing in px before finding the basins (0 = none).
    """
    from skimage.segmentation import watershed

    land = np.asarray(landscape)
    if land.ndim != 2:
        raise MatganError(f"boundary map must be 2-D, got shape {land.shape}")
    scale = 255.0 if land.dtype == np.uint8 else 1.0
    height, width = land.shape
    lines = np.zeros((height, width), np.uint8)
    for window, inner, core in _windows(height, width, tile, margin):
        part = _smoothed(land[window], scale, sigma)
        flooded = watershed(part, h_minima_markers(part, h), watershed_line=True)
        lines[core] = flooded[inner] == 0
    return lines


def _windows(height: int, width: int, tile: int, margin: int):
    """(window, inner, core) slice pairs that cover an image in tiles: `window` (at most `tile` px a side)
    holds a core and `margin` px of context around it; `inner` is the core inside the window, `core` in the image."""
    step = max(tile - 2 * margin, margin)
    for y0 in range(0, height, step):
        for x0 in range(0, width, step):
            ya, xa = max(y0 - margin, 0), max(x0 - margin, 0)
            yb, xb = min(y0 + step + margin, height), min(x0 + step + margin, width)
            y1, x1 = min(y0 + step, height), min(x0 + step, width)
            yield ((slice(ya, yb), slice(xa, xb)), (slice(y0 - ya, y1 - ya), slice(x0 - xa, x1 - xa)),
                   (slice(y0, y1), slice(x0, x1)))


def _smoothed(part: np.ndarray, scale: float, sigma: float) -> np.ndarray:
    """A window of a boundary map as float32 in [0, 1], Gaussian-smoothed by `sigma` px (0 = not)."""
    import cv2

    out = part.astype(np.float32) / scale
    return cv2.GaussianBlur(out, (0, 0), sigma, borderType=cv2.BORDER_REFLECT) if sigma > 0 else out


def h_minima_markers(landscape: np.ndarray, h: float) -> np.ndarray:
    """int32 markers, one per basin of `landscape` at least `h` deep (its h-minima).

    The h-minima are the regional minima of the h-minima transform (the landscape raised by `h` and
    reconstructed by erosion above itself), so each basin's marker is one connected plateau.
    (skimage's `h_minima` marks only the pixels at a basin's very floor, which on the flat, clipped
    floors of a boundary probability fall apart into many specks, each a marker of its own.)
    """
    from scipy import ndimage
    from skimage.morphology import local_minima, reconstruction

    land = np.asarray(landscape, dtype=np.float32)
    if h > 0:
        land = reconstruction(land + np.float32(h), land, method="erosion")
    markers, _ = ndimage.label(local_minima(land, connectivity=2, allow_borders=True), structure=np.ones((3, 3)))
    return markers.astype(np.int32, copy=False)


def probability_to_labels(boundary_prob: np.ndarray, h: float = WATERSHED_DEPTH, sigma: float = WATERSHED_SIGMA,
                          min_area: int = 12, split: float | None = SPLIT_EVIDENCE,
                          split_min_depth: float = SPLIT_MIN_DEPTH, split_min_area: int = SPLIT_MIN_AREA,
                          refine: float | None = REFINE_RADIUS) -> np.ndarray:
    """Grain labels of a generator's boundary probability: watershed lines, the shared clean-up,
    grains split along missed boundaries, then every boundary moved onto the map's ridge.

    The flooding closes boundaries the generator drew only faintly (see `watershed_boundaries`);
    `boundaries_to_labels` then thins the lines, bridges the odd one-pixel break where two tiles'
    lines meet, and merges specks; `split_concave_grains` (evidence threshold `split`, None = off;
    `split_min_depth`, `split_min_area`: its `min_depth`, `min_area`) cuts merged grains between
    their concave corners; `refine_boundaries` (radius `refine`, None = off) re-draws the boundaries
    on the ridge of the map, keeping the grains. Defaults chosen on validation images (rendered micrographs of the
    training styles, also through a noisier camera; real TBM train crops with an adapted model), never
    on the held-out test sets.
    """
    lines = watershed_boundaries(boundary_prob, h, sigma)
    lines *= 255  # uint8 maps count in 0..255
    labels = boundaries_to_labels(lines, threshold=0.5, low=0.5, min_area=min_area, max_gap=4)
    del lines
    if split is not None:
        labels = split_concave_grains(labels, boundary_prob, split, split_min_depth, split_min_area, inplace=True)
    if refine is not None:
        labels = refine_boundaries(labels, boundary_prob, refine, inplace=True)
    return labels


def refine_boundaries(labels: np.ndarray, landscape: np.ndarray, radius: float = 4.0, sigma: float = REFINE_SIGMA,
                      tile: int = 2048, margin: int = 128, inplace: bool = False) -> np.ndarray:
    """Move the boundaries between grains onto the ridge of the boundary map, keeping the grains.

    The flooding draws its lines on a map smoothed for finding basins, and `split_concave_grains`
    cuts along straight chords; both can sit a pixel or two beside the ridge the generator drew.
    Each grain's core (its pixels at least `radius` px from its boundary, or its innermost pixels
    when it is thinner than that) seeds a watershed of the landscape smoothed by `sigma` px, so every
    boundary within about `radius` px of a ridge moves onto it while no grain appears or vanishes.
    Done in tiles of `tile` px with `margin` px of context (grain numbers are global, so the tiles
    agree); memory stays at about one label image.

    Parameters
    ----------
    labels : (H, W) int grain labels, 1..K, 0 on boundaries (changed only with `inplace` and int32 input).
    landscape : (H, W) boundary probability, float in [0, 1] or uint8 0..255.

    Returns
    -------
    (H, W) int32 labels numbered 1..K', 0 on 4-separating one-pixel boundaries.
    """
    import cv2
    from scipy import ndimage
    from skimage.segmentation import watershed

    labels = np.asarray(labels, dtype=np.int32) if inplace else np.array(labels, dtype=np.int32, copy=True)
    land = np.asarray(landscape)
    if land.shape != labels.shape:
        raise MatganError(f"landscape {land.shape} and labels {labels.shape} differ in shape")
    if labels.max() == 0:
        return labels
    scale = 255.0 if land.dtype == np.uint8 else 1.0
    height, width = labels.shape
    need = np.empty(int(labels.max()) + 1, np.float32)  # per grain: the distance its core starts at
    need[0] = np.inf  # boundary pixels seed nothing
    for window, inner, core in _windows(height, width, tile, margin):
        grain_of = labels[window]
        depth = cv2.distanceTransform((grain_of > 0).astype(np.uint8), cv2.DIST_L2, 5)
        grains = np.unique(grain_of)
        grains = grains[grains > 0]
        need[grains] = np.minimum(radius, 0.999 * ndimage.maximum(depth, grain_of, grains))
        start = need[grain_of]
        band = depth < start + 1.5  # only the band around the boundaries is flooded, from a rim of each core
        markers = np.where(band & (depth >= start), grain_of, 0)
        del start
        flooded = watershed(_smoothed(land[window], scale, sigma), markers, mask=band, watershed_line=True)
        flooded[~band] = grain_of[~band]  # the cores keep their grain
        labels[core] = flooded[inner]
    return merge_grains(labels, [], inplace=True)  # numbers grains 1..K


def split_concave_grains(labels: np.ndarray, landscape: np.ndarray, evidence: float = 1.0,
                         min_depth: float = SPLIT_MIN_DEPTH, min_area: int = SPLIT_MIN_AREA,
                         sigma: float = 1.0, inplace: bool = False) -> np.ndarray:
    """Cut grains that hold a missed boundary, along the chord between two of their concave corners.

    Grains of a single-phase structure are near-convex polygons; when a boundary is missed, the two
    grains it separated become one region with a re-entrant corner at each end of the missed
    boundary (where it met the others). For every grain with two or more concavities at least
    `min_depth` px deep (convexity defects of its outline), the straight chord between each pair of
    them that runs inside the grain is scored by the boundary evidence along it: the mean of the
    landscape (smoothed by `sigma` px) along the chord's middle 70 %, less the grain's median, in
    units of the grain's robust spread (1.4826 MAD). The best chord above `evidence` becomes a
    boundary when it leaves two pieces of at least `min_area` px; both pieces are examined again,
    so a region of three merged grains is cut twice.

    Parameters
    ----------
    labels : (H, W) int grain labels, 1..K, 0 on 4-separating boundaries (changed only with `inplace`
        and int32 input).
    landscape : (H, W) boundary probability or darkness, float in [0, 1] or uint8 0..255.

    Returns
    -------
    (H, W) int32 labels numbered 1..K', with the new 1-px boundaries as 0.
    """
    import cv2
    from scipy import ndimage

    labels = np.asarray(labels, dtype=np.int32) if inplace else np.array(labels, dtype=np.int32, copy=True)
    land = np.asarray(landscape)
    if land.shape != labels.shape:
        raise MatganError(f"landscape {land.shape} and labels {labels.shape} differ in shape")
    scale = 255.0 if land.dtype == np.uint8 else 1.0
    height, width = labels.shape
    margin = int(math.ceil(3 * sigma)) + 1
    next_label = int(labels.max()) + 1
    queue = [(grain, box) for grain, box in enumerate(ndimage.find_objects(labels), 1) if box is not None]
    while queue:
        grain, box = queue.pop()
        ys = slice(max(box[0].start - margin, 0), min(box[0].stop + margin, height))
        xs = slice(max(box[1].start - margin, 0), min(box[1].stop + margin, width))
        window = labels[ys, xs]
        region = (window == grain).astype(np.uint8)
        if int(region.sum()) < 2 * min_area:
            continue
        corners = _concave_corners(region, min_depth)
        if len(corners) < 2:  # most grains stop here, before any smoothing of the landscape
            continue
        chord = _best_chord(region, _smoothed(land[ys, xs], scale, sigma), corners, evidence)
        if chord is None:
            continue
        cut = region.copy()
        cut[chord] = 0
        n, pieces = cv2.connectedComponents(cut, connectivity=4)
        sizes = np.bincount(pieces.ravel(), minlength=n)[1:]
        order = np.argsort(-sizes)
        if n < 3 or sizes[order[1]] < min_area or sizes[order[2:]].sum() > MAX_CRUMBS:
            continue  # one piece, a sliver, or more than crumbs at the chord's ends: not a clean cut
        window[(region > 0) & (cut == 0)] = 0
        for index in order[2:]:  # crumbs become boundary, dissolved into their grain below
            window[pieces == index + 1] = 0
        for label, index in ((grain, order[0]), (next_label, order[1])):
            piece = pieces == index + 1
            window[piece] = label
            rows, cols = np.nonzero(piece)
            queue.append((label, (slice(ys.start + rows.min(), ys.start + rows.max() + 1),
                                  slice(xs.start + cols.min(), xs.start + cols.max() + 1))))
        next_label += 1
    return merge_grains(labels, [], inplace=True)  # dissolves crumbs, numbers grains 1..K


def _concave_corners(region: np.ndarray, min_depth: float) -> list:
    """(x, y) of the deepest point of each convexity defect of `region`'s outline at least `min_depth` px deep."""
    import cv2

    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return []
    outline = max(contours, key=len)
    if len(outline) < 8:
        return []
    try:
        defects = cv2.convexityDefects(outline, cv2.convexHull(outline, returnPoints=False))
    except cv2.error:  # self-touching outlines
        return []
    if defects is None:
        return []
    return [outline[far][0] for _, _, far, depth in defects.reshape(-1, 4) if depth / 256.0 >= min_depth]


def _best_chord(region: np.ndarray, land: np.ndarray, corners: list, evidence: float):
    """Pixel indices of the best-supported chord between two of `corners` inside `region`, or None."""
    from skimage.draw import line

    inside = land[region > 0]
    base = float(np.median(inside))
    spread = 1.4826 * float(np.median(np.abs(inside - base))) + 1e-3
    best, best_score = None, evidence
    for i in range(len(corners)):
        for j in range(i + 1, len(corners)):
            (xa, ya), (xb, yb) = corners[i], corners[j]
            rows, cols = line(int(ya), int(xa), int(yb), int(xb))
            trim = max(1, int(len(rows) * 0.15))
            middle = rows[trim:-trim], cols[trim:-trim]
            if len(middle[0]) < 2 or region[middle].mean() < 0.95:
                continue  # too short, or leaves the grain
            chord_score = (float(land[middle].mean()) - base) / spread
            if chord_score > best_score:
                best, best_score = (rows, cols), chord_score
    return best


def hysteresis(prob: np.ndarray, low: float, high: float) -> np.ndarray:
    """uint8 mask: pixels above `low` that are 4-connected to a pixel above `high`.

    Same result as skimage's apply_hysteresis_threshold with about half its memory (one int32
    label image is the largest temporary).
    """
    import cv2

    weak = (prob > low).astype(np.uint8)
    n, labels = cv2.connectedComponents(weak, connectivity=4, ltype=cv2.CV_32S)
    keep = np.zeros(n, np.uint8)
    keep[labels[prob > high]] = 1
    keep[0] = 0
    return np.take(keep, labels, out=weak)


def link_gaps(skeleton: np.ndarray, max_gap: int = 10, min_branch: int = 6) -> np.ndarray:
    """Close gaps in a one-pixel boundary skeleton (uint8 0/1): extend dangling ends straight ahead.

    A broken boundary merges two grains, so each end of a branch at least `min_branch` px long
    (shorter ones are spurs) is continued along its last `min_branch` px for up to `max_gap` px;
    the extension is drawn only if it meets another boundary pixel or the image edge.
    """
    import cv2

    sk = (np.asarray(skeleton) > 0).astype(np.uint8)
    h, w = sk.shape
    neighbours = cv2.filter2D(sk, -1, np.ones((3, 3), np.float32), borderType=cv2.BORDER_CONSTANT) - sk
    for y, x in np.argwhere((sk > 0) & (neighbours == 1)):
        path = _walk_back(sk, int(y), int(x), min_branch)
        if len(path) <= min_branch:
            continue
        dy, dx = y - path[-1][0], x - path[-1][1]
        norm = float(np.hypot(dy, dx))
        if norm == 0:
            continue
        own = set(path)
        for step in range(2, max_gap + 1):
            ty, tx = int(round(y + dy / norm * step)), int(round(x + dx / norm * step))
            if not (0 <= ty < h and 0 <= tx < w):
                cv2.line(sk, (int(x), int(y)), (min(max(tx, 0), w - 1), min(max(ty, 0), h - 1)), 1, 1)
                break
            window = sk[max(ty - 1, 0):ty + 2, max(tx - 1, 0):tx + 2]
            hits = [(max(ty - 1, 0) + a, max(tx - 1, 0) + b) for a, b in zip(*np.nonzero(window))]
            if any(p not in own and max(abs(p[0] - y), abs(p[1] - x)) > 1 for p in hits):
                cv2.line(sk, (int(x), int(y)), (tx, ty), 1, 1)
                break
    return sk


def _walk_back(sk: np.ndarray, y: int, x: int, steps: int) -> list[tuple[int, int]]:
    """Pixels of the branch that ends at (y, x), up to `steps` px back or to a junction."""
    path = [(y, x)]
    for _ in range(steps):
        cy, cx = path[-1]
        y0, x0 = max(cy - 1, 0), max(cx - 1, 0)
        nxt = [(y0 + a, x0 + b) for a, b in zip(*np.nonzero(sk[y0:cy + 2, x0:cx + 2]))
               if (y0 + a, x0 + b) not in path]
        if len(nxt) != 1:
            break
        path.append(nxt[0])
    return path


def thin(mask: np.ndarray) -> np.ndarray:
    """One-pixel-wide skeleton (uint8 0/1) of a binary mask; lines stay 8-connected."""
    from skimage.morphology import skeletonize

    return skeletonize(mask.astype(bool)).astype(np.uint8)


def merge_small_grains(labels: np.ndarray, min_area: int, inplace: bool = False) -> np.ndarray:
    """Merge grains smaller than `min_area` px into the neighbour they share most boundary with,
    remove boundary pixels that separate a grain from itself (spurs), and number grains 1..K.

    Works window by window and in row bands, so memory stays at about one label image (none
    extra with `inplace` and int32 input). Returns int32 labels with 0 only where different grains meet.
    """
    labels = np.asarray(labels, dtype=np.int32) if inplace else np.array(labels, dtype=np.int32, copy=True)
    return merge_grains(labels, np.flatnonzero(np.bincount(labels.ravel()) < min_area), inplace=True)


def merge_grains(labels: np.ndarray, grains, inplace: bool = False) -> np.ndarray:
    """Merge the listed grains (smallest first) into the neighbour each shares most boundary with,
    remove boundary pixels that separate a grain from itself (spurs), and number grains 1..K.

    Memory as in `merge_small_grains`.
    """
    from scipy import ndimage

    labels = np.asarray(labels, dtype=np.int32) if inplace else np.array(labels, dtype=np.int32, copy=True)
    if labels.max() == 0:
        return labels
    areas = np.bincount(labels.ravel())
    small = np.asarray(grains, dtype=np.int64)
    small = small[(small > 0) & (small < len(areas))]
    if len(small):
        boxes = ndimage.find_objects(labels)
        for grain in small[np.argsort(areas[small], kind="stable")]:
            _merge_one(labels, int(grain), boxes[grain - 1], areas)
    _dissolve_inner_boundaries(labels)
    present = np.bincount(labels.ravel()) > 0
    present[0] = False
    lut = np.cumsum(present).astype(np.int32)
    lut[0] = 0
    np.take(lut, labels, out=labels)
    return labels


def _merge_one(labels: np.ndarray, grain: int, box, areas: np.ndarray) -> None:
    """Give `grain` (and the boundary it shares) to the neighbour it touches most, in place."""
    import cv2

    if box is None:
        return
    h, w = labels.shape
    ys = slice(max(box[0].start - 3, 0), min(box[0].stop + 3, h))
    xs = slice(max(box[1].start - 3, 0), min(box[1].stop + 3, w))
    window = labels[ys, xs]
    region = window == grain
    if not region.any():
        return
    ring = cv2.dilate(region.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2).astype(bool) & ~region
    neighbours = window[ring]
    neighbours = neighbours[(neighbours > 0) & (neighbours != grain)]
    if neighbours.size == 0:
        return
    target = int(np.bincount(neighbours).argmax())
    window[region] = target
    areas[target] += int(region.sum())
    areas[grain] = 0
    for _ in range(2):
        _dissolve_band(window)


def _dissolve_band(band: np.ndarray) -> int:
    """Boundary pixels whose labelled 4-neighbours are all one grain join that grain (in place)."""
    padded = np.pad(band, 1)
    neighbours = (padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:])
    high = np.maximum.reduce(neighbours)
    big = np.iinfo(np.int32).max
    low = np.minimum.reduce([np.where(n > 0, n, big) for n in neighbours])
    join = (band == 0) & (high > 0) & (high == low)
    band[join] = high[join]
    return int(join.sum())


def _dissolve_inner_boundaries(labels: np.ndarray, iterations: int = 3, rows: int = 512) -> None:
    """`_dissolve_band` over the whole image in overlapping row bands (bounded memory), in place."""
    h = labels.shape[0]
    for _ in range(iterations):
        changed = 0
        for y in range(0, h, rows):
            y0, y1 = max(y - 1, 0), min(y + rows + 1, h)
            band = labels[y0:y1].copy()
            changed += _dissolve_band(band)
            inner = slice(y - y0, y - y0 + min(rows, h - y))
            labels[y:y + min(rows, h - y)] = band[inner]
        if not changed:
            break


def fill_boundaries(labels: np.ndarray, max_iterations: int = 64) -> np.ndarray:
    """Grow grains over unlabelled pixels by repeated 3x3 dilation (memory: a few image-sized copies)."""
    import cv2

    if labels.max() == 0 or not (labels == 0).any():
        return labels
    if labels.max() >= 2**24:
        raise MatganError(f"{labels.max()} grains: too many to merge specks (at most 16 million)")
    grown = labels.astype(np.float32)
    kernel = np.ones((3, 3), np.uint8)
    for _ in range(max_iterations):
        empty = grown == 0
        if not empty.any():
            break
        np.copyto(grown, cv2.dilate(grown, kernel), where=empty)
    return grown.astype(np.int32)


def boundary_map_from_labels(grain_labels: np.ndarray) -> np.ndarray:
    """The virtual-micrograph picture of labels: uint8, 0 on boundaries, 255 in grains."""
    return np.where(np.asarray(grain_labels) > 0, 255, 0).astype(np.uint8)


# --------------------------------------------------------------------------- tiled inference


def tile_starts(length: int, tile: int, overlap: int, multiple: int = 1) -> list[int]:
    """Tile origins covering [0, length) with at least `overlap` px shared between neighbours.

    Origins are multiples of `multiple` (a network with stride-2 layers is only shift-equivariant
    for such shifts); `length` and `tile` must then be multiples of it too.
    """
    if length <= tile:
        return [0]
    step = max(multiple, tile - overlap)
    n = math.ceil((length - tile) / step) + 1
    return [(round(i * (length - tile) / (n - 1)) // multiple) * multiple for i in range(n)]


def _tile_side(length: int, tile: int, overlap: int, multiple: int) -> int:
    """The smallest side <= `tile` that covers `length` with as few tiles as `tile` would need.

    Equal tiles waste less: 2048 px with 1024 px tiles and 64 px overlap needs 3 tiles; 728 px
    tiles cover it as well as 1024 px ones, with 14 % instead of 125 % more pixels computed.
    """
    if length <= tile:
        return length
    n = math.ceil((length - overlap) / (tile - overlap))
    side = math.ceil((length + (n - 1) * overlap) / n)
    return min(tile, -(-side // multiple) * multiple)


def blend_profile(n: int, overlap: int, low_neighbour: bool, high_neighbour: bool) -> np.ndarray:
    """1-D blending weights (n,) along one side of a tile; a tile's window is the outer product of two.

    On each end with a neighbouring tile the weight is 0 up to 3/8 of the overlap from the edge (a
    generator sees padding there instead of the real neighbourhood, and its error fades over tens
    of pixels), then ramps linearly to 1 at 5/8, so neighbours hand over around the middle of their
    overlap; ends on the image border keep weight 1.
    """
    w = np.ones(n, np.float32)
    if overlap <= 0:
        return w
    d = np.arange(n, dtype=np.float32) + 0.5
    if low_neighbour:
        w = np.minimum(w, np.clip((d - 3 * overlap / 8) / (overlap / 4), 0.0, 1.0))
    if high_neighbour:
        w = np.minimum(w, np.clip((n - d - 3 * overlap / 8) / (overlap / 4), 0.0, 1.0))
    return w


def tiled_apply(image: np.ndarray, fn, tile: int = 1024, overlap: int = 64, multiple: int = 4,
                progress: bool = False) -> np.ndarray:
    """Apply an image-to-image function tile by tile with blended seams.

    Parameters
    ----------
    image : (H, W) float32
    fn : callable (h, w) float32 -> (h, w) float32, called on tiles whose sides and origins are
        multiples of `multiple` (the image is reflect-padded once to allow that).
    tile, overlap : tile side and the overlap between neighbouring tiles in px.

    Returns
    -------
    (H, W) float32: the weighted mean of the overlapping tile outputs (see `blend_profile`).
    """
    from tqdm.auto import tqdm

    h, w = image.shape
    if tile < 2 * overlap or tile % multiple:
        raise MatganError(f"--tile {tile}: expected a multiple of {multiple}, at least twice the overlap ({overlap})")
    image = _pad_to_multiple(image, multiple)  # once, so every tile starts on the network's stride grid
    hp, wp = image.shape
    th, tw = _tile_side(hp, tile, overlap, multiple), _tile_side(wp, tile, overlap, multiple)
    out = np.zeros((hp, wp), np.float32)
    ys, xs = tile_starts(hp, th, overlap, multiple), tile_starts(wp, tw, overlap, multiple)
    # windows are separable and tiles sit on a grid, so the summed weight is an outer product too:
    # two 1-D arrays instead of an image-sized weight map
    profiles_y = [blend_profile(th, overlap, y > 0, y + th < hp) for y in ys]
    profiles_x = [blend_profile(tw, overlap, x > 0, x + tw < wp) for x in xs]
    weight_y, weight_x = np.zeros(hp, np.float32), np.zeros(wp, np.float32)
    for y, p in zip(ys, profiles_y):
        weight_y[y:y + th] += p
    for x, p in zip(xs, profiles_x):
        weight_x[x:x + tw] += p
    with tqdm(total=len(ys) * len(xs), unit="tile", disable=not progress, leave=False) as bar:
        for y, py in zip(ys, profiles_y):
            for x, px in zip(xs, profiles_x):
                out[y:y + th, x:x + tw] += fn(image[y:y + th, x:x + tw]) * py[:, None] * px[None, :]
                bar.update(1)
    out /= np.maximum(weight_y, 1e-8)[:, None]
    out /= np.maximum(weight_x, 1e-8)[None, :]
    return out[:h, :w]


def _pad_to_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    """`image` (H, W) padded at the bottom and right to sides that are multiples of `multiple`."""
    h, w = image.shape
    ph, pw = (-h) % multiple, (-w) % multiple
    if not (ph or pw):
        return image
    return np.pad(image, ((0, ph), (0, pw)), mode="reflect" if ph < h and pw < w else "edge")


def noise_sigma(gray: np.ndarray, rows: int = 1024) -> float:
    """Standard deviation of the white noise in a grey image (H, W), in the image's units.

    Immerkaer's estimator (1996): the mean absolute response to a 3 x 3 difference-of-Laplacians
    mask, which cancels smooth structure and keeps noise, scaled by sqrt(pi / 2) / 6. Row strips of
    `rows` px keep the memory small on large images.
    """
    import cv2

    mask = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    h, w = gray.shape
    if h < 3 or w < 3:
        return 0.0
    total = 0.0
    for y in range(1, h - 1, rows):  # output rows y .. y + rows - 1, each with one row of context
        strip = np.asarray(gray[y - 1:min(y + rows, h - 1) + 1], dtype=np.float32)
        total += float(np.abs(cv2.filter2D(strip, -1, mask)[1:-1, 1:-1]).sum(dtype=np.float64))
    return math.sqrt(math.pi / 2) * total / (6 * (h - 2) * (w - 2))


def denoise(gray: np.ndarray, strength: float = DENOISE_STRENGTH, rows: int = 1024) -> np.ndarray:
    """Non-local means (OpenCV) on a grey micrograph (H, W) in [0, 1], scaled to the image's own noise.

    The filter strength is `strength` x `noise_sigma(gray)`, so a clean image is left almost as it
    is and a noisy camera's shot noise is averaged away along the boundaries before the CycleGAN,
    which was trained on quieter images, draws spurious lines in it. Works on 8-bit copies of row
    strips with 16 px of context (the filter reaches 13 px), so the result equals one pass over the
    whole image at a fraction of its memory. `strength` 0 returns the input unchanged.
    """
    import cv2

    if strength <= 0:
        return gray
    h_filter = strength * noise_sigma(gray) * 255
    if h_filter <= 0:
        return gray
    height = gray.shape[0]
    margin = 16
    out = np.empty(gray.shape, np.float32)
    for y in range(0, height, rows):
        top, bottom = max(y - margin, 0), min(y + rows + margin, height)
        strip = np.clip(np.rint(np.asarray(gray[top:bottom], dtype=np.float32) * 255), 0, 255).astype(np.uint8)
        clean = cv2.fastNlMeansDenoising(strip, None, h=h_filter, templateWindowSize=7, searchWindowSize=21)
        out[y:min(y + rows, height)] = clean[y - top:y - top + min(rows, height - y)]
    out *= 1 / 255
    return out


def equalize(gray: np.ndarray, clip: float, tile: int = EQUALIZE_TILE) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation (OpenCV's CLAHE) of a grey micrograph (H, W) in [0, 1].

    Each `tile` x `tile` px region gets its own grey-level mapping (interpolated between regions), its
    histogram clipped at `clip` times the mean bin first, so a boundary a light etch left faint stands
    out as far as its neighbours' deep ones and uneven illumination evens out, while the clip keeps flat
    grains' noise from being stretched without bound. The grey range is first stretched to 8 bits
    between the 0.1 and 99.9 percentiles (of a subsample: large images cost no copy), so a few
    inclusions or a saturated speck do not compress it. The image is mirrored out to whole tiles and
    cropped back. `clip` 0 returns the input unchanged.
    """
    import cv2

    if clip <= 0:
        return gray
    height, width = gray.shape
    step = max(1, round(math.sqrt(height * width / 1e6)))  # about a million samples for the percentiles
    lo, hi = np.percentile(gray[::step, ::step], (0.1, 99.9))
    if hi - lo < 1e-6:
        return gray
    scaled = np.empty(gray.shape, np.float32)
    np.subtract(gray, lo, out=scaled)
    scaled *= 255 / (hi - lo)
    np.clip(scaled, 0, 255, out=scaled)
    image = np.rint(scaled, out=scaled).astype(np.uint8)
    del scaled
    tile = max(int(tile), 4)
    pad_h, pad_w = (-height) % tile, (-width) % tile
    if pad_h or pad_w:  # mirrored (101) like the network's padding; edge-replicated where the image is too thin
        mode = cv2.BORDER_REFLECT_101 if pad_h < height and pad_w < width else cv2.BORDER_REPLICATE
        image = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, mode)
    clahe = cv2.createCLAHE(clipLimit=float(clip), tileGridSize=(image.shape[1] // tile, image.shape[0] // tile))
    out = clahe.apply(image)[:height, :width].astype(np.float32)
    out *= 1 / 255
    return out


# --------------------------------------------------------------------------- the CycleGAN segmenter

CALIBRATION_SIDE = 512
MIN_SIDE = 32  # smaller images are mirrored out to this side and the result cropped back


def default_model_path():
    """The shipped default model (bright-field etched micrographs: dark boundaries on bright grains)."""
    from pathlib import Path

    import matgan.pretrained

    return Path(matgan.pretrained.__file__).parent / "grains_default.pt"


class GrainSegmenter:
    """A trained real -> virtual generator that turns micrographs into boundary probability maps.

    Instance normalisation normally uses each input's own statistics, which would make every tile
    of a large image normalise differently (visible seams). Here the statistics of every norm
    layer are taken once per image from up to four 512 x 512 windows spread over it, then every
    tile (or the whole image) is normalised with them, so tiled and whole-image results agree.

    Parameters
    ----------
    path : checkpoint from `matgan grains train` (its model.pt or last.pt); None = the default model.
    device : "cpu", "cuda", "mps" or "auto".
    """

    def __init__(self, path=None, device: str = "cpu"):
        import torch

        from matgan.core.checkpoint import load_variant
        from matgan.core.trainer import resolve_device
        from matgan.errors import CheckpointError

        path = default_model_path() if path is None else path
        self.device = resolve_device(device)
        variant, payload = load_variant(path, "cyclegan", self.device)
        if payload.get("meta", {}).get("domain") != "grains":
            raise CheckpointError(f"{path}: a CycleGAN checkpoint, but not a grains model (meta domain "
                                  f"{payload.get('meta', {}).get('domain')!r})")
        if variant.config.channels_a != 1 or variant.config.channels_b != 1:
            raise CheckpointError(f"{path}: expected a grey (1-channel) grains model")
        self.meta = payload["meta"]
        self.boundary = self.meta.get("boundary", "dark")  # how the training micrographs showed boundaries
        self.path = path
        self.net = _with_shared_norm(variant.inference_net("G_AB")).eval()
        last = self.net.body[-1]
        if not isinstance(last, torch.nn.Tanh):
            raise CheckpointError(f"{path}: expected a generator ending in tanh, found {type(last).__name__}")
        self.net.body[-1] = torch.nn.Identity()  # the logits: `_forward` applies the tanh at a temperature
        self.multiple = 2 ** variant.config.n_down
        self.equalize_clip = float(self.meta.get("equalize_clip", 0.0))  # the clip this model segments with
        self.net.requires_grad_(False)  # inference only; never switch autograd off process-wide

    def _forward(self, tile, temperature: float):
        import torch

        x = torch.from_numpy(np.ascontiguousarray(tile, dtype=np.float32) * 2 - 1)[None, None].to(self.device)
        with torch.inference_mode():
            return torch.tanh(self.net(x)[0, 0].float() / temperature).cpu().numpy()

    def calibrate(self, gray: np.ndarray, zoom: float = 1.0) -> None:
        """Fix the normalisation statistics from up to four windows of `gray` (H, W) in [0, 1], as the
        generator sees them (resampled by `zoom`)."""
        import torch

        h, w = gray.shape
        side = max(round(CALIBRATION_SIDE / zoom), 1)
        side_h, side_w = min(side, h), min(side, w)
        ys, xs = _spread(h, side_h), _spread(w, side_w)
        windows = []
        for y in ys:
            for x in xs:
                windows.append(_pad_to_multiple(_zoomed(gray[y:y + side_h, x:x + side_w], zoom), self.multiple))
        batch = torch.from_numpy(np.stack(windows).astype(np.float32) * 2 - 1)[:, None].to(self.device)
        _set_norm_mode(self.net, calibrate=True)
        with torch.no_grad():
            self.net(batch)
        _set_norm_mode(self.net, calibrate=False)

    def boundary_probability(self, gray: np.ndarray, tile: int = 1024, overlap: int = 64,
                             progress: bool = False, tta: int = 1,
                             denoise_strength: float = DENOISE_STRENGTH, zoom: float = 1.0,
                             equalize_clip: float | None = None, equalize_tile: int = EQUALIZE_TILE,
                             temperature: float = OUTPUT_TEMPERATURE) -> np.ndarray:
        """(H, W) float in [0, 1] grey micrograph -> (H, W) float32 boundary probability in [0, 1].

        `tta` > 1 averages the generator over that many flips and quarter turns of the image
        (2: + mirror; 4: + the two other flips; 8: all eight), which steadies faint boundaries
        at `tta` times the cost. `denoise_strength` > 0 first runs `denoise` at that strength, then
        `equalize_clip` > 0 runs `equalize` with that clip over tiles of `equalize_tile` generator px (None:
        the model's own setting, `self.equalize_clip`).
        `zoom` != 1 shows the generator each tile resampled by that factor (2: grains twice as large, for
        grains smaller than the model was trained on) and brings its map back to the tile's size;
        `tile` and `overlap` count in the generator's pixels, so memory and seams are as without it.
        `temperature` divides the generator's logits before its tanh (1: its own output, as trained; above 1
        its near-binary map softens and weakly drawn boundaries keep some depth).
        """
        if not temperature > 0:
            raise MatganError(f"temperature {temperature}: expected a number above 0")
        if tta not in TTA_ORDER:
            raise MatganError(f"tta {tta}: expected one of {', '.join(map(str, TTA_ORDER))}")
        if not ZOOM_RANGE[0] <= zoom <= ZOOM_RANGE[1]:
            raise MatganError(f"zoom {zoom}: expected {ZOOM_RANGE[0]} to {ZOOM_RANGE[1]}")
        fraction = Fraction(zoom).limit_denominator(8)  # p/q with q <= 8: see the tiling below
        zoom = float(fraction)
        gray = np.asarray(gray, dtype=np.float32)
        height, width = gray.shape
        least = math.ceil(MIN_SIDE / min(zoom, 1.0))
        if min(height, width) < least:  # the network's reflection padding needs a few px per level
            gray = np.pad(gray, ((0, max(least - height, 0)), (0, max(least - width, 0))), mode="symmetric")
            return self.boundary_probability(gray, tile, overlap, progress, tta,
                                             denoise_strength, zoom, equalize_clip,
                                             equalize_tile, temperature)[:height, :width].copy()
        gray = denoise(gray, denoise_strength)
        equalize_clip = self.equalize_clip if equalize_clip is None else equalize_clip
        gray = equalize(gray, equalize_clip, max(round(equalize_tile / zoom), 4))
        self.calibrate(gray, zoom)  # flips and quarter turns leave the calibration windows' statistics unchanged
        multiple = self.multiple
        forward = read = partial(self._forward, temperature=temperature)
        if zoom != 1:
            # tiles start, and their sides end, at multiples of q x the stride, which the zoom p/q maps to
            # multiples of the stride: every tile sees the sampling of one whole-image pass, and the
            # network gets sides it takes as they are
            multiple *= fraction.denominator
            forward = lambda part: _zoomed(read(_zoomed(part, zoom)), shape=part.shape)  # noqa: E731
            tile = multiple * max(round(tile / zoom / multiple), 1)
            overlap = min(round(overlap / zoom), tile // 2)
        prob = tiled_apply(gray, forward, tile, overlap, multiple, progress)
        for k in TTA_ORDER[tta][1:]:  # the first transform is the identity
            prob += _dihedral(tiled_apply(_dihedral(gray, k), forward, tile, overlap, multiple, progress),
                              k, inverse=True)
        if tta > 1:
            prob /= tta
        # in place: virtual (-1 boundary .. 1 grain) -> boundary probability, no image-sized copies
        np.subtract(1.0, prob, out=prob)
        prob *= 0.5
        return np.clip(prob, 0.0, 1.0, out=prob)

    def segment(self, gray: np.ndarray, tile: int = 1024, overlap: int = 64, min_area: int = 12,
                tta: int = 1, split: float | None = SPLIT_EVIDENCE,
                denoise_strength: float = DENOISE_STRENGTH, refine: float | None = REFINE_RADIUS,
                zoom: float = 1.0, equalize_clip: float | None = None,
                temperature: float = OUTPUT_TEMPERATURE) -> np.ndarray:
        """Grain labels (H, W) int32 of a grey micrograph (H, W) in [0, 1] (`tta`, `denoise_strength`, `zoom`,
        `equalize_clip`, `temperature`: see `boundary_probability`; `split`, `refine`: see
        `probability_to_labels`)."""
        prob = self.boundary_probability(gray, tile, overlap, tta=tta, denoise_strength=denoise_strength, zoom=zoom,
                                         equalize_clip=equalize_clip, temperature=temperature)
        prob *= 255.0
        np.rint(prob, out=prob)
        prob_8bit = prob.astype(np.uint8)
        del prob  # post-processing holds a quarter of the memory of the float map
        return probability_to_labels(prob_8bit, min_area=min_area, split=split, refine=refine)


# test-time augmentation: the dihedral transforms (0-3: quarter turns, 4-7: mirrored) used for each count,
# the identity first
TTA_ORDER = {1: (0,), 2: (0, 4), 4: (0, 4, 2, 6), 8: (0, 4, 2, 6, 1, 5, 3, 7)}


ZOOM_RANGE = (0.25, 4.0)


def _zoomed(image: np.ndarray, zoom: float = 1.0, shape: tuple[int, int] | None = None) -> np.ndarray:
    """`image` resampled by `zoom` (or to `shape`): cubic when enlarging (clipped to the input's range),
    pixel-area averaging when shrinking."""
    import cv2

    h, w = image.shape
    if shape is None:
        if zoom == 1:
            return image
        shape = (max(round(h * zoom), 1), max(round(w * zoom), 1))
    if shape == (h, w):
        return image
    grow = shape[0] * shape[1] > h * w
    out = cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC if grow else cv2.INTER_AREA)
    return np.clip(out, image.min(), image.max(), out=out) if grow else out


def _dihedral(image: np.ndarray, k: int, inverse: bool = False) -> np.ndarray:
    """Transform k of the square's symmetry group (a view): k % 4 quarter turns, mirrored when k >= 4."""
    if inverse:
        return np.rot90(image[:, ::-1] if k >= 4 else image, -(k % 4))
    turned = np.rot90(image, k % 4)
    return turned[:, ::-1] if k >= 4 else turned


def _spread(length: int, side: int, n: int = 2) -> list[int]:
    if length <= side:
        return [0]
    return sorted({round(i * (length - side) / (n - 1)) for i in range(n)})


def _with_shared_norm(net):
    """A copy of `net` whose InstanceNorm layers use statistics fixed by a calibration pass."""
    import copy

    import torch
    from torch import nn

    class SharedStatsNorm(nn.Module):
        def __init__(self, eps: float):
            super().__init__()
            self.eps, self.calibrating = eps, False
            self.mean: torch.Tensor | None = None
            self.var: torch.Tensor | None = None

        def forward(self, x):
            dims = (0,) + tuple(range(2, x.ndim))
            if self.calibrating or self.mean is None:
                self.mean = x.mean(dims, keepdim=True)[:1]
                self.var = x.var(dims, keepdim=True, unbiased=False)[:1]
            return (x - self.mean) / torch.sqrt(self.var + self.eps)

    net = copy.deepcopy(net)
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, (nn.InstanceNorm1d, nn.InstanceNorm2d)) and not child.affine:
                setattr(parent, name, SharedStatsNorm(child.eps))
    return net


def _set_norm_mode(net, calibrate: bool) -> None:
    for module in net.modules():
        if hasattr(module, "calibrating"):
            module.calibrating = calibrate
