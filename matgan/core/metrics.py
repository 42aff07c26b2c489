"""Domain-free quality metrics over NumPy arrays: Frechet distance, MMD, KS statistic, matching accuracy.

Every function takes plain arrays (features from any network, latent codes, labels) and returns
plain floats or arrays, so the same code scores MNIST samples, spectra and micrographs, in a
notebook without torch.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats


def _as_feature_matrix(features: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(features, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] < 2:
        raise ValueError(f"{name}: expected an (N, D) array with N >= 2, got shape {np.shape(features)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return array


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a feature set, the summary a Frechet distance compares.

    Parameters
    ----------
    features : (N, D) float array, N >= 2 (a 1-D array is read as D = 1).

    Returns
    -------
    mean : (D,) float64
    covariance : (D, D) float64, unbiased (divides by N - 1)
    """
    array = _as_feature_matrix(features, "features")
    return array.mean(axis=0), np.atleast_2d(np.cov(array, rowvar=False))


def frechet_distance_from_statistics(
    mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray, cov_b: np.ndarray
) -> float:
    """Frechet distance between two Gaussians N(mean_a, cov_a) and N(mean_b, cov_b).

    d^2 = |mean_a - mean_b|^2 + tr(cov_a) + tr(cov_b) - 2 tr((cov_a cov_b)^(1/2)).
    The trace of the matrix square root is the sum of the square roots of the eigenvalues of
    cov_a @ cov_b (real and non-negative for covariance matrices; round-off below zero is clipped),
    which avoids the unstable `sqrtm` of a near-singular product.

    Returns
    -------
    float >= 0, in squared feature units (this is what FID reports).
    """
    mean_a, mean_b = np.atleast_1d(mean_a).astype(np.float64), np.atleast_1d(mean_b).astype(np.float64)
    cov_a, cov_b = np.atleast_2d(cov_a).astype(np.float64), np.atleast_2d(cov_b).astype(np.float64)
    if mean_a.shape != mean_b.shape or cov_a.shape != cov_b.shape or cov_a.shape != mean_a.shape * 2:
        raise ValueError(
            f"statistics do not match: means {mean_a.shape} vs {mean_b.shape}, "
            f"covariances {cov_a.shape} vs {cov_b.shape}")
    eigenvalues = np.linalg.eigvals(cov_a @ cov_b).real
    trace_sqrt = np.sqrt(np.clip(eigenvalues, 0.0, None)).sum()
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt
    return float(max(distance, 0.0))


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Frechet distance between two feature sets, each summarised by a Gaussian (FID-style).

    Parameters
    ----------
    features_a, features_b : (N, D) and (M, D) float arrays, N, M >= 2, same D.

    Returns
    -------
    float >= 0; 0 for a set against itself. Lower is closer.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(500, 4))
    >>> round(frechet_distance(x, x), 9)
    0.0
    """
    return frechet_distance_from_statistics(*feature_statistics(features_a), *feature_statistics(features_b))


def mmd(samples_a: np.ndarray, samples_b: np.ndarray, bandwidth: float | None = None) -> float:
    """Squared maximum mean discrepancy with a Gaussian kernel (unbiased estimate).

    Parameters
    ----------
    samples_a, samples_b : (N, D) and (M, D) float arrays, N, M >= 2.
    bandwidth : kernel width sigma in feature units; None takes the median pairwise distance
        of the pooled samples (the median heuristic).

    Returns
    -------
    float, about 0 for samples of one distribution (the unbiased estimate can dip below 0),
    larger for distributions further apart.
    """
    a = _as_feature_matrix(samples_a, "samples_a")
    b = _as_feature_matrix(samples_b, "samples_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"samples have different dimensions: {a.shape[1]} vs {b.shape[1]}")
    pooled = np.concatenate([a, b])
    sq = _squared_distances(pooled, pooled)
    if bandwidth is None:
        off_diagonal = sq[~np.eye(len(pooled), dtype=bool)]
        bandwidth = float(np.sqrt(np.median(off_diagonal))) or 1.0
    if bandwidth <= 0:
        raise ValueError(f"bandwidth must be > 0, got {bandwidth}")
    kernel = np.exp(-sq / (2.0 * bandwidth**2))
    n = len(a)
    k_aa, k_bb, k_ab = kernel[:n, :n], kernel[n:, n:], kernel[:n, n:]
    m = len(b)
    term_aa = (k_aa.sum() - np.trace(k_aa)) / (n * (n - 1))
    term_bb = (k_bb.sum() - np.trace(k_bb)) / (m * (m - 1))
    return float(term_aa + term_bb - 2.0 * k_ab.mean())


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sq = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2.0 * a @ b.T
    return np.clip(sq, 0.0, None)


def ks_statistic(samples: np.ndarray, reference: np.ndarray | str = "norm") -> np.ndarray:
    """Kolmogorov-Smirnov statistic per dimension, against a distribution or a reference sample.

    Parameters
    ----------
    samples : (N,) or (N, D) float array.
    reference : a scipy.stats distribution name with default parameters ("norm" = standard
        normal, "uniform" = U[0, 1]), or an (M,) / (M, D) array of reference samples
        (two-sample test per dimension).

    Returns
    -------
    (D,) float array in [0, 1]: the largest gap between the empirical CDFs; 0 is a perfect match.
    """
    data = _as_feature_matrix(samples, "samples")
    if isinstance(reference, str):
        return np.array([stats.kstest(data[:, d], reference).statistic for d in range(data.shape[1])])
    ref = _as_feature_matrix(reference, "reference")
    if ref.shape[1] != data.shape[1]:
        raise ValueError(f"reference has {ref.shape[1]} dimensions, samples have {data.shape[1]}")
    return np.array([stats.ks_2samp(data[:, d], ref[:, d]).statistic for d in range(data.shape[1])])


def matching_accuracy(true_labels: np.ndarray, assigned_labels: np.ndarray) -> tuple[float, dict[int, int]]:
    """Accuracy of a labelling after the best one-to-one renaming of its labels (Hungarian matching).

    Used for unsupervised codes: an InfoGAN categorical code is right up to a permutation of the
    digit names.

    Parameters
    ----------
    true_labels : (N,) int array, the reference classes (e.g. a classifier's digits).
    assigned_labels : (N,) int array, the unsupervised labels (e.g. the categorical code).

    Returns
    -------
    accuracy : float in [0, 1], share of samples whose renamed label equals the true one.
    mapping : {assigned label: true label} that reaches it.

    Examples
    --------
    >>> matching_accuracy(np.array([0, 0, 1, 2]), np.array([2, 2, 0, 1]))
    (1.0, {0: 1, 1: 2, 2: 0})
    """
    truth = np.asarray(true_labels).ravel()
    assigned = np.asarray(assigned_labels).ravel()
    if truth.shape != assigned.shape or truth.size == 0:
        raise ValueError(
            f"label arrays must be non-empty and equally long, got {truth.shape} and {assigned.shape}")
    assigned_values, assigned_index = np.unique(assigned, return_inverse=True)
    true_values, true_index = np.unique(truth, return_inverse=True)
    counts = np.zeros((len(assigned_values), len(true_values)), dtype=np.int64)
    np.add.at(counts, (assigned_index, true_index), 1)
    rows, cols = optimize.linear_sum_assignment(counts, maximize=True)
    mapping = {int(assigned_values[r]): int(true_values[c]) for r, c in zip(rows, cols, strict=True)}
    return float(counts[rows, cols].sum() / truth.size), mapping


def class_histogram(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Share of samples in each class, for mode coverage.

    Parameters
    ----------
    labels : (N,) int array with values in [0, num_classes).

    Returns
    -------
    (num_classes,) float array summing to 1 (all zero for N = 0).
    """
    labels = np.asarray(labels).ravel().astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got range [{labels.min()}, {labels.max()}]")
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    return counts / max(labels.size, 1)
