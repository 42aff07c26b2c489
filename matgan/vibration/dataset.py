"""Spectra data sets (synthetic or CWRU) and their HDF5 layout.

A spectra file holds `spectra` (N, n_bins) float32 normalized amplitude, `freqs` (n_bins,) Hz,
`peak_hz` (N,) Hz (dominant peak, measured), `class` (N,) int (index into the `class_names`
attribute), optional per-sample extras (`shaft_hz`, `resonance_hz`, `defect_hz`, `codes`, ...),
and attributes holding every parameter (sampling rate, window, normalization, seed, ...), so any
file can be regenerated.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from matgan.errors import MatganError
from matgan.vibration import cwru, spectra, synth


@dataclass(frozen=True)
class SpectrumOptions:
    """How records become spectra (see `matgan.vibration.spectra.amplitude_spectrum`).

    n_bins : bins from 0 Hz to fs/2 - fs/(2 n_bins); window : scipy window name;
    welch : average 50 %-overlapping segments; normalization : "max" or "none".
    """

    n_bins: int = 512
    window: str = "hann"
    welch: bool = True
    overlap: float = 0.5
    normalization: str = "max"

    def __post_init__(self) -> None:
        if self.n_bins < 8:
            raise MatganError(f"--bins must be at least 8, got {self.n_bins}")
        if self.normalization not in spectra.NORMALIZATIONS:
            raise MatganError(f"unknown normalization {self.normalization!r}: expected one of "
                              f"{', '.join(spectra.NORMALIZATIONS)}")

    def apply(self, records: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
        """Records (N, n_samples) at `fs` Hz -> (normalized spectra (N, n_bins) float32, freqs (n_bins,))."""
        amplitude, freqs = spectra.amplitude_spectrum(records, fs, self.n_bins, self.window, self.welch,
                                                      self.overlap)
        return spectra.normalize(amplitude, self.normalization).astype(np.float32), freqs


def synth_dataset(n: int, config: synth.SynthConfig | None = None,
                  options: SpectrumOptions = SpectrumOptions(), seed: int = 0, chunk: int = 256,
                  progress: bool = False) -> tuple[dict[str, np.ndarray], dict]:
    """Synthesize `n` records and their spectra; the same seed gives the same data.

    Returns
    -------
    arrays : spectra (n, n_bins) float32, freqs (n_bins,), peak_hz (n,), class (n,) int8, shaft_hz,
        resonance_hz, defect_hz, damping (n,) float32.
    attrs : every parameter (SynthConfig and SpectrumOptions fields, seed, class_names, source).
    """
    from tqdm import tqdm

    config = config or synth.SynthConfig()
    if n < 1:
        raise MatganError(f"-n must be at least 1, got {n}")
    if 2 * options.n_bins > round(config.duration_s * config.fs):
        raise MatganError(f"--bins {options.n_bins} needs records of {2 * options.n_bins} samples; "
                          f"{config.duration_s} s at {config.fs:g} Hz is shorter")
    parts: list[dict[str, np.ndarray]] = []
    starts = range(0, n, chunk)
    for i, start in enumerate(tqdm(starts, desc="synth", unit="chunk", disable=not progress)):
        # one child seed per chunk: the result does not depend on how the work is split in time
        records, params = synth.synth_signals(min(chunk, n - start), config, seed=[seed, i])
        values, freqs = options.apply(records, config.fs)
        params["spectra"] = values
        parts.append(params)
    arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    arrays["class"] = arrays["class"].astype(np.int8)
    for key in ("shaft_hz", "resonance_hz", "defect_hz", "damping"):
        arrays[key] = arrays[key].astype(np.float32)
    arrays.pop("impulse_g"), arrays.pop("shaft_g")
    arrays["freqs"] = freqs
    arrays["peak_hz"] = spectra.dominant_peak(arrays["spectra"], freqs).astype(np.float32)
    attrs = {"source": "synthetic", "seed": seed, "chunk": chunk, "class_names": list(synth.CLASSES),
             **config.as_attrs(), **asdict(options)}
    return arrays, attrs


def cwru_dataset(paths: list[str | os.PathLike], fs: float = 12000.0, options: SpectrumOptions = SpectrumOptions(),
                 segment: int = 4096, hop: int = 1024, channel: str = "DE",
                 file_fs: float | None = None, portion: tuple[float, float] = (0.0, 1.0)
                 ) -> tuple[dict[str, np.ndarray], dict]:
    """Spectra of overlapping segments of CWRU records, all brought to one rate `fs` (Hz).

    Parameters
    ----------
    paths : `.mat` files.
    fs : common sampling rate in Hz; 48 kHz records are decimated by 4 for 12 kHz.
    segment, hop : segment length and spacing in samples at `fs`.
    channel : accelerometer, "DE", "FE" or "BA".
    file_fs : the files' sampling rate when their names do not tell it (checked against the name).
    portion : (start, stop) fractions of each record to use, e.g. (0, 0.7) and (0.7, 1) for a
        train/test split in time without overlapping segments.

    Returns
    -------
    arrays : spectra, freqs, peak_hz, class (as in `synth_dataset`), shaft_hz, record (index into
        the `files` attribute).
    attrs : parameters, `files` (names) and `file_fs` (each file's original rate).
    """
    if not paths:
        raise MatganError("no .mat files given")
    if segment < 2 * options.n_bins:
        raise MatganError(f"segment of {segment} samples is shorter than the {2 * options.n_bins} that "
                          f"--bins {options.n_bins} needs")
    parts: dict[str, list[np.ndarray]] = {"spectra": [], "class": [], "shaft_hz": [], "record": []}
    names, rates = [], []
    freqs = spectra.spectrum_freqs(fs, options.n_bins)
    for index, path in enumerate(paths):
        record = cwru.load_record(path, file_fs, channel)
        signal = cwru.resample_to(record, fs)
        pieces = cwru.segments(signal[int(portion[0] * len(signal)):int(portion[1] * len(signal))], segment, hop)
        if len(pieces) == 0:
            raise MatganError(f"{path}: shorter than one segment of {segment} samples at {fs:g} Hz")
        values, freqs = options.apply(pieces, fs)
        parts["spectra"].append(values)
        parts["class"].append(np.full(len(values), synth.CLASSES.index(record.class_name), np.int8))
        parts["shaft_hz"].append(np.full(len(values), record.shaft_hz, np.float32))
        parts["record"].append(np.full(len(values), index, np.int16))
        names.append(Path(path).name)
        rates.append(record.fs)
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    arrays["freqs"] = freqs
    arrays["peak_hz"] = spectra.dominant_peak(arrays["spectra"], freqs).astype(np.float32)
    attrs = {"source": "cwru", "fs": fs, "segment": segment, "hop": hop, "channel": channel,
             "files": names, "file_fs": rates, "portion": list(portion), "class_names": list(synth.CLASSES),
             **asdict(options)}
    return arrays, attrs


def write_spectra(path: str | os.PathLike, arrays: dict[str, np.ndarray], attrs: dict,
                  overwrite: bool = False) -> Path:
    """Write a spectra data set (layout above) atomically; refuses to overwrite unless asked."""
    from matgan.io import write_hdf5

    return write_hdf5(path, arrays, attrs, overwrite=overwrite)


def read_spectra(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read and check a spectra data set.

    Raises
    ------
    MatganError : missing datasets, or shapes that do not fit together.
    """
    from matgan.io import read_hdf5

    arrays, attrs = read_hdf5(path)
    missing = [k for k in ("spectra", "freqs", "class") if k not in arrays]
    if missing:
        raise MatganError(f"{path}: not a spectra file (missing {', '.join(missing)}; "
                          "make one with `matgan vibration synth` or `matgan vibration spectra`)")
    values, freqs = arrays["spectra"], arrays["freqs"]
    if values.ndim != 2 or values.shape[1] != freqs.shape[0] or len(arrays["class"]) != len(values):
        raise MatganError(f"{path}: spectra {values.shape}, freqs {freqs.shape} and class "
                          f"{arrays['class'].shape} do not fit together")
    if not np.all(np.isfinite(values)):
        raise MatganError(f"{path}: spectra contain NaN or infinite values")
    attrs.setdefault("class_names", list(synth.CLASSES))
    if isinstance(attrs["class_names"], str):
        import json

        attrs["class_names"] = json.loads(attrs["class_names"])
    return arrays, attrs
