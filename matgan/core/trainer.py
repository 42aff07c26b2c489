"""The one training loop: devices, mixed precision, DDP, EMA, checkpoints, logging, previews.

A run folder holds `config.json` (everything needed to repeat the run), `metrics.jsonl` (losses
and throughput, one line per log interval), `samples/step_XXXXXXX.png`, `last.pt` and, when an
evaluation metric is given, `best.pt`. Started by `torchrun` (WORLD_SIZE > 1) the trainer
initialises the process group, wraps each network in DistributedDataParallel, shards data with a
DistributedSampler, and only rank 0 writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import random
import shutil
import signal
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from matgan import __version__
from matgan.core.checkpoint import read_checkpoint, restore_variant, save_checkpoint, set_rng_state
from matgan.core.data import collate
from matgan.errors import MatganError, TrainingDiverged

RUN_FILES = ("config.json", "metrics.jsonl", "last.pt", "best.pt", "summary.json", "samples", "tb")


class TrainingInterrupted(MatganError):
    """Ctrl-C or SIGTERM: a checkpoint was saved, the run can be resumed."""


@dataclasses.dataclass
class TrainConfig:
    """How to train (what to train is the variant's config).

    steps: total train_step calls; batch_size: per process; precision: fp32 | bf16 | fp16 (CUDA only);
    ema_decay: 0 disables the generator EMA; *_every: intervals in steps (0 = only at the end).
    """

    steps: int = 1000
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    ema_decay: float = 0.0
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 500
    eval_every: int = 0
    num_workers: int = 0
    progress: bool = True
    tensorboard: bool = False


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices): call before building a variant."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """auto -> cuda (this process's GPU) > mps > cpu; explicit names are checked."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank)
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise MatganError("--device cuda: no CUDA device is available (use --device cpu or auto)")
        return torch.device("cuda", local_rank)
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise MatganError("--device mps: MPS is not available on this machine")
    if name not in ("cpu", "mps"):
        raise MatganError(f"--device {name}: expected auto, cpu, cuda or mps")
    return torch.device(name)


def _to_device(batch, device: torch.device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    return batch


def save_preview(path: Path, samples: torch.Tensor, nrow: int) -> None:
    """Images (N, C, H, W) -> a PNG grid; signals (N, C, L) -> a PNG of small line plots."""
    from matgan.io import atomic_path, save_grid

    if samples.ndim == 4:
        save_grid(path, samples, nrow)
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = samples.detach().float().cpu().numpy()
    rows = math.ceil(len(data) / nrow)
    fig, axes = plt.subplots(rows, nrow, figsize=(2 * nrow, 1.4 * rows), squeeze=False, sharex=True, sharey=True)
    for ax, signal_ in zip(axes.flat, data):
        ax.plot(signal_.reshape(-1, signal_.shape[-1]).T, lw=0.6)
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)


class Trainer:
    """Train a variant on a dataset; see the module docstring for the run folder.

    Args:
        variant: a built variant (seed before building it for a repeatable initialisation).
        dataset: items collated into the batches `variant.train_step` takes.
        config: the TrainConfig.
        out_dir: the run folder.
        resume: continue from `out_dir/last.pt` (bit-exact on CPU).
        overwrite: replace an existing run's files in `out_dir` (refused otherwise).
        meta: domain information stored in config.json and every checkpoint.
        evaluate: callable(variant) -> {metric: float}, run every `eval_every` steps and at the end.
        best_metric / best_mode: which evaluated metric decides `best.pt`, "min" or "max".
        preview: callable(variant, batch, generator, path) replacing the default sample picture.
    """

    def __init__(self, variant, dataset: Dataset, config: TrainConfig, out_dir: str | os.PathLike, *,
                 resume: bool = False, overwrite: bool = False, meta: dict | None = None,
                 evaluate: Callable[[Any], dict[str, float]] | None = None, best_metric: str | None = None,
                 best_mode: str = "min", preview: Callable | None = None):
        self.variant, self.dataset, self.config = variant, dataset, config
        self.out_dir = Path(out_dir)
        self.resume, self.overwrite = resume, overwrite
        self.meta = dict(meta or {})
        self.evaluate, self.best_metric, self.best_mode = evaluate, best_metric, best_mode
        self.preview = preview
        self.step = 0
        self.best_value: float | None = None
        self._stop_signal: int | None = None
        self._own_process_group = False
        if config.precision not in ("fp32", "bf16", "fp16"):
            raise MatganError(f"precision {config.precision!r}: expected fp32, bf16 or fp16")
        if len(dataset) < config.batch_size:
            raise MatganError(f"the data set has {len(dataset)} samples, fewer than one batch of {config.batch_size}")

    # ------------------------------------------------------------------ set-up
    def _setup_distributed(self) -> None:
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if self.world_size > 1 and not torch.distributed.is_initialized():
            backend = "nccl" if torch.cuda.is_available() and self.config.device in ("auto", "cuda") else "gloo"
            if backend == "nccl":
                torch.cuda.set_device(self.local_rank)
            torch.distributed.init_process_group(backend)
            self._own_process_group = True
        self.is_main = self.rank == 0

    def _prepare_folder(self) -> None:
        existing = [n for n in RUN_FILES if (self.out_dir / n).exists()]
        if self.resume:
            if not (self.out_dir / "last.pt").exists():
                raise MatganError(f"{self.out_dir / 'last.pt'}: nothing to resume (no checkpoint in the run folder)")
            return
        if not self.is_main:  # rank 0 checks and prepares the folder; the others wait at a barrier
            return
        if existing and not self.overwrite:
            raise MatganError(f"{self.out_dir}: holds a run already ({', '.join(existing)}); "
                              "use --resume to continue it or --overwrite to replace it")
        for name in existing:
            target = self.out_dir / name
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        (self.out_dir / "samples").mkdir(parents=True, exist_ok=True)

    def _setup_precision(self) -> None:
        cfg = self.config
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.precision)
        # bf16 autocast also runs on CPU (slower there, but it exercises the same path); fp16 needs CUDA.
        self.use_amp = self.amp_dtype is not None and (self.device.type == "cuda" or cfg.precision == "bf16"
                                                       and self.device.type == "cpu")
        self.variant.scalers = {}
        if self.use_amp and cfg.precision == "fp16":
            self.variant.scalers = {g: torch.amp.GradScaler("cuda") for g in self.variant.optimizers}

    def _setup_ema(self) -> None:
        if self.config.ema_decay > 0:
            self.variant.add_ema(self.variant.ema_nets)  # a resumed average goes on; a new one starts here
        else:  # resumed without an average: drop the checkpoint's, which would stop updating and go stale
            self.variant.ema.clear()

    def _update_ema(self) -> None:
        if self.config.ema_decay <= 0:
            return
        # Warm-up (as TensorFlow's ExponentialMovingAverage with num_updates): early on the average
        # would otherwise be dominated by the untrained initial weights.
        decay = min(self.config.ema_decay, (1 + self.step) / (10 + self.step))
        with torch.no_grad():
            for name, ema_net in self.variant.ema.items():
                live = self.variant.nets[name]
                for p_ema, p in zip(ema_net.parameters(), live.parameters()):
                    p_ema.lerp_(p, 1.0 - decay)
                for b_ema, b in zip(ema_net.buffers(), live.buffers()):
                    b_ema.copy_(b)

    def _wrap_ddp(self) -> None:
        if self.world_size <= 1:
            return
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [self.device.index] if self.device.type == "cuda" else None
        # Buffers (batch-norm statistics) stay per process; parameters are synchronised by DDP.
        import inspect

        no_buffer_sync = ({"forward_sync_buffers": False} if "forward_sync_buffers" in inspect.signature(DDP).parameters
                          else {"broadcast_buffers": False})
        self.variant.wrapped = {
            name: DDP(net, device_ids=ids, **no_buffer_sync)
            for name, net in self.variant.nets.items() if any(p.requires_grad for p in net.parameters())}

    def _load_resume(self) -> None:
        payload = read_checkpoint(self.out_dir / "last.pt", self.variant.name)
        # options added after a checkpoint was written count as their defaults
        config = type(self.variant.config)
        current = self.variant.config.to_dict()
        free = {name: current[name] for name in config.free_on_resume}
        saved = json.loads(json.dumps({**config().to_dict(), **payload["variant_config"], **free}))
        if saved != json.loads(json.dumps(current)):
            raise MatganError(f"{self.out_dir / 'last.pt'}: was trained with another variant config; "
                              "resume with the same options, or start a new run")
        restore_variant(self.variant, payload)
        self.variant.to(self.device)
        for group, state in payload.get("optimizers", {}).items():
            self.variant.optimizers[group].load_state_dict(state)
        for group, state in payload.get("schedulers", {}).items():
            if group in self.variant.schedulers:  # checkpoints before 0.1.0 kept a constant-rate scheduler too
                self.variant.schedulers[group].load_state_dict(state)
        for group, state in payload.get("scalers", {}).items():
            if group in self.variant.scalers:
                self.variant.scalers[group].load_state_dict(state)
        self.step = payload["step"]
        self.best_value = payload["meta"].get("_best_value")
        if "rng" in payload:
            set_rng_state(payload["rng"])
            if self.world_size > 1:
                torch.manual_seed(self.config.seed + 1_000_003 * self.rank + self.step)

    # ------------------------------------------------------------------ writing
    def _run_config(self) -> dict[str, Any]:
        return {"matgan_version": __version__, "variant": self.variant.name,
                "variant_config": self.variant.config.to_dict(), "train": dataclasses.asdict(self.config),
                "world_size": self.world_size, "device": str(self.device), "meta": self.meta}

    def _save(self, name: str) -> None:
        if not self.is_main:
            return
        meta = dict(self.meta, _best_value=self.best_value)
        save_checkpoint(self.out_dir / name, self.variant, step=self.step, train_config=dataclasses.asdict(self.config),
                        meta=meta)

    def _log(self, record: dict[str, Any]) -> None:
        if not self.is_main:
            return
        with open(self.out_dir / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)):
                    self.tb.add_scalar(key, value, record["step"])

    def _write_preview(self) -> None:
        if not self.is_main:
            return
        generator = torch.Generator().manual_seed(self.config.seed)
        path = self.out_dir / "samples" / f"step_{self.step:07d}.png"
        batch = _to_device(self.preview_batch, self.device)
        with self._autocast():
            if self.preview is not None:
                self.preview(self.variant, batch, generator, path)
            else:
                samples, nrow = self.variant.preview(batch, generator)
                save_preview(path, samples.float(), nrow)

    def _run_evaluation(self) -> dict[str, float]:
        if self.evaluate is None or not self.is_main:
            return {}
        results = {f"eval/{k}": float(v) for k, v in self.evaluate(self.variant).items()}
        if self.best_metric:
            value = results.get(f"eval/{self.best_metric}")
            if value is None:
                raise MatganError(f"best metric {self.best_metric!r} is not among the evaluated {sorted(results)}")
            better = self.best_value is None or (value < self.best_value if self.best_mode == "min"
                                                 else value > self.best_value)
            if better:
                self.best_value = value
                self._save("best.pt")
        return results

    # ------------------------------------------------------------------ loop
    def _autocast(self):
        if self.use_amp:
            return torch.autocast(self.device.type, dtype=self.amp_dtype)
        return contextlib.nullcontext()

    def _batches(self):
        """Batches from the current step onwards, epoch after epoch (resumes mid-epoch exactly)."""
        cfg = self.config
        sampler = DistributedSampler(self.dataset, num_replicas=self.world_size, rank=self.rank, shuffle=True,
                                     seed=cfg.seed, drop_last=True)
        per_epoch = len(sampler) // cfg.batch_size
        if per_epoch == 0:
            raise MatganError(f"the data set is too small for a batch of {cfg.batch_size} "
                              f"on {self.world_size} process(es)")
        epoch, skip = divmod(self.step, per_epoch)
        while True:
            sampler.set_epoch(epoch)
            if hasattr(self.dataset, "set_epoch"):
                self.dataset.set_epoch(epoch)
            indices = list(sampler)
            chunks = [indices[i * cfg.batch_size:(i + 1) * cfg.batch_size] for i in range(per_epoch)][skip:]
            if cfg.num_workers == 0 and hasattr(self.dataset, "__getitems__"):
                # in-memory data: one indexing operation per batch, without the DataLoader's machinery
                yield from (collate(self.dataset.__getitems__(chunk)) for chunk in chunks)
                epoch, skip = epoch + 1, 0
                continue
            loader = DataLoader(self.dataset, batch_sampler=chunks, num_workers=cfg.num_workers, collate_fn=collate,
                                pin_memory=self.device.type == "cuda",
                                generator=torch.Generator().manual_seed(cfg.seed + epoch))
            yield from loader
            epoch, skip = epoch + 1, 0

    def _on_signal(self, signum, frame) -> None:
        self._stop_signal = signum

    def fit(self) -> dict[str, Any]:
        """Train to `config.steps`; returns a summary (step, samples/s, last losses, evaluation)."""
        cfg = self.config
        self._setup_distributed()
        self.device = resolve_device(cfg.device, self.local_rank)
        self._prepare_folder()
        if self.world_size > 1:
            torch.distributed.barrier()
        self.variant.to(self.device).train()
        self.variant.build_optimizers(cfg.steps)
        self._setup_precision()
        if self.resume:
            self._load_resume()
        elif self.world_size > 1:
            torch.manual_seed(cfg.seed + 1_000_003 * self.rank)
        self._setup_ema()
        self._wrap_ddp()
        self.tb = None
        if self.is_main:
            from matgan.io import write_text

            (self.out_dir / "samples").mkdir(parents=True, exist_ok=True)
            write_text(self.out_dir / "config.json", json.dumps(self._run_config(), indent=2, default=str))
            if cfg.tensorboard:
                try:
                    from torch.utils.tensorboard import SummaryWriter

                    self.tb = SummaryWriter(str(self.out_dir / "tb"))
                except ImportError:
                    print("warning: tensorboard is not installed (pip install 'matgan[tensorboard]'); logging to "
                          "metrics.jsonl only")
        # An explicit generator: creating a loader iterator must not draw from the global RNG (exact resume).
        preview_loader = DataLoader(self.dataset, batch_size=min(64, len(self.dataset)), shuffle=False,
                                    collate_fn=collate, generator=torch.Generator().manual_seed(cfg.seed))
        self.preview_batch = next(iter(preview_loader))

        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        in_main_thread = True
        try:
            for s in previous:
                signal.signal(s, self._on_signal)
        except ValueError:  # not the main thread: no signal handling
            in_main_thread = False
        finished = False
        try:
            summary = self._loop()
            finished = True
        finally:
            if in_main_thread:
                for s, handler in previous.items():
                    signal.signal(s, handler)
            if self.tb is not None:
                self.tb.close()
            if self._own_process_group:
                if finished:  # ranks leave together: a peer closing gloo's sockets early can abort the others
                    torch.distributed.barrier()
                torch.distributed.destroy_process_group()
        return summary

    def _loop(self) -> dict[str, Any]:
        from tqdm.auto import tqdm

        cfg = self.config
        samples_per_step = cfg.batch_size * self.world_size
        sums: dict[str, float] = defaultdict(float)
        count = 0
        last: dict[str, float] = {}
        evaluation: dict[str, float] = {}
        bar = tqdm(total=cfg.steps, initial=self.step, unit="step", dynamic_ncols=True,
                   disable=not (self.is_main and cfg.progress), desc=self.variant.name)
        start, start_step = time.perf_counter(), self.step
        interval_start, interval_step = start, self.step
        batches = self._batches()
        while self.step < cfg.steps:
            batch = _to_device(next(batches), self.device)
            with self._autocast():
                last = self.variant.train_step(batch)
            bad = {k: v for k, v in last.items() if not math.isfinite(v)}
            if bad:
                bar.close()
                raise TrainingDiverged(
                    f"step {self.step + 1}: {', '.join(f'{k} = {v}' for k, v in bad.items())}; training stopped, "
                    f"the last good checkpoint {self.out_dir / 'last.pt'} is kept")
            for scheduler in self.variant.schedulers.values():
                scheduler.step()
            self._update_ema()
            self.step += 1
            for k, v in last.items():
                sums[k] += v
            count += 1
            elapsed = time.perf_counter() - start
            rate = samples_per_step * (self.step - start_step) / max(elapsed, 1e-9)
            bar.update(1)
            if self.step % max(1, cfg.log_every) == 0 or self.step == cfg.steps:
                bar.set_postfix({"samples/s": f"{rate:.0f}", **{k: f"{v:.3f}" for k, v in last.items()}}, refresh=False)
                now = time.perf_counter()
                interval_rate = samples_per_step * (self.step - interval_step) / max(now - interval_start, 1e-9)
                record = {"step": self.step, "time_s": round(now - start, 3), "samples_per_s": interval_rate,
                          **{k: v / count for k, v in sums.items()}}
                if self.device.type == "cuda":
                    record["peak_mem_gb"] = torch.cuda.max_memory_allocated(self.device) / 2**30
                self._log(record)
                sums, count, interval_start, interval_step = defaultdict(float), 0, now, self.step
            final = self.step == cfg.steps
            if cfg.eval_every and self.step % cfg.eval_every == 0 or final and self.evaluate is not None:
                evaluation = self._run_evaluation()
                if evaluation:
                    self._log({"step": self.step, **evaluation})
            if cfg.sample_every and self.step % cfg.sample_every == 0 or final:
                self._write_preview()
            if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0 or final:
                self._save("last.pt")
            if self._stop_signal is not None and not final:
                self._save("last.pt")
                bar.close()
                raise TrainingInterrupted(
                    f"interrupted at step {self.step} (signal {self._stop_signal}); checkpoint saved to "
                    f"{self.out_dir / 'last.pt'}, continue with --resume")
        bar.close()
        elapsed = time.perf_counter() - start
        summary = {"step": self.step, "samples_per_s": samples_per_step * (self.step - start_step) / max(elapsed, 1e-9),
                   "seconds": elapsed, "losses": last, "evaluation": evaluation, "out_dir": str(self.out_dir)}
        if self.is_main:
            from matgan.io import write_text

            write_text(self.out_dir / "summary.json", json.dumps(summary, indent=2, default=float))
        return summary
