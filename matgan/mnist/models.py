"""The six textbook MNIST variants as configurations of the core variants, and how each is trained.

No networks or loops here: `variant_config` picks the core variant and its options, `training_data`
builds the data set it reads, and `train_model` hands both to the core Trainer.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from matgan.errors import MatganError

MODELS = ("gan", "dcgan", "cgan", "infogan", "aae", "cyclegan")
AAE_PRIORS = ("gaussian", "mixture", "style")

# steps and batch size when the command line does not say
# (the CPU benchmarks in BENCHMARKS.md; cgan meets its target at 5000; infogan reaches 68 % at 4500 and about 81 %
# at 15000-24000 steps, below the paper's 95 %)
DEFAULT_STEPS = {"gan": 10000, "dcgan": 3000, "cgan": 5000, "infogan": 4500, "aae": 2500, "cyclegan": 1000}
DEFAULT_BATCH = {"gan": 64, "dcgan": 64, "cgan": 64, "infogan": 64, "aae": 100, "cyclegan": 16}


def variant_config(model: str, prior: str = "gaussian") -> tuple[str, dict]:
    """The core variant and options of one textbook MNIST model.

    Parameters
    ----------
    model : one of `MODELS`.
    prior : for `aae` only: "gaussian" (N(0, I), 2-D latent), "mixture" (ten 2-D Gaussians, the label
        tells the discriminator which) or "style" (label one-hot to the decoder, 2-D style latent).

    Returns
    -------
    (variant name, config dict) for `matgan.core.variants.build_variant`.
    """
    if model == "gan":  # Goodfellow et al.: MLP 100 -> 256 -> 784 and 784 -> 256 -> 1, non-saturating BCE
        return "gan", {"arch": "mlp", "z_dim": 100, "g_hidden": (256,), "d_hidden": (256,), "loss": "bce"}
    if model == "dcgan":  # Radford et al.: 7x7x64 -> 14x14x32 -> 28x28x1, strided-conv D with batch norm (CPU widths)
        return "dcgan", {"z_dim": 100, "g_channels": (64, 32), "d_channels": (32, 64)}
    if model == "cgan":
        # One-hot label into G and D. D joins the label before a hidden layer, so it can judge whether
        # image and label agree (joined at the logit it could only add a per-class bias). Half the
        # DCGAN widths: a quarter of the compute, so four times the steps fit a CPU budget.
        return "cgan", {"arch": "dcgan", "num_classes": 10, "z_dim": 100, "g_channels": (64, 32),
                        "d_channels": (32, 64), "g_fc": 256, "d_fc": 256}
    if model == "infogan":  # Chen et al.: 62 noise + 10-way categorical + 2 uniform codes, Q on D's trunk
        return "infogan", {"arch": "dcgan", "z_dim": 62, "n_cat": 10, "n_cont": 2, "g_channels": (128, 64),
                           "d_channels": (64, 128), "g_fc": 1024, "d_fc": 1024}
    if model == "aae":  # Makhzani et al.
        if prior not in AAE_PRIORS:
            raise MatganError(f"unknown AAE prior {prior!r}: expected one of {', '.join(AAE_PRIORS)}")
        return "aae", {"prior": prior, "z_dim": 2, "num_classes": 10, "enc_hidden": (512, 512),
                       "dec_hidden": (512, 512), "disc_hidden": (512, 512)}
    if model == "cyclegan":  # Zhu et al., sized for 28x28 digits on a CPU
        return "cyclegan", {"ngf": 16, "ndf": 32, "n_blocks": 3, "n_down": 2, "d_layers": 2, "pool_size": 50}
    raise MatganError(f"unknown MNIST model {model!r}: expected one of {', '.join(MODELS)}")


def training_data(model: str, images: np.ndarray, labels: np.ndarray, seed: int = 0) -> Dataset:
    """The data set a model trains on.

    Parameters
    ----------
    images : uint8 (N, 28, 28) training digits, 0 = background.
    labels : (N,) digits 0..9.
    seed : for `cyclegan`, which random disjoint halves become the two domains.

    Returns
    -------
    A Dataset of (x (1, 28, 28) in [-1, 1], label) items; for `cyclegan` unpaired (a, b) items: a white
    digit on black from one half of the set, b a black digit on white (the exact inverse) from the other,
    so no digit ever appears in both domains.
    """
    from matgan.core.data import TensorPairs, UnpairedCrops
    from matgan.mnist.classifier import digits_to_tensor
    from matgan.mnist.data import split_halves

    x = digits_to_tensor(images)
    if model != "cyclegan":
        return TensorPairs(x, torch.from_numpy(np.asarray(labels, dtype=np.int64)))
    half_a, half_b = split_halves(len(x), seed)
    return UnpairedCrops(list(x[half_a]), list(-x[half_b]), crop=x.shape[-1], seed=seed, flips=False)


def train_model(model: str, out_dir: str | os.PathLike, data_dir: str | os.PathLike | None = None, *,
                steps: int | None = None, epochs: int | None = None, batch_size: int | None = None,
                seed: int = 0, device: str = "auto", prior: str = "gaussian", resume: bool = False,
                overwrite: bool = False, limit: int | None = None, ema_decay: float = 0.0,
                sample_every: int = 500, progress: bool = True, download: bool = False) -> dict:
    """Train one textbook model on MNIST with the core Trainer.

    Parameters
    ----------
    model : one of `MODELS`; `prior` picks the AAE prior.
    out_dir : the run folder (config.json, metrics.jsonl, samples/*.png, last.pt).
    steps, epochs : length of training (at most one; default `DEFAULT_STEPS[model]`).
    limit : train on the first `limit` training digits only (tests, quick looks).
    download : fetch missing MNIST files (md5-checked) into the data folder first.

    Returns
    -------
    The Trainer's summary (steps, samples/s, seconds, last losses, run folder).
    """
    from matgan.core.trainer import TrainConfig, Trainer, seed_everything
    from matgan.core.variants import build_variant
    from matgan.mnist.data import load_mnist

    if steps is not None and epochs is not None:
        raise MatganError("give --steps or --epochs, not both")
    name, options = variant_config(model, prior)
    images, labels = load_mnist("train", data_dir, download=download, limit=limit)
    dataset = training_data(model, images, labels, seed)
    batch_size = batch_size or DEFAULT_BATCH[model]
    if epochs is not None:
        steps = max(1, epochs * (len(dataset) // batch_size))
    steps = steps or DEFAULT_STEPS[model]
    seed_everything(seed)
    variant = build_variant(name, options)
    config = TrainConfig(steps=steps, batch_size=batch_size, seed=seed, device=device, ema_decay=ema_decay,
                         log_every=50, sample_every=sample_every, checkpoint_every=500, progress=progress)
    meta = {"domain": "mnist", "model": model, "prior": prior if model == "aae" else None,
            "train_digits": len(images), "data_dir": str(Path(data_dir).resolve()) if data_dir else None}
    trainer = Trainer(variant, dataset, config, out_dir, resume=resume, overwrite=overwrite, meta=meta)
    return trainer.fit()
