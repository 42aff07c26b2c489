"""From codes to spectra: calibrating the InfoGAN peak code, asking for a peak, plotting spectra.

The continuous code the InfoGAN learns moves the dominant spectral peak, but in a direction and at
a rate nobody chose. Calibration sweeps the code over [-1, 1], measures the generated peak
frequency for many noise draws per class, and fits a monotone curve (isotonic regression of the
median peak) code -> peak_hz, per class and pooled. `--peak low|mid|high` then means the lowest,
middle or highest third of the pooled range [min, max] of that curve, and `--peak 2400Hz` maps the
frequency back through the inverse curve.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import optimize, stats

from matgan.errors import MatganError
from matgan.vibration import spectra
from matgan.vibration.synth import CLASSES, FAULT_ORDER_NAME, BearingGeometry, defect_orders

PEAK_WORDS = ("low", "mid", "high")


@dataclass
class Calibration:
    """A monotone map between continuous code `code_index` and the generated peak frequency (Hz).

    Attributes
    ----------
    code_index : which continuous code moves the peak.
    codes : (M,) ascending code values of the sweep, in [-1, 1].
    peak_hz : (M,) pooled monotone curve: peak frequency in Hz at each code value.
    per_class : {class index: (M,) monotone curve of that class}.
    direction : +1 if the peak rises with the code, -1 if it falls.
    rho : Spearman correlation of code and measured peak over every sweep sample.
    """

    code_index: int
    codes: np.ndarray
    peak_hz: np.ndarray
    per_class: dict[int, np.ndarray] = field(default_factory=dict)
    direction: int = 1
    rho: float = float("nan")

    @property
    def range_hz(self) -> tuple[float, float]:
        """The frequency range the model learned: (lowest, highest) peak of the pooled curve, Hz."""
        return float(self.peak_hz.min()), float(self.peak_hz.max())

    def band(self, word: str) -> tuple[float, float]:
        """(low, high) Hz of the third of `range_hz` named by `word` (low, mid or high)."""
        if word not in PEAK_WORDS:
            raise MatganError(f"unknown peak {word!r}: expected low, mid, high or a frequency such as 2400Hz")
        lo, hi = self.range_hz
        k = PEAK_WORDS.index(word)
        return lo + k * (hi - lo) / 3, lo + (k + 1) * (hi - lo) / 3

    def curve(self, class_index: int | None = None) -> np.ndarray:
        return self.per_class.get(int(class_index), self.peak_hz) if class_index is not None else self.peak_hz

    def hz_for(self, code: np.ndarray, class_index: int | None = None) -> np.ndarray:
        """Calibrated peak frequency (Hz) of code value(s) in [-1, 1]."""
        return np.interp(code, self.codes, self.curve(class_index))

    def code_for(self, hz: np.ndarray, class_index: int | None = None) -> np.ndarray:
        """Code value(s) in [-1, 1] whose calibrated peak is `hz` (clipped to the class's range)."""
        curve = self.curve(class_index) * self.direction
        # a tiny ramp makes flat stretches of the isotonic curve strictly monotone, so it inverts
        ramp = np.arange(len(curve)) * 1e-9 * max(1.0, float(np.abs(curve).max()))
        return np.interp(np.asarray(hz, dtype=np.float64) * self.direction, curve + ramp, self.codes)

    def to_dict(self) -> dict:
        return {"code_index": self.code_index, "codes": self.codes.tolist(), "peak_hz": self.peak_hz.tolist(),
                "per_class": {str(k): v.tolist() for k, v in self.per_class.items()},
                "direction": self.direction, "rho": self.rho}

    @classmethod
    def from_dict(cls, values: dict) -> Calibration:
        return cls(int(values["code_index"]), np.asarray(values["codes"], float), np.asarray(values["peak_hz"], float),
                   {int(k): np.asarray(v, float) for k, v in values.get("per_class", {}).items()},
                   int(values["direction"]), float(values["rho"]))

    def summary(self) -> dict:
        lo, hi = self.range_hz
        return {"code_index": self.code_index, "direction": self.direction, "spearman_rho": self.rho,
                "range_hz": [lo, hi], "thirds_hz": {w: list(self.band(w)) for w in PEAK_WORDS}}


def _monotone(codes: np.ndarray, values: np.ndarray, direction: int) -> np.ndarray:
    return optimize.isotonic_regression(values, increasing=direction > 0).x


def calibrate(codes: np.ndarray, peaks: np.ndarray, code_index: int = 0) -> Calibration:
    """Fit the monotone code -> peak map from a sweep.

    Parameters
    ----------
    codes : (M,) ascending code values.
    peaks : (K, M, S) measured peak frequency in Hz for K classes, M code values, S noise draws.
    code_index : which continuous code was swept.

    Returns
    -------
    Calibration with the per-class and pooled isotonic curves of the median peak.
    """
    codes = np.asarray(codes, dtype=np.float64)
    peaks = np.asarray(peaks, dtype=np.float64)
    if peaks.ndim != 3 or peaks.shape[1] != len(codes) or len(codes) < 3:
        raise ValueError(f"peaks must be (classes, {len(codes)} codes, draws), got {peaks.shape}")
    flat_codes = np.broadcast_to(codes[None, :, None], peaks.shape).ravel()
    rho = float(stats.spearmanr(flat_codes, peaks.ravel())[0])
    direction = 1 if not np.isfinite(rho) or rho >= 0 else -1
    pooled = _monotone(codes, np.median(peaks.transpose(1, 0, 2).reshape(len(codes), -1), axis=1), direction)
    per_class = {k: _monotone(codes, np.median(peaks[k], axis=1), direction) for k in range(peaks.shape[0])}
    return Calibration(code_index, codes, pooled, per_class, direction, rho if np.isfinite(rho) else 0.0)


def sweep(sample_fn: Callable[[np.ndarray, np.ndarray], np.ndarray], freqs: np.ndarray, n_classes: int,
          codes: np.ndarray, samples_per_code: int) -> np.ndarray:
    """Measured peak (Hz) of spectra generated over a grid of code values, per class.

    Parameters
    ----------
    sample_fn : (code values (B,), class indices (B,)) -> amplitude spectra (B, L).
    freqs : (L,) Hz.
    n_classes, codes, samples_per_code : the grid: K classes x M code values x S draws.

    Returns
    -------
    (K, M, S) peak frequencies in Hz.
    """
    m, s = len(codes), samples_per_code
    peaks = np.empty((n_classes, m, s))
    for k in range(n_classes):
        values = sample_fn(np.repeat(codes, s), np.full(m * s, k))
        peaks[k] = spectra.dominant_peak(values, freqs).reshape(m, s)
    return peaks


def variant_sampler(variant, meta: dict, code_index: int = 0, seed: int = 0):
    """A `sample_fn` for `sweep`: spectra from the InfoGAN with code `code_index` set, others random."""
    import torch

    from matgan.vibration.gan import model_spectra

    generator = torch.Generator().manual_seed(seed)

    def sample_fn(code_values: np.ndarray, class_index: np.ndarray) -> np.ndarray:
        n = len(code_values)
        cont = variant.uniform(n, variant.config.n_cont, generator=generator)
        cont[:, code_index] = torch.as_tensor(code_values, dtype=torch.float32)
        return model_spectra(variant.sample(n, generator=generator, cat=torch.as_tensor(class_index), cont=cont), meta)

    return sample_fn


def calibrate_variant(variant, meta: dict, n_codes: int = 41, samples_per_code: int = 64, seed: int = 0) -> Calibration:
    """Sweep each continuous code of a trained InfoGAN; calibrate the one that moves the peak most monotonically."""
    from matgan.vibration.gan import model_freqs

    codes = np.linspace(-1.0, 1.0, n_codes)
    best: Calibration | None = None
    for index in range(variant.config.n_cont):
        peaks = sweep(variant_sampler(variant, meta, index, seed), model_freqs(meta), variant.config.n_cat, codes,
                      samples_per_code)
        candidate = calibrate(codes, peaks, index)
        if best is None or abs(candidate.rho) > abs(best.rho):
            best = candidate
    if best is None:
        raise MatganError("the model has no continuous code to calibrate")
    return best


# --------------------------------------------------------------------------- asking for a peak


def parse_peak(text: str) -> str | float:
    """"low" | "mid" | "high" -> the word; "2400Hz", "2.4kHz", "2400" -> 2400.0 (Hz).

    Raises
    ------
    MatganError : anything else, in one line.
    """
    value = str(text).strip().lower()
    if value in PEAK_WORDS:
        return value
    match = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*(hz|khz)?", value)
    if not match:
        raise MatganError(f"--peak {text!r}: expected low, mid, high or a frequency such as 2400Hz")
    hz = float(match.group(1)) * (1000.0 if match.group(2) == "khz" else 1.0)
    if hz <= 0:
        raise MatganError(f"--peak {text!r}: the frequency must be positive")
    return hz


def target_frequencies(calibration: Calibration, peak: str | float, n: int, rng: np.random.Generator) -> np.ndarray:
    """n target peak frequencies (Hz): for a word, uniform over the middle half of its third."""
    if isinstance(peak, str):
        lo, hi = calibration.band(peak)
        quarter = (hi - lo) / 4
        return rng.uniform(lo + quarter, hi - quarter, n)
    lo, hi = calibration.range_hz
    if not lo <= peak <= hi:
        raise MatganError(f"--peak {peak:g}Hz is outside the range this model learned ({lo:.0f}-{hi:.0f} Hz)")
    return np.full(n, float(peak))


def class_indices(class_name: str | None, class_names: list[str], n: int, rng: np.random.Generator) -> np.ndarray:
    """Class index per sample: one named class, "abnormal" (any fault class) or None (any class)."""
    if class_name is None or class_name == "any":
        pool = list(range(len(class_names)))
    elif class_name == "abnormal":
        pool = [i for i, c in enumerate(class_names) if c != "normal"]
    elif class_name in class_names:
        pool = [class_names.index(class_name)]
    else:
        raise MatganError(f"--class {class_name!r}: expected abnormal or one of {', '.join(class_names)}")
    return np.asarray(pool)[rng.integers(0, len(pool), n)]


def generate(variant, meta: dict, n: int, peak: str | float, class_name: str | None = None, seed: int = 0,
             batch_size: int = 8192) -> dict[str, np.ndarray]:
    """Generate n spectra with the dominant peak where asked.

    Parameters
    ----------
    variant, meta : from `matgan.vibration.gan.load_model`.
    n : number of spectra.
    peak : "low", "mid", "high" or a frequency in Hz (see `parse_peak`).
    class_name : a class name, "abnormal" or None (any class).
    seed : seeds noise, codes, classes and targets (same seed -> same spectra).

    Returns
    -------
    dict: spectra (n, L) float32 max-normalized amplitude, freqs (L,) Hz, peak_hz (n,) measured Hz,
    target_hz (n,), class (n,) int8, codes (n, n_cont) float32 (the continuous codes used).
    """
    import torch

    from matgan.vibration.gan import model_freqs, model_spectra

    if n < 1:
        raise MatganError(f"-n must be at least 1, got {n}")
    calibration = Calibration.from_dict(meta["calibration"])
    rng = np.random.default_rng(seed)
    targets = target_frequencies(calibration, peak, n, rng)
    classes = class_indices(class_name, meta["class_names"], n, rng)
    codes = rng.uniform(-1.0, 1.0, (n, variant.config.n_cont)).astype(np.float32)
    for k in np.unique(classes):
        chosen = classes == k
        codes[chosen, calibration.code_index] = calibration.code_for(targets[chosen], int(k))
    generator = torch.Generator().manual_seed(seed)
    parts = []
    with torch.inference_mode():
        for start in range(0, n, batch_size):
            stop = min(n, start + batch_size)
            samples = variant.sample(stop - start, generator=generator, cat=torch.from_numpy(classes[start:stop]),
                                     cont=torch.from_numpy(codes[start:stop]))
            parts.append(model_spectra(samples, meta))
    values = np.concatenate(parts)
    freqs = model_freqs(meta)
    return {"spectra": values, "freqs": freqs, "peak_hz": spectra.dominant_peak(values, freqs).astype(np.float32),
            "target_hz": targets.astype(np.float32), "class": classes.astype(np.int8), "codes": codes}


# --------------------------------------------------------------------------- pictures


def defect_lines(class_name: str, meta: dict, harmonics: int = 3) -> list[tuple[float, str]]:
    """(frequency Hz, label) of the first harmonics of a fault class's defect frequency at the model's
    nominal shaft speed; empty for "normal" or when the model does not know its shaft speed."""
    if class_name not in FAULT_ORDER_NAME or not meta.get("shaft_hz"):
        return []
    bearing = meta.get("bearing")
    geometry = BearingGeometry(**bearing) if bearing else BearingGeometry(9, 0.3126, 1.537)
    name = FAULT_ORDER_NAME[class_name]
    order = defect_orders(geometry)[name] * (2 if class_name == "ball" else 1)
    base = order * meta["shaft_hz"]
    label = "2xBSF" if class_name == "ball" else name.upper()
    return [(h * base, f"{h}x{label}" if h > 1 else label) for h in range(1, harmonics + 1)]


def plot_spectra(path: str | os.PathLike, values: np.ndarray, freqs: np.ndarray, titles: list[str] | None = None,
                 ncols: int = 4, peaks: np.ndarray | None = None,
                 lines: list[list[tuple[float, str]]] | None = None) -> Path:
    """Save spectra (N, L) as a PNG grid: amplitude in dB over frequency in Hz, peaks and defect lines marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matgan.io import atomic_path

    values = np.asarray(values)
    n = len(values)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.2 * nrows), squeeze=False, sharex=True, sharey=True)
    db = 20 * np.log10(np.maximum(values, 1e-6))
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        ax.plot(freqs, db[i], lw=0.7, color="C0")
        marks = lines[i] if lines else []
        for hz, _ in marks:
            ax.axvline(hz, color="C3", ls="--", lw=0.6)
        if marks:  # one label for the harmonic family keeps the low-frequency corner readable
            ax.text(marks[-1][0], 0.04, f" {marks[0][1]} {marks[0][0]:.0f} Hz x1-{len(marks)}", color="C3",
                    fontsize=6, va="bottom", ha="left", transform=ax.get_xaxis_transform())
        if peaks is not None:
            j = int(np.argmin(np.abs(freqs - peaks[i])))
            ax.plot(freqs[j], db[i, j], "v", color="C1", ms=5)
            ax.annotate(f"peak {peaks[i]:.0f} Hz", (freqs[j], db[i, j]), fontsize=7, color="C1",
                        xytext=(6, -10), textcoords="offset points")
        if titles:
            ax.set_title(titles[i], fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("frequency (Hz)", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("amplitude (dB re peak)", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
    return Path(path)


def plot_calibration(calibration: Calibration, path: str | os.PathLike, class_names: list[str] = CLASSES) -> Path:
    """Save the calibration curves (peak Hz over code value) and the thirds as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matgan.io import atomic_path

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for k, curve in calibration.per_class.items():
        ax.plot(calibration.codes, curve, lw=0.8, label=class_names[k] if k < len(class_names) else str(k))
    ax.plot(calibration.codes, calibration.peak_hz, "k", lw=2, label="pooled")
    for word in PEAK_WORDS[1:]:
        ax.axhline(calibration.band(word)[0], color="grey", ls=":", lw=0.8)
    ax.set_xlabel(f"continuous code {calibration.code_index}")
    ax.set_ylabel("generated peak (Hz)")
    ax.set_title(f"Spearman rho = {calibration.rho:+.3f}", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
    return Path(path)
