"""InfoGAN (Chen et al. 2016): latent codes whose mutual information with the sample is maximised.

The generator sees noise z, an optional K-way categorical code and `n_cont` continuous codes
uniform in [-1, 1]. A Q head on the discriminator's features predicts the codes back:
cross-entropy for the categorical code, Gaussian negative log-likelihood for the continuous ones.
With `supervised_cat` and batches (x, label), Q's categorical output is also trained on real
labels, which ties the categorical code to known classes (semi-supervised InfoGAN). Likewise
`supervised_cont = k` with batches (x, label, targets), targets (N, k) in [-1, 1], trains Q's
first k continuous means on real samples: those codes are tied to a known real factor (e.g. a
measured peak frequency).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from matgan.core import losses
from matgan.core.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from matgan.core.variants.base import Variant, VariantConfig, one_hot, real_batch, register


@dataclasses.dataclass
class InfoGANConfig(VariantConfig):
    data_shape: tuple[int, ...] = (1, 28, 28)
    z_dim: int = 62
    n_cat: int = 10
    n_cont: int = 2
    arch: str = "dcgan"  # dcgan | mlp
    g_channels: tuple[int, ...] = (128, 64)
    d_channels: tuple[int, ...] = (64, 128)
    g_fc: int = 1024
    d_fc: int = 1024
    g_hidden: tuple[int, ...] = (256, 512)
    d_hidden: tuple[int, ...] = (512, 256)
    q_hidden: int = 128
    out_act: str = "tanh"
    loss: str = "bce"
    lr: float = 2e-4  # discriminator and Q
    lr_g: float = 1e-3
    lambda_cat: float = 1.0
    lambda_cont: float = 0.1
    supervised_cat: bool = False
    supervised_cont: int = 0
    lambda_supervised: float = 1.0


@register
class InfoGAN(Variant):
    """Generator G(z, c), discriminator D with a Q head predicting c from D's features."""

    name = "infogan"
    Config = InfoGANConfig

    def __init__(self, config: InfoGANConfig):
        super().__init__(config)
        c = config
        code_dim = c.n_cat + c.n_cont
        if c.arch == "dcgan":
            self.nets["G"] = DCGANGenerator(c.z_dim + code_dim, c.data_shape, c.g_channels, c.g_fc, 0, c.out_act)
            self.nets["D"] = DCGANDiscriminator(c.data_shape, c.d_channels, c.d_fc)
        else:
            self.nets["G"] = MLPGenerator(c.z_dim + code_dim, c.data_shape, c.g_hidden, 0, c.out_act, norm=True)
            self.nets["D"] = MLPDiscriminator(c.data_shape, c.d_hidden)
        self.nets["Q"] = nn.Sequential(
            nn.Linear(self.nets["D"].feature_dim, c.q_hidden), nn.BatchNorm1d(c.q_hidden), nn.LeakyReLU(0.2),
            nn.Linear(c.q_hidden, c.n_cat + 2 * c.n_cont))

    def optimizer_groups(self):
        return {"D": (["D", "Q"], self.config.lr), "G": (["G"], self.config.lr_g)}

    def draw_codes(self, n: int, generator=None, cat=None, cont=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Categorical indices (N,) (random unless given) and continuous codes (N, n_cont)."""
        c = self.config
        if cat is None:
            cat = self.randint(max(c.n_cat, 1), n, generator)
        cat = torch.as_tensor(cat, device=self.device).long().expand(n) if torch.as_tensor(cat).ndim == 0 \
            else torch.as_tensor(cat, device=self.device).long()
        if cont is None:
            cont = self.uniform(n, c.n_cont, generator=generator)
        cont = torch.as_tensor(cont, dtype=torch.float32, device=self.device).reshape(n, c.n_cont)
        return cat, cont

    def _latent(self, z, cat, cont):
        parts = [z] + ([one_hot(cat, self.config.n_cat)] if self.config.n_cat else []) + [cont]
        return torch.cat(parts, dim=1)

    def _split_q(self, q_out):
        c = self.config
        cat_logits = q_out[:, : c.n_cat]
        mean = q_out[:, c.n_cat : c.n_cat + c.n_cont]
        log_std = q_out[:, c.n_cat + c.n_cont :].clamp(-4.0, 2.0)
        return cat_logits, mean, log_std

    def _info_loss(self, q_out, cat, cont) -> torch.Tensor:
        c = self.config
        cat_logits, mean, log_std = self._split_q(q_out)
        loss = c.lambda_cont * losses.gaussian_nll(mean, log_std, cont) if c.n_cont else q_out.sum() * 0
        if c.n_cat:
            loss = loss + c.lambda_cat * losses.categorical_code_loss(cat_logits, cat)
        return loss

    def train_step(self, batch) -> dict[str, float]:
        c = self.config
        real, labels = real_batch(batch)
        n = real.shape[0]
        G, D, Q = self.net("G"), self.net("D"), self.net("Q")
        cat, cont = self.draw_codes(n)
        fake = G(self._latent(self.noise(n, c.z_dim), cat, cont))

        real_logits, real_features = D(real, return_features=True)
        fake_logits, fake_features = D(fake.detach(), return_features=True)
        loss_d = losses.discriminator_loss(c.loss, real_logits, fake_logits)
        use_labels = c.supervised_cat and c.n_cat and labels is not None
        targets = batch[2] if c.supervised_cont and isinstance(batch, (tuple, list)) and len(batch) > 2 else None
        q_out = Q(torch.cat([fake_features, real_features]) if use_labels or targets is not None else fake_features)
        loss_info_d = self._info_loss(q_out[:n], cat, cont)
        loss_sup = torch.zeros((), device=real.device)
        if use_labels:
            loss_sup = losses.categorical_code_loss(self._split_q(q_out[n:])[0], labels.to(real.device))
        if targets is not None:
            _, mean, log_std = self._split_q(q_out[n:])
            k = c.supervised_cont
            loss_sup = loss_sup + c.lambda_cont * losses.gaussian_nll(mean[:, :k], log_std[:, :k],
                                                                      targets.to(real.device).reshape(n, k))
        self.optimize("D", loss_d + loss_info_d + c.lambda_supervised * loss_sup)

        fake_logits, fake_features = D(fake, return_features=True)
        loss_g_adv = losses.generator_loss(c.loss, fake_logits)
        loss_info = self._info_loss(Q(fake_features), cat, cont)
        self.optimize("G", loss_g_adv + loss_info)
        return {"loss_d": loss_d.item(), "loss_g": loss_g_adv.item(), "loss_info": loss_info.item(),
                "loss_supervised": loss_sup.item()}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, cat=None, cont=None,
               z: torch.Tensor | None = None) -> torch.Tensor:
        """n samples; `cat` (index or (N,)) and `cont` ((N, n_cont)) fix the codes, else random."""
        cat, cont = self.draw_codes(n, generator, cat, cont)
        if z is None:
            z = self.noise(n, self.config.z_dim, generator=generator)
        G = self.inference_net("G")
        was_training = G.training
        G.eval()
        out = G(self._latent(z.to(self.device), cat, cont))
        G.train(was_training)
        return out

    @torch.no_grad()
    def predict_codes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Q's reading of samples x: categorical logits (N, n_cat) and continuous means (N, n_cont)."""
        D, Q = self.nets["D"], self.nets["Q"]
        modes = D.training, Q.training
        D.eval(), Q.eval()
        cat_logits, mean, _ = self._split_q(Q(D(x.to(self.device), return_features=True)[1]))
        D.train(modes[0]), Q.train(modes[1])
        return cat_logits, mean

    def preview(self, batch, generator):
        """Rows: categorical values (or noise draws); columns: a sweep of the first continuous code."""
        c = self.config
        rows, cols = max(c.n_cat, 1) if c.n_cat else 8, 8
        cat = torch.arange(rows).repeat_interleave(cols) % max(c.n_cat, 1)
        cont = torch.zeros(rows * cols, c.n_cont)
        if c.n_cont:
            cont[:, 0] = torch.linspace(-1, 1, cols).repeat(rows)
        z = torch.randn(rows, c.z_dim, generator=generator).repeat_interleave(cols, dim=0)
        return self.sample(rows * cols, cat=cat, cont=cont, z=z), cols
