"""`matgan toy`: train a core variant on a toy 2-D mixture of Gaussians (devices, DDP, resume)."""

from __future__ import annotations

import click

from matgan.cli.common import (
    MatganGroup,
    batch_size_option,
    device_option,
    echo_json,
    out_option,
    overwrite_option,
    precision_option,
    resume_option,
    seed_option,
    steps_option,
)

TOY_VARIANTS = ("gan", "cgan", "infogan", "aae")


def toy_variant_config(variant: str, modes: int) -> dict:
    """MLP configs of the variants for 2-D points (no tanh: the points are unbounded)."""
    flat = {"data_shape": (2,), "out_act": "none"}
    if variant == "gan":
        return {**flat, "z_dim": 8, "g_hidden": (128, 128), "d_hidden": (128, 128), "lr": 1e-3}
    if variant == "cgan":
        return {**flat, "z_dim": 8, "g_hidden": (128, 128), "d_hidden": (128, 128), "lr": 1e-3, "num_classes": modes}
    if variant == "infogan":
        return {**flat, "arch": "mlp", "z_dim": 8, "n_cat": modes, "n_cont": 1, "g_hidden": (128, 128),
                "d_hidden": (128, 128), "q_hidden": 64, "lr": 1e-3, "lr_g": 1e-3}
    return {**flat, "z_dim": 2, "prior": "gaussian", "enc_hidden": (128, 128), "dec_hidden": (128, 128),
            "disc_hidden": (128, 128)}


@click.group(cls=MatganGroup, name="toy")
def toy() -> None:
    """Core smoke runs on a toy 2-D mixture of Gaussians (also under torchrun)."""


@toy.command("train")
@click.option("--variant", type=click.Choice(TOY_VARIANTS), default="gan", show_default=True)
@click.option("--modes", type=int, default=8, show_default=True, help="Gaussians on the circle")
@click.option("--samples", type=int, default=4096, show_default=True, help="size of the toy data set")
@out_option(required=True)
@steps_option
@batch_size_option
@seed_option
@device_option
@precision_option
@click.option("--ema", type=float, default=0.0, show_default=True, help="generator EMA decay (0: off)")
@click.option("--checkpoint-every", type=int, default=200, show_default=True, help="steps between checkpoints")
@resume_option
@overwrite_option
def toy_train(variant, modes, samples, out, steps, batch_size, seed, device, precision, ema, checkpoint_every, resume,
              overwrite):
    """Train VARIANT on points from MODES Gaussians; prints a JSON summary with the mode coverage."""
    import torch

    from matgan.core.data import TensorPairs, gaussian_mixture
    from matgan.core.trainer import TrainConfig, Trainer, seed_everything
    from matgan.core.variants import build_variant

    points, centres = gaussian_mixture(samples, modes, seed=seed)
    labels = torch.cdist(points, centres).argmin(1)
    seed_everything(seed)
    model = build_variant(variant, toy_variant_config(variant, modes))
    config = TrainConfig(steps=steps or 1000, batch_size=batch_size or 128, seed=seed, device=device,
                         precision=precision, ema_decay=ema, log_every=50, sample_every=0,
                         checkpoint_every=checkpoint_every)
    trainer = Trainer(model, TensorPairs(points, labels), config, out, resume=resume, overwrite=overwrite,
                      meta={"domain": "toy", "modes": modes}, preview=_scatter_preview(points))
    summary = trainer.fit()
    if trainer.is_main:
        summary["mode_stats"] = mode_statistics(model.sample(2000, generator=torch.Generator().manual_seed(seed)).cpu(),
                                                centres)
        echo_json(summary)


@toy.command("sample")
@click.argument("checkpoint", type=click.Path())
@click.option("-n", "n", type=int, default=1000, show_default=True)
@seed_option
@out_option(required=True, help="output .npz (a scatter .png is written beside it)")
@overwrite_option
def toy_sample(checkpoint, n, seed, out, overwrite):
    """Draw N points from a toy CHECKPOINT; prints the mode statistics as JSON."""
    import io
    from pathlib import Path

    import numpy as np
    import torch

    from matgan.core.checkpoint import load_variant
    from matgan.core.data import gaussian_mixture
    from matgan.io import check_writable, write_bytes

    out = Path(out)
    check_writable([out, out.with_suffix(".png")], overwrite)
    model, payload = load_variant(checkpoint)
    modes = int(payload["meta"].get("modes", 8))
    points, centres = gaussian_mixture(4096, modes, seed=int(payload["train_config"].get("seed", 0)))
    samples = model.sample(n, generator=torch.Generator().manual_seed(seed)).float().cpu()
    buffer = io.BytesIO()
    np.savez(buffer, points=samples.numpy(), centres=centres.numpy())
    write_bytes(out, buffer.getvalue(), overwrite)
    _scatter_preview(points)(model, None, torch.Generator().manual_seed(seed), out.with_suffix(".png"))
    echo_json(mode_statistics(samples, centres))


def mode_statistics(samples, centres, radius: float = 0.3) -> dict:
    """Share of samples within `radius` of a mode, and how many modes hold at least 1 % of the samples."""
    import torch

    dist = torch.cdist(samples.float(), centres.float())
    nearest = dist.min(1)
    close = nearest.values < radius
    counts = torch.bincount(nearest.indices[close], minlength=len(centres))
    return {"share_near_mode": float(close.float().mean()), "modes_covered": int((counts >= 0.01 * len(samples)).sum()),
            "mean_distance_to_mode": float(nearest.values.mean())}


def _scatter_preview(points):
    def draw(variant, batch, generator, path):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from matgan.io import atomic_path

        fake = variant.sample(1000, generator=generator).float().cpu().numpy()
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.scatter(points[:1000, 0], points[:1000, 1], s=2, alpha=0.4, label="data")
        ax.scatter(fake[:, 0], fake[:, 1], s=2, alpha=0.4, label="generated")
        ax.legend(loc="upper right"), ax.set_aspect("equal")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=80)
        plt.close(fig)

    return draw
