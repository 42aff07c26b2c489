"""Grain statistics the way a metallographer takes them: per-grain shape, ASTM E112 grain size numbers.

Inputs are a boundary map (uint8, 0 on boundaries, 255 in grains, like a virtual micrograph) or a
label image (int, 1..K per grain, 0 on boundaries). Lengths are in pixels unless a pixel size in
micrometres is given; ASTM numbers need one.

ASTM E112 formulas (N_A in grains per mm^2 at 1x, l in mm):
    planimetric (Jeffries):  G = 3.321928 log10(N_A) - 2.954
    mean lineal intercept:   G = -6.643856 log10(l) - 3.288
"""

from __future__ import annotations

import math

import numpy as np

from matgan.errors import MatganError

GRAIN_COLUMNS = ("grain", "area_px", "diameter_px", "perimeter_px", "aspect_ratio", "orientation_deg",
                 "centroid_x", "centroid_y", "touches_edge")


def labels_from_boundaries(boundary_map: np.ndarray, boundary: str = "dark") -> np.ndarray:
    """Grain labels (H, W) int32 from a binary boundary map: 4-connected regions between boundaries.

    Parameters
    ----------
    boundary_map : (H, W) array; with ``boundary="dark"`` pixels below half the range are boundary
        (0 on boundaries, 255 in grains); with ``"bright"`` pixels above half are boundary (masks
        that draw boundaries white).
    """
    import cv2

    grains = grain_mask(boundary_map, boundary)
    _, labels = cv2.connectedComponents(grains.astype(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    return labels


def grain_mask(boundary_map: np.ndarray, boundary: str = "dark") -> np.ndarray:
    """True inside grains, False on boundaries (see `labels_from_boundaries`)."""
    image = np.asarray(boundary_map)
    if image.ndim == 3:
        image = image[..., :3].mean(-1)
    top = 65535 if image.dtype == np.uint16 else 255 if image.dtype == np.uint8 else max(float(image.max()), 1.0)
    if boundary == "dark":
        return image > top / 2
    if boundary == "bright":
        return image <= top / 2
    raise MatganError(f"boundary {boundary!r}: expected dark or bright")


def as_labels(image: np.ndarray, boundary: str = "auto") -> np.ndarray:
    """A label image as it is, or labels from a two-valued boundary map.

    ``boundary="auto"`` takes an image with more than two values (or an int32 image) as labels;
    a two-valued map counts its minority value as boundary.
    """
    image = np.asarray(image)
    if image.ndim == 3:
        image = image[..., 0]
    values = np.unique(image)
    is_labels = image.dtype in (np.int32, np.int64, np.uint32) or len(values) > 2
    if boundary == "auto":
        if is_labels:
            return image.astype(np.int32)
        if len(values) < 2:
            return labels_from_boundaries(image, "dark")
        low = (image <= (int(values.min()) + int(values.max())) / 2).mean()
        boundary = "dark" if low <= 0.5 else "bright"
    return labels_from_boundaries(image, boundary)


def grain_table(grain_labels: np.ndarray, pixel_size_um: float | None = None) -> dict[str, np.ndarray]:
    """Per-grain measurements.

    Returns
    -------
    dict of (K,) arrays: ``grain`` id, ``area_px``, ``diameter_px`` (equivalent circular),
    ``perimeter_px``, ``aspect_ratio`` (major/minor axis of the inertia ellipse, >= 1),
    ``orientation_deg`` (major axis, counter-clockwise from x, -90..90), ``centroid_x``,
    ``centroid_y`` (px), ``touches_edge`` (bool); with a pixel size also ``area_um2`` and
    ``diameter_um``.
    """
    from skimage.measure import regionprops_table

    labels = np.asarray(grain_labels)
    if labels.ndim != 2:
        raise MatganError(f"grain labels must be 2-D, got shape {labels.shape}")
    props = regionprops_table(labels.astype(np.int32), properties=(
        "label", "area", "perimeter", "major_axis_length", "minor_axis_length", "orientation", "centroid", "bbox"))
    h, w = labels.shape
    area = props["area"].astype(np.float64)
    minor = np.maximum(props["minor_axis_length"], 1.0)
    table = {
        "grain": props["label"].astype(np.int64),
        "area_px": area,
        "diameter_px": np.sqrt(4.0 * area / math.pi),
        "perimeter_px": props["perimeter"],
        "aspect_ratio": np.maximum(props["major_axis_length"], 1.0) / minor,
        "orientation_deg": _orientation_from_x(props["orientation"]),
        "centroid_x": props["centroid-1"],
        "centroid_y": props["centroid-0"],
        "touches_edge": ((props["bbox-0"] == 0) | (props["bbox-1"] == 0)
                         | (props["bbox-2"] == h) | (props["bbox-3"] == w)),
    }
    if pixel_size_um:
        table["area_um2"] = area * pixel_size_um**2
        table["diameter_um"] = table["diameter_px"] * pixel_size_um
    return table


def _orientation_from_x(theta_rows: np.ndarray) -> np.ndarray:
    """skimage's angle of the major axis from the row axis -> degrees from the x axis, y pointing up."""
    angle = np.degrees(np.arctan2(-np.cos(theta_rows), np.sin(theta_rows)))
    return (angle + 90.0) % 180.0 - 90.0


def jeffries_count(grain_labels: np.ndarray) -> tuple[int, int, float]:
    """(grains inside, grains touching the image edge, count with edge grains as 1/2)."""
    labels = np.asarray(grain_labels)
    present = np.bincount(labels.ravel()) > 0
    on_edge = np.zeros_like(present)
    on_edge[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = True
    n_edge = int((on_edge[1:] & present[1:]).sum())
    n_inside = int(present[1:].sum()) - n_edge
    return n_inside, n_edge, n_inside + 0.5 * n_edge


def astm_g_planimetric(n_a_per_mm2: float) -> float:
    """ASTM E112 planimetric grain size number from N_A (grains per mm^2 at 1x)."""
    if not n_a_per_mm2 > 0:
        return float("nan")
    return 3.321928 * math.log10(n_a_per_mm2) - 2.954


def astm_g_intercept(mean_intercept_mm: float) -> float:
    """ASTM E112 grain size number from the mean lineal intercept length in mm."""
    if not mean_intercept_mm > 0:
        return float("nan")
    return -6.643856 * math.log10(mean_intercept_mm) - 3.288


INTERCEPT_DIRECTIONS = 8  # test-line orientations, evenly spread over 180 degrees (E112's pattern has 4)


def lineal_intercepts(grain_labels: np.ndarray, n_lines: int = 20,
                      directions: int = INTERCEPT_DIRECTIONS) -> tuple[np.ndarray, np.ndarray]:
    """Boundary intersections along straight test lines in `directions` orientations.

    Each orientation (0, 180/d, 2 x 180/d, ... degrees; 2 = rows and columns) contributes parallel
    lines spaced so that `n_lines` of them would cross the image's shorter side; every step from one
    grain into another (boundary pixels, label 0, between them skipped) counts as one intersection P.
    Several orientations make P_L the orientation average
    that the intercept's stereology assumes: with rows and columns alone, rendered grains elongated
    3:1 along an axis or a diagonal give intercepts 13 % apart, with 8 orientations 2 %.
    Only boundaries between two grains of the label image count: a boundary line that closes no grain
    (an open line end in a hand-drawn mask) is not one, as for the planimetric count; and an oblique
    line that grazes a boundary, on a pixel grid flickering in and out of it, crosses nothing.

    Returns
    -------
    lengths : (L,) line lengths in px.
    crossings : (L,) intersections per line.
    """
    labels = np.asarray(grain_labels)
    h, w = labels.shape
    lengths, crossings = [], []
    if directions == 2 or h < 2 or w < 2:  # rows and columns: n_lines of each, away from the frame
        rows = labels[np.linspace(0, h - 1, n_lines + 2).round().astype(int)[1:-1]]
        cols = labels[:, np.linspace(0, w - 1, n_lines + 2).round().astype(int)[1:-1]].T
        for lines in (rows, cols):
            crossings += [_crossings(line) for line in lines]
            lengths += [float(lines.shape[1])] * len(lines)
        return np.asarray(lengths, np.float64), np.asarray(crossings, np.float64)
    spacing = (min(h, w) - 1) / (n_lines + 1)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    half = math.hypot(h - 1, w - 1) / 2
    offsets = np.arange(-math.floor(half / spacing), math.floor(half / spacing) + 1) * spacing
    t = np.arange(-half, half, 0.25)  # positions along a line, from its point nearest the centre
    for k in range(directions):
        theta = math.pi * k / directions
        uy, ux = math.sin(theta), math.cos(theta)
        for offset in offsets:
            py, px = cy + offset * ux, cx - offset * uy  # the line's point nearest the centre
            y, x = py + t * uy, px + t * ux
            inside = (y >= -0.5) & (y < h - 0.5) & (x >= -0.5) & (x < w - 0.5)
            if inside.sum() < 2:
                continue
            length = float(t[inside][-1] - t[inside][0])
            if length < spacing:  # a corner clipping: too short to count
                continue
            crossings.append(_crossings(labels[np.rint(y[inside]).astype(int), np.rint(x[inside]).astype(int)]))
            lengths.append(length)
    return np.asarray(lengths, np.float64), np.asarray(crossings, np.float64)


def _crossings(line: np.ndarray) -> int:
    """Boundary intersections along one path of labels: the steps from one grain into another,
    boundary pixels (0) between them skipped. A path that only grazes a boundary and returns into the
    same grain crosses nothing: on a pixel grid an oblique line flickers in and out of a boundary it runs
    along, which counting runs of boundary pixels would take for many crossings."""
    grains = line[line > 0]
    return int(np.count_nonzero(grains[1:] != grains[:-1]))


def image_summary(grain_labels: np.ndarray, pixel_size_um: float | None = None, n_lines: int = 20,
                  directions: int = INTERCEPT_DIRECTIONS) -> dict:
    """Per-image statistics.

    Returns
    -------
    dict with ``n_grains`` (all regions), ``n_inside``, ``n_edge``, ``n_jeffries`` (edge grains
    as 1/2), ``mean_area_px``, ``median_area_px``, ``mean_diameter_px``, ``median_diameter_px``,
    ``N_A`` (grains per px^2; per mm^2 with a pixel size), ``mean_intercept_px`` and, with a pixel
    size, ``G_planimetric``, ``mean_intercept_um``, ``G_intercept`` and ``G_intercept_ci95``
    (half width of the 95 % confidence interval, from the line-to-line scatter of P_L).
    """
    from scipy import stats

    labels = np.asarray(grain_labels)
    h, w = labels.shape
    areas = np.bincount(labels.ravel())[1:]
    areas = areas[areas > 0].astype(np.float64)
    diameters = np.sqrt(4.0 * areas / math.pi)
    n_inside, n_edge, n_jeffries = jeffries_count(labels)
    lengths, crossings = lineal_intercepts(labels, n_lines, directions)
    total_p = crossings.sum()
    intercept_px = lengths.sum() / total_p if total_p else float("nan")
    summary = {
        "n_grains": int(len(areas)), "n_inside": n_inside, "n_edge": n_edge, "n_jeffries": n_jeffries,
        "mean_area_px": float(areas.mean()) if len(areas) else float("nan"),
        "median_area_px": float(np.median(areas)) if len(areas) else float("nan"),
        "mean_diameter_px": float(diameters.mean()) if len(areas) else float("nan"),
        "median_diameter_px": float(np.median(diameters)) if len(areas) else float("nan"),
        "N_A": n_jeffries / (h * w),
        "mean_intercept_px": float(intercept_px),
    }
    if pixel_size_um:
        mm = pixel_size_um / 1000.0
        summary["N_A"] = n_jeffries / (h * w * mm * mm)
        summary["G_planimetric"] = astm_g_planimetric(summary["N_A"])
        summary["mean_intercept_um"] = float(intercept_px * pixel_size_um)
        summary["G_intercept"] = astm_g_intercept(intercept_px * mm)
        p_l = crossings / lengths
        n = len(p_l)
        if n > 1 and total_p > 0:
            half = stats.t.ppf(0.975, n - 1) * p_l.std(ddof=1) / math.sqrt(n)
            # G is linear in log10(P_L): G = 6.643856 log10(P_L / mm) - 3.288, P_L = total P / total length
            centre = total_p / lengths.sum()
            lo = max(centre - half, 1e-12)
            summary["G_intercept_ci95"] = float(6.643856 * (math.log10(centre + half) - math.log10(lo)) / 2)
        else:
            summary["G_intercept_ci95"] = float("nan")
    return summary
