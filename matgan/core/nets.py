"""GAN networks defined once for 1-D signals and 2-D images (the data shape decides).

`data_shape` is (C, L) for signals, (C, H, W) for images, or (D,) for flat vectors.
Generators end in tanh (data in [-1, 1]) unless told otherwise; discriminators return logits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

Shape = Sequence[int]


def _layer(kind: str, dims: int) -> type[nn.Module]:
    table = {
        "conv": (nn.Conv1d, nn.Conv2d),
        "convT": (nn.ConvTranspose1d, nn.ConvTranspose2d),
        "batch": (nn.BatchNorm1d, nn.BatchNorm2d),
        "instance": (nn.InstanceNorm1d, nn.InstanceNorm2d),
        "reflect": (nn.ReflectionPad1d, nn.ReflectionPad2d),
    }
    if dims not in (1, 2):
        raise ValueError(f"dims must be 1 or 2, got {dims}")
    return table[kind][dims - 1]


def _norm(kind: str, dims: int, channels: int) -> nn.Module:
    if kind == "none":
        return nn.Identity()
    if kind == "instance":
        return _layer("instance", dims)(channels, affine=False)
    if kind == "batch":
        return _layer("batch", dims)(channels)
    raise ValueError(f"unknown norm {kind!r}: expected batch, instance or none")


def _activation(name: str) -> nn.Module:
    return {"tanh": nn.Tanh(), "none": nn.Identity(), "sigmoid": nn.Sigmoid()}[name]


def init_weights(module: nn.Module, std: float = 0.02) -> nn.Module:
    """DCGAN initialisation: conv/linear weights N(0, std), norm scales N(1, std), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module


def _with_cond(x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
    return x if cond is None else torch.cat([x, cond.to(x.dtype)], dim=1)


class MLPGenerator(nn.Module):
    """z (N, z_dim) [+ cond (N, cond_dim)] -> sample (N, *data_shape).

    The textbook vanilla GAN generator is `MLPGenerator(100, (1, 28, 28), hidden=(256,))`.
    """

    def __init__(self, z_dim: int, data_shape: Shape, hidden: Sequence[int] = (256,), cond_dim: int = 0,
                 out_act: str = "tanh", norm: bool = False):
        super().__init__()
        self.data_shape = tuple(data_shape)
        layers: list[nn.Module] = []
        width = z_dim + cond_dim
        for h in hidden:
            layers += [nn.Linear(width, h)]
            if norm:
                layers += [nn.BatchNorm1d(h)]
            layers += [nn.LeakyReLU(0.2)]
            width = h
        layers += [nn.Linear(width, math.prod(self.data_shape)), _activation(out_act)]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(_with_cond(z, cond)).view(z.shape[0], *self.data_shape)


class MLPDiscriminator(nn.Module):
    """sample (N, *data_shape) [+ cond] -> logits (N,) or (N, out_dim); also an MLP encoder.

    With `return_features=True` it also returns the last hidden layer (N, hidden[-1]).
    """

    def __init__(self, data_shape: Shape, hidden: Sequence[int] = (256,), cond_dim: int = 0, out_dim: int = 1,
                 dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = []
        width = math.prod(data_shape) + cond_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            if dropout:
                layers += [nn.Dropout(dropout)]
            width = h
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(width, out_dim)
        self.out_dim = out_dim
        self.feature_dim = width

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None, return_features: bool = False):
        features = self.trunk(_with_cond(x.flatten(1), cond))
        out = self.head(features)
        out = out.squeeze(1) if self.out_dim == 1 else out
        return (out, features) if return_features else out


def _halvings(data_shape: Shape, n: int) -> tuple[int, ...]:
    spatial = tuple(data_shape[1:])
    if any(s % (2**n) for s in spatial):
        raise ValueError(f"spatial size {spatial} must be divisible by 2**{n} for {n} stride-2 layers")
    return tuple(s // 2**n for s in spatial)


class DCGANGenerator(nn.Module):
    """z [+ cond] -> [FC fc_hidden] -> FC to channels[0] x base -> stride-2 transposed convs -> sample.

    `channels` lists the feature maps from the base upwards; each entry is one doubling of the
    spatial size, so the base is spatial / 2**len(channels). The InfoGAN MNIST generator
    1024 -> 7x7x128 -> 14x14x64 -> 28x28x1 is `DCGANGenerator(z, (1, 28, 28), (128, 64), fc_hidden=1024)`.
    """

    def __init__(self, z_dim: int, data_shape: Shape, channels: Sequence[int] = (128, 64), fc_hidden: int = 0,
                 cond_dim: int = 0, out_act: str = "tanh"):
        super().__init__()
        data_shape = tuple(data_shape)
        dims = len(data_shape) - 1
        self.base = (channels[0],) + _halvings(data_shape, len(channels))
        fc: list[nn.Module] = []
        width = z_dim + cond_dim
        if fc_hidden:
            fc += [nn.Linear(width, fc_hidden), nn.BatchNorm1d(fc_hidden), nn.ReLU()]
            width = fc_hidden
        fc += [nn.Linear(width, math.prod(self.base)), nn.BatchNorm1d(math.prod(self.base)), nn.ReLU()]
        self.fc = nn.Sequential(*fc)
        convs: list[nn.Module] = []
        outs = list(channels[1:]) + [data_shape[0]]
        for i, (c_in, c_out) in enumerate(zip(channels, outs)):
            convs.append(_layer("convT", dims)(c_in, c_out, 4, 2, 1, bias=i == len(outs) - 1))
            if i < len(outs) - 1:
                convs += [_norm("batch", dims, c_out), nn.ReLU()]
        convs.append(_activation(out_act))
        self.convs = nn.Sequential(*convs)
        init_weights(self)

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.convs(self.fc(_with_cond(z, cond)).view(z.shape[0], *self.base))


class DCGANDiscriminator(nn.Module):
    """sample -> stride-2 convs (LeakyReLU, batch norm after the first) -> [FC] -> logits.

    The condition (e.g. a one-hot label) joins at the flattened features. With
    `return_features=True` the last hidden vector is returned too (the InfoGAN Q head reads it).
    """

    def __init__(self, data_shape: Shape, channels: Sequence[int] = (64, 128), fc_hidden: int = 0,
                 cond_dim: int = 0, out_dim: int = 1, norm: str = "batch"):
        super().__init__()
        data_shape = tuple(data_shape)
        dims = len(data_shape) - 1
        final = _halvings(data_shape, len(channels))
        convs: list[nn.Module] = []
        c_in = data_shape[0]
        for i, c_out in enumerate(channels):
            convs.append(_layer("conv", dims)(c_in, c_out, 4, 2, 1))
            if i > 0:
                convs.append(_norm(norm, dims, c_out))
            convs.append(nn.LeakyReLU(0.2))
            c_in = c_out
        self.convs = nn.Sequential(*convs)
        width = c_in * math.prod(final) + cond_dim
        fc: list[nn.Module] = []
        if fc_hidden:
            fc += [nn.Linear(width, fc_hidden)]
            fc += [nn.BatchNorm1d(fc_hidden)] if norm == "batch" else []
            fc += [nn.LeakyReLU(0.2)]
            width = fc_hidden
        self.fc = nn.Sequential(*fc)
        self.head = nn.Linear(width, out_dim)
        self.out_dim = out_dim
        self.feature_dim = width
        init_weights(self)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None, return_features: bool = False):
        features = self.fc(_with_cond(self.convs(x).flatten(1), cond))
        out = self.head(features)
        out = out.squeeze(1) if self.out_dim == 1 else out
        return (out, features) if return_features else out


class Encoder(nn.Module):
    """sample (N, *data_shape) -> vector (N, out_dim): an MLP or a strided-conv encoder.

    Used by the adversarial autoencoder; `arch` is "mlp" or "conv".
    """

    def __init__(self, data_shape: Shape, out_dim: int, arch: str = "mlp", hidden: Sequence[int] = (512, 512),
                 channels: Sequence[int] = (32, 64)):
        super().__init__()
        if arch == "mlp":
            self.net: nn.Module = MLPDiscriminator(data_shape, hidden, out_dim=out_dim)
        elif arch == "conv":
            self.net = DCGANDiscriminator(data_shape, channels, fc_hidden=hidden[0] if hidden else 0, out_dim=out_dim)
        else:
            raise ValueError(f"unknown encoder arch {arch!r}: expected mlp or conv")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return out[:, None] if out.ndim == 1 else out


class ResnetBlock(nn.Module):
    """Two reflection-padded 3-wide convs with instance norm, added to the input."""

    def __init__(self, channels: int, dims: int):
        super().__init__()
        pad, conv = _layer("reflect", dims), _layer("conv", dims)
        self.body = nn.Sequential(
            pad(1), conv(channels, channels, 3), _norm("instance", dims, channels), nn.ReLU(),
            pad(1), conv(channels, channels, 3), _norm("instance", dims, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Image-to-image generator (CycleGAN): c7 stem, stride-2 downs, ResNet blocks, ups, c7 out.

    Fully convolutional: any spatial size divisible by 2**n_down.
    """

    def __init__(self, in_channels: int, out_channels: int, ngf: int = 64, n_down: int = 2, n_blocks: int = 9,
                 dims: int = 2, out_act: str = "tanh"):
        super().__init__()
        pad, conv, convT = _layer("reflect", dims), _layer("conv", dims), _layer("convT", dims)
        layers: list[nn.Module] = [pad(3), conv(in_channels, ngf, 7), _norm("instance", dims, ngf), nn.ReLU()]
        c = ngf
        for _ in range(n_down):
            layers += [conv(c, 2 * c, 3, 2, 1), _norm("instance", dims, 2 * c), nn.ReLU()]
            c *= 2
        layers += [ResnetBlock(c, dims) for _ in range(n_blocks)]
        for _ in range(n_down):
            layers += [convT(c, c // 2, 3, 2, 1, output_padding=1), _norm("instance", dims, c // 2), nn.ReLU()]
            c //= 2
        layers += [pad(3), conv(c, out_channels, 7), _activation(out_act)]
        self.body = nn.Sequential(*layers)
        self.multiple = 2**n_down
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class PatchDiscriminator(nn.Module):
    """PatchGAN: a map of logits (N, 1, h[, w]), one per overlapping patch (70x70 with n_layers=3)."""

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3, dims: int = 2):
        super().__init__()
        conv = _layer("conv", dims)
        layers: list[nn.Module] = [conv(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
        c = ndf
        for i in range(1, n_layers + 1):
            c_out = ndf * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [conv(c, c_out, 4, stride, 1), _norm("instance", dims, c_out), nn.LeakyReLU(0.2)]
            c = c_out
        layers += [conv(c, 1, 4, 1, 1)]
        self.body = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
