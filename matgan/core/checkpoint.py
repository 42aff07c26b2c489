"""Checkpoints: one file with everything a run needs to continue, or a variant needs to sample.

Written to a temporary file and renamed. Loaded with `torch.load(weights_only=True)`, so a file
carrying pickled code is refused before anything in it runs. Inside: the variant's name and config,
its state (networks, EMA copies, pools), optimizers, schedulers, AMP scalers, the step, the RNG
states, the training config, the matgan version and free-form `meta` (e.g. a code calibration).
"""

from __future__ import annotations

import io as _io
import json
import os
import pickle
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from matgan import __version__
from matgan.errors import CheckpointError
from matgan.io import atomic_path

FORMAT = "matgan-checkpoint"
FORMAT_VERSION = 1
JSON_FIELDS = ("variant_config", "train_config", "meta")  # stored as JSON text, read back as dicts


def rng_state() -> dict[str, Any]:
    """The state of every random generator a run uses: torch (CPU and CUDA), NumPy, Python."""
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


def save_checkpoint(path: str | os.PathLike, variant, *, step: int = 0, train_config: dict | None = None,
                    meta: dict | None = None, training_state: bool = True, nets: list[str] | None = None) -> Path:
    """Write `variant` (and, with `training_state`, its optimizers, schedulers, scalers, RNG) to `path`.

    `nets` keeps only the named networks (and their EMA copies): a small inference checkpoint.
    """
    model_state = variant.state_dict()
    if nets is not None:
        keep = tuple(f"{group}.{name}." for group in ("nets", "ema") for name in nets)
        model_state = {k: v for k, v in model_state.items() if k.startswith(keep)}
    payload: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "matgan_version": __version__,
        "variant": variant.name,
        "variant_config": variant.config.to_dict(),
        "ema_nets": sorted(variant.ema.keys()),
        "nets": sorted(nets) if nets is not None else sorted(variant.nets.keys()),
        "model": _to_cpu(model_state),
        "step": int(step),
        "train_config": train_config or {},
        "meta": meta or {},
    }
    if training_state:
        payload["optimizers"] = {k: _to_cpu(o.state_dict()) for k, o in variant.optimizers.items()}
        payload["schedulers"] = {k: s.state_dict() for k, s in variant.schedulers.items()}
        payload["scalers"] = {k: s.state_dict() for k, s in variant.scalers.items()}
        payload["rng"] = rng_state()
    return _write_payload(path, payload)


def _write_payload(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Serialise a checkpoint payload (its `JSON_FIELDS` as dicts) to a temporary file and rename it to `path`."""
    buffer = _io.BytesIO()
    torch.save(dict(payload, **{key: json.dumps(payload[key]) for key in JSON_FIELDS}), buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return Path(path)


def read_checkpoint(path: str | os.PathLike, expect_variant: str | None = None) -> dict[str, Any]:
    """Load and check a checkpoint file; nothing in it is executed.

    Raises:
        CheckpointError: missing, damaged, carrying pickled objects, not a matgan checkpoint, of a
            newer format, or of another variant than `expect_variant`.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        detail = str(exc).split("\n")[0][:160]
        raise CheckpointError(f"{path}: refused, it holds pickled objects beyond tensors ({detail})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, AttributeError) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:120] if str(exc) else 'damaged'})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a matgan checkpoint (no '{FORMAT}' marker)")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {payload['format_version']} is newer than this matgan "
                              f"({__version__}, format {FORMAT_VERSION}); upgrade matgan")
    if expect_variant is not None and payload["variant"] != expect_variant:
        raise CheckpointError(f"{path}: a '{payload['variant']}' checkpoint, expected '{expect_variant}'")
    for key in JSON_FIELDS:
        payload[key] = json.loads(payload.get(key, "{}"))
    return payload


def restore_variant(variant, payload: dict[str, Any]) -> None:
    """Load a checkpoint's model state into `variant`, creating EMA copies it holds."""
    variant.add_ema(payload.get("ema_nets", []))
    strict = payload.get("nets") == sorted(variant.nets.keys())
    missing, unexpected = variant.load_state_dict(payload["model"], strict=False)
    if unexpected or (strict and missing):
        raise CheckpointError(f"checkpoint does not fit the '{variant.name}' network: "
                              f"{len(missing)} missing and {len(unexpected)} unexpected tensors "
                              f"(e.g. {(missing + unexpected)[0]})")


def load_variant(path: str | os.PathLike, expect_variant: str | None = None, device: str | torch.device = "cpu"):
    """Rebuild a variant from a checkpoint for sampling: returns (variant in eval mode, payload)."""
    from matgan.core.variants import build_variant

    payload = read_checkpoint(path, expect_variant)
    try:
        variant = build_variant(payload["variant"], payload["variant_config"])
        restore_variant(variant, payload)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    except (RuntimeError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: does not fit its variant ({str(exc).splitlines()[0][:160]})") from None
    return variant.to(device).eval(), payload


def save_variant(path: str | os.PathLike, variant, meta: dict | None = None, nets: list[str] | None = None) -> Path:
    """An inference checkpoint: networks (optionally only `nets`), EMA copies, config and `meta`."""
    return save_checkpoint(path, variant, meta=meta, training_state=False, nets=nets)


def with_meta(src: str | os.PathLike, dst: str | os.PathLike, **updates) -> Path:
    """Write the checkpoint `src` to `dst` (atomically; `dst` may be `src`) with `updates` merged into its
    meta, e.g. a setting a model is to be used with; weights and everything else unchanged."""
    payload = read_checkpoint(src)
    return _write_payload(dst, dict(payload, meta=dict(payload["meta"], **updates)))
