"""Amplitude and envelope spectra of vibration records, their normalization and the GAN scale.

All functions are plain NumPy/SciPy over arrays of records (..., n_samples) and work the same on
synthetic and real (CWRU) data.

Conventions
-----------
* Single-sided amplitude spectrum with `n_bins` bins from 0 Hz to fs/2 - df, df = fs / (2 n_bins):
  each FFT segment is 2 n_bins samples long, windowed (Hann by default) and scaled by 2 / sum(w)
  (1 / sum(w) at 0 Hz), the window's coherent-gain correction, so a sine of amplitude A centred on
  a bin reads A (in the signal's unit, e.g. g).
* Welch averaging (default) averages the power of 50 %-overlapping segments and takes the square
  root, which keeps that amplitude scale; without it only the first segment is used.
* Normalization "max" divides each spectrum by its largest value (peak = 1); "none" keeps units.
* The GAN sees log amplitudes: `to_gan_scale` maps max-normalized amplitude in dB, [-db_range, 0],
  linearly onto [-1, 1]; `from_gan_scale` inverts it.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

NORMALIZATIONS = ("max", "none")


def spectrum_freqs(fs: float, n_bins: int) -> np.ndarray:
    """Frequency of each bin in Hz: (n_bins,) from 0 to fs/2 - fs/(2 n_bins)."""
    return np.arange(n_bins) * fs / (2 * n_bins)


def amplitude_spectrum(signals: np.ndarray, fs: float, n_bins: int = 512, window: str = "hann",
                       welch: bool = True, overlap: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Single-sided amplitude spectrum with window amplitude correction.

    Parameters
    ----------
    signals : (..., n_samples) float, n_samples >= 2 n_bins; any unit (g for acceleration).
    fs : sampling rate in Hz.
    n_bins : number of frequency bins; segments are 2 n_bins samples long.
    window : any `scipy.signal.get_window` name ("hann", "flattop", "boxcar", ...).
    welch : average the power of overlapping segments (True) or use the first segment only.
    overlap : segment overlap as a fraction of the segment length, in [0, 1).

    Returns
    -------
    amplitude : (..., n_bins) float64, in the unit of `signals` (peak amplitude of a sine).
    freqs : (n_bins,) Hz.

    Examples
    --------
    >>> t = np.arange(4096) / 1000.0
    >>> amp, f = amplitude_spectrum(2.0 * np.sin(2 * np.pi * 125.0 * t), 1000.0, n_bins=256)
    >>> round(float(amp.max()), 3), float(f[amp.argmax()])
    (2.0, 125.0)
    """
    signals = np.asarray(signals, dtype=np.float64)
    nperseg = 2 * n_bins
    if n_bins < 1 or signals.shape[-1] < nperseg:
        raise ValueError(f"records of {signals.shape[-1]} samples are too short for {n_bins} bins "
                         f"(need at least {nperseg})")
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    w = sps.get_window(window, nperseg, fftbins=True)
    if welch:
        step = max(1, int(round(nperseg * (1 - overlap))))
        segments = np.lib.stride_tricks.sliding_window_view(signals, nperseg, axis=-1)[..., ::step, :]
    else:
        segments = signals[..., None, :nperseg]
    power = np.abs(np.fft.rfft(segments * w, axis=-1)[..., :n_bins]) ** 2
    amplitude = np.sqrt(power.mean(axis=-2)) * (2.0 / w.sum())
    amplitude[..., 0] /= 2.0
    return amplitude, spectrum_freqs(fs, n_bins)


def envelope(signals: np.ndarray, fs: float, band: tuple[float, float], order: int = 4) -> np.ndarray:
    """Envelope of the band-passed records: |hilbert(bandpass(x))| with its mean removed.

    Parameters
    ----------
    signals : (..., n_samples) float.
    fs : sampling rate in Hz.
    band : (low, high) pass band in Hz, 0 < low < high < fs/2 (around the excited resonance).
    order : Butterworth order (applied forwards and backwards: zero phase).

    Returns
    -------
    (..., n_samples) float64, same unit as `signals`.
    """
    low, high = band
    if not 0 < low < high < fs / 2:
        raise ValueError(f"band {band} Hz must satisfy 0 < low < high < fs/2 = {fs / 2:g}")
    sos = sps.butter(order, [low, high], btype="bandpass", fs=fs, output="sos")
    filtered = sps.sosfiltfilt(sos, np.asarray(signals, dtype=np.float64), axis=-1)
    env = np.abs(sps.hilbert(filtered, axis=-1))
    return env - env.mean(axis=-1, keepdims=True)


def envelope_spectrum(signals: np.ndarray, fs: float, band: tuple[float, float], n_bins: int = 2048,
                      window: str = "hann", welch: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Amplitude spectrum of the envelope (band-pass + Hilbert): bearing fault lines show here.

    Same conventions and returns as `amplitude_spectrum`; pick `n_bins` for the resolution
    fs / (2 n_bins) Hz the defect lines need.
    """
    return amplitude_spectrum(envelope(signals, fs, band), fs, n_bins, window, welch)


def normalize(amplitude: np.ndarray, method: str = "max") -> np.ndarray:
    """Normalize spectra (..., n_bins): "max" -> peak 1 per spectrum; "none" -> unchanged."""
    if method not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization {method!r}: expected one of {', '.join(NORMALIZATIONS)}")
    amplitude = np.asarray(amplitude, dtype=np.float64)
    if method == "none":
        return amplitude
    peak = amplitude.max(axis=-1, keepdims=True)
    return amplitude / np.where(peak > 0, peak, 1.0)


def dominant_peak(amplitude: np.ndarray, freqs: np.ndarray, min_hz: float = 0.0) -> np.ndarray:
    """Frequency in Hz of the largest bin at or above `min_hz` of each spectrum (..., n_bins) -> (...)."""
    freqs = np.asarray(freqs)
    start = int(np.searchsorted(freqs, min_hz))
    if start >= freqs.size:
        raise ValueError(f"min_hz={min_hz} is above the highest bin {freqs[-1]:g} Hz")
    return freqs[start + np.argmax(np.asarray(amplitude)[..., start:], axis=-1)]


def to_gan_scale(amplitude: np.ndarray, db_range: float = 60.0) -> np.ndarray:
    """Amplitude spectra (..., n_bins) -> float32 in [-1, 1]: max-normalized dB over [-db_range, 0].

    The peak maps to 1, anything `db_range` dB or more below it to -1.
    """
    db = 20.0 * np.log10(np.maximum(normalize(amplitude, "max"), 10.0 ** (-db_range / 20.0)))
    return (1.0 + 2.0 * db / db_range).astype(np.float32)


def from_gan_scale(values: np.ndarray, db_range: float = 60.0) -> np.ndarray:
    """Inverse of `to_gan_scale`: [-1, 1] -> max-normalized amplitude in [10^(-db_range/20), 1]."""
    values = np.clip(np.asarray(values, dtype=np.float64), -1.0, 1.0)
    return 10.0 ** ((values - 1.0) * db_range / 40.0)
