"""Calibration and peak-controlled generation on an InfoGAN whose code-to-peak relation is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from matgan.core.variants import build_variant
from matgan.errors import MatganError
from matgan.vibration import generate as gen
from matgan.vibration.gan import infogan_config, model_freqs

N_BINS, FS = 128, 12000.0
DF = FS / (2 * N_BINS)


def true_peak_hz(code: np.ndarray, class_index: int = 0) -> np.ndarray:
    """The stub's law: the peak falls with the code, non-linearly, a little lower for class 1."""
    return 5000.0 - 3500.0 * ((np.asarray(code) + 1) / 2) ** 1.7 - 150.0 * class_index


class PeakStub(nn.Module):
    """A 'generator' drawing one Gaussian peak at true_peak_hz(code) on a -1 floor, plus weak noise."""

    def __init__(self, z_dim: int, n_cat: int):
        super().__init__()
        self.z_dim, self.n_cat = z_dim, n_cat
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        z, cat = latent[:, : self.z_dim], latent[:, self.z_dim : self.z_dim + self.n_cat].argmax(1)
        code = latent[:, self.z_dim + self.n_cat]
        centre = torch.from_numpy(np.stack([true_peak_hz(c, k) for c, k in zip(code.numpy(), cat.numpy())]))
        freqs = torch.arange(N_BINS) * DF
        peak = torch.exp(-(((freqs[None] - centre[:, None].float()) / (2 * DF)) ** 2))
        return (-1 + 1.8 * peak + 0.02 * z[:, :1]).clamp(-1, 1)[:, None]


@pytest.fixture
def stub_model():
    variant = build_variant("infogan", infogan_config(N_BINS, 2, n_cont=2, size="tiny"))
    variant.nets["G"] = PeakStub(variant.config.z_dim, 2)
    variant.eval()
    meta = {"domain": "vibration", "class_names": ["normal", "outer"], "shaft_hz": 30.0, "bearing": None,
            "spectrum": {"n_bins": N_BINS, "df_hz": DF, "fs": FS, "db_range": 60.0}}
    meta["calibration"] = gen.calibrate_variant(variant, meta, n_codes=41, samples_per_code=4).to_dict()
    return variant, meta


def test_calibration_recovers_known_relation(stub_model):
    _, meta = stub_model
    cal = gen.Calibration.from_dict(meta["calibration"])
    assert cal.code_index == 0  # code 1 does nothing: code 0 is chosen
    assert cal.direction == -1 and cal.rho < -0.95
    codes = np.linspace(-1, 1, 9)
    for k in (0, 1):
        assert np.abs(cal.hz_for(codes, k) - true_peak_hz(codes, k)).max() <= 1.5 * DF
    lo, hi = cal.range_hz
    # the pooled curve is the median over classes: at code +1 between the two classes' peaks
    assert true_peak_hz(1.0, 1) - DF <= lo <= true_peak_hz(1.0, 0) + DF
    assert true_peak_hz(-1.0, 1) - DF <= hi <= true_peak_hz(-1.0, 0) + DF
    # the inverse: asking for F gives the code whose true peak is F
    for target in (2000.0, 3000.0, 4200.0):
        assert true_peak_hz(cal.code_for(target, 0), 0) == pytest.approx(target, abs=1.5 * DF)


def test_calibration_round_trips_through_dict(stub_model):
    _, meta = stub_model
    cal = gen.Calibration.from_dict(meta["calibration"])
    again = gen.Calibration.from_dict(cal.to_dict())
    assert np.array_equal(again.peak_hz, cal.peak_hz) and again.per_class.keys() == cal.per_class.keys()


@pytest.mark.parametrize("word", ["low", "mid", "high"])
def test_peak_words_land_in_their_third(stub_model, word):
    variant, meta = stub_model
    out = gen.generate(variant, meta, 200, word, seed=1)
    lo, hi = gen.Calibration.from_dict(meta["calibration"]).band(word)
    assert np.mean((out["peak_hz"] >= lo) & (out["peak_hz"] <= hi)) >= 0.95
    assert out["spectra"].shape == (200, N_BINS) and out["codes"].shape == (200, 2)
    assert np.array_equal(out["freqs"], model_freqs(meta))


def test_peak_in_hz_and_class(stub_model):
    variant, meta = stub_model
    out = gen.generate(variant, meta, 50, 2400.0, class_name="outer", seed=2)
    assert np.all(out["class"] == 1)
    assert np.median(np.abs(out["peak_hz"] - 2400.0)) <= DF
    again = gen.generate(variant, meta, 50, 2400.0, class_name="outer", seed=2)
    assert np.array_equal(out["spectra"], again["spectra"])  # seeded


def test_bad_peak_requests(stub_model):
    variant, meta = stub_model
    with pytest.raises(MatganError, match="outside the range"):
        gen.generate(variant, meta, 4, 100.0)
    with pytest.raises(MatganError, match="--class 'gear'"):
        gen.generate(variant, meta, 4, "low", class_name="gear")
    for text in ("medium", "Hz", "-5Hz", "fast"):
        with pytest.raises(MatganError, match="--peak"):
            gen.parse_peak(text)
    assert gen.parse_peak("2400Hz") == 2400.0 and gen.parse_peak("2.4kHz") == 2400.0
    assert gen.parse_peak("HIGH") == "high"


def test_abnormal_draws_only_fault_classes():
    rng = np.random.default_rng(0)
    idx = gen.class_indices("abnormal", ["normal", "outer", "inner", "ball"], 400, rng)
    assert set(np.unique(idx)) == {1, 2, 3}


def test_plot_files(stub_model, tmp_path):
    variant, meta = stub_model
    out = gen.generate(variant, meta, 4, "mid", seed=0)
    meta = dict(meta, bearing={"n_balls": 9, "ball_diameter": 0.3126, "pitch_diameter": 1.537,
                               "contact_angle_deg": 0.0})
    lines = [gen.defect_lines(name, meta) for name in ("normal", "outer", "normal", "outer")]
    assert lines[0] == [] and lines[1][0][0] == pytest.approx(3.5848 * 30.0, abs=0.01)
    path = gen.plot_spectra(tmp_path / "s.png", out["spectra"], out["freqs"], ["a", "b", "c", "d"],
                            peaks=out["peak_hz"], lines=lines)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cal = gen.Calibration.from_dict(meta["calibration"])
    assert gen.plot_calibration(cal, tmp_path / "c.png").stat().st_size > 1000
