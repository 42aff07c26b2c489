"""GAN losses as pure functions of logits and tensors.

Adversarial losses come in pairs, chosen by name: `discriminator_loss(kind, real, fake)` and
`generator_loss(kind, fake)` with kind in {"bce", "lsgan", "hinge", "wgan"}. Logits may have any
shape (a PatchGAN map included); every loss is a mean over all elements.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

ADVERSARIAL = ("bce", "lsgan", "hinge", "wgan")


def _check(kind: str) -> None:
    if kind not in ADVERSARIAL:
        raise ValueError(f"unknown adversarial loss {kind!r}: expected one of {', '.join(ADVERSARIAL)}")


def discriminator_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Loss of the discriminator (critic) that should call `real_logits` real and `fake_logits` fake.

    bce:   softplus(-r) + softplus(f)           (= BCE with targets 1 and 0)
    lsgan: 0.5 * ((r - 1)^2 + f^2)
    hinge: relu(1 - r) + relu(1 + f)
    wgan:  f - r                                 (add `gradient_penalty` for WGAN-GP)
    """
    _check(kind)
    r, f = real_logits.float(), fake_logits.float()
    if kind == "bce":
        return F.softplus(-r).mean() + F.softplus(f).mean()
    if kind == "lsgan":
        return 0.5 * ((r - 1).pow(2).mean() + f.pow(2).mean())
    if kind == "hinge":
        return F.relu(1 - r).mean() + F.relu(1 + f).mean()
    return f.mean() - r.mean()


def generator_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """Loss of the generator whose samples gave `fake_logits`.

    bce: non-saturating softplus(-f) (= BCE with target 1); lsgan: (f - 1)^2; hinge and wgan: -f.
    """
    _check(kind)
    f = fake_logits.float()
    if kind == "bce":
        return F.softplus(-f).mean()
    if kind == "lsgan":
        return (f - 1).pow(2).mean()
    return -f.mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, cond: torch.Tensor | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP penalty E[(||grad_x critic(x_hat)|| - 1)^2] on random interpolates x_hat of real and fake."""
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    alpha = torch.rand(shape, generator=generator, device="cpu").to(real.device, real.dtype)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat) if cond is None else critic(x_hat, cond)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def cycle_loss(reconstructed: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Cycle-consistency: mean |F(G(x)) - x| (L1)."""
    return (reconstructed.float() - original.float()).abs().mean()


def identity_loss(mapped: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Identity mapping: mean |G(y) - y| for y already in G's target domain (L1)."""
    return (mapped.float() - original.float()).abs().mean()


def paired_l1(output: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Supervised translation (pix2pix's L1): per image mean |output - target|, weighted (N,), summed over
    images and divided by the batch size, so images without a known target (weight 0) add nothing."""
    per_image = (output.float() - target.float()).abs().flatten(1).mean(1)
    return (per_image * weight.float()).sum() / len(per_image)


def categorical_code_loss(logits: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """InfoGAN categorical term: cross-entropy of Q's logits (N, K) against the code indices (N,)."""
    return F.cross_entropy(logits.float(), codes.long())


def gaussian_nll(mean: torch.Tensor, log_std: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """InfoGAN continuous term: Gaussian negative log-likelihood of `target` under N(mean, exp(log_std)^2).

    Per element: log_std + 0.5 * ((target - mean) / exp(log_std))^2 + 0.5 * log(2 pi);
    summed over code dimensions (dim 1) and averaged over the batch.
    """
    mean, log_std, target = mean.float(), log_std.float(), target.float()
    z = (target - mean) * torch.exp(-log_std)
    nll = log_std + 0.5 * z.pow(2) + 0.5 * math.log(2 * math.pi)
    return nll.sum(dim=1).mean() if nll.ndim > 1 else nll.mean()
