"""Case Western Reserve University (CWRU) bearing records: load `.mat` files, cut segments.

The CWRU files hold one float64 column per accelerometer (`X105_DE_time`: drive end, `_FE_time`:
fan end, `_BA_time`: base) in g, and the motor speed (`X105RPM`), but not the sampling rate. The
rate is read from the file or folder name ("12k", "48k"); the normal baseline records 97-100 are
sampled at 48 kHz (not 12 kHz, as many papers assume: see ../shared/data/vibration/SOURCES.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal as sps

from matgan.errors import MatganError

NORMAL_48K_RECORDS = range(97, 101)
"""CWRU normal-baseline file numbers, all recorded at 48 kHz."""

CHANNELS = ("DE", "FE", "BA")


@dataclass
class CwruRecord:
    """One accelerometer channel of one CWRU file.

    Attributes
    ----------
    path : the file.
    signal : (n_samples,) float64, acceleration in g, at `fs`.
    fs : sampling rate in Hz.
    shaft_hz : shaft speed in Hz (RPM / 60; NaN when the file has no RPM).
    class_name : "normal", "inner", "outer" or "ball" (from the file name).
    """

    path: Path
    signal: np.ndarray
    fs: float
    shaft_hz: float
    class_name: str


def class_from_name(path: str | Path) -> str:
    """Fault class from a CWRU file name: IR -> inner, OR -> outer, B -> ball, normal -> normal."""
    name = Path(path).name
    if re.search(r"normal", name, re.IGNORECASE):
        return "normal"
    for token, class_name in (("IR", "inner"), ("OR", "outer"), ("B", "ball")):
        if re.search(rf"(^|_){token}\d", name):
            return class_name
    raise MatganError(f"{path}: cannot tell the fault class from the file name "
                      "(expected normal, IR<size>, OR<size> or B<size> as in the CWRU mirror's names)")


def _file_number(path: Path) -> int | None:
    match = re.search(r"_(\d+)\.mat$", path.name)
    return int(match.group(1)) if match else None


def infer_fs(path: str | Path) -> float | None:
    """Sampling rate in Hz from the file or folder name ("12k"/"48k") or the file number; None if unknown."""
    path = Path(path)
    number = _file_number(path)
    if number is not None and number in NORMAL_48K_RECORDS:
        return 48000.0
    for part in (path.name, path.parent.name):
        match = re.search(r"(?:^|[_\-])(12|48)k(?:[_\-]|$)", part, re.IGNORECASE)
        if match:
            return float(match.group(1)) * 1000.0
    return None


def load_record(path: str | Path, fs: float | None = None, channel: str = "DE") -> CwruRecord:
    """Read one channel of a CWRU `.mat` file.

    Parameters
    ----------
    path : the `.mat` file.
    fs : sampling rate in Hz; None reads it from the name. A value that contradicts the known rate of
        the file is refused.
    channel : "DE" (drive end, default), "FE" (fan end) or "BA" (base).

    Raises
    ------
    MatganError : unreadable file, no `*_<channel>_time` series, unknown or contradicting rate.
    """
    import scipy.io as sio

    path = Path(path)
    if channel not in CHANNELS:
        raise MatganError(f"unknown channel {channel!r}: expected one of {', '.join(CHANNELS)}")
    if not path.is_file():
        raise MatganError(f"{path}: no such file")
    try:
        contents = sio.loadmat(path)
    except Exception as exc:  # noqa: BLE001 - scipy raises many types for a bad file; one line for all
        raise MatganError(f"{path}: not a readable MATLAB .mat file ({type(exc).__name__})") from None
    keys = [k for k in contents if not k.startswith("__")]
    series = [k for k in keys if k.endswith(f"_{channel}_time")]
    if not series:
        raise MatganError(f"{path}: no {channel} time series (a variable named X<nnn>_{channel}_time); "
                          f"has {', '.join(keys) or 'no variables'}")
    signal = np.asarray(contents[series[0]], dtype=np.float64).ravel()
    if signal.size < 2 or not np.all(np.isfinite(signal)):
        raise MatganError(f"{path}: {series[0]} is not a finite time series ({signal.size} samples)")
    known = infer_fs(path)
    if fs is not None and (not np.isfinite(fs) or fs <= 0):
        raise MatganError(f"{path}: sampling rate must be a positive number of Hz, got {fs}")
    if fs is not None and known is not None and abs(fs - known) > 1e-6 * known:
        raise MatganError(f"{path}: wrong sampling rate {fs:g} Hz; this CWRU record is sampled at {known:g} Hz")
    fs = fs if fs is not None else known
    if fs is None:
        raise MatganError(f"{path}: unknown sampling rate (no 12k/48k in the file or folder name); give --fs")
    rpm = [np.asarray(contents[k]).ravel() for k in keys if k.endswith("RPM")]
    shaft_hz = float(rpm[0][0]) / 60.0 if rpm and rpm[0].size else float("nan")
    return CwruRecord(path, signal, float(fs), shaft_hz, class_from_name(path))


def resample_to(record: CwruRecord, fs: float) -> np.ndarray:
    """The record's signal at rate `fs` (Hz): unchanged, or decimated by an integer factor (FIR, zero phase)."""
    if abs(record.fs - fs) < 1e-9 * fs:
        return record.signal
    factor = record.fs / fs
    if factor < 1 or abs(factor - round(factor)) > 1e-9:
        raise MatganError(f"{record.path}: cannot bring {record.fs:g} Hz to {fs:g} Hz "
                          "(only decimation by an integer factor is supported)")
    return sps.decimate(record.signal, int(round(factor)), ftype="fir", zero_phase=True)


def segments(signal: np.ndarray, length: int, hop: int) -> np.ndarray:
    """Cut a record (n_samples,) into overlapping segments (n_segments, length), `hop` samples apart."""
    if length < 1 or hop < 1:
        raise ValueError(f"segment length and hop must be >= 1, got {length}, {hop}")
    if signal.size < length:
        return np.zeros((0, length))
    return np.lib.stride_tricks.sliding_window_view(signal, length)[::hop].copy()
