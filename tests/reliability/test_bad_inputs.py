"""Readers fed truncated, empty, random-byte and wrong-type files: one clear line, never a traceback."""

import io as _io
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matgan.errors import MatganError
from matgan.io import read_hdf5, read_image, write_hdf5, write_image

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _valid_png(tmp_path) -> bytes:
    path = tmp_path / "ok.png"
    write_image(path, (np.arange(64 * 64) % 251).astype(np.uint8).reshape(64, 64))
    return path.read_bytes()


def _assert_one_line(exc: MatganError, path) -> None:
    message = str(exc)
    assert "\n" not in message and str(path) in message


@FUZZ
@given(data=st.binary(max_size=2048), suffix=st.sampled_from([".png", ".tif", ".jpg", ".bmp", ".tiff"]))
def test_random_bytes_are_refused_as_images(tmp_path, data, suffix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    try:
        image = read_image(path)
    except MatganError as exc:
        _assert_one_line(exc, path)
    else:  # some byte strings are valid images; then they must look like one
        assert image.ndim in (2, 3) and image.dtype in (np.uint8, np.uint16)


@FUZZ
@given(fraction=st.floats(0.0, 0.95))
def test_truncated_png_is_refused(tmp_path, fraction):
    data = _valid_png(tmp_path)
    path = tmp_path / "cut.png"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(MatganError) as info:
        read_image(path)
    _assert_one_line(info.value, path)


def test_empty_missing_and_wrong_type_images(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("these are my notes, not a micrograph\n")
    archive = tmp_path / "data.tif"
    archive.write_bytes(zlib.compress(b"x" * 1000))
    for path, words in [(empty, "empty"), (text, "not a readable image"), (archive, "not a readable image"),
                        (tmp_path / "missing.png", "no such file")]:
        with pytest.raises(MatganError, match=words) as info:
            read_image(path)
        _assert_one_line(info.value, path)


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes_are_refused_as_hdf5(tmp_path, data):
    path = tmp_path / "random.h5"
    path.write_bytes(data)
    with pytest.raises(MatganError) as info:
        read_hdf5(path)
    _assert_one_line(info.value, path)


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9])
def test_truncated_hdf5_is_refused(tmp_path, fraction):
    good = tmp_path / "good.h5"
    write_hdf5(good, {"spectra": np.random.default_rng(0).random((64, 256)).astype(np.float32)}, {"fs": 12000})
    data = good.read_bytes()
    path = tmp_path / "cut.h5"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(MatganError) as info:
        read_hdf5(path, ["spectra"])
    _assert_one_line(info.value, path)


def test_hdf5_without_the_needed_dataset_names_it(tmp_path):
    path = tmp_path / "other.h5"
    write_hdf5(path, {"images": np.zeros((2, 4, 4), np.uint8)})
    with pytest.raises(MatganError, match="missing dataset.*spectra.*has images"):
        read_hdf5(path, ["spectra"])


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes_are_refused_as_cwru_records(tmp_path, data):
    from matgan.vibration.cwru import load_record

    path = tmp_path / "12k_Drive_End_IR007_0_105.mat"
    path.write_bytes(data)
    with pytest.raises(MatganError) as info:
        load_record(path)
    _assert_one_line(info.value, path)


def test_mat_file_without_a_time_series_is_refused(tmp_path):
    import scipy.io

    from matgan.vibration.cwru import load_record

    path = tmp_path / "12k_Drive_End_IR007_0_105.mat"
    buffer = _io.BytesIO()
    scipy.io.savemat(buffer, {"X105RPM": np.array([[1797]]), "notes": np.zeros((3, 3))})
    path.write_bytes(buffer.getvalue())
    with pytest.raises(MatganError) as info:
        load_record(path)
    _assert_one_line(info.value, path)
