"""The IDX reader on files the test writes, the folder search, and the real files when present."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from matgan.errors import MatganError
from matgan.mnist.data import load_mnist, read_idx, split_halves, write_idx

SHARED_MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"


def _write_split(folder: Path, split: str, n: int, compress: bool = True, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    stem = "train" if split == "train" else "t10k"
    suffix = ".gz" if compress else ""
    write_idx(folder / f"{stem}-images-idx3-ubyte{suffix}", images)
    write_idx(folder / f"{stem}-labels-idx1-ubyte{suffix}", labels)
    return images, labels


@pytest.mark.parametrize("compress", [True, False])
def test_idx_round_trip_gzip_and_raw(tmp_path, compress):
    images, labels = _write_split(tmp_path, "train", 7, compress)
    got_images, got_labels = load_mnist("train", tmp_path)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    assert got_images.dtype == np.uint8 and got_images.shape == (7, 28, 28)


def test_idx_header_is_the_standard_one(tmp_path):
    path = write_idx(tmp_path / "x-idx3-ubyte.gz", np.zeros((3, 28, 28), np.uint8))
    raw = gzip.decompress(path.read_bytes())
    assert int.from_bytes(raw[:4], "big") == 2051  # the magic number of MNIST image files
    assert [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(3)] == [3, 28, 28]


def test_idx_reads_big_endian_wider_types(tmp_path):
    values = np.arange(-3, 3, dtype=np.int32).reshape(2, 3)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "v.idx", values)), values)


def test_limit_keeps_the_first_digits(tmp_path):
    images, labels = _write_split(tmp_path, "test", 9)
    got_images, got_labels = load_mnist("test", tmp_path, limit=4)
    np.testing.assert_array_equal(got_images, images[:4])
    np.testing.assert_array_equal(got_labels, labels[:4])


def test_missing_files_say_where_to_put_them(tmp_path):
    with pytest.raises(MatganError, match=r"not found; put the MNIST files .* in .*--data-dir"):
        load_mnist("train", tmp_path)
    with pytest.raises(MatganError, match="no such folder"):
        load_mnist("train", tmp_path / "nowhere")


def test_environment_variable_names_the_folder(tmp_path, monkeypatch):
    _write_split(tmp_path / "mnist", "test", 3)
    monkeypatch.setenv("MATGAN_DATA", str(tmp_path))
    assert load_mnist("test")[0].shape == (3, 28, 28)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "bad header"), (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01", "needs 5"), (b"\x1f\x8bxx", "gzip")],
)
def test_broken_files_give_one_line_naming_the_file(tmp_path, content, problem):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(MatganError, match=problem) as info:
        read_idx(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_labels_must_match_images(tmp_path):
    _write_split(tmp_path, "train", 5)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(MatganError, match="4 labels for 5 images"):
        load_mnist("train", tmp_path)


def test_split_halves_are_disjoint_and_seeded():
    first, second = split_halves(101, seed=3)
    assert len(first) == 50 and len(second) == 51
    assert not set(first) & set(second) and set(first) | set(second) == set(range(101))
    np.testing.assert_array_equal(split_halves(101, seed=3)[0], first)
    assert not np.array_equal(split_halves(101, seed=4)[0], first)


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="../shared/data/mnist is absent")
def test_the_real_files_have_the_standard_content():
    test_images, test_labels = load_mnist("test", SHARED_MNIST)
    assert test_images.shape == (10000, 28, 28)
    assert list(test_labels[:8]) == [7, 2, 1, 0, 4, 1, 4, 9]
    train_images, train_labels = load_mnist("train", SHARED_MNIST, limit=8)
    assert list(train_labels) == [5, 0, 4, 1, 9, 2, 1, 3]


def _mirror(tmp_path, monkeypatch, corrupt: str | None = None) -> Path:
    """A local 'mirror' (file:// URL) serving four small MNIST files, with their md5s installed."""
    import hashlib

    from matgan.mnist import data

    source = tmp_path / "mirror"
    for split in ("train", "test"):
        _write_split(source, split, 5)
    sums = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in source.iterdir()}
    if corrupt:
        sums[corrupt] = "0" * 32
    monkeypatch.setattr(data, "MD5", sums)
    monkeypatch.setattr(data, "MIRRORS", (source.as_uri() + "/",))
    return source


def test_download_fetches_and_checks_the_files(tmp_path, monkeypatch):
    _mirror(tmp_path, monkeypatch)
    images, labels = load_mnist("test", tmp_path / "fresh", download=True)
    assert images.shape == (5, 28, 28) and len(labels) == 5
    assert len(list((tmp_path / "fresh").glob("*.gz"))) == 4


def test_a_bad_checksum_leaves_nothing_behind(tmp_path, monkeypatch):
    _mirror(tmp_path, monkeypatch, corrupt="t10k-images-idx3-ubyte.gz")
    with pytest.raises(MatganError, match="t10k-images-idx3-ubyte.gz: download failed .*checksum mismatch"):
        load_mnist("test", tmp_path / "fresh", download=True)
    assert not (tmp_path / "fresh" / "t10k-images-idx3-ubyte.gz").exists()
    assert not list((tmp_path / "fresh").glob(".*.tmp"))
