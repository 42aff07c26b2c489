"""The variant contract: a GAN variant declares its networks and optimizers and writes one train_step.

No loop, device choice, precision or I/O lives here: the Trainer moves the variant to a device,
wraps networks for DistributedDataParallel, installs gradient scalers and keeps EMA copies.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import typing
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from matgan.errors import MatganError


@dataclasses.dataclass
class VariantConfig:
    """Base of every variant config: plain fields that round-trip through JSON."""

    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    # options a resumed run may change: they weigh the objective from the next step on and hold no state
    # (a later stage of a run can add a loss term, as it can change the data's augmentation)
    free_on_resume: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> VariantConfig:
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise MatganError(f"{cls.__name__}: unknown option(s) {', '.join(unknown)}; known: {', '.join(names)}")
        hints = typing.get_type_hints(cls)
        converted = {}
        for key, value in values.items():
            if isinstance(value, list) and "tuple" in str(hints.get(key, "")):
                value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
            converted[key] = value
        return cls(**converted)


VARIANTS: dict[str, type[Variant]] = {}


def register(cls: type[Variant]) -> type[Variant]:
    """Class decorator: make a variant buildable by its `name`."""
    VARIANTS[cls.name] = cls
    return cls


def build_variant(name: str, config: VariantConfig | dict | None = None) -> Variant:
    """Build the variant registered as `name` from a config object or a plain dict."""
    if name not in VARIANTS:
        raise MatganError(f"unknown GAN variant {name!r}: expected one of {', '.join(sorted(VARIANTS))}")
    cls = VARIANTS[name]
    if not isinstance(config, cls.Config):
        config = cls.Config.from_dict(dict(config or {}))
    return cls(config)


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(labels.long(), num_classes).float()


class Variant(nn.Module):
    """A GAN variant: `nets` (a ModuleDict), optimizers over named groups of nets, one `train_step`.

    Subclasses set `name`, `Config`, `ema_nets`, build `self.nets` in `__init__` and implement
    `train_step(batch) -> dict[str, float]` and `sample(...)`. Inside train_step, call networks
    through `self.net(name)` (the Trainer may have wrapped them for DDP) and update with
    `self.optimize(group, loss)`.
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type[VariantConfig]] = VariantConfig
    ema_nets: ClassVar[tuple[str, ...]] = ("G",)

    def __init__(self, config: VariantConfig):
        super().__init__()
        self.config = config
        self.nets = nn.ModuleDict()
        self.ema = nn.ModuleDict()
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler] = {}
        self.scalers: dict[str, torch.amp.GradScaler] = {}
        self.wrapped: dict[str, nn.Module] = {}

    # -- declared by subclasses -----------------------------------------------------------
    def optimizer_groups(self) -> dict[str, tuple[Sequence[str], float]]:
        """{group: (net names, learning rate)}; one Adam optimizer per group."""
        return {"D": (["D"], self.config.lr), "G": (["G"], self.config.lr)}

    def lr_factor(self, step: int, total_steps: int) -> float:
        """Learning-rate multiplier at `step` (constant unless a variant decays it)."""
        return 1.0

    def train_step(self, batch) -> dict[str, float]:
        raise NotImplementedError

    def sample(self, n: int, generator: torch.Generator | None = None, **conditions) -> torch.Tensor:
        raise NotImplementedError

    def preview(self, batch, generator: torch.Generator) -> tuple[torch.Tensor, int]:
        """The picture saved during training: (samples, images per row)."""
        samples = self.sample(64, generator=generator)
        return samples, 8

    # -- used by subclasses -----------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.nets.parameters()).device

    def net(self, name: str) -> nn.Module:
        """The network to train through (its DDP wrapper when distributed)."""
        return self.wrapped.get(name) or self.nets[name]

    def add_ema(self, names) -> None:
        """Keep a frozen copy of each named network for the trainer's moving average (once)."""
        for name in names:
            if name not in self.ema:
                self.ema[name] = copy.deepcopy(self.nets[name]).requires_grad_(False)

    def inference_net(self, name: str) -> nn.Module:
        """The network to sample with (its EMA copy when the trainer keeps one)."""
        return self.ema[name] if name in self.ema else self.nets[name]

    def noise(self, *shape: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Standard normal noise on the variant's device (from `generator` when given, on CPU)."""
        if generator is None:
            return torch.randn(shape, device=self.device)
        return torch.randn(shape, generator=generator).to(self.device)

    def uniform(self, *shape: int, low: float = -1.0, high: float = 1.0,
                generator: torch.Generator | None = None) -> torch.Tensor:
        if generator is None:
            u = torch.rand(shape, device=self.device)
        else:
            u = torch.rand(shape, generator=generator).to(self.device)
        return low + (high - low) * u

    def randint(self, high: int, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if generator is None:
            return torch.randint(high, (n,), device=self.device)
        return torch.randint(high, (n,), generator=generator).to(self.device)

    def optimize(self, group: str, loss: torch.Tensor) -> None:
        """zero_grad, backward (scaled under fp16), step, for one optimizer group."""
        optimizer = self.optimizers[group]
        optimizer.zero_grad(set_to_none=True)
        scaler = self.scalers.get(group)
        with contextlib.ExitStack() as stack:
            if torch.is_autocast_enabled(loss.device.type):  # backward outside autocast, as PyTorch advises
                stack.enter_context(torch.autocast(loss.device.type, enabled=False))
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()

    def build_optimizers(self, total_steps: int) -> None:
        """Create one Adam per group and a LambdaLR following `lr_factor`; called by the Trainer."""
        self.optimizers, self.schedulers = {}, {}
        for group, (names, lr) in self.optimizer_groups().items():
            params = [p for n in names for p in self.nets[n].parameters()]
            self.optimizers[group] = torch.optim.Adam(params, lr=lr, betas=tuple(self.config.betas))
            if type(self).lr_factor is Variant.lr_factor:  # constant rate: no scheduler to step
                continue
            self.schedulers[group] = torch.optim.lr_scheduler.LambdaLR(
                self.optimizers[group], lambda step: self.lr_factor(step, total_steps))


def real_batch(batch) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Split a collated batch into (samples, labels or None)."""
    if isinstance(batch, (tuple, list)):
        return batch[0], (batch[1] if len(batch) > 1 else None)
    return batch, None
