"""Grain measurement and ASTM E112 numbers on hand-computed cases and on synthetic truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matgan.grains.measure import (
    as_labels,
    astm_g_intercept,
    astm_g_planimetric,
    grain_table,
    image_summary,
    jeffries_count,
    labels_from_boundaries,
    lineal_intercepts,
)
from matgan.grains.synth import synthesize


def grid_labels(n: int = 4, cell: int = 25, line: int = 1) -> np.ndarray:
    """An n x n checkerboard of square grains separated by `line`-px boundaries (no edge boundary)."""
    side = n * cell
    boundary = np.full((side, side), 255, np.uint8)
    for k in range(1, n):
        boundary[k * cell : k * cell + line, :] = 0
        boundary[:, k * cell : k * cell + line] = 0
    return labels_from_boundaries(boundary)


def test_astm_formulas_hand_computed():
    # ASTM E112: G = 1 at N_A = 15.5 grains/mm^2; G = 0 at a mean intercept of 0.32 mm
    assert astm_g_planimetric(15.5) == pytest.approx(1.0, abs=0.01)
    assert astm_g_planimetric(15.5 * 2**4) == pytest.approx(5.0, abs=0.01)  # each G step doubles N_A
    assert astm_g_intercept(0.32) == pytest.approx(0.0, abs=0.01)
    assert astm_g_intercept(0.32 / 2**2) == pytest.approx(4.0, abs=0.01)  # each step shrinks l by sqrt 2
    assert math.isnan(astm_g_planimetric(0))


def test_edge_grains_count_half():
    labels = grid_labels(4)
    inside, edge, jeffries = jeffries_count(labels)
    assert (inside, edge, jeffries) == (4, 12, 10.0)


def test_grid_planimetric_and_intercept_by_hand():
    labels = grid_labels(4, cell=25)
    pixel = 10.0  # um: the image is 1 mm x 1 mm
    s = image_summary(labels, pixel, n_lines=10, directions=2)
    assert s["N_A"] == pytest.approx(10.0)  # 10 grains in 1 mm^2
    assert s["G_planimetric"] == pytest.approx(3.321928 * math.log10(10) - 2.954)
    # every full-length row and column crosses 3 boundaries: l = 1 mm / 3
    lengths, crossings = lineal_intercepts(labels, n_lines=10, directions=2)
    assert set(crossings.tolist()) == {3.0}
    assert s["mean_intercept_um"] == pytest.approx(1000 / 3)
    assert s["G_intercept"] == pytest.approx(-6.643856 * math.log10(1 / 3) - 3.288)
    assert s["G_intercept_ci95"] == pytest.approx(0.0, abs=1e-9)


def test_intercept_is_an_orientation_average():
    # grains elongated 3:1 along an axis or a diagonal: rows and columns alone see them differently,
    # test lines in 8 orientations do not
    def intercepts(directions):
        return [image_summary(synthesize(512, 30, seed=3, aspect=3, angle=a)[1], directions=directions)
                ["mean_intercept_px"] for a in (0, 45, 90)]

    rows_and_columns, eight = intercepts(2), intercepts(8)
    assert max(rows_and_columns) / min(rows_and_columns) > 1.1
    assert max(eight) / min(eight) < 1.03
    # a diagonal line grazing a boundary does not count it; crossing one does, however thin the line
    labels = np.ones((9, 9), np.int32)
    labels[np.arange(9), np.arange(9)] = 0  # a one-pixel diagonal boundary: grain 1 above, 2 below
    labels[np.tril_indices(9, -1)] = 2
    lengths, crossings = lineal_intercepts(labels, n_lines=3, directions=4)
    assert crossings.max() == 1 and crossings.sum() > 0


def test_grain_table_square_grain():
    labels = grid_labels(2, cell=30)
    table = grain_table(labels, pixel_size_um=2.0)
    assert len(table["grain"]) == 4
    first = 0
    assert table["area_px"][first] == 30 * 30
    assert table["diameter_px"][first] == pytest.approx(math.sqrt(4 * 900 / math.pi))
    assert table["aspect_ratio"][first] == pytest.approx(1.0, abs=0.05)
    assert table["touches_edge"].all()
    assert table["area_um2"][first] == pytest.approx(900 * 4)


def test_orientation_of_elongated_grain():
    labels = np.zeros((60, 60), np.int32)
    labels[28:32, 5:55] = 1  # horizontal bar
    labels[5:55, 45:48] = 0
    table = grain_table(np.where(labels > 0, 1, 0).astype(np.int32))
    assert abs(table["orientation_deg"][0]) < 5
    assert table["aspect_ratio"][0] > 5


def test_g_numbers_agree_with_synthetic_truth():
    # both ASTM methods estimate the same G on a random structure (E112 says within about +-0.5)
    gs = []
    for seed in range(3):
        _, labels, truth = synthesize(384, 30, seed=seed, pixel_size_um=1.0)
        s = image_summary(labels, 1.0)
        assert s["G_planimetric"] == pytest.approx(truth["G_planimetric"])
        gs.append(s["G_planimetric"] - s["G_intercept"])
    assert abs(np.mean(gs)) < 0.5


def test_as_labels_reads_masks_and_label_images():
    labels = grid_labels(3)
    dark = np.where(labels > 0, 255, 0).astype(np.uint8)
    assert as_labels(dark).max() == 9
    assert as_labels(255 - dark).max() == 9  # bright boundaries: the minority value
    assert as_labels(labels).max() == 9


def test_flooding_closes_a_faint_boundary_that_a_threshold_misses():
    from matgan.grains.segment import boundaries_to_labels, probability_to_labels

    prob = np.zeros((40, 60), np.float32)
    prob[:, 29:32] = 0.9  # a strong boundary between two grains ...
    prob[15:25, 29:32] = 0.25  # ... with a faint stretch in the middle
    assert probability_to_labels(prob, h=0.1, sigma=1.0).max() == 2
    assert boundaries_to_labels(prob).max() == 1  # the threshold leaves a gap and merges them


def test_flooding_in_tiles_matches_one_pass():
    from matgan.grains.render import render
    from matgan.grains.segment import watershed_boundaries
    from matgan.grains.synth import synthesize

    _, labels, _ = synthesize(200, 18, seed=2)
    darkness = 1 - render(labels, "faint", seed=2).astype(np.float32) / 255
    whole = watershed_boundaries(darkness, h=0.05, sigma=1.5, tile=400)
    tiled = watershed_boundaries(darkness, h=0.05, sigma=1.5, tile=120, margin=30)
    assert whole.sum() > 1000
    assert (whole != tiled).mean() < 1e-3  # without a margin the tiles differ on ~0.7 % of the pixels


def test_h_minima_markers_give_one_marker_per_basin_even_on_speckled_flat_floors():
    from skimage.morphology import h_minima

    from matgan.grains.segment import h_minima_markers

    land = np.zeros((40, 61), np.float32)
    land[:, 30] = 1.0  # two basins split by a ridge
    rng = np.random.default_rng(0)
    land[rng.random(land.shape) < 0.2] += 0.02  # specks far shallower than h on the clipped floors
    markers = h_minima_markers(land, 0.1)
    assert len(np.unique(markers[markers > 0])) == 2
    assert (markers[:, :30] > 0).any() and (markers[:, 31:] > 0).any()
    from scipy import ndimage

    assert ndimage.label(h_minima(land, 0.1))[1] > 2  # skimage's floor pixels fall apart into many markers


def _two_merged_grains():
    """Labels (1 = two convex grains merged into one region with two re-entrant corners, 2 = the
    rest, 0 = 1-px boundaries) and the polygons of the two true grains."""
    import cv2

    a = np.array([[10, 10], [40, 18], [45, 38], [12, 48]], np.int32)
    b = np.array([[40, 18], [78, 8], [76, 50], [45, 38]], np.int32)
    region = np.zeros((60, 90), np.uint8)
    cv2.fillPoly(region, [a, b], 1)
    labels = np.where(region > 0, 1, 2).astype(np.int32)
    ring = cv2.dilate(region, np.ones((3, 3), np.uint8)) - region
    labels[ring > 0] = 0
    return labels, a, b


def test_split_concave_grains_cuts_a_merged_pair_along_the_missed_boundary():
    import cv2

    from matgan.grains.segment import split_concave_grains

    labels, a, b = _two_merged_grains()
    land = np.where(labels == 0, 1.0, 0.0).astype(np.float32)
    rng = np.random.default_rng(1)
    land += rng.normal(0, 0.05, land.shape).astype(np.float32)  # noise
    missed = land.copy()
    cv2.line(missed, (40, 18), (45, 38), 0.35, 2)  # the missed boundary, drawn faintly
    split = split_concave_grains(labels, np.clip(missed, 0, 1), evidence=1.0)
    assert split.max() == 3  # the region became two grains; the rest stays one
    centre_a, centre_b = a.mean(0).astype(int), b.mean(0).astype(int)
    grain_a, grain_b = split[centre_a[1], centre_a[0]], split[centre_b[1], centre_b[0]]
    assert grain_a > 0 and grain_b > 0 and grain_a != grain_b
    new_boundary = (split == 0) & (labels != 0)
    ys, xs = np.nonzero(new_boundary)
    assert 15 <= ys.min() and ys.max() <= 41 and 38 <= xs.min() and xs.max() <= 47  # along the true edge
    # no evidence along the chord: the concave region is left whole
    assert split_concave_grains(labels, np.clip(land, 0, 1), evidence=1.0).max() == 2


def test_split_concave_grains_leaves_convex_grains_and_numbers_grains():
    from matgan.grains.segment import merge_grains, split_concave_grains
    from matgan.grains.synth import synthesize

    _, labels, _ = synthesize(128, 24, seed=5)
    labels = merge_grains(labels, [])  # boundary pixels touching one grain only join it, as after segmentation
    land = np.where(labels == 0, 1.0, 0.0).astype(np.float32)
    split = split_concave_grains(labels, land, evidence=1.0)
    assert split.max() == labels.max()  # the true grains are convex: nothing to cut
    assert np.array_equal(split == 0, labels == 0)
    assert np.array_equal(np.unique(split), np.arange(split.max() + 1))


def _shifted_truth(shift: int = 2):
    """True labels of a 200 px tessellation (boundaries merged as after segmentation), its boundary
    landscape, and the same labels shifted by `shift` px down and left: every boundary beside the ridge."""
    import cv2

    from matgan.grains.segment import merge_grains
    from matgan.grains.synth import synthesize

    _, truth, _ = synthesize(200, 28, seed=4)
    truth = merge_grains(truth, [])
    land = cv2.GaussianBlur(np.where(truth == 0, 1.0, 0.0).astype(np.float32), (0, 0), 1.0)
    return truth, land, np.roll(truth, (shift, -shift), axis=(0, 1))


def test_refine_boundaries_moves_boundaries_onto_the_ridge_and_keeps_the_grains():
    from scipy import ndimage

    from matgan.grains.segment import refine_boundaries

    truth, land, shifted = _shifted_truth()
    off_ridge = ndimage.distance_transform_edt(truth != 0)  # px from the true boundary
    inner = np.zeros(truth.shape, bool)
    inner[6:-6, 6:-6] = True  # away from the rows and columns the shift wrapped round
    refined = refine_boundaries(shifted, land, radius=4.0)
    before, after = off_ridge[(shifted == 0) & inner], off_ridge[(refined == 0) & inner]
    assert before.mean() > 1.5 and np.median(before) >= 1
    assert after.mean() < 0.8 and np.median(after) == 0
    assert refined.max() == shifted.max() == truth.max()  # no grain appears or vanishes
    assert np.array_equal(np.unique(refined), np.arange(refined.max() + 1))
    both = (refined > 0) & (shifted > 0)
    assert (refined[both] == shifted[both]).mean() > 0.8  # each grain keeps its number and most of its pixels
    # a flat map holds no ridge to move to: the grains stay
    assert refine_boundaries(shifted, np.zeros_like(land), radius=4.0).max() == shifted.max()


def test_refine_boundaries_in_tiles_matches_one_pass():
    from scipy import ndimage

    from matgan.grains.segment import refine_boundaries

    _, land, shifted = _shifted_truth()
    whole = refine_boundaries(shifted, land, tile=400)
    tiled = refine_boundaries(shifted, land, tile=100, margin=30)
    assert whole.max() == tiled.max()
    assert (whole != tiled).mean() < 0.01
    # the lines agree but for ties on a ridge's flat top, which the flooding order breaks
    for a, b in ((whole, tiled), (tiled, whole)):
        assert ndimage.distance_transform_edt(a != 0)[b == 0].mean() < 0.1
