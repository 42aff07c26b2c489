"""`matgan vibration ...` end to end through click: files written, one-line errors, exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.io as sio
from click.testing import CliRunner

from matgan.cli import main
from matgan.io import read_hdf5


def run(*args: str):
    result = CliRunner().invoke(main, ["vibration", *args])
    return result, result.output


def last_json(output: str) -> dict:
    line = [line for line in output.splitlines() if '{"' in line][-1]  # stderr's progress bar may share it
    return json.loads(line[line.index('{"'):])


def test_generate_with_default_model(tmp_path):
    out, csv, png = tmp_path / "g.h5", tmp_path / "g.csv", tmp_path / "g.png"
    result, output = run("generate", "--peak", "high", "-n", "40", "--seed", "3", "-o", str(out),
                         "--csv", str(csv), "--plot", str(png))
    assert result.exit_code == 0, output
    arrays, attrs = read_hdf5(out)
    assert arrays["spectra"].shape[0] == 40 and arrays["spectra"].shape[1] == arrays["freqs"].shape[0]
    lo, hi = attrs["range_hz"]
    third = (lo + 2 * (hi - lo) / 3, hi)
    assert np.mean((arrays["peak_hz"] >= third[0]) & (arrays["peak_hz"] <= third[1])) >= 0.9
    assert {"class", "codes", "target_hz", "peak_hz"} <= set(arrays)
    rows = csv.read_text().splitlines()
    assert len(rows) == 41 and rows[0].startswith("class,peak_hz,target_hz,code0")
    assert png.read_bytes()[:4] == b"\x89PNG"
    # refuses to overwrite without --overwrite, and says so in one line
    result, output = run("generate", "--peak", "low", "-o", str(out))
    assert result.exit_code == 2 and output.strip().count("\n") == 0 and "exists already" in output


def test_generate_peak_in_hz_and_class(tmp_path):
    result, output = run("generate", "--peak", "low", "-n", "4", "-o", str(tmp_path / "lo.h5"))
    assert result.exit_code == 0, output
    lo, hi = read_hdf5(tmp_path / "lo.h5")[1]["range_hz"]
    target = 0.5 * (lo + hi)
    result, output = run("generate", "--peak", f"{target:.0f}Hz", "--class", "outer", "-n", "20",
                         "-o", str(tmp_path / "f.h5"))
    assert result.exit_code == 0, output
    arrays, attrs = read_hdf5(tmp_path / "f.h5")
    assert np.all(arrays["class"] == attrs["class_names"].index("outer") if isinstance(attrs["class_names"], list)
                  else json.loads(attrs["class_names"]).index("outer"))
    assert np.median(np.abs(arrays["peak_hz"] - target)) < 0.1 * (hi - lo)


@pytest.mark.parametrize("args, message", [
    (["--peak", "medium"], "--peak 'medium'"),
    (["--peak", "high", "--class", "gear"], "--class 'gear'"),
    (["--peak", "99999Hz"], "outside the range"),
])
def test_generate_bad_input(tmp_path, args, message):
    out = tmp_path / "x.h5"
    result, output = run("generate", *args, "-o", str(out))
    assert result.exit_code == 2 and message in output and output.startswith("error: ")
    assert len(output.strip().splitlines()) == 1 and not out.exists()


def test_spectra_command_errors(tmp_path):
    no_series = tmp_path / "12k_Drive_End_IR007_0_105.mat"
    sio.savemat(no_series, {"X105RPM": np.array([[1797]])})
    result, output = run("spectra", str(no_series), "-o", str(tmp_path / "s.h5"))
    assert result.exit_code == 2 and "no DE time series" in output and str(no_series) in output
    normal = tmp_path / "normal_0_97.mat"
    sio.savemat(normal, {"X097_DE_time": np.zeros((9000, 1))})
    result, output = run("spectra", str(normal), "--fs", "12000", "-o", str(tmp_path / "s.h5"))
    assert result.exit_code == 2 and "wrong sampling rate" in output
    assert not (tmp_path / "s.h5").exists()


def test_synth_train_generate_evaluate_tiny(tmp_path):
    data, run_dir = tmp_path / "synth.h5", tmp_path / "run"
    result, output = run("synth", "-n", "256", "--bins", "64", "--seed", "1", "-o", str(data),
                         "--plot", str(tmp_path / "synth.png"))
    assert result.exit_code == 0, output
    arrays, attrs = read_hdf5(data)
    assert arrays["spectra"].shape == (256, 64) and attrs["seed"] == 1 and attrs["fs"] == 12000.0
    result, output = run("train", str(data), "--size", "tiny", "--steps", "6", "--batch-size", "32",
                         "--out", str(run_dir), "--device", "cpu")
    assert result.exit_code == 0, output
    assert (run_dir / "model.pt").is_file() and (run_dir / "calibration.png").is_file()
    assert "calibration" in last_json(output)
    result, output = run("train", str(data), "--size", "tiny", "--steps", "6", "--out", str(run_dir))
    assert result.exit_code == 2 and "--resume" in output
    result, output = run("train", str(data), "--size", "tiny", "--steps", "9", "--batch-size", "32",
                         "--out", str(run_dir), "--resume")
    assert result.exit_code == 0, output
    assert last_json(output)["step"] == 9
    result, output = run("generate", "--model", str(run_dir), "--peak", "mid", "-n", "8", "-o",
                         str(tmp_path / "g.h5"))
    assert result.exit_code == 0, output
    assert read_hdf5(tmp_path / "g.h5")[0]["spectra"].shape == (8, 64)
    result, output = run("evaluate", str(run_dir), "--real", str(data), "-n", "60", "--classifier-steps", "5")
    assert result.exit_code == 0, output
    scores = last_json(output)
    assert 0 <= scores["control"]["abs_spearman_rho"] <= 1
    assert set(scores["control"]["in_band_share"]) == {"low", "mid", "high"}
    assert scores["fidelity"]["frechet_real_vs_real"] >= 0 and 0 <= scores["fidelity"]["class_accuracy_generated"] <= 1


def test_evaluate_rejects_other_files(tmp_path):
    bogus = tmp_path / "model.pt"
    bogus.write_bytes(b"not a checkpoint")
    result, output = run("evaluate", str(bogus))
    assert result.exit_code == 2 and str(bogus) in output


@pytest.mark.parametrize("args, message", [
    (["-n", "0"], "-n must be at least 1"),
    (["--classes", "normal,gear"], "unknown class"),
    (["--fs", "-1"], "fs and duration_s must be positive"),
    (["--bins", "4096"], "--bins 4096 needs records"),
    (["--window", "nonsense"], "--window 'nonsense'"),
])
def test_synth_bad_input(tmp_path, args, message):
    out = tmp_path / "s.h5"
    result, output = run("synth", *args, "-o", str(out))
    assert result.exit_code == 2 and message in output and not out.exists()
