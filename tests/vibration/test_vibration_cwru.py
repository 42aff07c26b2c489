"""CWRU loader: sampling rates, classes, segments, and one-line errors on bad files."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io as sio

from matgan.errors import MatganError
from matgan.vibration import cwru, spectra, synth
from matgan.vibration.dataset import cwru_dataset


def test_rate_and_class_from_names(tmp_path):
    assert cwru.infer_fs("x/cwru_12k_drive_end/12k_Drive_End_IR007_0_105.mat") == 12000
    assert cwru.infer_fs("48k_Drive_End_B007_0_122.mat") == 48000
    assert cwru.infer_fs("cwru_12k_drive_end/normal_0_97.mat") == 48000  # the baseline is 48 kHz
    assert cwru.infer_fs("record.mat") is None
    assert cwru.class_from_name("12k_Drive_End_OR021@6_0_234.mat") == "outer"
    assert cwru.class_from_name("48k_Drive_End_B007_0_122.mat") == "ball"
    assert cwru.class_from_name("normal_0_97.mat") == "normal"


def _fake_mat(path, **variables):
    sio.savemat(path, variables)
    return path


def test_mat_without_time_series(tmp_path):
    path = _fake_mat(tmp_path / "12k_Drive_End_IR007_0_105.mat", X105RPM=np.array([[1797]]))
    with pytest.raises(MatganError, match="no DE time series") as info:
        cwru.load_record(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_wrong_sampling_rate_refused(tmp_path):
    path = _fake_mat(tmp_path / "normal_0_97.mat", X097_DE_time=np.zeros((5000, 1)))
    with pytest.raises(MatganError, match="wrong sampling rate 12000 Hz.*48000"):
        cwru.load_record(path, fs=12000)
    with pytest.raises(MatganError, match="positive"):
        cwru.load_record(path, fs=-5)
    unknown = _fake_mat(tmp_path / "IR007_x.mat", X1_DE_time=np.zeros((5000, 1)))
    with pytest.raises(MatganError, match="unknown sampling rate"):
        cwru.load_record(unknown)
    assert cwru.load_record(unknown, fs=12000).fs == 12000


def test_not_a_mat_file(tmp_path):
    path = tmp_path / "12k_Drive_End_IR007_0_105.mat"
    path.write_text("hello")
    with pytest.raises(MatganError, match="not a readable MATLAB"):
        cwru.load_record(path)


def test_decimated_48k_record_matches_12k_spectrum(tmp_path):
    t = np.arange(48000) / 48000.0
    x = np.sin(2 * np.pi * 1500.0 * t) + 0.5 * np.sin(2 * np.pi * 9000.0 * t)  # 9 kHz must not alias
    path = _fake_mat(tmp_path / "48k_Drive_End_OR007@6_0_135.mat", X135_DE_time=x[:, None], X135RPM=np.array([[1796]]))
    arrays, attrs = cwru_dataset([path], fs=12000.0)
    assert attrs["file_fs"] == [48000.0]
    assert np.all(np.abs(arrays["peak_hz"] - 1500.0) <= arrays["freqs"][1])
    assert arrays["shaft_hz"][0] == pytest.approx(1796 / 60)
    assert np.all(arrays["class"] == synth.CLASSES.index("outer"))


def test_real_cwru_outer_race_line(cwru_dir):
    record = cwru.load_record(cwru_dir / "cwru_12k_drive_end" / "12k_Drive_End_OR007@6_0_130.mat")
    assert record.fs == 12000 and record.class_name == "outer"
    env, freqs = spectra.envelope_spectrum(record.signal, record.fs, (2000.0, 5000.0), 8192)
    band = (freqs > 20) & (freqs < 300)
    bpfo = synth.defect_orders()["bpfo"] * record.shaft_hz
    assert abs(freqs[band][np.argmax(env[band])] - bpfo) < 2.0  # 107.3 Hz at 1797 rpm


def test_real_cwru_dataset(cwru_dir):
    paths = sorted(cwru_dir.glob("*/*.mat"))
    arrays, attrs = cwru_dataset(paths, fs=12000.0, segment=4096, hop=4096)
    assert arrays["spectra"].shape[1] == 512 and len(arrays["class"]) == len(arrays["spectra"])
    normal = [i for i, name in enumerate(attrs["files"]) if name.startswith("normal")]
    assert attrs["file_fs"][normal[0]] == 48000.0
    assert set(np.unique(arrays["class"])) == {0, 1, 2, 3}
