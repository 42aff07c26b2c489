"""The domain-free metrics against cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from matgan.core.metrics import (
    class_histogram,
    feature_statistics,
    frechet_distance,
    frechet_distance_from_statistics,
    ks_statistic,
    matching_accuracy,
    mmd,
)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    features = np.random.default_rng(0).normal(size=(400, 8))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    # N(m1, diag(s1^2)) vs N(m2, diag(s2^2)): d^2 = |m1 - m2|^2 + sum (s1 - s2)^2
    m1, m2 = np.array([0.0, 1.0, -2.0]), np.array([0.5, 1.0, 0.0])
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([2.0, 1.0, 0.5])
    expected = np.sum((m1 - m2) ** 2) + np.sum((s1 - s2) ** 2)
    got = frechet_distance_from_statistics(m1, np.diag(s1**2), m2, np.diag(s2**2))
    assert got == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_from_samples_approaches_the_population_value():
    rng = np.random.default_rng(1)
    a = rng.normal(0.0, 1.0, size=(20000, 2))
    b = rng.normal(3.0, 1.0, size=(20000, 2))
    assert frechet_distance(a, b) == pytest.approx(18.0, rel=0.03)  # 2 dims x 3^2


def test_frechet_distance_is_symmetric_and_handles_a_singular_covariance():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(300, 4))
    a[:, 3] = a[:, 0]  # rank-deficient covariance
    b = rng.normal(size=(300, 4)) * 1.5
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)
    assert frechet_distance(a, b) > 0


def test_feature_statistics_shapes_and_bad_input():
    mean, cov = feature_statistics(np.ones((5, 3)))
    assert mean.shape == (3,) and cov.shape == (3, 3)
    with pytest.raises(ValueError, match="N >= 2"):
        feature_statistics(np.ones((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        feature_statistics(np.array([[0.0], [np.nan]]))
    with pytest.raises(ValueError, match="do not match"):
        frechet_distance(np.ones((4, 2)), np.ones((4, 3)))


def test_matching_accuracy_recovers_a_permuted_labelling():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 10, size=1000)
    permutation = rng.permutation(10)
    accuracy, mapping = matching_accuracy(truth, permutation[truth])
    assert accuracy == 1.0
    assert all(mapping[int(permutation[d])] == d for d in range(10))


def test_matching_accuracy_counts_the_errors_left_after_matching():
    truth = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    code = np.array([5, 5, 5, 7, 7, 7, 7, 5])  # 5 -> 0, 7 -> 1, two mistakes
    accuracy, mapping = matching_accuracy(truth, code)
    assert accuracy == pytest.approx(6 / 8)
    assert mapping == {5: 0, 7: 1}


def test_matching_accuracy_is_one_to_one():
    # one code for everything can match only one class
    accuracy, _ = matching_accuracy(np.array([0, 1, 2, 3]), np.zeros(4, dtype=int))
    assert accuracy == 0.25


def test_ks_statistic_against_a_distribution_and_a_sample():
    rng = np.random.default_rng(4)
    normal = rng.normal(size=(5000, 3))
    assert np.all(ks_statistic(normal, "norm") < 0.03)
    shifted = normal + np.array([0.0, 0.0, 1.0])
    ks = ks_statistic(shifted, "norm")
    assert ks.shape == (3,) and ks[2] > 0.3 and ks[0] < 0.03
    assert np.all(ks_statistic(normal, rng.normal(size=(4000, 3))) < 0.05)
    assert ks_statistic(np.zeros(100) + 5.0, "norm")[0] == pytest.approx(1.0)


def test_mmd_separates_distributions():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(300, 2)), rng.normal(size=(300, 2))
    far = rng.normal(2.0, 1.0, size=(300, 2))
    assert abs(mmd(a, b)) < 0.02
    assert mmd(a, far) > 0.2
    assert mmd(a, far, bandwidth=1.0) > mmd(a, b, bandwidth=1.0)


def test_class_histogram_sums_to_one_and_checks_range():
    hist = class_histogram(np.array([0, 1, 1, 3]), 4)
    np.testing.assert_allclose(hist, [0.25, 0.5, 0.0, 0.25])
    with pytest.raises(ValueError, match="labels must lie"):
        class_histogram(np.array([0, 4]), 4)
