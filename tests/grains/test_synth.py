"""Virtual micrographs: exact labels, requested sizes, Laguerre weights, options, seeding."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matgan.errors import MatganError
from matgan.grains.measure import jeffries_count
from matgan.grains.synth import (
    SynthParams,
    brute_force_labels,
    draw_tessellation,
    lifted_nearest_labels,
    synthesize,
    tessellation_seeds,
)


@pytest.mark.parametrize("options", [{}, {"dispersion": 0.5}, {"seeds": "hardcore"}, {"lloyd": 2},
                                     {"aspect": 2.0, "angle": 30}, {"periodic": True}, {"twins": 0.3},
                                     {"thickness": 1}, {"thickness": 4}])
def test_labels_and_boundaries_agree(options):
    boundary_map, labels, truth = synthesize(160, 24, seed=3, **options)
    assert boundary_map.dtype == np.uint8 and labels.dtype == np.int32
    assert set(np.unique(boundary_map)) <= {0, 255}
    assert np.array_equal(labels == 0, boundary_map == 0)
    ids = np.unique(labels[labels > 0])
    assert np.array_equal(ids, np.arange(1, labels.max() + 1))
    assert truth["n_grains"] == labels.max()
    # every id is one 4-connected region: relabelling finds the same number
    import cv2

    n, _ = cv2.connectedComponents((labels > 0).astype(np.uint8), connectivity=4)
    assert n - 1 == labels.max()


def test_same_seed_same_micrograph_other_seed_other():
    a = synthesize(96, 20, seed=5, dispersion=0.3)[0]
    assert np.array_equal(a, synthesize(96, 20, seed=5, dispersion=0.3)[0])
    assert not np.array_equal(a, synthesize(96, 20, seed=6, dispersion=0.3)[0])


@pytest.mark.parametrize("grain_size", [20.0, 40.0])
def test_count_and_mean_size_follow_request(grain_size):
    size = 384
    counts, diameters = [], []
    for seed in range(4):
        _, labels, _ = synthesize(size, grain_size, seed=seed)
        n = jeffries_count(labels)[2]
        counts.append(n)
        diameters.append(math.sqrt(4 * size * size / n / math.pi))
    expected = size * size / (math.pi * grain_size**2 / 4)
    assert abs(np.mean(counts) / expected - 1) < 0.12
    assert abs(np.mean(diameters) / grain_size - 1) < 0.06


def test_n_grains_sets_the_count():
    _, labels, _ = synthesize(256, n_grains=50, seed=1, lloyd=2)
    assert 40 <= jeffries_count(labels)[2] <= 60


def test_tessellation_matches_brute_force_power_diagram():
    params = SynthParams((96, 96), 24.0, dispersion=0.6, thickness=1).validated()
    points, weights, to_cell = tessellation_seeds(params, np.random.default_rng(2))
    _, regions = draw_tessellation(points, weights, params, to_cell)
    owner = brute_force_labels(points, weights, (96, 96))
    assert np.array_equal(owner, lifted_nearest_labels(points, weights, (96, 96)))
    # away from drawn boundaries, every drawn region is one power cell and vice versa
    import cv2

    interior = cv2.erode((regions > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    pairs = np.unique(np.stack([regions[interior], owner[interior]]), axis=1)
    assert len(np.unique(pairs[0])) == pairs.shape[1]
    assert len(np.unique(pairs[1])) == pairs.shape[1]


def test_laguerre_weights_change_sizes():
    params = SynthParams((256, 256), 32.0, dispersion=0.8, thickness=1).validated()
    points, weights, to_cell = tessellation_seeds(params, np.random.default_rng(0))
    owner = lifted_nearest_labels(points, weights, (256, 256))
    area = np.bincount(owner.ravel(), minlength=len(points)).astype(float)
    inside = (points[:, 0] > 40) & (points[:, 0] < 216) & (points[:, 1] > 40) & (points[:, 1] < 216)
    # bigger weight, bigger cell
    rho = np.corrcoef(weights[inside], area[inside])[0, 1]
    assert rho > 0.6
    spread = [np.std(np.log(np.bincount(synthesize(256, 32, seed=s, dispersion=d)[1].ravel())[1:] + 1.0))
              for d in (0.0, 0.8) for s in (0,)]
    assert spread[1] > spread[0] * 1.2


def test_anisotropy_elongates_grains():
    from matgan.grains.measure import grain_table

    _, labels, _ = synthesize(256, 24, seed=0, aspect=3.0, angle=0.0)
    table = grain_table(labels)
    big = table["area_px"] > 100
    assert np.median(table["aspect_ratio"][big]) > 2.0
    assert np.median(np.abs(table["orientation_deg"][big])) < 20


def test_periodic_images_tile():
    def edges_match(first, last):
        near = np.convolve(last.astype(float), np.ones(5), "same") > 0
        return (first & near).sum() / max(first.sum(), 1)

    periodic, plain = [], []
    for seed in range(3):
        b = synthesize(128, 24, seed=seed, periodic=True, thickness=1)[0] == 0
        p = synthesize(128, 24, seed=seed, thickness=1)[0] == 0
        periodic += [edges_match(b[:, 0], b[:, -1]), edges_match(b[0], b[-1])]
        plain += [edges_match(p[:, 0], p[:, -1]), edges_match(p[0], p[-1])]
    assert np.mean(periodic) > 0.8 > 0.5 > np.mean(plain)


def test_truth_record_g_with_pixel_size():
    _, labels, truth = synthesize(256, 32, seed=0, pixel_size_um=2.0)
    n = jeffries_count(labels)[2]
    n_a = n / (256 * 256 * (2.0 / 1000) ** 2)
    assert truth["N_A"] == pytest.approx(n_a)
    assert truth["G_planimetric"] == pytest.approx(3.321928 * math.log10(n_a) - 2.954)


@pytest.mark.parametrize("bad", [{"grain_size": 1}, {"dispersion": -1}, {"seeds": "poisson-disc"}, {"twins": 2},
                                 {"thickness": 0}])
def test_bad_parameters_raise_one_clear_error(bad):
    kwargs = {"grain_size": 20, **bad}
    with pytest.raises(MatganError):
        synthesize(64, **kwargs)


def test_mixed_render_style_lies_between_its_styles_and_follows_the_seed():
    from dataclasses import fields

    from matgan.grains.render import STYLES, RenderStyle, get_style, render

    names = ("brightfield", "tint", "heavy")
    mixtures = [get_style("+".join(names), seed) for seed in range(20)]
    for field in fields(RenderStyle):
        values = [getattr(STYLES[n], field.name) for n in names]
        drawn = [getattr(m, field.name) for m in mixtures]
        assert all(min(values) <= v <= max(values) for v in drawn), field.name
        if min(values) < max(values):  # the space between is filled, not just its corners
            assert len(set(drawn)) > 10, field.name
    assert get_style("tint+heavy", 3) == get_style("tint+heavy", 3) != get_style("tint+heavy", 4)
    _, labels, _ = synthesize(64, 12, seed=1)
    assert np.array_equal(render(labels, "tint+heavy", seed=5), render(labels, "tint+heavy", seed=5))
    with pytest.raises(MatganError, match="glossy"):
        get_style("tint+glossy")
