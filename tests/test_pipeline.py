"""Pipelines: the plan, an end-to-end run, skipping, dependent reruns, SIGKILL + resume, torchrun."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from matgan.cli import main

TOML = """
[pipeline]
name = "t"

[vars]
steps = {steps}

[[stage]]
name = "train"
command = "toy train"
train = true
options = {{ steps = "{{steps}}", batch-size = 32, samples = 512, checkpoint-every = {every}, out = "{{stage_dir}}/run" }}
outputs = ["{{stage_dir}}/run/last.pt"]

[[stage]]
name = "sample"
command = "toy sample"
args = ["{{run}}/train/run/last.pt"]
options = {{ n = 200, out = "{{stage_dir}}/points.npz" }}
inputs = ["{{run}}/train/run/last.pt"]
outputs = ["{{stage_dir}}/points.npz"]

[[stage]]
name = "other"
command = "toy train"
train = true
options = {{ steps = 4, batch-size = 32, samples = 256, seed = {other_seed}, out = "{{stage_dir}}/run" }}
outputs = ["{{stage_dir}}/run/last.pt"]
"""


def write(tmp_path, steps=6, every=200, other_seed=0):
    path = tmp_path / "p.toml"
    path.write_text(TOML.format(steps=steps, every=every, other_seed=other_seed))
    return path


def run(path, out, *extra):
    result = CliRunner().invoke(main, ["pipeline", "run", str(path), "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return result.output


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path):
    output = run(write(tmp_path), tmp_path / "run", "--dry-run")
    assert "train" in output and "toy train --steps 6" in output and "never run" in output
    assert not (tmp_path / "run").exists()


def test_runs_end_to_end_then_skips_and_reruns_only_what_changed(tmp_path):
    out = tmp_path / "run"
    first = run(write(tmp_path), out)
    assert first.count("running") == 3
    report = (out / "report.md").read_text()
    assert "| train | ran |" in report and "mode_stats.share_near_mode" in report and "![" in report
    assert all(json.loads((out / s / "stage.json").read_text())["completed"] for s in ("train", "sample", "other"))

    again = run(write(tmp_path), out)
    assert again.count("skipped") == 3

    changed_other = run(write(tmp_path, other_seed=1), out)
    assert "[train] skipped" in changed_other and "[sample] skipped" in changed_other
    assert "[other] running (inputs or options changed)" in changed_other

    changed_train = run(write(tmp_path, steps=8, other_seed=1), out)
    assert "[train] running" in changed_train and "[sample] running" in changed_train
    assert "[other] skipped" in changed_train

    forced = run(write(tmp_path, steps=8, other_seed=1), out, "--from", "sample")
    assert "[train] skipped" in forced and "[sample] running" in forced and "[other] running" in forced


def test_bad_pipeline_files_give_one_line_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[stage]]\nname = 'x'\n")
    result = CliRunner().invoke(main, ["pipeline", "run", str(bad)])
    assert result.exit_code == 2 and "needs a name and a command" in result.output
    bad.write_text("[[stage\n")
    result = CliRunner().invoke(main, ["pipeline", "run", str(bad)])
    assert result.exit_code == 2 and "not valid TOML" in result.output
    result = CliRunner().invoke(main, ["pipeline", "run", str(write(tmp_path)), "--dry-run", "--from", "nope"])
    assert result.exit_code == 2 and "no such stage" in result.output


def test_set_replaces_a_variable_for_one_run(tmp_path):
    path = write(tmp_path)
    assert "toy train --steps 9" in run(path, tmp_path / "run", "--dry-run", "--set", "steps=9")
    named = tmp_path / "named.toml"  # the run folder may name a variable: one folder per variant
    named.write_text(path.read_text().replace('name = "t"', f'name = "t"\nout = "{tmp_path}/runs/s{{steps}}"'))
    result = CliRunner().invoke(main, ["pipeline", "run", str(named), "--dry-run", "--set", "steps=7"])
    assert result.exit_code == 0 and f"run folder {tmp_path}/runs/s7" in result.output
    # a value may name the run folder; an empty --set turns such an option off
    linked = tmp_path / "linked.toml"
    linked.write_text(path.read_text().replace("[vars]\n", '[vars]\nextra = "--note {out}/x"\n')
                      .replace("toy train", "toy train {extra}"))
    assert f"toy train --note {tmp_path}/run/x --steps 6" in run(linked, tmp_path / "run", "--dry-run")
    assert "--note" not in run(linked, tmp_path / "run", "--dry-run", "--set", "extra=")
    for bad, message in (("nope=1", "--set nope: no such variable in [vars] (known: steps)"),
                         ("steps", "is not NAME=VALUE")):
        result = CliRunner().invoke(main, ["pipeline", "run", str(path), "--dry-run", "--set", bad])
        assert result.exit_code == 2 and message in result.output, result.output


@pytest.mark.parametrize("config", sorted((Path(__file__).parents[1] / "pipelines").glob("*.toml")),
                         ids=lambda p: p.name)
def test_shipped_pipelines_load_and_plan(config, tmp_path):
    from matgan.pipeline import load_pipeline, plan

    spec = load_pipeline(config, tmp_path / "run")
    for stage, action, _ in plan(spec):
        assert action == "run" and stage.argvs(1, False)


def _model(path):
    return torch.load(path, weights_only=True)["model"]


def test_sigkilled_pipeline_resumes_to_the_same_result(tmp_path):
    steps = 3000
    path = write(tmp_path, steps=steps, every=50)
    clean = tmp_path / "clean"
    run(path, clean)

    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "matgan", "pipeline", "run", str(path), "--out", str(killed)]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoint = killed / "train" / "run" / "last.pt"
    deadline = time.time() + 120
    while not checkpoint.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    step_at_kill = torch.load(checkpoint, weights_only=True)["step"]
    if step_at_kill >= steps:
        pytest.skip("training finished before the kill landed")
    assert not json.loads((killed / "train" / "stage.json").read_text())["completed"]

    output = run(path, killed)
    assert "[train] resuming" in output
    final_clean, final_killed = _model(clean / "train" / "run" / "last.pt"), _model(checkpoint)
    assert all(torch.equal(final_clean[k], final_killed[k]) for k in final_clean)
    assert (clean / "sample" / "points.npz").read_bytes() != b""


def test_two_process_gloo_training_stage(tmp_path):
    path = tmp_path / "ddp.toml"
    path.write_text(textwrap.dedent("""
        [[stage]]
        name = "train"
        command = "toy train"
        train = true
        options = { steps = 4, batch-size = 16, samples = 256, device = "cpu", out = "{stage_dir}/run" }
        outputs = ["{stage_dir}/run/last.pt"]
    """))
    run(path, tmp_path / "run", "--gpus", "2")
    config = json.loads((tmp_path / "run" / "train" / "run" / "config.json").read_text())
    assert config["world_size"] == 2
    log = (tmp_path / "run" / "train" / "log.txt").read_text()
    assert "--nproc_per_node=2" in log.splitlines()[0]


def test_command_lines_needs_and_plain_programs(tmp_path):
    path = tmp_path / "lines.toml"
    path.write_text(textwrap.dedent("""
        [pipeline]
        name = "lines"
        steps = 3

        [[stage]]
        name = "train"
        train = true
        command = "matgan toy train --steps {steps} --batch-size 32 --samples 256 -o {out}/train/run"

        [[stage]]
        name = "copy"
        needs = ["train"]
        commands = ["cp {out}/train/run/l*.pt {stage_dir}/model.pt",
                    "matgan toy sample {stage_dir}/model.pt -n 50 -o {stage_dir}/p.npz"]
        outputs = ["{stage_dir}/model.pt", "{stage_dir}/p.npz"]
    """))
    out = tmp_path / "run"
    first = run(path, out)
    assert "[copy] running" in first and (out / "copy" / "p.npz").exists()
    assert "[copy] skipped" in run(path, out)
    path.write_text(path.read_text().replace("steps = 3", "steps = 4"))
    changed = run(path, out)
    assert "[train] running" in changed and "[copy] running (inputs or options changed)" in changed
