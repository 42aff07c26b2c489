"""Virtual micrographs with exact ground truth: Laguerre (power) tessellations, rasterized fast.

A Laguerre tessellation assigns every point x to the seed s_i with the smallest power distance
|x - s_i|^2 - w_i. Equal weights give the Voronoi tessellation. The cells are convex polygons;
they are found exactly from the lower convex hull of the seeds lifted to 3-D at height
|s|^2 - w (its facets are the regular triangulation, their power centres the cell vertices),
and only the cell edges are drawn (OpenCV lines), so no per-pixel work happens in Python.

Everything is in pixels; `pixel_size_um` only converts the truth record to ASTM units.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.spatial import ConvexHull, cKDTree

from matgan.errors import MatganError

SEED_PROCESSES = ("uniform", "hardcore")


@dataclass(frozen=True)
class SynthParams:
    """Every parameter of one virtual micrograph (stored as HDF5 attributes by the CLI).

    Attributes:
        size: (height, width) in pixels.
        grain_size: target mean grain diameter in pixels: the diameter of the circle whose area is
            the mean cell area (ASTM-style, boundaries included). Ignored when `n_grains` is set.
        n_grains: target number of grains in the image (overrides `grain_size`).
        dispersion: log-normal sigma of the seed radii; weights are radius^2 (0 = Voronoi).
        seeds: "uniform" (Poisson) or "hardcore" (no two seeds closer than `min_distance`).
        min_distance: hard-core distance as a fraction of `grain_size` (0..1).
        lloyd: Lloyd relaxation iterations (more iterations, more regular grains).
        aspect: grain elongation along `angle` (1 = equiaxed, 2 = twice as long as wide).
        angle: rolling direction in degrees, counter-clockwise from the x axis.
        periodic: the image tiles seamlessly (left/right and top/bottom edges match).
        twins: probability that a grain holds an annealing twin (a straight band), 0..1.
        thickness: boundary thickness in pixels (>= 1).
    """

    size: tuple[int, int] = (512, 512)
    grain_size: float = 40.0
    n_grains: int | None = None
    dispersion: float = 0.0
    seeds: str = "uniform"
    min_distance: float = 0.6
    lloyd: int = 0
    aspect: float = 1.0
    angle: float = 0.0
    periodic: bool = False
    twins: float = 0.0
    thickness: int = 2

    def validated(self) -> SynthParams:
        h, w = (int(v) for v in self.size)
        checks = [
            (h >= 8 and w >= 8, f"size {self.size} too small (at least 8 x 8 pixels)"),
            (self.grain_size >= 3, f"grain size {self.grain_size} px too small (at least 3)"),
            (self.n_grains is None or self.n_grains >= 1, f"n_grains {self.n_grains} must be >= 1"),
            (0 <= self.dispersion <= 2, f"dispersion {self.dispersion} outside 0..2"),
            (self.seeds in SEED_PROCESSES, f"seed process {self.seeds!r}: expected uniform or hardcore"),
            (0 <= self.min_distance <= 1, f"min_distance {self.min_distance} outside 0..1"),
            (0 <= self.lloyd <= 100, f"lloyd {self.lloyd} outside 0..100"),
            (0.1 <= self.aspect <= 10, f"aspect {self.aspect} outside 0.1..10"),
            (0 <= self.twins <= 1, f"twins {self.twins} outside 0..1"),
            (1 <= self.thickness <= 20, f"thickness {self.thickness} outside 1..20 px"),
        ]
        for ok, message in checks:
            if not ok:
                raise MatganError(message)
        return self

    def mean_diameter(self) -> float:
        """The target mean grain diameter in pixels (from `n_grains` when given)."""
        h, w = self.size
        if self.n_grains:
            return math.sqrt(4.0 * h * w / (math.pi * self.n_grains))
        return float(self.grain_size)


def synthesize(
    size: tuple[int, int] | int = 512,
    grain_size: float = 40.0,
    *,
    n_grains: int | None = None,
    dispersion: float = 0.0,
    seeds: str = "uniform",
    min_distance: float = 0.6,
    lloyd: int = 0,
    aspect: float = 1.0,
    angle: float = 0.0,
    periodic: bool = False,
    twins: float = 0.0,
    thickness: int = 2,
    pixel_size_um: float | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Make one virtual micrograph, its grain labels and the truth record.

    Parameters are those of `SynthParams` (pixels throughout), plus:

    pixel_size_um : float, optional
        Micrometres per pixel; the truth record then holds N_A in grains/mm^2 and the true
        planimetric ASTM E112 grain size number G.
    seed : int
        Same seed, same micrograph.

    Returns
    -------
    boundary_map : (H, W) uint8
        0 on grain boundaries, 255 inside grains.
    grain_labels : (H, W) int32
        1..K, one id per connected grain region; 0 exactly where `boundary_map` is 0.
    truth : dict
        ``n_grains``, ``areas_px`` (K,), ``diameters_px`` (K,) equivalent circular diameters,
        ``mean_diameter_px``, ``N_A`` (grains per px^2, or per mm^2 with a pixel size, edge
        grains counted 1/2), ``G_planimetric`` (with a pixel size), ``parent`` (K,) the
        tessellation cell each region belongs to (differs from the id only inside twinned grains).

    Examples
    --------
    >>> boundary_map, grain_labels, truth = synthesize(256, grain_size=30, seed=1)
    >>> boundary_map.shape, grain_labels.dtype
    ((256, 256), dtype('int32'))
    """
    if isinstance(size, int):
        size = (size, size)
    params = SynthParams(tuple(size), grain_size, n_grains, dispersion, seeds, min_distance, lloyd, aspect,
                         angle, periodic, twins, thickness).validated()
    rng = np.random.default_rng(seed)
    boundary_map, cell_labels = rasterize_tessellation(params, rng)
    if params.twins > 0:
        boundary_map = add_twins(boundary_map, cell_labels, params.twins, params.thickness, rng)
        grain_labels, parent = _label_regions(boundary_map, cell_labels)
    else:
        grain_labels, parent = cell_labels, np.arange(1, int(cell_labels.max()) + 1)
    return boundary_map, grain_labels, truth_record(grain_labels, parent, pixel_size_um)


def rasterize_tessellation(params: SynthParams, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw the edges of a Laguerre tessellation with `params`.

    Returns the boundary map (H, W) uint8 (0 on edges, 255 elsewhere) and the connected
    regions between the edges as int32 labels (4-connectivity; 0 on edges).
    """
    points, weights, to_cell = tessellation_seeds(params, rng)
    return draw_tessellation(points, weights, params, to_cell)


def tessellation_seeds(params: SynthParams, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeds (S, 2) in image pixels, Laguerre weights (S,) in px^2 and the 2x2 anisotropy map."""
    d = params.mean_diameter()
    box = _box(params)
    density = 4.0 / (math.pi * d * d)
    points = _seed_points(box, density, params, rng)
    radii = np.exp(params.dispersion * rng.standard_normal(len(points)))
    weights = (0.5 * d * radii) ** 2 if params.dispersion > 0 else np.zeros(len(points))
    weights -= weights.mean()
    to_cell = _anisotropy(params.aspect, params.angle)
    for _ in range(params.lloyd):
        points = _lloyd_step(points, weights, box, _halo(params), to_cell)
    return points, weights, to_cell


def _halo(params: SynthParams) -> float:
    return 3.0 * params.mean_diameter() * max(params.aspect, 1.0 / params.aspect)


def _box(params: SynthParams) -> np.ndarray:
    h, w = params.size
    margin = 0.0 if params.periodic else 1.5 * params.mean_diameter() * max(params.aspect, 1.0 / params.aspect)
    return np.array([-margin, -margin, w + margin, h + margin])


def draw_tessellation(points: np.ndarray, weights: np.ndarray, params: SynthParams,
                      to_cell: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw the cell edges of the Laguerre tessellation of `points` (S, 2) with `weights` (S,).

    Returns the boundary map (H, W) uint8 (0 on edges) and the regions between edges as int32
    labels (4-connectivity, 0 on edges).
    """
    import cv2

    h, w = params.size
    to_cell = np.eye(2) if to_cell is None else to_cell
    segments = _edges(points, weights, _box(params), _halo(params) if params.periodic else 0.0, to_cell)
    canvas = np.full((h, w), 255, np.uint8)
    lines = np.clip(np.round(segments), -(2**20), 2**20).astype(np.int32).reshape(-1, 2, 2)
    cv2.polylines(canvas, list(lines), isClosed=False, color=0, thickness=int(params.thickness),
                  lineType=cv2.LINE_8)
    _, labels = cv2.connectedComponents((canvas > 0).astype(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    return canvas, labels


def _seed_points(box: np.ndarray, density: float, params: SynthParams, rng: np.random.Generator) -> np.ndarray:
    """Seeds in `box` (x0, y0, x1, y1): Poisson with `density` per px^2, or hard-core."""
    x0, y0, x1, y1 = box
    area = (x1 - x0) * (y1 - y0)
    if params.seeds == "uniform":
        n = max(1, rng.poisson(density * area))
        return rng.uniform([x0, y0], [x1, y1], size=(n, 2))
    return _hardcore(box, int(round(density * area)), params.min_distance * params.mean_diameter(), rng)


def _hardcore(box: np.ndarray, n: int, r: float, rng: np.random.Generator) -> np.ndarray:
    """Random sequential adsorption: candidates kept only when no kept seed lies within `r`."""
    x0, y0, x1, y1 = box
    cell = r / math.sqrt(2.0)
    grid: dict[tuple[int, int], np.ndarray] = {}
    kept: list[np.ndarray] = []
    candidates = rng.uniform([x0, y0], [x1, y1], size=(30 * n + 10, 2))
    reach = 2
    for p in candidates:
        gx, gy = int((p[0] - x0) // cell), int((p[1] - y0) // cell)
        near = (grid.get((gx + i, gy + j)) for i in range(-reach, reach + 1) for j in range(-reach, reach + 1))
        if any(q is not None and (q[0] - p[0]) ** 2 + (q[1] - p[1]) ** 2 < r * r for q in near):
            continue
        grid[(gx, gy)] = p
        kept.append(p)
        if len(kept) >= n:
            break
    return np.array(kept).reshape(-1, 2)


def _anisotropy(aspect: float, angle_deg: float) -> np.ndarray:
    """2x2 map from image space to the space where cells are equiaxed (area preserving)."""
    t = math.radians(angle_deg)
    rot = np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])
    return np.diag([1.0 / math.sqrt(aspect), math.sqrt(aspect)]) @ rot


def _extend(points: np.ndarray, weights: np.ndarray, box: np.ndarray, halo: float):
    """Periodic copies of the seeds within `halo` of the box, and far ghost seeds that bound every cell."""
    x0, y0, x1, y1 = box
    pw, ph = x1 - x0, y1 - y0
    all_points, all_weights, owner = [points], [weights], [np.arange(len(points))]
    if halo > 0:
        for dx in (-pw, 0.0, pw):
            for dy in (-ph, 0.0, ph):
                if dx == 0 and dy == 0:
                    continue
                shifted = points + (dx, dy)
                keep = ((shifted[:, 0] > x0 - halo) & (shifted[:, 0] < x1 + halo)
                        & (shifted[:, 1] > y0 - halo) & (shifted[:, 1] < y1 + halo))
                all_points.append(shifted[keep])
                all_weights.append(weights[keep])
                owner.append(np.flatnonzero(keep))
    span = 10.0 * max(pw, ph)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ghosts = np.array([[cx + span * math.cos(a), cy + span * math.sin(a)] for a in np.arange(8) * math.pi / 4])
    all_points.append(ghosts)
    all_weights.append(np.zeros(len(ghosts)))
    owner.append(np.full(len(ghosts), -1))
    return np.concatenate(all_points), np.concatenate(all_weights), np.concatenate(owner)


def _power_triangulation(points: np.ndarray, weights: np.ndarray):
    """Lower-hull facets of the lifted seeds: (triangles (T, 3), neighbours (T, 3), power centres (T, 2))."""
    lifted = np.column_stack([points, (points**2).sum(1) - weights])
    scale = np.abs(lifted).max(0)
    hull = ConvexHull(lifted / scale)
    lower = hull.equations[:, 2] < 0
    triangles = hull.simplices[lower]
    index = np.full(len(hull.simplices), -1)
    index[lower] = np.arange(lower.sum())
    neighbours = index[hull.neighbors[lower]]
    a, b, c = (points[triangles[:, k]] for k in range(3))
    wa, wb, wc = (weights[triangles[:, k]] for k in range(3))
    # The power centre v solves 2 (p_j - p_i) . v = |p_j|^2 - w_j - |p_i|^2 + w_i for j = b, c.
    m = np.stack([2 * (b - a), 2 * (c - a)], axis=1)
    rhs = np.stack([(b**2).sum(1) - wb - (a**2).sum(1) + wa, (c**2).sum(1) - wc - (a**2).sum(1) + wa], axis=1)
    det = m[:, 0, 0] * m[:, 1, 1] - m[:, 0, 1] * m[:, 1, 0]
    det = np.where(np.abs(det) < 1e-12, 1e-12, det)
    vx = (rhs[:, 0] * m[:, 1, 1] - rhs[:, 1] * m[:, 0, 1]) / det
    vy = (m[:, 0, 0] * rhs[:, 1] - m[:, 1, 0] * rhs[:, 0]) / det
    return triangles, neighbours, np.column_stack([vx, vy])


def _edges(points, weights, box, halo, to_cell) -> np.ndarray:
    """All finite cell edges as (E, 4) x0, y0, x1, y1 in image coordinates."""
    ext_points, ext_weights, _ = _extend(points, weights, box, halo)
    triangles, neighbours, centres = _power_triangulation(ext_points @ to_cell.T, ext_weights)
    t = np.repeat(np.arange(len(triangles)), 3)
    n = neighbours.ravel()
    keep = n > t
    centres = centres @ np.linalg.inv(to_cell).T
    return np.column_stack([centres[t[keep]], centres[n[keep]]])


def _lloyd_step(points, weights, box, halo, to_cell) -> np.ndarray:
    """Move every seed to the centroid of its cell (computed from the exact polygons)."""
    ext_points, ext_weights, owner = _extend(points, weights, box, max(halo, 1e-9))
    cell_points = ext_points @ to_cell.T
    triangles, _, centres = _power_triangulation(cell_points, ext_weights)
    seed_of = triangles.ravel()
    vertex = np.repeat(np.arange(len(triangles)), 3)
    own = seed_of < len(points)
    seed_of, vertex = seed_of[own], vertex[own]
    counts = np.bincount(seed_of, minlength=len(points))
    middle = np.stack([np.bincount(seed_of, centres[vertex, k], len(points)) for k in (0, 1)], 1)
    middle /= np.maximum(counts, 1)[:, None]
    rel = centres[vertex] - middle[seed_of]
    order = np.lexsort([np.arctan2(rel[:, 1], rel[:, 0]), seed_of])
    seed_of, ring = seed_of[order], centres[vertex[order]]
    starts = np.flatnonzero(np.r_[True, seed_of[1:] != seed_of[:-1]])
    nxt = np.arange(len(ring)) + 1
    ends = np.r_[starts[1:], len(ring)]
    nxt[ends - 1] = starts
    x, y, xn, yn = ring[:, 0], ring[:, 1], ring[nxt, 0], ring[nxt, 1]
    cross = x * yn - xn * y
    area = np.add.reduceat(cross, starts) / 2
    cx = np.add.reduceat((x + xn) * cross, starts) / (6 * np.where(area == 0, 1, area))
    cy = np.add.reduceat((y + yn) * cross, starts) / (6 * np.where(area == 0, 1, area))
    moved = points @ to_cell.T
    ids = seed_of[starts]
    ok = np.abs(area) > 0
    moved[ids[ok]] = np.column_stack([cx, cy])[ok]
    moved = moved @ np.linalg.inv(to_cell).T
    x0, y0, x1, y1 = box
    if halo > 0:  # periodic box: wrap around
        moved[:, 0] = x0 + np.mod(moved[:, 0] - x0, x1 - x0)
        moved[:, 1] = y0 + np.mod(moved[:, 1] - y0, y1 - y0)
    return moved


def add_twins(boundary_map: np.ndarray, cell_labels: np.ndarray, probability: float, thickness: int,
              rng: np.random.Generator) -> np.ndarray:
    """Draw annealing twins: in a share `probability` of the grains, one straight band of two parallel lines.

    Parameters
    ----------
    boundary_map : (H, W) uint8, 0 on boundaries, 255 in grains.
    cell_labels : (H, W) int32 grain ids (0 on boundaries).
    probability : share of grains that get a twin band, 0..1.
    thickness : line thickness in pixels.

    Returns the new boundary map (the input is not changed).
    """
    import cv2
    from scipy import ndimage

    out = boundary_map.copy()
    n = int(cell_labels.max())
    chosen = np.flatnonzero(rng.random(n) < probability) + 1
    boxes = ndimage.find_objects(cell_labels)
    for grain in chosen:
        sl = boxes[grain - 1]
        if sl is None:
            continue
        inside = cell_labels[sl] == grain
        bh, bw = inside.shape
        if min(bh, bw) < 8:
            continue
        lines = np.zeros_like(inside, dtype=np.uint8)
        theta = rng.uniform(0, math.pi)
        normal = np.array([math.cos(theta), math.sin(theta)])
        along = np.array([-normal[1], normal[0]]) * (bh + bw)
        centre = np.array([bw, bh]) / 2 + rng.uniform(-0.2, 0.2, 2) * (bw, bh)
        width = rng.uniform(0.15, 0.35) * min(bh, bw)
        for side in (-0.5, 0.5):
            mid = centre + side * width * normal
            p, q = np.round(mid - along).astype(int), np.round(mid + along).astype(int)
            cv2.line(lines, tuple(int(v) for v in p), tuple(int(v) for v in q), 1, int(thickness))
        out[sl][(lines > 0) & inside] = 0
    return out


def _label_regions(boundary_map: np.ndarray, cell_labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Connected grain regions (4-connectivity) and, per region, the tessellation cell it lies in."""
    import cv2

    n, labels = cv2.connectedComponents((boundary_map > 0).astype(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    parent = np.zeros(n, np.int64)
    inside = labels > 0
    parent[labels[inside]] = cell_labels[inside]
    return labels, parent[1:]


def truth_record(grain_labels: np.ndarray, parent: np.ndarray | None = None,
                 pixel_size_um: float | None = None) -> dict:
    """Ground-truth statistics of a label map (see `synthesize` for the keys)."""
    from matgan.grains.measure import astm_g_planimetric

    labels = np.asarray(grain_labels)
    h, w = labels.shape
    counts = np.bincount(labels.ravel())
    areas = counts[1:].astype(np.int64)
    on_edge = np.zeros(len(counts), bool)
    on_edge[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = True
    present = areas > 0
    n_edge = int((on_edge[1:] & present).sum())
    n_jeffries = int(present.sum()) - n_edge + 0.5 * n_edge
    area_unit = (pixel_size_um / 1000.0) ** 2 if pixel_size_um else 1.0
    n_a = n_jeffries / (h * w * area_unit)
    diameters = np.sqrt(4.0 * areas / math.pi)
    return {
        "n_grains": int(present.sum()),
        "areas_px": areas,
        "diameters_px": diameters,
        "mean_diameter_px": float(diameters[present].mean()) if present.any() else 0.0,
        "N_A": n_a,
        "G_planimetric": astm_g_planimetric(n_a) if pixel_size_um else None,
        "parent": parent if parent is not None else np.arange(1, len(areas) + 1),
    }


def params_dict(**kwargs) -> dict:
    """The full, validated parameter set as a plain dict (for HDF5 attributes)."""
    size = kwargs.pop("size", 512)
    if isinstance(size, int):
        size = (size, size)
    params = SynthParams(size=tuple(size), **kwargs).validated()
    record = asdict(params)
    record["size"] = list(params.size)
    return record


def brute_force_labels(points: np.ndarray, weights: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Reference rasterizer: per-pixel argmin of the power distance over all seeds (slow; for tests and benchmarks).

    Returns (H, W) int64 seed indices.
    """
    h, w = size
    owner = np.empty((h, w), np.int64)
    xx = np.arange(w, dtype=np.float64)
    for y in range(h):  # one row at a time keeps the (W, S) distance table small
        pixels = np.column_stack([xx, np.full(w, float(y))])
        power = ((pixels[:, None, :] - points[None, :, :]) ** 2).sum(-1) - weights[None, :]
        owner[y] = power.argmin(1)
    return owner


def lifted_nearest_labels(points: np.ndarray, weights: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Power-cell owner of every pixel by a nearest-neighbour query on seeds lifted to height sqrt(C - w).

    Returns (H, W) int64 seed indices; equal to `brute_force_labels` up to ties.
    """
    h, w = size
    lift = np.sqrt(weights.max() - weights) if len(weights) else weights
    tree = cKDTree(np.column_stack([points, lift]))
    yy, xx = np.mgrid[0:h, 0:w]
    query = np.column_stack([xx.ravel(), yy.ravel(), np.zeros(h * w)])
    return tree.query(query)[1].reshape(h, w)
