"""The `matgan` command: groups, a toy training run end to end, one-line errors."""

import json
import subprocess
import sys

from click.testing import CliRunner

from matgan.cli import main


def test_help_lists_the_domain_groups():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for group in ("grains", "vibration", "mnist", "pipeline"):
        assert group in result.output


def test_python_dash_m_matgan_runs():
    result = subprocess.run([sys.executable, "-m", "matgan", "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "matgan" in result.stdout


def test_toy_train_end_to_end_and_resume(tmp_path):
    runner = CliRunner()
    out = tmp_path / "run"
    result = runner.invoke(main, ["toy", "train", "--out", str(out), "--steps", "5", "--batch-size", "32"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["step"] == 5 and "mode_stats" in summary
    again = runner.invoke(main, ["toy", "train", "--out", str(out), "--steps", "5"])
    assert again.exit_code == 2 and "--overwrite" in again.output
    longer = runner.invoke(main, ["toy", "train", "--out", str(out), "--steps", "8", "--batch-size", "32", "--resume"])
    assert longer.exit_code == 0, longer.output
    assert json.loads(longer.stdout.strip().splitlines()[-1])["step"] == 8


def test_unavailable_device_is_one_line_error(tmp_path):
    import torch

    if torch.cuda.is_available():
        return
    result = CliRunner().invoke(main, ["toy", "train", "--out", str(tmp_path / "r"), "--steps", "1", "--device", "cuda"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("error: --device cuda")
