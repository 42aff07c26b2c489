"""Synthetic vibration of a rotating machine with rolling-element bearing faults (plain NumPy/SciPy).

The model (after Randall & Antoni, "Rolling element bearing diagnostics - A tutorial", MSSP 2011):
an accelerometer on the bearing housing sees

* shaft speed `fr` and its harmonics (unbalance, misalignment),
* optionally gear-mesh lines at `teeth * fr` and their harmonics,
* a structural resonance at `resonance_hz`, excited by random broadband forces in every class and,
  for a faulty bearing, by an impulse each time a rolling element meets the defect: at BPFO (outer
  race, constant amplitude), BPFI (inner race, amplitude modulated by the shaft-rotating load zone)
  or 2 x BSF (ball, hitting both races; amplitude modulated at the cage frequency FTF); each impulse
  rings the resonance, which decays with damping ratio `damping`; impulse times jitter by ~1 %
  (rolling elements slip), which is what makes the fault visible in the envelope spectrum,
* white measurement noise.

Across samples the resonance frequency and the shaft speed are drawn at random, so the frequency
of the dominant spectral peak (the resonance hump) varies: that is the information an InfoGAN code
has to learn. Units: time in s, frequency in Hz, acceleration in g.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import signal as sps

CLASSES = ("normal", "outer", "inner", "ball")
"""Class names; the integer class of a sample is its index here."""

FAULT_ORDER_NAME = {"outer": "bpfo", "inner": "bpfi", "ball": "bsf"}
"""The defect frequency each fault class excites at (a ball defect hits at 2 x BSF)."""


@dataclass(frozen=True)
class BearingGeometry:
    """Rolling-element bearing geometry; diameters in any one length unit.

    Parameters
    ----------
    n_balls : number of rolling elements.
    ball_diameter, pitch_diameter : rolling-element and pitch-circle diameter (same unit).
    contact_angle_deg : contact angle in degrees (0 for a deep-groove ball bearing under radial load).
    """

    n_balls: int
    ball_diameter: float
    pitch_diameter: float
    contact_angle_deg: float = 0.0

    def __post_init__(self) -> None:
        if self.n_balls < 1 or not 0 < self.ball_diameter < self.pitch_diameter:
            raise ValueError(f"implausible bearing geometry {self}: need n_balls >= 1 and "
                             "0 < ball_diameter < pitch_diameter")


CWRU_DRIVE_END = BearingGeometry(n_balls=9, ball_diameter=0.3126, pitch_diameter=1.537)
"""SKF 6205-2RS JEM, the drive-end bearing of the CWRU test rig (inches)."""


def defect_orders(geometry: BearingGeometry = CWRU_DRIVE_END) -> dict[str, float]:
    """Bearing defect frequencies as multiples of shaft speed (outer race fixed, inner race turning).

    BPFO = n/2 (1 - d/D cos a), BPFI = n/2 (1 + d/D cos a), FTF = 1/2 (1 - d/D cos a),
    BSF = D/(2d) (1 - (d/D cos a)^2).

    Returns
    -------
    dict with keys bpfo, bpfi, bsf, ftf (dimensionless orders, x shaft speed).

    Examples
    --------
    >>> round(defect_orders()["bpfi"], 4)   # CWRU drive-end 6205
    5.4152
    """
    ratio = geometry.ball_diameter / geometry.pitch_diameter * math.cos(math.radians(geometry.contact_angle_deg))
    n = geometry.n_balls
    return {
        "bpfo": n / 2 * (1 - ratio),
        "bpfi": n / 2 * (1 + ratio),
        "bsf": geometry.pitch_diameter / (2 * geometry.ball_diameter) * (1 - ratio**2),
        "ftf": 0.5 * (1 - ratio),
    }


def defect_frequencies(shaft_hz, geometry: BearingGeometry = CWRU_DRIVE_END) -> dict[str, np.ndarray]:
    """Bearing defect frequencies in Hz for shaft speed(s) `shaft_hz` (Hz, scalar or array)."""
    shaft_hz = np.asarray(shaft_hz, dtype=np.float64)
    return {name: order * shaft_hz for name, order in defect_orders(geometry).items()}


def fault_frequency(class_name: str, shaft_hz, geometry: BearingGeometry = CWRU_DRIVE_END):
    """Impulse rate in Hz of a fault class: BPFO, BPFI or 2 x BSF; 0 for "normal"."""
    if class_name == "normal":
        return np.zeros_like(np.asarray(shaft_hz, dtype=np.float64))
    if class_name not in FAULT_ORDER_NAME:
        raise ValueError(f"unknown class {class_name!r}: expected one of {', '.join(CLASSES)}")
    freqs = defect_frequencies(shaft_hz, geometry)
    return 2 * freqs["bsf"] if class_name == "ball" else freqs[FAULT_ORDER_NAME[class_name]]


@dataclass(frozen=True)
class SynthConfig:
    """Every parameter of the synthetic machine; ranges (lo, hi) are drawn uniformly per sample.

    Attributes
    ----------
    fs : sampling rate in Hz.
    duration_s : record length in s.
    shaft_hz : shaft speed range in Hz.
    resonance_band : resonance frequency range as fractions of the Nyquist frequency fs/2
        (default 0.15-0.8: 900-4800 Hz at 12 kHz).
    damping : damping ratio range of the resonance.
    impulse_g : fault impulse amplitude range in g.
    excitation_g : standard deviation of the random broadband force on the resonance, in g.
    shaft_g : amplitude range of the 1x shaft line in g; harmonic h has amplitude shaft_g / h^1.5.
    n_harmonics : number of shaft harmonics.
    gear_teeth : teeth of a gear on the shaft (0: no gear-mesh lines).
    gear_g : amplitude of the first gear-mesh line in g (harmonic h: gear_g / h).
    noise_g : standard deviation of white measurement noise in g.
    slip : standard deviation of impulse timing jitter, as a fraction of the impulse period.
    bearing : the bearing geometry.
    classes : the classes to draw from (names in CLASSES), with equal probability.
    """

    fs: float = 12000.0
    duration_s: float = 0.5
    shaft_hz: tuple[float, float] = (15.0, 40.0)
    resonance_band: tuple[float, float] = (0.15, 0.8)
    damping: tuple[float, float] = (0.02, 0.05)
    impulse_g: tuple[float, float] = (1.0, 2.0)
    excitation_g: float = 0.05
    shaft_g: tuple[float, float] = (0.005, 0.015)
    n_harmonics: int = 5
    gear_teeth: int = 0
    gear_g: float = 0.02
    noise_g: float = 0.02
    slip: float = 0.01
    bearing: BearingGeometry = field(default=CWRU_DRIVE_END)
    classes: tuple[str, ...] = CLASSES

    def __post_init__(self) -> None:
        if not self.fs > 0 or not self.duration_s > 0:
            raise ValueError(f"fs and duration_s must be positive, got fs={self.fs}, duration_s={self.duration_s}")
        lo, hi = self.resonance_band
        if not 0 < lo <= hi < 1:
            raise ValueError(f"resonance_band must lie in (0, 1) as fractions of fs/2, got {self.resonance_band}")
        unknown = [c for c in self.classes if c not in CLASSES]
        if unknown or not self.classes:
            raise ValueError(f"unknown class(es) {unknown}: expected some of {', '.join(CLASSES)}")

    @property
    def resonance_hz(self) -> tuple[float, float]:
        """Resonance frequency range in Hz."""
        return (self.resonance_band[0] * self.fs / 2, self.resonance_band[1] * self.fs / 2)

    def as_attrs(self) -> dict:
        """Flat attributes for an HDF5 file (bearing geometry and tuples included)."""
        attrs = dataclasses.asdict(self)
        bearing = attrs.pop("bearing")
        attrs.update({f"bearing_{k}": v for k, v in bearing.items()})
        attrs["classes"] = list(self.classes)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.items()}


def draw_parameters(n: int, config: SynthConfig, rng: np.random.Generator,
                    class_index: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Draw the per-sample machine parameters.

    Returns
    -------
    dict of (n,) arrays: class (int, index into CLASSES), shaft_hz, resonance_hz, damping,
    impulse_g, shaft_g, defect_hz (impulse rate; 0 for normal).
    """
    if class_index is None:
        allowed = np.array([CLASSES.index(c) for c in config.classes])
        class_index = allowed[rng.integers(0, len(allowed), n)]
    class_index = np.asarray(class_index, dtype=np.int64)
    shaft_hz = rng.uniform(*config.shaft_hz, n)
    params = {
        "class": class_index,
        "shaft_hz": shaft_hz,
        "resonance_hz": rng.uniform(*config.resonance_hz, n),
        "damping": rng.uniform(*config.damping, n),
        "impulse_g": rng.uniform(*config.impulse_g, n),
        "shaft_g": rng.uniform(*config.shaft_g, n),
    }
    params["defect_hz"] = np.array([fault_frequency(CLASSES[c], f, config.bearing)
                                    for c, f in zip(class_index, shaft_hz)], dtype=np.float64).reshape(n)
    return params


def resonator(resonance_hz: float, damping: float, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """IIR coefficients (b, a) whose impulse response is exp(-damping w_n t) sin(w_d t), peak ~1.

    w_n = 2 pi resonance_hz, w_d = w_n sqrt(1 - damping^2); use with `scipy.signal.lfilter`.
    """
    wn = 2 * math.pi * resonance_hz
    r = math.exp(-damping * wn / fs)
    theta = wn * math.sqrt(1 - damping**2) / fs
    return np.array([0.0, r * math.sin(theta)]), np.array([1.0, -2 * r * math.cos(theta), r * r])


def impulse_train(n_samples: int, fs: float, rate_hz: float, slip: float, rng: np.random.Generator) -> np.ndarray:
    """Unit impulses at `rate_hz` with jittered spacing (std `slip` x period), random start; (n_samples,)."""
    train = np.zeros(n_samples)
    if rate_hz <= 0:
        return train
    period = fs / rate_hz
    count = int(n_samples / period) + 2
    gaps = period * (1 + slip * rng.standard_normal(count))
    times = rng.uniform(0, period) + np.concatenate([[0.0], np.cumsum(gaps[:-1])])
    index = np.round(times).astype(np.int64)
    train[index[index < n_samples]] = 1.0
    return train


def synth_signal(params: dict[str, float], config: SynthConfig, rng: np.random.Generator) -> np.ndarray:
    """One acceleration record (n_samples,) in g for one sample's parameters (see `draw_parameters`)."""
    fs, n = config.fs, int(round(config.duration_s * config.fs))
    t = np.arange(n) / fs
    fr = params["shaft_hz"]
    class_name = CLASSES[int(params["class"])]
    force = config.excitation_g * rng.standard_normal(n)
    if class_name != "normal":
        impulses = impulse_train(n, fs, params["defect_hz"], config.slip, rng) * params["impulse_g"]
        orders = defect_orders(config.bearing)
        if class_name == "inner":  # the defect turns with the shaft through the load zone
            impulses *= 0.5 * (1 + np.cos(2 * np.pi * fr * t + rng.uniform(0, 2 * np.pi)))
        elif class_name == "ball":  # the ball turns with the cage
            impulses *= 0.5 * (1 + np.cos(2 * np.pi * orders["ftf"] * fr * t + rng.uniform(0, 2 * np.pi)))
        force = force + impulses
    b, a = resonator(params["resonance_hz"], params["damping"], fs)
    x = sps.lfilter(b, a, force)
    for h in range(1, config.n_harmonics + 1):
        if h * fr < fs / 2:
            x += params["shaft_g"] / h**1.5 * np.cos(2 * np.pi * h * fr * t + rng.uniform(0, 2 * np.pi))
    if config.gear_teeth:
        for h in range(1, 4):
            if h * config.gear_teeth * fr < fs / 2:
                x += config.gear_g / h * np.cos(2 * np.pi * h * config.gear_teeth * fr * t + rng.uniform(0, 2 * np.pi))
    x += config.noise_g * rng.standard_normal(n)
    return x


def synth_signals(n: int, config: SynthConfig = SynthConfig(), seed: int | list[int] = 0,
                  class_index: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Draw `n` acceleration records; the same seed gives the same records.

    Parameters
    ----------
    n : number of records.
    config : the machine (see SynthConfig).
    seed : seed of every random draw (an int, or a list of ints such as [seed, chunk]).
    class_index : optional (n,) ints (indices into CLASSES) to fix the classes.

    Returns
    -------
    signals : (n, round(duration_s * fs)) float64, acceleration in g.
    params : dict of (n,) arrays, see `draw_parameters`.
    """
    rng = np.random.default_rng(seed)
    params = draw_parameters(n, config, rng, class_index)
    signals = np.stack([synth_signal({k: v[i] for k, v in params.items()}, config, rng) for i in range(n)]) \
        if n else np.zeros((0, int(round(config.duration_s * config.fs))))
    return signals, params
