"""`matgan grains` commands end to end through click's CliRunner."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from matgan.cli import main
from matgan.io import read_hdf5, read_image, read_label_image, write_image


def run(*args):
    return CliRunner().invoke(main, ["grains", *map(str, args)], catch_exceptions=False)


def test_synth_hdf5_holds_arrays_and_every_parameter(tmp_path):
    out = tmp_path / "v.h5"
    result = run("synth", "-n", 3, "--size", 64, "--grain-size", 16, "--dispersion", 0.2, "--render", "tint",
                 "--seed", 7, "-o", out)
    assert result.exit_code == 0, result.output
    arrays, attrs = read_hdf5(out)
    assert arrays["images"].shape == (3, 64, 64) and arrays["images"].dtype == np.uint8
    assert arrays["labels"].dtype == np.int32 and arrays["rendered"].shape == (3, 64, 64)
    assert np.array_equal(arrays["labels"] == 0, arrays["images"] == 0)
    assert attrs["seed"] == 7 and attrs["dispersion"] == 0.2 and attrs["size"] == [64, 64]
    # same seed, same data; no overwrite without --overwrite
    assert run("synth", "-n", 3, "--size", 64, "--grain-size", 16, "--seed", 7, "-o", out).exit_code == 2
    again = tmp_path / "w.h5"
    run("synth", "-n", 3, "--size", 64, "--grain-size", 16, "--dispersion", 0.2, "--seed", 7, "-o", again)
    assert np.array_equal(read_hdf5(again)[0]["images"], arrays["images"])


def test_synth_folder_then_measure_with_pixel_size(tmp_path):
    data = tmp_path / "data"
    assert run("synth", "-n", 2, "--size", 96, "--grain-size", 20, "-o", data).exit_code == 0
    out = tmp_path / "m"
    result = run("measure", data / "virtual", "--pixel-size", 0.5, "-o", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert len(rows) == 2 and "G_planimetric" in rows[0] and "G_intercept" in rows[0]
    assert float(rows[0]["G_planimetric"]) > 8  # 20 px grains of 0.5 um: a fine grain size
    grains = list(csv.DictReader(open(out / "grains.csv")))
    truth = read_label_image(data / "labels" / "00000.tif")
    assert sum(r["image"] == "00000.png" for r in grains) == truth.max()
    assert (out / "histogram.png").exists() and (out / "00000_overlay.png").exists()
    plain = run("measure", data / "labels", "-o", tmp_path / "m2")
    assert plain.exit_code == 0
    assert "G_planimetric" not in open(tmp_path / "m2" / "summary.csv").readline()


@pytest.mark.parametrize("method", ["otsu", "watershed"])
def test_segment_classical_and_evaluate(tmp_path, method):
    data = tmp_path / "data"
    run("synth", "-n", 2, "--size", 128, "--grain-size", 24, "--render", "brightfield", "-o", data)
    out = tmp_path / "seg"
    result = run("segment", data / "rendered", "--method", method, "--pixel-size", 1.0, "-o", out)
    assert result.exit_code == 0, result.output
    for stem in ("00000", "00001"):
        assert read_image(out / f"{stem}_boundaries.png").dtype == np.uint8
        assert read_label_image(out / f"{stem}_labels.tif").shape == (128, 128)
        assert read_image(out / f"{stem}_overlay.png").shape == (128, 128, 3)
    arrays, attrs = read_hdf5(out / "results.h5")
    assert attrs["method"] == method and len(arrays["summary_image"]) == 2
    scored = run("evaluate", out, data / "labels")
    assert scored.exit_code == 0
    final = json.loads(scored.output.strip().splitlines()[-1])
    assert final["n_images"] == 2 and final["f1"] > 0.5
    # a second run refuses to overwrite, then replaces with --overwrite
    assert run("segment", data / "rendered", "--method", method, "-o", out).exit_code == 2
    assert run("segment", data / "rendered", "--method", method, "-o", out, "--overwrite").exit_code == 0


def test_bad_inputs_are_named_and_the_rest_is_processed(tmp_path):
    good = tmp_path / "in"
    good.mkdir()
    boundary_map = np.full((64, 64), 255, np.uint8)
    boundary_map[32] = 0
    write_image(good / "ok.png", boundary_map)
    (good / "broken.png").write_bytes(b"not an image at all")
    (good / "empty.tif").write_bytes(b"")
    result = CliRunner().invoke(main, ["grains", "measure", str(good), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "broken.png" in result.output and "empty.tif" in result.output
    rows = list(csv.DictReader(open(tmp_path / "out" / "summary.csv")))
    assert [r["image"] for r in rows] == ["ok.png"] and rows[0]["n_grains"] == "2"
    missing = CliRunner().invoke(main, ["grains", "measure", str(tmp_path / "nope.png")])
    assert missing.exit_code == 2 and "nope.png" in missing.output
    assert not list((tmp_path / "out").glob(".*tmp"))


def test_segment_classical_does_not_import_torch(tmp_path):
    import subprocess
    import sys

    image = tmp_path / "a.png"
    write_image(image, np.full((64, 64), 200, np.uint8))
    code = ("import sys; from click.testing import CliRunner; from matgan.cli import main; "
            f"r = CliRunner().invoke(main, ['grains', 'segment', {str(image)!r}, '--method', 'otsu', '-o', "
            f"{str(tmp_path / 'o')!r}]); assert r.exit_code == 0, r.output; assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_segment_split_switch_reaches_the_post_processing(tmp_path):
    from matgan.grains.baselines import watershed
    from matgan.grains.segment import SPLIT_EVIDENCE
    from matgan.io import to_gray_float

    data = tmp_path / "data"
    run("synth", "-n", 3, "--size", 160, "--grain-size", 20, "--render", "faint", "--seed", 3, "-o", data)
    images = {stem: to_gray_float(read_image(data / "rendered" / f"{stem}.png")) for stem in ("00000", "00001", "00002")}
    found = {}
    for flag, evidence in (("--split", SPLIT_EVIDENCE), ("--no-split", None)):
        out = tmp_path / flag
        result = run("segment", data / "rendered", "--method", "watershed", flag, "-o", out)
        assert result.exit_code == 0, result.output
        for stem, image in images.items():
            found[flag, stem] = read_label_image(out / f"{stem}_labels.tif")
            assert np.array_equal(found[flag, stem], watershed(image, split=evidence))
        assert read_hdf5(out / "results.h5")[1]["split_evidence"] == (evidence if evidence else "off")
    assert any(found["--split", stem].max() > found["--no-split", stem].max() for stem in images)
