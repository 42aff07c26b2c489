"""Defect-frequency formulas, synthetic fault signatures and spectrum amplitudes."""

from __future__ import annotations

import numpy as np
import pytest

from matgan.vibration import spectra, synth
from matgan.vibration.dataset import SpectrumOptions, synth_dataset


def test_cwru_6205_defect_orders():
    orders = synth.defect_orders(synth.CWRU_DRIVE_END)
    assert orders["bpfi"] == pytest.approx(5.4152, abs=5e-4)
    assert orders["bpfo"] == pytest.approx(3.5848, abs=5e-4)
    assert orders["ftf"] == pytest.approx(0.3983, abs=5e-4)
    assert orders["bsf"] == pytest.approx(2.357, abs=1e-3)


def test_defect_frequencies_scale_with_shaft_speed():
    freqs = synth.defect_frequencies(np.array([10.0, 29.93]))
    assert freqs["bpfo"][1] == pytest.approx(107.3, abs=0.1)  # SOURCES.md: 107.3 Hz at 29.93 Hz
    assert freqs["bpfi"][1] / freqs["bpfi"][0] == pytest.approx(2.993)


def test_contact_angle_lowers_outer_race_frequency():
    tilted = synth.BearingGeometry(9, 0.3126, 1.537, contact_angle_deg=40.0)
    assert synth.defect_orders(tilted)["bpfo"] > synth.defect_orders()["bpfo"]  # cos a < 1: larger BPFO
    with pytest.raises(ValueError):
        synth.BearingGeometry(9, 2.0, 1.0)


@pytest.mark.parametrize("window", ["hann", "flattop", "boxcar"])
def test_pure_sine_amplitude_read_back(window):
    fs, n_bins, amplitude = 12000.0, 512, 0.37
    freq = 100 * fs / (2 * n_bins)  # on a bin centre
    t = np.arange(8192) / fs
    amp, freqs = spectra.amplitude_spectrum(amplitude * np.sin(2 * np.pi * freq * t + 0.3), fs, n_bins, window)
    assert freqs.shape == (n_bins,) and freqs[1] == pytest.approx(fs / (2 * n_bins))
    assert freqs[np.argmax(amp)] == pytest.approx(freq)
    assert amp.max() == pytest.approx(amplitude, rel=1e-3)


def test_off_bin_sine_with_flattop_and_dc():
    fs = 1000.0
    t = np.arange(4096) / fs
    amp, freqs = spectra.amplitude_spectrum(0.5 + 2.0 * np.cos(2 * np.pi * 123.4 * t), fs, 256, "flattop")
    assert amp.max() == pytest.approx(2.0, rel=0.01)  # flat-top: no scalloping loss
    assert amp[0] == pytest.approx(0.5, rel=0.01)


def test_spectrum_rejects_short_records():
    with pytest.raises(ValueError, match="too short"):
        spectra.amplitude_spectrum(np.zeros(100), 1000.0, 512)


@pytest.mark.parametrize("class_name", ["outer", "inner"])
def test_fault_line_in_envelope_spectrum(class_name):
    config = synth.SynthConfig(duration_s=2.0, classes=(class_name,))
    records, params = synth.synth_signals(3, config, seed=4)
    for record, fn, defect_hz in zip(records, params["resonance_hz"], params["defect_hz"]):
        env, freqs = spectra.envelope_spectrum(record, config.fs, (0.7 * fn, min(1.3 * fn, 5900.0)), 4096)
        df = freqs[1]
        near = np.abs(freqs - defect_hz) <= 2 * df
        band = (freqs > 5) & (freqs < 500)
        # the defect line stands far above the envelope spectrum's floor
        assert env[near].max() > 8 * np.median(env[band])


def test_normal_class_has_no_defect_line():
    config = synth.SynthConfig(duration_s=2.0, classes=("normal",))
    records, params = synth.synth_signals(2, config, seed=5)
    for record, fn, fr in zip(records, params["resonance_hz"], params["shaft_hz"]):
        env, freqs = spectra.envelope_spectrum(record, config.fs, (0.7 * fn, min(1.3 * fn, 5900.0)), 4096)
        near = np.abs(freqs - synth.defect_orders()["bpfo"] * fr) <= 2 * freqs[1]
        assert env[near].max() < 5 * np.median(env[(freqs > 5) & (freqs < 500)])


def test_synth_dataset_seeded_and_peak_follows_resonance():
    a, attrs = synth_dataset(60, options=SpectrumOptions(n_bins=256), seed=7)
    b, _ = synth_dataset(60, options=SpectrumOptions(n_bins=256), seed=7)
    c, _ = synth_dataset(60, options=SpectrumOptions(n_bins=256), seed=8)
    assert np.array_equal(a["spectra"], b["spectra"]) and not np.array_equal(a["spectra"], c["spectra"])
    assert a["spectra"].shape == (60, 256) and a["spectra"].dtype == np.float32
    assert a["spectra"].max(axis=1) == pytest.approx(np.ones(60))  # "max" normalization
    assert a["freqs"][-1] < attrs["fs"] / 2
    assert set(np.unique(a["class"])) <= {0, 1, 2, 3}
    lo, hi = synth.SynthConfig().resonance_hz
    assert np.all((a["resonance_hz"] >= lo) & (a["resonance_hz"] <= hi))
    # the dominant peak is the resonance hump (within a few bins)
    assert np.median(np.abs(a["peak_hz"] - a["resonance_hz"])) < 4 * a["freqs"][1]
    assert attrs["seed"] == 7 and attrs["window"] == "hann" and attrs["normalization"] == "max"


def test_gan_scale_round_trip():
    rng = np.random.default_rng(0)
    amp = rng.uniform(1e-3, 1.0, size=(5, 64))
    unit = spectra.to_gan_scale(amp)
    assert unit.dtype == np.float32 and unit.min() >= -1 and unit.max() == pytest.approx(1.0)
    back = spectra.from_gan_scale(unit)
    assert np.allclose(back, spectra.normalize(amp), rtol=1e-4)


def test_dominant_peak_respects_min_hz():
    freqs = np.arange(8) * 10.0
    amp = np.array([[9, 1, 2, 5, 1, 1, 1, 1]], dtype=float)
    assert spectra.dominant_peak(amp, freqs)[0] == 0.0
    assert spectra.dominant_peak(amp, freqs, min_hz=15)[0] == 30.0


def test_gear_mesh_lines():
    config = synth.SynthConfig(duration_s=1.0, classes=("normal",), gear_teeth=20, gear_g=0.5)
    records, params = synth.synth_signals(1, config, seed=3)
    amp, freqs = spectra.amplitude_spectrum(records[0], config.fs, 2048)
    mesh = 20 * params["shaft_hz"][0]
    near = np.abs(freqs - mesh) <= 2 * freqs[1]
    assert amp[near].max() > 0.3  # a 0.5 g line (Hann scalloping costs at most 15 %)
