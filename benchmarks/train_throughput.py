"""Trainer throughput against a plain hand-written loop over the same networks, batch and optimizer.

    python benchmarks/train_throughput.py [--variant dcgan] [--steps 150] [--batch-size 64] [--repeats 3]

Both sides train the same DCGAN (MNIST-sized, 1x28x28) from the same initial weights on the same
in-memory data with Adam; the trainer side runs `Trainer.fit()` whole (data loader, logging,
checkpoint and preview at the end included). Prints one JSON object: samples/s of each and the ratio.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import tempfile
import time

import torch

from matgan.core import losses
from matgan.core.data import TensorPairs
from matgan.core.trainer import TrainConfig, Trainer, seed_everything
from matgan.core.variants import build_variant

CONFIGS = {
    "dcgan": {"data_shape": (1, 28, 28), "z_dim": 100},
    "gan": {"data_shape": (1, 28, 28), "z_dim": 100},
}


def plain_loop(variant, data: torch.Tensor, steps: int, batch_size: int) -> float:
    """The textbook loop: shuffle, slice, D step, G step. Returns samples/s."""
    G, D = variant.nets["G"], variant.nets["D"]
    cfg = variant.config
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=cfg.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=cfg.betas)
    per_epoch = len(data) // batch_size
    start = time.perf_counter()
    step = 0
    while step < steps:
        order = torch.randperm(len(data))
        for i in range(per_epoch):
            if step == steps:
                break
            real = data[order[i * batch_size:(i + 1) * batch_size]]
            fake = G(torch.randn(batch_size, cfg.z_dim))
            loss_d = losses.discriminator_loss("bce", D(real), D(fake.detach()))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            loss_g = losses.generator_loss("bce", D(fake))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            loss_d.item(), loss_g.item()
            step += 1
    return steps * batch_size / (time.perf_counter() - start)


def trainer_run(variant, data: torch.Tensor, steps: int, batch_size: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(steps=steps, batch_size=batch_size, progress=False, log_every=50, sample_every=0,
                             checkpoint_every=0)
        start = time.perf_counter()
        Trainer(variant, TensorPairs(data), config, tmp, overwrite=True).fit()
        return steps * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="dcgan", choices=sorted(CONFIGS))
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    seed_everything(0)
    data = torch.rand(4096, 1, 28, 28) * 2 - 1
    base = build_variant(args.variant, CONFIGS[args.variant])
    plain, trained = [], []
    for _ in range(args.repeats):  # interleaved, best of each, so load changes hit both sides alike
        seed_everything(1)
        plain.append(plain_loop(copy.deepcopy(base), data, args.steps, args.batch_size))
        seed_everything(1)
        trained.append(trainer_run(copy.deepcopy(base), data, args.steps, args.batch_size))
    result = {"variant": args.variant, "steps": args.steps, "batch_size": args.batch_size,
              "plain_samples_per_s": max(plain), "trainer_samples_per_s": max(trained),
              "ratio": max(trained) / max(plain), "torch": torch.__version__, "threads": torch.get_num_threads(),
              "cpu": platform.processor() or platform.machine()}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
