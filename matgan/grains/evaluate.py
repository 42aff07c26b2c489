"""Scores of a grain segmentation against ground truth: boundary F1, ARI, VI, count and G errors.

All functions take label images (H, W) int (1..K per grain, 0 on boundaries); `as_labels` in
`grains.measure` turns boundary maps into labels first.
"""

from __future__ import annotations

import math

import numpy as np

from matgan.errors import MatganError
from matgan.grains.measure import astm_g_planimetric, jeffries_count
from matgan.grains.segment import fill_boundaries, merge_grains, thin


def boundary_scores(pred_labels: np.ndarray, true_labels: np.ndarray, tolerance: float = 2.0) -> dict[str, float]:
    """Boundary precision, recall and F1 with a pixel tolerance.

    Both boundary sets (label 0) are thinned to one pixel first, so the score does not depend on
    how thick either draws its boundaries. A predicted boundary pixel is correct when a true one
    lies within `tolerance` px (Euclidean), and vice versa for recall.
    """
    import cv2

    pred, true = _check_pair(pred_labels, true_labels)
    pb, tb = thin(pred == 0).astype(bool), thin(true == 0).astype(bool)
    if not pb.any() and not tb.any():
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    dist_to_true = cv2.distanceTransform((~tb).astype(np.uint8), cv2.DIST_L2, 5)
    dist_to_pred = cv2.distanceTransform((~pb).astype(np.uint8), cv2.DIST_L2, 5)
    precision = float((dist_to_true[pb] <= tolerance).mean()) if pb.any() else 0.0
    recall = float((dist_to_pred[tb] <= tolerance).mean()) if tb.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _check_pair(pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, true = np.asarray(pred), np.asarray(true)
    if pred.shape != true.shape:
        raise MatganError(f"prediction shape {pred.shape} differs from truth shape {true.shape}")
    return pred, true


def _contingency(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Joint counts n_ij of (pred grain i, true grain j) over all pixels, boundaries given to the nearest grain."""
    from scipy.sparse import coo_matrix

    p = fill_boundaries(pred.astype(np.int32)).ravel()
    t = fill_boundaries(true.astype(np.int32)).ravel()
    table = coo_matrix((np.ones(p.size, np.int64), (p, t))).tocsr()
    table.sum_duplicates()
    return table


def adjusted_rand_index(pred_labels: np.ndarray, true_labels: np.ndarray) -> float:
    """Adjusted Rand index (Hubert and Arabie) of two grain partitions; 1 = identical, about 0 = chance."""
    pred, true = _check_pair(pred_labels, true_labels)
    table = _contingency(pred, true)

    def pairs(x):
        x = np.asarray(x, dtype=np.float64)
        return float((x * (x - 1) / 2).sum())

    sum_ij = pairs(table.data)
    sum_a = pairs(np.asarray(table.sum(1)).ravel())
    sum_b = pairs(np.asarray(table.sum(0)).ravel())
    n = pred.size
    expected = sum_a * sum_b / (n * (n - 1) / 2)
    maximum = (sum_a + sum_b) / 2
    return 1.0 if maximum == expected else (sum_ij - expected) / (maximum - expected)


def variation_of_information(pred_labels: np.ndarray, true_labels: np.ndarray) -> float:
    """Variation of information H(P|T) + H(T|P) in bits; 0 = identical partitions."""
    pred, true = _check_pair(pred_labels, true_labels)
    table = _contingency(pred, true)
    n = float(pred.size)
    p_ij = table.data / n
    p_i = np.asarray(table.sum(1)).ravel() / n
    p_j = np.asarray(table.sum(0)).ravel() / n
    rows, cols = table.nonzero()
    mi = float((p_ij * np.log2(p_ij / (p_i[rows] * p_j[cols]))).sum())
    h = lambda p: float(-(p[p > 0] * np.log2(p[p > 0])).sum())  # noqa: E731
    return max(0.0, h(p_i) + h(p_j) - 2 * mi)


def score(pred_labels: np.ndarray, true_labels: np.ndarray, tolerance: float = 2.0) -> dict[str, float]:
    """All scores of one image.

    Returns
    -------
    dict: ``precision``, ``recall``, ``f1`` (boundaries, `tolerance` px), ``ari``, ``vi`` (bits),
    ``n_pred``, ``n_true`` (Jeffries counts, edge grains 1/2), ``count_error`` (relative,
    |n_pred - n_true| / n_true), ``G_error`` (|G_pred - G_true|, planimetric; independent of the
    pixel size since both images share it).
    """
    pred, true = _check_pair(pred_labels, true_labels)
    result = boundary_scores(pred, true, tolerance)
    result["ari"] = adjusted_rand_index(pred, true)
    result["vi"] = variation_of_information(pred, true)
    n_pred, n_true = jeffries_count(pred)[2], jeffries_count(true)[2]
    result["n_pred"], result["n_true"] = float(n_pred), float(n_true)
    result["count_error"] = abs(n_pred - n_true) / n_true if n_true else float("nan")
    area_mm2 = pred.size * 1e-6  # nominal 1 um pixels; the difference of G does not depend on it
    g_pred, g_true = astm_g_planimetric(n_pred / area_mm2), astm_g_planimetric(n_true / area_mm2)
    result["G_error"] = abs(g_pred - g_true) if math.isfinite(g_pred) and math.isfinite(g_true) else float("nan")
    return result


def resolvable_truth(true_labels: np.ndarray, min_width: float = 3.0) -> np.ndarray:
    """Exact truth as an observer can resolve it: grains narrower than `min_width` px merged away.

    A tessellation can hold slivers and specks whose interior, once the boundary lines are drawn
    around them, is one or two pixels wide; in a rendered (or real) micrograph the dark grooves of
    their boundaries cover them completely, so no method can count them, and they inflate the true
    count. A grain is kept when its interior holds a disc of diameter `min_width` (twice the largest
    distance from a grain pixel to the nearest pixel outside the grain, measured with the exact
    Euclidean transform); narrower ones go to the neighbour they share most boundary with, until none
    is left.
    """
    from scipy import ndimage

    labels = np.array(true_labels, dtype=np.int32)
    for _ in range(8):  # merging can leave a fragment of a thick junction as a new speck: repeat until none
        n = int(labels.max())
        if n == 0:
            break
        # distance of each grain pixel to the nearest boundary pixel (the image edge does not narrow a grain)
        inside = ndimage.distance_transform_edt(labels > 0)
        narrow = np.flatnonzero(2 * ndimage.maximum(inside, labels, np.arange(1, n + 1)) < min_width) + 1
        if not len(narrow):
            break
        labels = merge_grains(labels, narrow, inplace=True)
    return labels


SCORE_KEYS = ("precision", "recall", "f1", "ari", "vi", "n_pred", "n_true", "count_error", "G_error")


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    """Mean of each score (every key of the first row) over images (NaNs ignored)."""
    if not rows:
        return {}
    return {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}
