"""CycleGAN (Zhu et al. 2017): unpaired translation A <-> B with cycle-consistency.

ResNet generators G_AB, G_BA; PatchGAN discriminators D_A, D_B; LSGAN loss; cycle weight 10;
identity weight 0.5 x the cycle weight; a pool of 50 past fakes per discriminator; Adam 2e-4
(0.5, 0.999) with the learning rate decaying linearly to zero over the last `decay_fraction` of steps.
Batches are (a, b) or (a, b, extra_fake_b): extra fakes are shown to D_B as fake alongside G_AB's
outputs (a domain can use it to punish a failure mode, e.g. broken grain boundaries). A batch may end
with a dict {"target_b": images, "weight": per-image weights}: B-domain translations known for some of the
A images (0 weight where none is), which `lambda_paired` > 0 pulls G_AB(a) towards by L1 (pix2pix's
term; a semi-supervised CycleGAN for a domain whose A images are partly synthetic, with known answers).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from matgan.core import losses
from matgan.core.nets import PatchDiscriminator, ResnetGenerator
from matgan.core.variants.base import Variant, VariantConfig, register


@dataclasses.dataclass
class CycleGANConfig(VariantConfig):
    channels_a: int = 1
    channels_b: int = 1
    dims: int = 2
    ngf: int = 64
    ndf: int = 64
    n_blocks: int = 9
    n_down: int = 2
    d_layers: int = 3
    loss: str = "lsgan"
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5  # times lambda_cycle
    pool_size: int = 50
    decay_fraction: float = 0.5
    # Gaussian noise (sigma, in the [-1, 1] image scale) added to each translation before the other
    # generator maps it back in the cycle loss: it stops the generators hiding the source's details as
    # faint high-frequency patterns in the translation (Chu et al. 2017, "CycleGAN, a master of
    # steganography"); 0 = the plain CycleGAN
    cycle_noise: float = 0.0
    # weight of the L1 between G_AB(a) and a known translation of a (batches that carry one; 0 = unpaired)
    lambda_paired: float = 0.0
    free_on_resume = ("lambda_paired",)


class ImagePool(nn.Module):
    """The last `size` fakes; a query returns, per image, either it or (p = 1/2) a stored one it replaces.

    The pool's content is module state (get/set_extra_state), so checkpoints resume it exactly.
    """

    def __init__(self, size: int):
        super().__init__()
        self.size = size
        self.images: torch.Tensor | None = None
        self.count = 0

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        if self.images is None or self.images.shape[1:] != images.shape[1:]:
            self.images = images.new_zeros((self.size,) + tuple(images.shape[1:]))
            self.count = 0
        out = []
        for image in images:
            if self.count < self.size:
                self.images[self.count] = image
                self.count += 1
                out.append(image)
            elif torch.rand(()) < 0.5:
                i = int(torch.randint(self.size, ()))
                out.append(self.images[i].clone())
                self.images[i] = image
            else:
                out.append(image)
        return torch.stack(out)

    def get_extra_state(self):
        return {"images": self.images if self.images is not None else torch.empty(0), "count": self.count}

    def set_extra_state(self, state) -> None:
        self.count = int(state["count"])
        self.images = state["images"] if state["images"].numel() else None

    def _apply(self, fn, recurse=True):
        if self.images is not None:
            self.images = fn(self.images)
        return super()._apply(fn, recurse)


@register
class CycleGAN(Variant):
    """Two generators, two PatchGAN discriminators, cycle and identity losses."""

    name = "cyclegan"
    Config = CycleGANConfig
    ema_nets = ("G_AB", "G_BA")

    def __init__(self, config: CycleGANConfig):
        super().__init__(config)
        c = config
        self.nets["G_AB"] = ResnetGenerator(c.channels_a, c.channels_b, c.ngf, c.n_down, c.n_blocks, c.dims)
        self.nets["G_BA"] = ResnetGenerator(c.channels_b, c.channels_a, c.ngf, c.n_down, c.n_blocks, c.dims)
        self.nets["D_A"] = PatchDiscriminator(c.channels_a, c.ndf, c.d_layers, c.dims)
        self.nets["D_B"] = PatchDiscriminator(c.channels_b, c.ndf, c.d_layers, c.dims)
        self.pool_a = ImagePool(c.pool_size)
        self.pool_b = ImagePool(c.pool_size)

    def optimizer_groups(self):
        return {"G": (["G_AB", "G_BA"], self.config.lr), "D": (["D_A", "D_B"], self.config.lr)}

    def lr_factor(self, step: int, total_steps: int) -> float:
        start = int(total_steps * (1 - self.config.decay_fraction))
        if step < start or total_steps <= start:
            return 1.0
        return max(0.0, 1.0 - (step - start) / (total_steps - start + 1))

    def train_step(self, batch) -> dict[str, float]:
        c = self.config
        a, b = batch[0], batch[1]
        rest = list(batch[2:])
        paired = rest.pop() if rest and isinstance(rest[-1], dict) else None
        extra_fake_b = rest[0] if rest else None
        G_AB, G_BA, D_A, D_B = (self.net(n) for n in ("G_AB", "G_BA", "D_A", "D_B"))

        fake_b, fake_a = G_AB(a), G_BA(b)
        loss_adv = losses.generator_loss(c.loss, D_B(fake_b)) + losses.generator_loss(c.loss, D_A(fake_a))
        loss_cycle = (losses.cycle_loss(G_BA(self._cycle_input(fake_b)), a)
                      + losses.cycle_loss(G_AB(self._cycle_input(fake_a)), b))
        loss_idt = torch.zeros((), device=a.device)
        if c.lambda_identity > 0 and c.channels_a == c.channels_b:
            loss_idt = losses.identity_loss(G_AB(b), b) + losses.identity_loss(G_BA(a), a)
        loss_g = loss_adv + c.lambda_cycle * loss_cycle + c.lambda_cycle * c.lambda_identity * loss_idt
        loss_paired = torch.zeros((), device=a.device)
        if c.lambda_paired > 0 and paired is not None:
            loss_paired = losses.paired_l1(fake_b, paired["target_b"], paired["weight"])
            loss_g = loss_g + c.lambda_paired * loss_paired
        self.optimize("G", loss_g)

        fakes_b = self.pool_b.query(fake_b.detach())
        fake_logits_b = D_B(fakes_b)
        if extra_fake_b is not None:
            fake_logits_b = torch.cat([fake_logits_b, D_B(extra_fake_b)])
        loss_d_b = losses.discriminator_loss(c.loss, D_B(b), fake_logits_b)
        loss_d_a = losses.discriminator_loss(c.loss, D_A(a), D_A(self.pool_a.query(fake_a.detach())))
        self.optimize("D", loss_d_a + loss_d_b)
        return {"loss_g": loss_adv.item(), "loss_cycle": loss_cycle.item(), "loss_idt": loss_idt.item(),
                "loss_paired": loss_paired.item(),
                "loss_d_a": loss_d_a.item(), "loss_d_b": loss_d_b.item()}

    def _cycle_input(self, fake: torch.Tensor) -> torch.Tensor:
        """A translation on its way back in the cycle loss: with `cycle_noise` noise added (no draw when 0)."""
        noise = self.config.cycle_noise
        return fake + noise * torch.randn_like(fake) if noise > 0 else fake

    @torch.no_grad()
    def sample(self, x: torch.Tensor, direction: str = "AB") -> torch.Tensor:
        """Translate x (N, C, H, W) in [-1, 1]: direction "AB" (A -> B) or "BA"."""
        if direction not in ("AB", "BA"):
            raise ValueError(f"direction must be 'AB' or 'BA', got {direction!r}")
        G = self.inference_net("G_AB" if direction == "AB" else "G_BA")
        was = G.training
        G.eval()
        out = G(x.to(self.device))
        G.train(was)
        return out

    def preview(self, batch, generator):
        """Rows: a | G_AB(a) | G_BA(G_AB(a)) | b | G_BA(b) | G_AB(G_BA(b))."""
        a, b = batch[0][:4].to(self.device), batch[1][:4].to(self.device)
        ab = self.sample(a, "AB")
        ba = self.sample(b, "BA")
        rows = []
        for i in range(min(len(a), len(b))):
            rows += [a[i], ab[i], self.sample(ab[i : i + 1], "BA")[0], b[i], ba[i], self.sample(ba[i : i + 1], "AB")[0]]
        if a.shape[1] != b.shape[1]:
            rows = [r[:1] for r in rows]
        return torch.stack(rows), 6
