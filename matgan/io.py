"""Reading and writing images and HDF5 files, atomically, with one-line errors.

All array <-> tensor conversion lives here: images become float32 tensors in [-1, 1] of
shape (N, C, H, W); spectra (N, 1, L).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from matgan.errors import MatganError

_UMASK = os.umask(0)
os.umask(_UMASK)

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")


# --------------------------------------------------------------------------- output safety


def check_writable(paths: Iterable[str | os.PathLike], overwrite: bool) -> None:
    """Refuse to go on when any of `paths` exists and `overwrite` is false.

    Raises:
        MatganError: naming the first existing path.
    """
    if overwrite:
        return
    for path in paths:
        if Path(path).exists():
            raise MatganError(f"{path}: exists already (use --overwrite to replace it)")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    An exception inside the block (or a full disk) removes the temporary file, so no
    half-written output is ever left under the final name.
    """
    path = Path(path)
    check_writable([path], overwrite)
    if not path.parent.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MatganError(f"{path.parent}: cannot create the output folder ({exc.strerror})") from None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise MatganError(f"{path.parent}: cannot write here ({exc.strerror})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise MatganError(f"{path}: could not be written ({exc.strerror or exc})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike, data: bytes, overwrite: bool = True) -> Path:
    """Write `data` to `path` atomically."""
    with atomic_path(path, overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, overwrite: bool = True) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    return write_bytes(path, text.encode("utf-8"), overwrite)


# --------------------------------------------------------------------------- images


def list_images(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files and folders into a sorted list of image files (folders: one level deep)."""
    found: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found.extend(sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES))
        elif p.exists():
            found.append(p)
        else:
            raise MatganError(f"{p}: no such file or folder")
    return found


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as it is stored.

    Returns:
        (H, W) or (H, W, 3) array, uint8 or uint16 (RGB channel order).

    Raises:
        MatganError: one line naming the file when it is missing, empty or not an image.
    """
    import cv2

    path = Path(path)
    if not path.is_file():
        raise MatganError(f"{path}: no such file")
    data = np.fromfile(path, dtype=np.uint8)
    if data.size == 0:
        raise MatganError(f"{path}: empty file, expected an image")
    image = None
    if path.suffix.lower() in (".tif", ".tiff"):
        image = _read_tiff(path)
    if image is None:
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH)
    if image is None:
        raise MatganError(f"{path}: not a readable image (PNG, TIFF, JPEG or BMP expected)")
    if image.ndim == 3:
        if image.shape[2] == 4:
            image = image[:, :, :3]
        if image.shape[2] == 1:
            image = image[:, :, 0]
        elif path.suffix.lower() not in (".tif", ".tiff"):
            image = image[:, :, ::-1]  # OpenCV decodes BGR
    if image.dtype not in (np.uint8, np.uint16):
        image = _rescale_to_uint16(image)
    if image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        raise MatganError(f"{path}: unsupported image shape {image.shape}")
    return np.ascontiguousarray(image)


def _read_tiff(path: Path) -> np.ndarray | None:
    try:
        import tifffile

        image = tifffile.imread(path)
    except Exception:  # noqa: BLE001 - any decoder failure falls back to OpenCV, then one clear error
        return None
    image = np.asarray(image)
    while image.ndim > 3 or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        image = image[0]
    return image


def _rescale_to_uint16(image: np.ndarray) -> np.ndarray:
    image = image.astype(np.float64)
    lo, hi = np.nanmin(image), np.nanmax(image)
    scaled = (image - lo) / (hi - lo) if hi > lo else np.zeros_like(image)
    return np.round(scaled * 65535).astype(np.uint16)


def to_gray_float(image: np.ndarray) -> np.ndarray:
    """Any 8/16-bit gray or RGB image -> float32 (H, W) in [0, 1]."""
    scale = 65535.0 if image.dtype == np.uint16 else 255.0 if image.dtype == np.uint8 else 1.0
    if image.ndim == 3:
        weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
        image = image[..., :3].astype(np.float32) @ weights
    return np.clip(image.astype(np.float32) / scale, 0.0, 1.0)


def write_image(path: str | os.PathLike, image: np.ndarray, overwrite: bool = True) -> Path:
    """Write a uint8/uint16 gray or RGB image (PNG, TIFF, JPEG, BMP by suffix) atomically.

    int32 label images go to TIFF through tifffile (OpenCV cannot store them).
    """
    import cv2

    path = Path(path)
    suffix = path.suffix.lower()
    image = np.asarray(image)
    if suffix in (".tif", ".tiff"):
        import tifffile

        with atomic_path(path, overwrite) as tmp:
            tifffile.imwrite(tmp, image, compression="zlib")
        return path
    if image.dtype not in (np.uint8, np.uint16):
        raise MatganError(f"{path}: cannot store {image.dtype} pixels as {suffix} (uint8 or uint16 expected)")
    if image.ndim == 3:
        image = image[:, :, ::-1]
    ok, buffer = cv2.imencode(suffix or ".png", np.ascontiguousarray(image))
    if not ok:
        raise MatganError(f"{path}: OpenCV could not encode the image as {suffix}")
    return write_bytes(path, buffer.tobytes(), overwrite)


def image_to_tensor(image: np.ndarray):
    """(H, W) or (H, W, C) uint8/uint16/float image -> float32 tensor (1, C, H, W) in [-1, 1]."""
    import torch

    if image.dtype == np.uint8:
        scaled = image.astype(np.float32) / 255.0
    elif image.dtype == np.uint16:
        scaled = image.astype(np.float32) / 65535.0
    else:
        scaled = image.astype(np.float32)
    if scaled.ndim == 2:
        scaled = scaled[None]
    else:
        scaled = np.moveaxis(scaled, -1, 0)
    return torch.from_numpy(np.ascontiguousarray(scaled * 2.0 - 1.0))[None]


def tensor_to_uint8(images) -> np.ndarray:
    """Tensor (N, C, H, W) or (C, H, W) in [-1, 1] -> uint8 array (N, H, W[, C])."""
    array = images.detach().float().cpu().clamp(-1, 1).numpy()
    if array.ndim == 3:
        array = array[None]
    array = np.round((array + 1.0) * 127.5).astype(np.uint8)
    array = np.moveaxis(array, 1, -1)
    return array[..., 0] if array.shape[-1] == 1 else array


def make_grid(images: np.ndarray, nrow: int, pad: int = 2, pad_value: int = 128) -> np.ndarray:
    """Tile uint8 images (N, H, W[, C]) into one picture with `nrow` images per row."""
    images = np.asarray(images)
    n, h, w = images.shape[:3]
    ncol = max(1, nrow)
    nrows = -(-n // ncol)
    shape = (nrows * (h + pad) + pad, ncol * (w + pad) + pad) + images.shape[3:]
    grid = np.full(shape, pad_value, dtype=images.dtype)
    for i, image in enumerate(images):
        r, c = divmod(i, ncol)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        grid[y : y + h, x : x + w] = image
    return grid


def save_grid(path: str | os.PathLike, images, nrow: int = 8, overwrite: bool = True) -> Path:
    """Save a tensor batch (N, C, H, W) in [-1, 1] as one PNG grid."""
    return write_image(path, make_grid(tensor_to_uint8(images), nrow), overwrite)


# --------------------------------------------------------------------------- HDF5


def write_hdf5(
    path: str | os.PathLike,
    arrays: Mapping[str, np.ndarray],
    attrs: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write arrays (one dataset each, chunked, gzip-compressed) and attributes, atomically.

    Attribute values that HDF5 cannot hold natively (dicts, None) are stored as JSON strings.
    """
    import json

    import h5py

    with atomic_path(path, overwrite) as tmp:
        with h5py.File(tmp, "w") as f:
            for name, array in arrays.items():
                array = np.asarray(array)
                if array.dtype.kind == "U":
                    f.create_dataset(name, data=array.astype(object), dtype=h5py.string_dtype())
                elif array.ndim == 0 or array.size == 0:
                    f.create_dataset(name, data=array)
                else:
                    f.create_dataset(name, data=array, chunks=_chunks(array.shape), compression="gzip",
                                     compression_opts=4, shuffle=True)
            for key, value in (attrs or {}).items():
                if value is None or isinstance(value, (dict, list, tuple)) and not _flat_numbers(value):
                    value = json.dumps(value)
                f.attrs[key] = value
    return Path(path)


def _flat_numbers(value) -> bool:
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)


def _chunks(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (1,) + tuple(shape[1:]) if len(shape) > 1 else (min(shape[0], 65536),)


def read_hdf5(path: str | os.PathLike, names: Iterable[str] | None = None) -> tuple[dict, dict]:
    """Read datasets (all, or `names`) and attributes from an HDF5 file.

    Raises:
        MatganError: the file is missing, not HDF5, or lacks a requested dataset.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise MatganError(f"{path}: no such file")
    try:
        with h5py.File(path, "r") as f:
            wanted = list(names) if names is not None else list(f.keys())
            missing = [n for n in wanted if n not in f]
            if missing:
                has = ", ".join(f.keys()) or "none"
                raise MatganError(f"{path}: missing dataset(s) {', '.join(missing)}; has {has}")
            arrays = {n: f[n][()] for n in wanted}
            attrs = {k: _attr(v) for k, v in f.attrs.items()}
    except MatganError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MatganError(f"{path}: not a readable HDF5 file ({detail})") from None
    return arrays, attrs


def _attr(value):
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def read_label_image(path: str | os.PathLike) -> np.ndarray:
    """Read a label image (e.g. int32 TIFF, 1..K per region) with its integer values unchanged.

    `read_image` rescales pixel types other than uint8/uint16 for display; labels must not be.
    Non-TIFF files, and TIFFs of uint8/uint16, read as `read_image` reads them.
    """
    path = Path(path)
    if path.suffix.lower() in (".tif", ".tiff") and path.is_file() and path.stat().st_size > 0:
        image = _read_tiff(path)
        if image is not None and image.dtype.kind in "iu" and image.ndim == 2:
            return np.ascontiguousarray(image)
    return read_image(path)
