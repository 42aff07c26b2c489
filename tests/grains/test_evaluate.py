"""Scores against truth: perfect on truth itself, falling as boundaries move; baselines run."""

from __future__ import annotations

import numpy as np
import pytest

from matgan.grains.baselines import METHODS, segment_classical
from matgan.grains.evaluate import adjusted_rand_index, boundary_scores, score, variation_of_information
from matgan.grains.measure import labels_from_boundaries
from matgan.grains.render import render
from matgan.grains.synth import synthesize
from matgan.io import to_gray_float


@pytest.fixture(scope="module")
def truth():
    return synthesize(192, 24, seed=4)


def test_truth_against_itself_is_perfect(truth):
    _, labels, _ = truth
    s = score(labels, labels)
    assert s["f1"] == s["precision"] == s["recall"] == 1.0
    assert s["ari"] == pytest.approx(1.0)
    assert s["vi"] == pytest.approx(0.0, abs=1e-9)
    assert s["count_error"] == 0 and s["G_error"] == 0


def test_f1_falls_as_boundaries_shift(truth):
    boundary_map, labels, _ = truth
    f1 = []
    for shift in (0, 1, 2, 3, 5, 8):
        moved = labels_from_boundaries(np.roll(boundary_map, shift, axis=1))
        f1.append(boundary_scores(moved, labels, tolerance=2)["f1"])
    assert f1[0] == 1.0 and f1[1] > 0.95 and f1[2] > 0.9  # within tolerance
    assert all(a >= b for a, b in zip(f1, f1[1:]))
    assert f1[-1] < 0.5


def test_grain_scores_detect_merges_and_random_partitions(truth):
    _, labels, _ = truth
    merged = labels.copy()
    merged[merged % 2 == 0] = 0  # half the grains vanish into boundary: neighbours absorb them
    assert adjusted_rand_index(merged, labels) < 0.9
    assert variation_of_information(merged, labels) > 0.3
    rng = np.random.default_rng(0)
    random_blocks = rng.integers(1, 50, labels.shape).astype(np.int32)  # independent of the truth
    assert abs(adjusted_rand_index(random_blocks, labels)) < 0.1


def test_count_error_and_g_error():
    one = np.ones((100, 100), np.int32)
    two = one.copy()
    two[:, 50:] = 2
    two[:, 50] = 0
    s = score(one, two)
    assert s["n_true"] == 1.0 and s["n_pred"] == 0.5  # both grains touch the edge: 1/2 each
    assert s["count_error"] == pytest.approx(0.5)
    assert s["G_error"] == pytest.approx(1.0, abs=1e-3)  # half the grains: one G number


@pytest.mark.parametrize("method", sorted(METHODS))
def test_classical_baselines_beat_chance_on_rendered_images(truth, method):
    _, labels, _ = truth
    image = to_gray_float(render(labels, "brightfield", seed=1))
    pred = segment_classical(image, method)
    assert pred.shape == labels.shape and pred.dtype == np.int32
    assert score(pred, labels)["f1"] > 0.25
