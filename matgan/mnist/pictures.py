"""The picture each MNIST variant is known for, with the raw arrays behind it.

- gan, dcgan: a grid of samples.
- cgan: one row per digit (or a grid of one asked digit).
- infogan: latent-code sweeps as in the InfoGAN paper: rows = noise draws, columns = code value; one
  panel for the categorical code and one per continuous code (swept over [-2, 2], past the trained
  range [-1, 1], as the paper does).
- aae: the 2-D latent of the test digits coloured by digit over prior draws, beside decoded prior samples.
- cyclegan: input | translation pairs, white-on-black -> black-on-white above, the reverse below.

`sample_picture` returns the picture (uint8 RGB or gray) and a dict of arrays for an .npz file:
`images` (N, 28, 28) uint8 always, plus the asked `labels`/`cat`/`cont`/`z`/`inputs` where they apply.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from matgan.errors import MatganError
from matgan.io import make_grid, tensor_to_uint8
from matgan.mnist.evaluate import NUM_DIGITS, generate

GAP = 8  # pixels between panels


def _side_by_side(panels: list[np.ndarray], gap: int = GAP, value: int = 255) -> np.ndarray:
    height = max(p.shape[0] for p in panels)
    padded = [np.pad(p, ((0, height - p.shape[0]), (0, 0)), constant_values=value) for p in panels]
    spacer = np.full((height, gap), value, dtype=np.uint8)
    out = [padded[0]]
    for panel in padded[1:]:
        out += [spacer, panel]
    return np.concatenate(out, axis=1)


def _check_digit(digit: int | None) -> None:
    if digit is not None and not 0 <= digit < NUM_DIGITS:
        raise MatganError(f"--digit {digit}: expected a digit 0..9")


def sample_picture(variant, meta: dict, n: int = 100, digit: int | None = None, seed: int = 0,
                   test_images: np.ndarray | None = None, test_labels: np.ndarray | None = None
                   ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The characteristic picture of a trained MNIST model.

    Parameters
    ----------
    variant, meta : from `matgan.mnist.evaluate.load_run`.
    n : number of samples (for infogan: rows x 10 per panel, rows = n // 10; for cyclegan: pairs).
    digit : ask for one digit (cgan, aae with a label prior, cyclegan inputs) or one categorical
        code value (infogan); None shows all.
    seed : noise seed; the same seed gives the same picture.
    test_images, test_labels : uint8 (N, 28, 28) and (N,) test digits, needed by aae and cyclegan.

    Returns
    -------
    picture : uint8 (H, W) gray or (H, W, 3) RGB.
    arrays : {"images": (N, 28, 28) uint8, ...} what the picture shows, for `np.savez`.
    """
    _check_digit(digit)
    if n < 1:
        raise MatganError(f"-n {n}: expected at least one sample")
    model = meta["model"]
    if model in ("aae", "cyclegan") and test_images is None:
        raise MatganError(f"the {model} picture needs the MNIST test digits (give --data-dir)")
    if model in ("gan", "dcgan"):
        images = tensor_to_uint8(generate(variant, model, n, seed))
        return make_grid(images, math.ceil(math.sqrt(n)), pad_value=255), {"images": images}
    if model == "cgan":
        return _cgan(variant, n, digit, seed)
    if model == "infogan":
        return _infogan(variant, n, digit, seed)
    if model == "aae":
        return _aae(variant, meta, n, digit, seed, test_images, test_labels)
    if model == "cyclegan":
        return _cyclegan(variant, n, digit, seed, test_images, test_labels)
    raise MatganError(f"unknown MNIST model {model!r}")


def _cgan(variant, n: int, digit: int | None, seed: int):
    if digit is None:
        per_row = max(1, n // NUM_DIGITS)
        labels = np.repeat(np.arange(NUM_DIGITS), per_row)
    else:
        per_row = math.ceil(math.sqrt(n))
        labels = np.full(n, digit)
    images = tensor_to_uint8(generate(variant, "cgan", len(labels), seed, labels=torch.from_numpy(labels)))
    return make_grid(images, per_row, pad_value=255), {"images": images, "labels": labels}


def _infogan(variant, n: int, digit: int | None, seed: int):
    config = variant.config
    rows, cols = max(1, n // NUM_DIGITS), NUM_DIGITS
    z = torch.randn(rows, config.z_dim, generator=torch.Generator().manual_seed(seed)).repeat_interleave(cols, 0)
    panels, images_all, cats, conts = [], [], [], []
    sweeps = []
    if config.n_cat and digit is None:  # columns = categorical value, continuous codes at 0
        sweeps.append((np.tile(np.arange(cols) % config.n_cat, rows), np.zeros((rows * cols, config.n_cont))))
    values = np.linspace(-2.0, 2.0, cols)
    row_cat = np.full(rows, digit) if digit is not None else np.arange(rows) % max(config.n_cat, 1)
    for k in range(config.n_cont):  # columns = value of continuous code k, the others at 0
        cont = np.zeros((rows * cols, config.n_cont))
        cont[:, k] = np.tile(values, rows)
        sweeps.append((np.repeat(row_cat, cols), cont))
    for cat, cont in sweeps:
        samples = variant.sample(rows * cols, cat=torch.from_numpy(cat).long(),
                                 cont=torch.from_numpy(cont).float(), z=z)
        images = tensor_to_uint8(samples)
        panels.append(make_grid(images, cols, pad_value=255))
        images_all.append(images), cats.append(cat), conts.append(cont)
    arrays = {"images": np.concatenate(images_all), "cat": np.concatenate(cats),
              "cont": np.concatenate(conts).astype(np.float32),
              "panel": np.repeat(np.arange(len(sweeps)), rows * cols)}
    return _side_by_side(panels), arrays


def _aae(variant, meta: dict, n: int, digit: int | None, seed: int, test_images, test_labels):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matgan.mnist.classifier import digits_to_tensor

    prior = meta.get("prior", "gaussian")
    generator = torch.Generator().manual_seed(seed)
    labels = None
    if prior != "gaussian":
        labels = np.full(n, digit) if digit is not None else np.arange(n) % NUM_DIGITS
    z = variant.sample_prior(n, torch.from_numpy(labels) if labels is not None else None, generator).cpu()
    images = tensor_to_uint8(variant.decode(z, torch.from_numpy(labels) if prior == "style" else None))
    order = np.argsort(labels, kind="stable") if labels is not None else np.arange(n)
    grid = make_grid(images[order], max(1, n // NUM_DIGITS) if labels is not None and digit is None
                     else math.ceil(math.sqrt(n)), pad_value=255)

    test_z = torch.cat([variant.encode(x) for x in digits_to_tensor(test_images).split(500)]).cpu().numpy()
    draws = variant.sample_prior(len(test_z), None, generator).cpu().numpy()
    fig, (ax_scatter, ax_grid) = plt.subplots(1, 2, figsize=(12, 6))
    points = ax_scatter.scatter(test_z[:, 0], test_z[:, 1], s=1, c=test_labels, cmap="tab10", vmin=-0.5,
                                vmax=9.5)
    ax_scatter.scatter(draws[:, 0], draws[:, 1], s=1, c="k", alpha=0.1, label="prior draws (black)")
    ax_scatter.legend(loc="upper right", markerscale=6)
    fig.colorbar(points, ax=ax_scatter, ticks=range(NUM_DIGITS), label="digit")
    ax_scatter.set(title=f"test digits in the latent (prior: {prior})", xlabel="z[0]", ylabel="z[1]")
    ax_scatter.set_aspect("equal", "datalim")
    ax_grid.imshow(grid, cmap="gray", vmin=0, vmax=255)
    ax_grid.set(title="decoded prior samples" + (" (rows: digit)" if labels is not None else ""))
    ax_grid.axis("off")
    fig.tight_layout()
    picture = _figure_to_rgb(fig)
    plt.close(fig)
    arrays = {"images": images, "z": z.numpy(), "test_latent": test_z.astype(np.float32),
              "test_labels": np.asarray(test_labels)}
    if labels is not None:
        arrays["labels"] = labels
    return picture, arrays


def _figure_to_rgb(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def _cyclegan(variant, n: int, digit: int | None, seed: int, test_images, test_labels):
    from matgan.mnist.classifier import digits_to_tensor

    candidates = np.flatnonzero(np.asarray(test_labels) == digit) if digit is not None else np.arange(len(test_images))
    if len(candidates) == 0:
        raise MatganError(f"no test digit {digit} to translate")
    chosen = np.random.default_rng(seed).choice(candidates, size=min(n, len(candidates)), replace=False)
    x = digits_to_tensor(test_images[chosen])
    half = (len(x) + 1) // 2
    inputs = torch.cat([x[:half], -x[half:]])  # first half from domain A, the rest from domain B
    outputs = torch.cat([variant.sample(inputs[:half], "AB"), variant.sample(inputs[half:], "BA")]).cpu()
    inputs_u8, outputs_u8 = tensor_to_uint8(inputs), tensor_to_uint8(outputs)
    pairs = np.stack([inputs_u8, outputs_u8], 1).reshape(-1, *inputs_u8.shape[1:])
    pairs_per_row = 5
    top = make_grid(pairs[: 2 * half], 2 * pairs_per_row, pad_value=128)
    panels = [top]
    if len(x) > half:
        panels.append(make_grid(pairs[2 * half :], 2 * pairs_per_row, pad_value=128))
    width = max(p.shape[1] for p in panels)
    panels = [np.pad(p, ((0, 0), (0, width - p.shape[1])), constant_values=128) for p in panels]
    picture = np.concatenate([panels[0]] + [np.full((GAP, width), 128, np.uint8), *panels[1:]], axis=0) \
        if len(panels) > 1 else panels[0]
    arrays = {"images": outputs_u8, "inputs": inputs_u8, "labels": np.asarray(test_labels)[chosen],
              "direction": np.array(["AB"] * half + ["BA"] * (len(x) - half))}
    return picture, arrays


def save_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray], overwrite: bool = False) -> Path:
    """Write the arrays behind a picture to one .npz file, atomically."""
    import io

    from matgan.io import write_bytes

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return write_bytes(path, buffer.getvalue(), overwrite)
