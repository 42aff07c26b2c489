"""The trainer: run folder, exact resume, NaN guard, signals, overwrite rules, DDP under torchrun."""

import json
import os
import pickle
import signal
import subprocess
import sys

import pytest
import torch

from matgan.core.checkpoint import load_variant, read_checkpoint, save_variant
from matgan.core.data import TensorPairs, gaussian_mixture
from matgan.core.trainer import TrainConfig, Trainer, TrainingInterrupted, seed_everything
from matgan.core.variants import build_variant
from matgan.errors import CheckpointError, MatganError, TrainingDiverged

CONFIG = {"data_shape": (2,), "out_act": "none", "z_dim": 4, "g_hidden": (16,), "d_hidden": (16,)}


def _data():
    points, centres = gaussian_mixture(256, 4, seed=0)
    return TensorPairs(points, torch.cdist(points, centres).argmin(1))


def _run(out, steps, resume=False, overwrite=False, variant="gan", config=CONFIG, **kw):
    seed_everything(0)
    model = build_variant(variant, config)
    cfg = TrainConfig(steps=steps, batch_size=32, seed=0, progress=False, log_every=1, sample_every=0,
                      checkpoint_every=0, **kw)
    return Trainer(model, _data(), cfg, out, resume=resume, overwrite=overwrite, meta={"note": "test"}).fit(), model


def test_run_folder_contents(tmp_path):
    summary, _ = _run(tmp_path / "run", 3)
    run = tmp_path / "run"
    assert summary["step"] == 3
    config = json.loads((run / "config.json").read_text())
    assert config["variant"] == "gan" and config["train"]["steps"] == 3 and config["meta"] == {"note": "test"}
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2, 3] and all("loss_d" in r and "samples_per_s" in r for r in lines)
    assert (run / "last.pt").exists() and list((run / "samples").glob("*.png"))


def _interrupt_after(model, n):
    """Make the model's train_step deliver SIGINT during its n-th call (as a killed job would)."""
    original, calls = model.train_step, {"n": 0}

    def step(batch):
        calls["n"] += 1
        if calls["n"] == n:
            os.kill(os.getpid(), signal.SIGINT)
        return original(batch)

    model.train_step = step


def _cyclegan_fit(out, steps, resume=False, stop_after=None, **options):
    from matgan.core.data import UnpairedCrops

    seed_everything(0)
    g = torch.Generator().manual_seed(1)
    a = [torch.rand(1, 40, 40, generator=g) * 2 - 1 for _ in range(4)]
    b = [torch.rand(1, 40, 40, generator=g) * 2 - 1 for _ in range(4)]
    model = build_variant("cyclegan", {"ngf": 4, "ndf": 4, "n_blocks": 1, "d_layers": 2, "pool_size": 3, **options})
    if stop_after:
        _interrupt_after(model, stop_after)
    cfg = TrainConfig(steps=steps, batch_size=2, progress=False, sample_every=0, checkpoint_every=0)
    Trainer(model, UnpairedCrops(a, b, 32, seed=0), cfg, out, resume=resume).fit()
    return model


def _gan_fit(out, steps, resume=False, stop_after=None):
    seed_everything(0)
    model = build_variant("gan", CONFIG)
    if stop_after:
        _interrupt_after(model, stop_after)
    cfg = TrainConfig(steps=steps, batch_size=32, progress=False, sample_every=0, checkpoint_every=0)
    Trainer(model, _data(), cfg, out, resume=resume).fit()
    return model


@pytest.mark.parametrize("fit", [_gan_fit, _cyclegan_fit], ids=["gan", "cyclegan-with-lr-decay-and-pool"])
def test_resume_is_bit_exact(tmp_path, fit):
    """2 steps, interrupted, then resumed to 4 equals 4 steps straight (same --steps, as a user resumes)."""
    straight = fit(tmp_path / "straight", 4)
    with pytest.raises(TrainingInterrupted):
        fit(tmp_path / "split", 4, stop_after=2)
    assert read_checkpoint(tmp_path / "split" / "last.pt")["step"] == 2
    resumed = fit(tmp_path / "split", 4, resume=True)
    for key, value in straight.state_dict().items():
        if torch.is_tensor(value):
            assert torch.equal(value, resumed.state_dict()[key]), key


def test_a_checkpoint_older_than_an_option_resumes_with_its_default(tmp_path):
    run = tmp_path / "run"
    _cyclegan_fit(run, 2)
    payload = torch.load(run / "last.pt", weights_only=True)
    config = json.loads(payload["variant_config"])
    del config["cycle_noise"]  # written before the option existed
    payload["variant_config"] = json.dumps(config)
    torch.save(payload, run / "last.pt")
    _cyclegan_fit(run, 3, resume=True)
    assert read_checkpoint(run / "last.pt")["step"] == 3
    with pytest.raises(MatganError, match="another variant config"):
        _cyclegan_fit(run, 4, resume=True, cycle_noise=0.1)
    _cyclegan_fit(run, 4, resume=True, lambda_paired=5.0)  # a weight a later stage may add (free_on_resume)
    assert read_checkpoint(run / "last.pt")["variant_config"]["lambda_paired"] == 5.0


def test_existing_run_is_not_overwritten_without_permission(tmp_path):
    _run(tmp_path / "run", 1)
    with pytest.raises(MatganError, match="--overwrite"):
        _run(tmp_path / "run", 1)
    _run(tmp_path / "run", 2, overwrite=True)
    assert read_checkpoint(tmp_path / "run" / "last.pt")["step"] == 2
    with pytest.raises(MatganError, match="nothing to resume"):
        _run(tmp_path / "empty", 1, resume=True)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    _run(tmp_path / "run", 2)
    good = (tmp_path / "run" / "last.pt").read_bytes()
    from matgan.core.variants.gan import GAN

    monkeypatch.setattr(GAN, "train_step", lambda self, batch: {"loss_d": float("nan"), "loss_g": 1.0})
    with pytest.raises(TrainingDiverged, match="loss_d = nan"):
        _run(tmp_path / "run", 4, resume=True)
    assert (tmp_path / "run" / "last.pt").read_bytes() == good


def test_sigint_saves_a_checkpoint_and_resume_finishes(tmp_path, monkeypatch):
    from matgan.core.variants.gan import GAN

    original = GAN.train_step
    calls = {"n": 0}

    def step_then_interrupt(self, batch):
        calls["n"] += 1
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, batch)

    monkeypatch.setattr(GAN, "train_step", step_then_interrupt)
    with pytest.raises(TrainingInterrupted, match="--resume"):
        _run(tmp_path / "run", 6)
    assert read_checkpoint(tmp_path / "run" / "last.pt")["step"] == 2
    monkeypatch.setattr(GAN, "train_step", original)
    assert _run(tmp_path / "run", 6, resume=True)[0]["step"] == 6


def test_ema_copy_is_kept_and_used_for_sampling(tmp_path):
    _, model = _run(tmp_path / "run", 3, ema_decay=0.9)
    assert "G" in model.ema
    loaded, payload = load_variant(tmp_path / "run" / "last.pt", "gan")
    assert "G" in loaded.ema and payload["meta"]["note"] == "test"
    g = torch.Generator()
    assert torch.equal(loaded.sample(4, generator=g.manual_seed(0)), model.sample(4, generator=g.manual_seed(0)))


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/matgan_pwned",))


def test_checkpoint_with_code_is_refused_without_running_it(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "matgan-checkpoint", "payload": _Evil()}, path)
    with pytest.raises(CheckpointError, match="pickled objects"):
        read_checkpoint(path)
    assert not os.path.exists("/tmp/matgan_pwned")


def test_foreign_damaged_and_wrong_variant_checkpoints(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="not a matgan checkpoint"):
        read_checkpoint(tmp_path / "plain.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="not a readable checkpoint|pickled"):
        read_checkpoint(tmp_path / "junk.pt")
    model = build_variant("gan", CONFIG)
    save_variant(tmp_path / "gan.pt", model, meta={"k": 1})
    with pytest.raises(CheckpointError, match="a 'gan' checkpoint, expected 'cyclegan'"):
        load_variant(tmp_path / "gan.pt", "cyclegan")
    payload = torch.load(tmp_path / "gan.pt", weights_only=True)
    payload["format_version"] = 99
    torch.save(payload, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="newer"):
        read_checkpoint(tmp_path / "future.pt")
    assert pickle  # the stdlib pickle is what torch.load(weights_only=True) guards against


def test_partial_checkpoint_keeps_only_named_nets(tmp_path):
    model = build_variant("cyclegan", {"ngf": 4, "ndf": 4, "n_blocks": 1})
    save_variant(tmp_path / "g.pt", model, nets=["G_AB"])
    loaded, payload = load_variant(tmp_path / "g.pt", "cyclegan")
    assert payload["nets"] == ["G_AB"]
    assert all(k.startswith("nets.G_AB.") for k in payload["model"])
    x = torch.rand(1, 1, 16, 16)
    assert torch.equal(loaded.sample(x), model.eval().sample(x))


def test_torchrun_two_processes_gloo_writes_one_checkpoint(tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "matgan",
           "toy", "train", "--out", str(out), "--steps", "6", "--batch-size", "16", "--device", "cpu"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=240,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((out / "config.json").read_text())["world_size"] == 2
    assert read_checkpoint(out / "last.pt")["step"] == 6
    assert sorted(p.name for p in out.glob("*.pt")) == ["last.pt"]


def test_bf16_autocast_path_trains_with_finite_losses(tmp_path):
    config = {"data_shape": (1, 16, 16), "z_dim": 8, "g_channels": (16, 8), "d_channels": (8, 16)}
    seed_everything(0)
    model = build_variant("dcgan", config)
    data = TensorPairs(torch.rand(64, 1, 16, 16) * 2 - 1)
    cfg = TrainConfig(steps=3, batch_size=16, precision="bf16", device="cpu", progress=False, sample_every=0)
    summary = Trainer(model, data, cfg, tmp_path / "run").fit()
    assert summary["step"] == 3 and all(v == v for v in summary["losses"].values())
    assert all(p.dtype == torch.float32 for p in model.parameters())  # weights stay fp32 under autocast


def test_with_meta_adds_a_setting_and_keeps_the_weights(tmp_path):
    import torch

    from matgan.core.checkpoint import with_meta
    from matgan.grains.segment import default_model_path

    src = default_model_path()
    before = read_checkpoint(src)
    out = with_meta(src, tmp_path / "m.pt", equalize_clip=1.5, note="x")
    after = read_checkpoint(out)
    assert after["meta"] == dict(before["meta"], equalize_clip=1.5, note="x")
    assert after["variant_config"] == before["variant_config"] and after["model"].keys() == before["model"].keys()
    assert all(torch.equal(before["model"][k], after["model"][k]) for k in before["model"])
    assert list(tmp_path.iterdir()) == [out]  # written through a temporary file, nothing else left
