"""MNIST from the four standard IDX files (gzip or raw), found in a folder or downloaded with checksums.

Plain NumPy: `load_mnist("train")` returns uint8 images (N, 28, 28), 0 = background, 255 = ink,
and uint8 labels (N,) in 0..9. The folder is `data_dir`, else `$MATGAN_DATA/mnist`, else the
cache folder `$XDG_CACHE_HOME/matgan/mnist` (default `~/.cache/matgan/mnist`).
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np

from matgan.errors import MatganError
from matgan.io import atomic_path

SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# md5 of the original gzip files (LeCun et al.), as torchvision verifies them
MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",)

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzip-compressed or raw).

    Returns
    -------
    array with the shape and type the header states, e.g. (N, 28, 28) uint8 for images and
    (N,) uint8 for labels.

    Raises
    ------
    MatganError
        one line naming the file when it is missing, truncated or not IDX.
    """
    path = Path(path)
    if not path.is_file():
        raise MatganError(f"{path}: no such file")
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise MatganError(f"{path}: not a readable gzip file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise MatganError(f"{path}: not an IDX file (bad header {raw[:4].hex() or 'empty'})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise MatganError(f"{path}: IDX header cut short")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise MatganError(f"{path}: IDX data has {len(raw) - header} bytes, header {shape} needs {expected}")
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write an array as an IDX file, atomically; gzip when `compress` (default: name ends in .gz).

    Supports uint8, int8, int16, int32, float32 and float64 arrays of 1 to 255 dimensions.
    """
    path = Path(path)
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None or not 1 <= array.ndim <= 255:
        raise MatganError(f"{path}: cannot store a {array.dtype} array of shape {array.shape} as IDX")
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    payload = header + np.ascontiguousarray(array, dtype=np.dtype(_IDX_TYPES[code])).tobytes()
    if path.suffix == ".gz" if compress is None else compress:
        payload = gzip.compress(payload, mtime=0)
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    return path


def default_data_dir() -> Path:
    """`$MATGAN_DATA/mnist` when MATGAN_DATA is set, else the user cache folder for MNIST."""
    if os.environ.get("MATGAN_DATA"):
        return Path(os.environ["MATGAN_DATA"]) / "mnist"
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "matgan" / "mnist"


def _find_file(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem, stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    return None


def download_mnist(folder: str | os.PathLike, timeout_s: float = 60.0) -> Path:
    """Download the four MNIST files into `folder`, each checked against its md5.

    Raises
    ------
    MatganError
        when no mirror answers or a file's checksum is wrong (nothing is left under the final name).
    """
    import urllib.error
    import urllib.request

    folder = Path(folder)
    for name, md5 in MD5.items():
        target = folder / name
        if target.is_file() and hashlib.md5(target.read_bytes()).hexdigest() == md5:
            continue
        errors = []
        for mirror in MIRRORS:
            try:
                with urllib.request.urlopen(mirror + name, timeout=timeout_s) as response:
                    data = response.read()
            except (urllib.error.URLError, OSError) as exc:
                errors.append(f"{mirror}: {getattr(exc, 'reason', exc)}")
                continue
            if hashlib.md5(data).hexdigest() != md5:
                errors.append(f"{mirror}{name}: checksum mismatch")
                continue
            with atomic_path(target) as tmp:
                tmp.write_bytes(data)
            break
        else:
            raise MatganError(f"{name}: download failed ({'; '.join(errors)}); {_where_to_put(folder)}")
    return folder


def _where_to_put(folder: Path) -> str:
    names = ", ".join(f"{stem}.gz" for pair in SPLITS.values() for stem in pair)
    return (f"put the MNIST files ({names}) in {folder}, or pass --data-dir / set MATGAN_DATA, "
            "or --download where a network exists")


def load_mnist(
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    download: bool = False,
    limit: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one MNIST split.

    Parameters
    ----------
    split : "train" (60000 digits) or "test" (the official 10000).
    data_dir : folder holding the IDX files; None looks in `default_data_dir()`.
    download : fetch missing files from a mirror (md5-checked) into that folder.
    limit : keep only the first `limit` digits (small slices for tests and quick runs).

    Returns
    -------
    images : (N, 28, 28) uint8, 0 = background, 255 = ink.
    labels : (N,) uint8 in 0..9.

    Raises
    ------
    MatganError
        one line saying where to put the files when they are absent, or naming a bad file.
    """
    if split not in SPLITS:
        raise MatganError(f"unknown MNIST split {split!r}: expected train or test")
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    if data_dir is not None and not folder.is_dir() and not download:
        raise MatganError(f"{folder}: no such folder; {_where_to_put(folder)}")
    image_stem, label_stem = SPLITS[split]
    image_path, label_path = _find_file(folder, image_stem), _find_file(folder, label_stem)
    if (image_path is None or label_path is None) and download:
        download_mnist(folder)
        image_path, label_path = _find_file(folder, image_stem), _find_file(folder, label_stem)
    if image_path is None or label_path is None:
        missing = image_stem if image_path is None else label_stem
        raise MatganError(f"{folder / (missing + '.gz')}: MNIST file not found; {_where_to_put(folder)}")
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise MatganError(f"{image_path}: expected uint8 images (N, H, W), got {images.dtype} {images.shape}")
    if labels.shape != images.shape[:1]:
        count = labels.shape[0] if labels.ndim else 0
        raise MatganError(f"{label_path}: {count} labels for {len(images)} images")
    if labels.size and labels.max() > 9:
        raise MatganError(f"{label_path}: labels must lie in 0..9, found {int(labels.max())}")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return np.ascontiguousarray(images), labels.astype(np.uint8)


def split_halves(num: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint random halves of range(num), for unpaired domains that never share a digit.

    Returns
    -------
    first, second : sorted int64 index arrays, sizes num // 2 and num - num // 2.
    """
    order = np.random.default_rng(seed).permutation(num)
    return np.sort(order[: num // 2]), np.sort(order[num // 2 :])
