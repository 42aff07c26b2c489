"""The spectra InfoGAN: the core `infogan` variant on 1-D spectra, trained by the core Trainer.

The generator sees noise, `n_cont` continuous codes (uniform in [-1, 1]) and a categorical code
tied to the real class labels (`supervised_cat`), so `--class outer` means an outer-race fault.
Spectra enter the GAN on the log scale of `spectra.to_gan_scale` ((N, 1, n_bins) in [-1, 1]);
`model_spectra` inverts it. After training the continuous code is calibrated against the measured
peak frequency (`matgan.vibration.generate.calibrate_variant`) and a small inference checkpoint
`model.pt` (generator, calibration, spectrum settings) is written beside the run's `last.pt`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from matgan.errors import MatganError
from matgan.vibration import spectra
from matgan.vibration.dataset import read_spectra

DB_RANGE = 60.0
"""Dynamic range in dB that the GAN scale [-1, 1] covers below each spectrum's peak."""


def infogan_config(n_bins: int, n_classes: int, n_cont: int = 1, size: str = "default",
                   supervise_peak: bool = True) -> dict[str, Any]:
    """Config of the core `infogan` variant for spectra of `n_bins` bins.

    Parameters
    ----------
    n_bins : spectrum length L.
    n_classes : size of the categorical code (the classes of the data).
    n_cont : number of continuous codes; code 0 is the one calibrated against the peak frequency.
    size : "default": MLP nets over the L bins (G 35 -> 256 -> 512 -> L with batch norm, D L -> 512 ->
        256, about 0.4 M generator parameters); "conv": the 1-D DCGAN nets (L divisible by 32; slower
        on CPU and, in our CPU runs, prone to collapse, see BENCHMARKS.md); "tiny": for tests.
    supervise_peak : tie code 0 to the measured peak frequency of the real spectra (Q learns to read
        the peak on real data too: semi-supervised InfoGAN); otherwise code 0 is fully unsupervised.
    """
    nets = {
        "default": {"arch": "mlp", "z_dim": 16, "g_hidden": (256, 512), "d_hidden": (512, 256), "q_hidden": 64,
                    "lr_g": 5e-4},
        "conv": {"arch": "dcgan", "z_dim": 16, "g_channels": (64, 32, 16, 8, 4), "g_fc": 0,
                 "d_channels": (16, 32, 64, 64), "d_fc": 128, "q_hidden": 64, "lr_g": 1e-3},
        "tiny": {"arch": "mlp", "z_dim": 4, "g_hidden": (32,), "d_hidden": (32,), "q_hidden": 16, "lr_g": 5e-4},
    }
    if size not in nets:
        raise MatganError(f"unknown model size {size!r}: expected {', '.join(nets)}")
    if size == "conv" and n_bins % 32:
        raise MatganError(f"the conv model needs a multiple of 32 bins, got {n_bins}")
    return {"data_shape": (1, n_bins), "n_cat": n_classes, "n_cont": n_cont, "supervised_cat": True,
            "supervised_cont": int(supervise_peak), "lambda_cont": 1.0, "lr": 2e-4, **nets[size]}


def peak_scale(peak_hz: np.ndarray) -> tuple[float, float]:
    """(low, high) Hz that code values -1 and +1 stand for when the peak code is supervised."""
    return float(np.min(peak_hz)), float(np.max(peak_hz))


def spectra_dataset(path: str | os.PathLike, db_range: float = DB_RANGE):
    """A spectra HDF5 file as a torch dataset and its file contents.

    Returns
    -------
    dataset : items (spectrum (1, L) float32 in [-1, 1], class int64, peak code (1,) float32 in
        [-1, 1]: the measured peak frequency mapped linearly from `peak_scale` onto [-1, 1]).
    arrays, attrs : the file's contents (see `matgan.vibration.dataset`).
    """
    import torch
    from torch.utils.data import TensorDataset

    arrays, attrs = read_spectra(path)
    x = torch.from_numpy(spectra.to_gan_scale(arrays["spectra"], db_range))[:, None]
    peak_hz = arrays["peak_hz"] if "peak_hz" in arrays else spectra.dominant_peak(arrays["spectra"], arrays["freqs"])
    lo, hi = peak_scale(peak_hz)
    code = 2 * (np.asarray(peak_hz, np.float64) - lo) / max(hi - lo, 1e-9) - 1
    dataset = TensorDataset(x, torch.from_numpy(arrays["class"].astype(np.int64)),
                            torch.from_numpy(code.astype(np.float32))[:, None])
    return dataset, arrays, attrs


def spectrum_meta(arrays: dict, attrs: dict, source: str | os.PathLike, db_range: float = DB_RANGE) -> dict:
    """What a model must remember about its training spectra to produce and plot the same kind."""
    freqs = arrays["freqs"]
    shaft = arrays.get("shaft_hz")
    bearing = {k[len("bearing_"):]: attrs[k] for k in attrs if k.startswith("bearing_")}
    return {
        "domain": "vibration",
        "source": str(source),
        "spectrum": {"n_bins": int(len(freqs)), "df_hz": float(freqs[1] - freqs[0]),
                     "fs": float(attrs.get("fs", 2 * len(freqs) * (freqs[1] - freqs[0]))),
                     "window": attrs.get("window", "hann"), "welch": bool(attrs.get("welch", True)),
                     "normalization": "max", "db_range": db_range, "gan_scale": "to_gan_scale"},
        "class_names": list(attrs["class_names"]),
        "shaft_hz": float(np.nanmedian(shaft)) if shaft is not None and np.isfinite(shaft).any() else None,
        "bearing": bearing or None,
    }


def model_freqs(meta: dict) -> np.ndarray:
    """The frequency axis (n_bins,) Hz of a model's spectra."""
    spec = meta["spectrum"]
    return np.arange(spec["n_bins"]) * spec["df_hz"]


def model_spectra(samples, meta: dict) -> np.ndarray:
    """Generator output (N, 1, L) in [-1, 1] -> max-normalized amplitude spectra (N, L) float32.

    The training spectra all peak at exactly 1 (0 dB); generated ones are renormalized the same way.
    """
    values = samples.detach().float().cpu().numpy() if hasattr(samples, "detach") else np.asarray(samples)
    amplitude = spectra.from_gan_scale(values.reshape(len(values), -1), meta["spectrum"]["db_range"])
    return spectra.normalize(amplitude, "max").astype(np.float32)


def train(spectra_path: str | os.PathLike, out_dir: str | os.PathLike, *, steps: int = 3000, batch_size: int = 64,
          seed: int = 0, device: str = "auto", resume: bool = False, overwrite: bool = False, n_cont: int = 1,
          size: str = "default", supervise_peak: bool = True, ema_decay: float = 0.995,
          calibration_samples: int = 64, progress: bool = True) -> dict[str, Any]:
    """Train the spectra InfoGAN on a spectra file, calibrate its peak code, write `model.pt`.

    Parameters
    ----------
    spectra_path : a spectra HDF5 file (`matgan vibration synth` / `spectra`).
    out_dir : run folder (config.json, metrics.jsonl, samples/, last.pt, best.pt, model.pt,
        calibration.png). Every steps/20 steps the peak control (|Spearman rho| of code 0 against the
        generated peak) is measured; the best step is the one calibrated and written to model.pt.
    steps, batch_size, seed, device, resume, overwrite : as for the core Trainer.
    n_cont, size, supervise_peak : see `infogan_config`.
    ema_decay : generator EMA decay (0: off); sampling uses the EMA generator.
    calibration_samples : noise draws per code value and class in the calibration sweep.

    Returns
    -------
    The trainer's summary plus `calibration` (see `generate.Calibration.summary`) and `model`.
    """
    from matgan.core.checkpoint import read_checkpoint, restore_variant, save_variant
    from matgan.core.trainer import TrainConfig, Trainer, seed_everything
    from matgan.core.variants import build_variant
    from matgan.vibration.generate import calibrate_variant, plot_calibration

    dataset, arrays, attrs = spectra_dataset(spectra_path)
    meta = spectrum_meta(arrays, attrs, spectra_path)
    n_bins = meta["spectrum"]["n_bins"]
    seed_everything(seed)
    variant = build_variant("infogan", infogan_config(n_bins, len(meta["class_names"]), n_cont, size,
                                                     supervise_peak))
    config = TrainConfig(steps=steps, batch_size=min(batch_size, len(dataset)), seed=seed, device=device,
                         ema_decay=ema_decay, log_every=50, sample_every=max(steps // 4, 100),
                         checkpoint_every=max(steps // 10, 100), eval_every=max(steps // 20, 50), progress=progress)
    # GAN training on spectra can collapse late; best.pt keeps the step whose peak code worked best
    trainer = Trainer(variant, dataset, config, out_dir, resume=resume, overwrite=overwrite, meta=meta,
                      preview=_preview(meta), evaluate=_peak_control(meta, seed), best_metric="peak_rho",
                      best_mode="max")
    summary = trainer.fit()
    if not trainer.is_main:  # under torchrun only rank 0 calibrates and writes
        return summary
    payload = read_checkpoint(Path(out_dir) / "best.pt", "infogan")
    restore_variant(variant, payload)
    summary["best_step"] = payload["step"]
    variant.to("cpu").eval()
    calibration = calibrate_variant(variant, meta, samples_per_code=calibration_samples, seed=seed)
    meta = dict(meta, calibration=calibration.to_dict())
    out = Path(out_dir)
    save_variant(out / "model.pt", variant, meta=meta, nets=["G"])
    plot_calibration(calibration, out / "calibration.png")
    summary["calibration"] = calibration.summary()
    summary["model"] = str(out / "model.pt")
    return summary


def _peak_control(meta: dict, seed: int, n: int = 512):
    """Evaluation during training: |Spearman rho| between code 0 and the generated peak, in [0, 1]."""

    def evaluate(variant) -> dict[str, float]:
        from matgan.vibration.evaluate import code_peak_spearman

        return {"peak_rho": abs(code_peak_spearman(variant, meta, 0, n, seed))}

    return evaluate


def _preview(meta: dict):
    """Training picture: a row per class, the peak code swept from -1 to 1 along each row."""

    def draw(variant, batch, generator, path):
        from matgan.vibration.generate import plot_spectra

        c = variant.config
        cols = 6
        cat = np.repeat(np.arange(c.n_cat), cols)
        cont = np.zeros((len(cat), c.n_cont), np.float32)
        cont[:, 0] = np.tile(np.linspace(-1, 1, cols), c.n_cat)
        import torch

        samples = variant.sample(len(cat), generator=generator, cat=torch.from_numpy(cat), cont=torch.from_numpy(cont))
        values = model_spectra(samples, meta)
        titles = [f"{meta['class_names'][k]}  c={v:+.1f}" for k, v in zip(cat, cont[:, 0])]
        plot_spectra(path, values, model_freqs(meta), titles=titles, ncols=cols)

    return draw


def load_model(path: str | os.PathLike | None = None):
    """Load a spectra InfoGAN inference checkpoint (default: the shipped model).

    Returns
    -------
    variant : the core InfoGAN on CPU, eval mode.
    meta : spectrum settings, class names, calibration (see `train`).

    Raises
    ------
    MatganError : not a calibrated vibration InfoGAN checkpoint.
    """
    from matgan.core.checkpoint import load_variant

    if path is None:
        path = default_model_path()
    path = Path(path)
    if path.is_dir():
        path = path / "model.pt"
    variant, payload = load_variant(path, expect_variant="infogan")
    meta = payload["meta"]
    if meta.get("domain") != "vibration" or "calibration" not in meta:
        raise MatganError(f"{path}: not a calibrated vibration InfoGAN (train one with `matgan vibration train`)")
    return variant, meta


def default_model_path() -> Path:
    """The shipped default model (trained on synthetic spectra; see matgan/pretrained/vibration_README.md)."""
    path = Path(__file__).resolve().parents[1] / "pretrained" / "vibration_infogan.pt"
    if not path.is_file():
        raise MatganError(f"{path}: the default vibration model is missing from this installation; "
                          "give --model or reinstall matgan")
    return path
