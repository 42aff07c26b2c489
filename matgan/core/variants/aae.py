"""Adversarial autoencoder (Makhzani et al. 2016): an autoencoder whose code is made to match a prior
by a discriminator on the latent space.

Priors:
- "gaussian": N(0, I).
- "mixture": a mixture of `num_classes` Gaussians on a circle in the first two latent dimensions; the
  discriminator is told the component (for prior draws) or the true label (for encoded data), so each
  digit's codes land in their own component (the "label-incorporated" prior).
- "style": N(0, I) for the style code; the decoder also gets the one-hot label (content), so the
  latent learns only what the label does not say (disentangled style/content).
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F

from matgan.core import losses
from matgan.core.nets import Encoder, MLPDiscriminator, MLPGenerator
from matgan.core.variants.base import Variant, VariantConfig, one_hot, real_batch, register

PRIORS = ("gaussian", "mixture", "style")


@dataclasses.dataclass
class AAEConfig(VariantConfig):
    data_shape: tuple[int, ...] = (1, 28, 28)
    z_dim: int = 2
    prior: str = "gaussian"
    num_classes: int = 10
    enc_hidden: tuple[int, ...] = (1000, 1000)
    dec_hidden: tuple[int, ...] = (1000, 1000)
    disc_hidden: tuple[int, ...] = (1000, 1000)
    out_act: str = "tanh"
    mixture_radius: float = 4.0
    mixture_std: tuple[float, float] = (1.0, 0.25)  # radial, tangential
    lr: float = 2e-4
    lr_recon: float = 1e-3


@register
class AAE(Variant):
    """Encoder E, decoder Dec, latent discriminator Dz; three updates per step (recon, D, E)."""

    name = "aae"
    Config = AAEConfig
    ema_nets = ("Dec",)

    def __init__(self, config: AAEConfig):
        super().__init__(config)
        c = config
        if c.prior not in PRIORS:
            raise ValueError(f"unknown prior {c.prior!r}: expected one of {', '.join(PRIORS)}")
        if c.prior == "mixture" and c.z_dim < 2:
            raise ValueError("the mixture prior needs z_dim >= 2")
        content = c.num_classes if c.prior == "style" else 0
        label_to_d = c.num_classes if c.prior == "mixture" else 0
        self.nets["E"] = Encoder(c.data_shape, c.z_dim, "mlp", c.enc_hidden)
        self.nets["Dec"] = MLPGenerator(c.z_dim, c.data_shape, c.dec_hidden, content, c.out_act)
        self.nets["Dz"] = MLPDiscriminator((c.z_dim,), c.disc_hidden, label_to_d)

    def optimizer_groups(self):
        c = self.config
        return {"AE": (["E", "Dec"], c.lr_recon), "Dz": (["Dz"], c.lr), "E": (["E"], c.lr)}

    def sample_prior(self, n: int, labels: torch.Tensor | None = None, generator=None) -> torch.Tensor:
        """Draws (N, z_dim) from the prior; for the mixture, component `labels` (random if None)."""
        c = self.config
        z = self.noise(n, c.z_dim, generator=generator)
        if c.prior != "mixture":
            return z
        if labels is None:
            labels = self.randint(c.num_classes, n, generator)
        angle = 2 * math.pi * labels.to(self.device).float() / c.num_classes
        radial, tangential = c.mixture_std
        x = c.mixture_radius + radial * z[:, 0]
        y = tangential * z[:, 1]
        cos, sin = torch.cos(angle), torch.sin(angle)
        return torch.cat([torch.stack([x * cos - y * sin, x * sin + y * cos], 1), z[:, 2:]], 1)

    def _content(self, labels):
        return one_hot(labels, self.config.num_classes).to(self.device) if self.config.prior == "style" else None

    def _d_cond(self, labels):
        return one_hot(labels, self.config.num_classes).to(self.device) if self.config.prior == "mixture" else None

    def train_step(self, batch) -> dict[str, float]:
        c = self.config
        x, labels = real_batch(batch)
        if c.prior != "gaussian" and labels is None:
            raise ValueError(f"the {c.prior} prior needs labelled batches (samples, labels)")
        E, Dec, Dz = self.net("E"), self.net("Dec"), self.net("Dz")
        n = x.shape[0]

        loss_recon = F.mse_loss(Dec(E(x), self._content(labels)).float(), x.float())
        self.optimize("AE", loss_recon)

        with torch.no_grad():
            z_data = E(x)
        d_cond = self._d_cond(labels)
        z_prior = self.sample_prior(n, labels if c.prior == "mixture" else None)
        loss_d = losses.discriminator_loss("bce", Dz(z_prior, d_cond), Dz(z_data, d_cond))
        self.optimize("Dz", loss_d)

        loss_e = losses.generator_loss("bce", Dz(E(x), d_cond))
        self.optimize("E", loss_e)
        return {"loss_recon": loss_recon.item(), "loss_d": loss_d.item(), "loss_e": loss_e.item()}

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        E = self.nets["E"]
        was = E.training
        E.eval()
        z = E(x.to(self.device))
        E.train(was)
        return z

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        Dec = self.inference_net("Dec")
        was = Dec.training
        Dec.eval()
        out = Dec(z.to(self.device), self._content(labels) if labels is not None else None)
        Dec.train(was)
        return out

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, labels=None) -> torch.Tensor:
        """Decode n prior draws; `labels` pick the mixture component or the content (style prior)."""
        c = self.config
        if labels is None and c.prior != "gaussian":
            labels = torch.arange(n) % c.num_classes
        labels = torch.as_tensor(labels).to(self.device) if labels is not None else None
        return self.decode(self.sample_prior(n, labels, generator), labels)

    def preview(self, batch, generator):
        x, labels = real_batch(batch)
        x = x[:32]
        labels = labels[:32] if labels is not None else None
        recon = self.decode(self.encode(x), labels if self.config.prior == "style" else None)
        return torch.cat([x.to(recon.device), recon, self.sample(32, generator=generator)]), 8
