"""Outputs: unwritable folders and full disks leave no partial files; nothing is overwritten unasked."""

import errno
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from matgan.cli import main
from matgan.errors import MatganError
from matgan.io import atomic_path, write_hdf5, write_image

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data" / "micrographs"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def micrographs(tmp_path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for path in sorted(SAMPLES.glob("*.png"))[:2]:
        shutil.copy(path, folder / path.name)
    return folder


def _segment(images, out, *extra):
    return CliRunner().invoke(main, ["grains", "segment", str(images), "--method", "otsu", "-o", str(out), *extra])


def test_output_folder_that_cannot_be_created(micrographs, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    result = _segment(micrographs, blocker / "results")
    assert result.exit_code == 2
    lines = [line for line in result.output.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "a_file" in lines[0]
    assert blocker.read_text() == "not a folder"


def test_full_disk_leaves_no_partial_files(micrographs, tmp_path, monkeypatch):
    out = tmp_path / "results"
    real_replace = os.replace
    calls = {"n": 0}

    def replace_then_fill_up(src, dst):
        calls["n"] += 1
        if calls["n"] >= 3:  # the disk fills up while the third output is written
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr("matgan.io.os.replace", replace_then_fill_up)
    result = _segment(micrographs, out)
    assert result.exit_code != 0
    assert "No space left on device" in result.output
    leftovers = [p.name for p in out.rglob("*") if p.is_file() and (p.name.startswith(".") or p.suffix == ".tmp")]
    assert leftovers == []  # every file present is a whole one, renamed into place


def test_atomic_writes_remove_the_temporary_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "data.h5"

    def broken(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("matgan.io.os.replace", broken)
    with pytest.raises(MatganError, match="No space left"):
        write_hdf5(target, {"x": np.zeros((4, 4))})
    with pytest.raises(MatganError, match="No space left"):
        write_image(tmp_path / "a.png", np.zeros((4, 4), np.uint8))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "b.bin") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed half-way")
    assert list(tmp_path.iterdir()) == []


def test_existing_results_are_not_overwritten_without_permission(micrographs, tmp_path):
    out = tmp_path / "results"
    assert _segment(micrographs, out).exit_code == 0
    before = _files(out)
    again = _segment(micrographs, out)
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert _files(out) == before
    assert _segment(micrographs, out, "--overwrite").exit_code == 0


def test_synth_and_hdf5_outputs_are_protected_too(tmp_path):
    out = tmp_path / "spectra.h5"
    args = ["vibration", "synth", "-n", "8", "--seed", "0", "-o", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    before = out.read_bytes()
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "--overwrite" in again.output and out.read_bytes() == before
