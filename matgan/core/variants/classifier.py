"""A classifier trained by the same Trainer: the feature extractor behind evaluation metrics.

The core's strided-conv discriminator with one output per class (no new network code); its last
hidden layer is the feature space of Frechet distances, its argmax the class. Domains configure it
(MNIST digits, vibration spectra) instead of writing their own.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F

from matgan.core.nets import DCGANDiscriminator
from matgan.core.variants.base import Variant, VariantConfig, real_batch, register


@dataclasses.dataclass
class ClassifierConfig(VariantConfig):
    """Options of a classifier (defaults: 28x28 gray digits, ten classes); 1-D data works the same."""

    data_shape: tuple[int, ...] = (1, 28, 28)
    num_classes: int = 10
    channels: tuple[int, ...] = (32, 64)
    fc_hidden: int = 128
    lr: float = 2e-3
    betas: tuple[float, float] = (0.9, 0.999)
    max_shift_px: float = 2.0  # random translation of training images (augmentation; 2-D only)


@register
class Classifier(Variant):
    """A classifier as a variant: one cross-entropy update per step, cosine learning-rate decay."""

    name = "classifier"
    Config = ClassifierConfig
    ema_nets = ()

    def __init__(self, config: ClassifierConfig):
        super().__init__(config)
        c = config
        self.nets["C"] = DCGANDiscriminator(c.data_shape, c.channels, c.fc_hidden, out_dim=c.num_classes)

    def optimizer_groups(self):
        return {"C": (["C"], self.config.lr)}

    def lr_factor(self, step: int, total_steps: int) -> float:
        return 0.5 * (1.0 + math.cos(math.pi * min(step / max(total_steps, 1), 1.0)))

    def _shift(self, x: torch.Tensor) -> torch.Tensor:
        """Translate each image by up to `max_shift_px` pixels (bilinear, zero = background -1)."""
        limit = self.config.max_shift_px
        if limit <= 0 or x.ndim != 4:
            return x
        n, _, h, w = x.shape
        theta = torch.zeros(n, 2, 3, device=x.device)
        theta[:, 0, 0] = theta[:, 1, 1] = 1.0
        shift = (torch.rand(n, 2, device=x.device) * 2 - 1) * limit
        theta[:, 0, 2], theta[:, 1, 2] = shift[:, 0] * 2 / w, shift[:, 1] * 2 / h
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1

    def train_step(self, batch) -> dict[str, float]:
        x, labels = real_batch(batch)
        logits = self.net("C")(self._shift(x))
        loss = F.cross_entropy(logits, labels.long())
        self.optimize("C", loss)
        return {"loss": loss.item(), "train_accuracy": (logits.argmax(1) == labels).float().mean().item()}

    def sample(self, n: int, generator: torch.Generator | None = None, **conditions) -> torch.Tensor:
        raise NotImplementedError("a classifier does not generate samples")

    def preview(self, batch, generator):
        """The samples of the preview batch (what the classifier trains on)."""
        x, _ = real_batch(batch)
        return x[:64], 8

    @torch.no_grad()
    def logits_and_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        net = self.nets["C"]
        was = net.training
        net.eval()
        logits, features = net(x.to(self.device), return_features=True)
        net.train(was)
        return logits, features
