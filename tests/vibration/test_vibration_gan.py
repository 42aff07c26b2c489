"""The spectra InfoGAN set-up: data scaling, the supervised peak code, model files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from matgan.core.variants import build_variant
from matgan.errors import MatganError
from matgan.vibration.dataset import SpectrumOptions, synth_dataset, write_spectra
from matgan.vibration.gan import infogan_config, load_model, model_spectra, spectra_dataset, spectrum_meta


@pytest.fixture
def spectra_file(tmp_path):
    arrays, attrs = synth_dataset(96, options=SpectrumOptions(n_bins=64), seed=2)
    return write_spectra(tmp_path / "s.h5", arrays, attrs), arrays, attrs


def test_dataset_items_and_peak_code(spectra_file):
    path, arrays, _ = spectra_file
    dataset, _, _ = spectra_dataset(path)
    x, label, code = dataset[0]
    assert x.shape == (1, 64) and x.dtype == torch.float32 and float(x.max()) == pytest.approx(1.0)
    assert int(label) == int(arrays["class"][0])
    codes = dataset.tensors[2][:, 0].numpy()
    assert codes.min() == pytest.approx(-1) and codes.max() == pytest.approx(1)
    # the code is the measured peak frequency, linearly
    assert np.corrcoef(codes, arrays["peak_hz"])[0, 1] == pytest.approx(1.0, abs=1e-6)


def test_supervised_peak_code_trains_q_on_real_targets(spectra_file):
    path, _, _ = spectra_file
    dataset, _, _ = spectra_dataset(path)
    torch.manual_seed(0)
    variant = build_variant("infogan", infogan_config(64, 4, size="tiny"))
    variant.build_optimizers(10)
    batch = tuple(t[:32] for t in dataset.tensors)
    q_before = [p.detach().clone() for p in variant.nets["Q"].parameters()]
    with_targets = variant.train_step(batch)
    without = variant.train_step(batch[:2])
    assert np.isfinite(with_targets["loss_supervised"]) and with_targets["loss_supervised"] != without["loss_supervised"]
    assert any(not torch.equal(a, b) for a, b in zip(q_before, variant.nets["Q"].parameters()))


def test_model_spectra_are_max_normalized(spectra_file):
    _, arrays, attrs = spectra_file
    meta = spectrum_meta(arrays, attrs, "s.h5")
    values = model_spectra(torch.rand(5, 1, 64) * 2 - 1, meta)
    assert values.shape == (5, 64) and np.allclose(values.max(axis=1), 1.0)
    assert meta["spectrum"]["n_bins"] == 64 and meta["spectrum"]["df_hz"] == pytest.approx(12000 / 128)
    assert meta["bearing"]["n_balls"] == 9 and 15 <= meta["shaft_hz"] <= 40


def test_load_model_refuses_non_vibration_checkpoints(tmp_path):
    from matgan.core.checkpoint import save_variant

    variant = build_variant("infogan", infogan_config(64, 4, size="tiny"))
    save_variant(tmp_path / "m.pt", variant, meta={"domain": "mnist"})
    with pytest.raises(MatganError, match="not a calibrated vibration InfoGAN"):
        load_model(tmp_path / "m.pt")
    with pytest.raises(MatganError, match="no such checkpoint"):
        load_model(tmp_path / "missing.pt")
