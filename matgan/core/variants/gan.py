"""Vanilla GAN (Goodfellow et al. 2014): MLP generator and discriminator, non-saturating loss."""

from __future__ import annotations

import dataclasses

import torch

from matgan.core import losses
from matgan.core.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from matgan.core.variants.base import Variant, VariantConfig, one_hot, real_batch, register


@dataclasses.dataclass
class GANConfig(VariantConfig):
    """Options of the unconditional and conditional GANs.

    data_shape: (C, H, W) images, (C, L) signals or (D,) vectors; samples in [-1, 1]
    (`out_act="none"` for unbounded data such as the toy mixture).
    """

    data_shape: tuple[int, ...] = (1, 28, 28)
    z_dim: int = 100
    arch: str = "mlp"  # mlp | dcgan
    g_hidden: tuple[int, ...] = (256,)
    d_hidden: tuple[int, ...] = (256,)
    g_channels: tuple[int, ...] = (128, 64)
    d_channels: tuple[int, ...] = (64, 128)
    g_fc: int = 0
    d_fc: int = 0
    out_act: str = "tanh"
    loss: str = "bce"  # bce | lsgan | hinge | wgan (with gradient penalty)
    gp_weight: float = 10.0
    num_classes: int = 0  # > 0: conditional GAN


@register
class GAN(Variant):
    """Generator G(z[, y]) against discriminator D(x[, y]); one D and one G update per step."""

    name = "gan"
    Config = GANConfig

    def __init__(self, config: GANConfig):
        super().__init__(config)
        c = config
        cond = c.num_classes
        if c.arch == "mlp":
            self.nets["G"] = MLPGenerator(c.z_dim, c.data_shape, c.g_hidden, cond, c.out_act)
            self.nets["D"] = MLPDiscriminator(c.data_shape, c.d_hidden, cond)
        elif c.arch == "dcgan":
            norm = "none" if c.loss == "wgan" else "batch"
            self.nets["G"] = DCGANGenerator(c.z_dim, c.data_shape, c.g_channels, c.g_fc, cond, c.out_act)
            self.nets["D"] = DCGANDiscriminator(c.data_shape, c.d_channels, c.d_fc, cond, norm=norm)
        else:
            raise ValueError(f"unknown arch {c.arch!r}: expected mlp or dcgan")

    def _cond(self, labels: torch.Tensor | None) -> torch.Tensor | None:
        if not self.config.num_classes:
            return None
        if labels is None:
            raise ValueError(f"the {self.name} variant needs labels: batches of (samples, labels)")
        return one_hot(labels, self.config.num_classes).to(self.device)

    def train_step(self, batch) -> dict[str, float]:
        real, labels = real_batch(batch)
        kind = self.config.loss
        cond = self._cond(labels)
        G, D = self.net("G"), self.net("D")
        fake = G(self.noise(real.shape[0], self.config.z_dim), cond)

        loss_d = losses.discriminator_loss(kind, D(real, cond), D(fake.detach(), cond))
        if kind == "wgan":
            loss_d = loss_d + self.config.gp_weight * losses.gradient_penalty(D, real, fake, cond)
        self.optimize("D", loss_d)

        loss_g = losses.generator_loss(kind, D(fake, cond))
        self.optimize("G", loss_g)
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item()}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, labels=None) -> torch.Tensor:
        """n samples (N, *data_shape); for a conditional GAN `labels` (N,) default to 0, 1, 2, ..."""
        if self.config.num_classes and labels is None:
            labels = torch.arange(n) % self.config.num_classes
        cond = self._cond(torch.as_tensor(labels) if labels is not None else None)
        G = self.inference_net("G")
        was_training = G.training
        G.eval()
        out = G(self.noise(n, self.config.z_dim, generator=generator), cond)
        G.train(was_training)
        return out


@register
class DCGAN(GAN):
    """DCGAN (Radford et al. 2016): transposed-conv generator, strided-conv discriminator, batch norm."""

    name = "dcgan"

    @dataclasses.dataclass
    class Config(GANConfig):
        arch: str = "dcgan"


@register
class ConditionalGAN(GAN):
    """Conditional GAN (Mirza & Osindero 2014): G and D both see the one-hot label."""

    name = "cgan"

    @dataclasses.dataclass
    class Config(GANConfig):
        num_classes: int = 10

    def preview(self, batch, generator):
        k = self.config.num_classes
        labels = torch.arange(k).repeat_interleave(8)
        return self.sample(len(labels), generator=generator, labels=labels), 8
