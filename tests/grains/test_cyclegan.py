"""The grain CycleGAN end to end: train a few steps, segment through the CLI, tiling, bad input."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from click.testing import CliRunner

from matgan.cli import main
from matgan.io import read_hdf5, read_image, read_label_image, to_gray_float, write_image

TINY = ["--ngf", "4", "--ndf", "4", "--blocks", "1"]


def run(*args):
    return CliRunner().invoke(main, ["grains", *map(str, args)])


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Four rendered 64 x 64 micrographs as the real domain, a 3-step CycleGAN on 32 px crops."""
    root = tmp_path_factory.mktemp("grains_train")
    assert run("synth", "-n", 4, "--size", 64, "--grain-size", 14, "--render", "brightfield", "-o",
               root / "data").exit_code == 0
    result = run("train", root / "data" / "rendered", "--steps", 3, "--crop", 32, "--batch-size", 2,
                 "--n-virtual", 3, "--sample-every", 2, *TINY, "-o", root / "run")
    assert result.exit_code == 0, result.output
    return root


def test_train_writes_run_folder_model_and_panels(tiny_run):
    run_dir = tiny_run / "run"
    assert (run_dir / "model.pt").exists() and (run_dir / "last.pt").exists()
    panels = sorted((run_dir / "samples").glob("*.png"))
    assert panels and read_image(panels[-1]).ndim == 2
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert any('"loss_cycle"' in line for line in lines)


def test_train_resume_continues_and_refuses_to_overwrite(tiny_run):
    args = ["train", tiny_run / "data" / "rendered", "--crop", 32, "--batch-size", 2, "--n-virtual", 3,
            "--grain-size", 14, *TINY, "-o", tiny_run / "run"]
    refused = run(*args, "--steps", 3)
    assert refused.exit_code == 2 and "--resume" in refused.output
    assert run(*args[:-2], "-o", tiny_run / "run2", "--steps", 2).exit_code == 0
    resumed = run(*args[:-2], "-o", tiny_run / "run2", "--steps", 4, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert '"step": 4' in resumed.output


def test_segment_with_trained_model_end_to_end(tiny_run, tmp_path):
    out = tmp_path / "seg"
    result = run("segment", tiny_run / "data" / "rendered", "--model", tiny_run / "run" / "model.pt",
                 "--pixel-size", 0.8, "--tile", 64, "--overlap", 16, "-o", out)
    assert result.exit_code == 0, result.output
    for stem in ("00000", "00003"):
        boundaries = read_image(out / f"{stem}_boundaries.png")
        labels = read_label_image(out / f"{stem}_labels.tif")
        assert boundaries.shape == labels.shape == (64, 64)
        assert np.array_equal(boundaries == 0, labels == 0)
        assert read_image(out / f"{stem}_overlay.png").shape == (64, 64, 3)
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert len(rows) == 4 and "G_planimetric" in rows[0]
    arrays, attrs = read_hdf5(out / "results.h5")
    assert attrs["method"] == "cyclegan" and len(arrays["summary_image"]) == 4


def test_tiled_output_matches_whole_image(tiny_run):
    from matgan.grains.segment import GrainSegmenter

    segmenter = GrainSegmenter(tiny_run / "run" / "model.pt")
    image = to_gray_float(read_image(tiny_run / "data" / "rendered" / "00000.png"))
    image = np.tile(image, (3, 4))[:190, :250]  # an odd size: padding and several tiles
    whole = segmenter.boundary_probability(image, tile=512)
    tiled = segmenter.boundary_probability(image, tile=96, overlap=48)
    assert whole.shape == tiled.shape == image.shape
    assert np.abs(whole - tiled).max() < 0.05
    for zoom in (0.5, 1.7, 2.0):  # resampled tile by tile, back at the image's own size
        whole = segmenter.boundary_probability(image, tile=512, zoom=zoom)
        tiled = segmenter.boundary_probability(image, tile=96, overlap=48, zoom=zoom)
        assert whole.shape == tiled.shape == image.shape
        difference = np.abs(whole - tiled)  # a resampled tile's outermost pixels interpolate from the edge
        assert difference.max() < 0.1 and difference.mean() < 1e-3
    whole = segmenter.boundary_probability(image, tile=512, equalize_clip=2.5)  # one equalisation for all tiles
    tiled = segmenter.boundary_probability(image, tile=96, overlap=48, equalize_clip=2.5)
    assert np.abs(whole - tiled).max() < 0.05


def test_noise_estimate_and_denoising_in_strips():
    from matgan.grains.segment import denoise, noise_sigma

    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:150, 0:170] / 40.0
    clean = (0.5 + 0.3 * np.sin(yy) * np.cos(xx)).astype(np.float32)  # smooth structure, no noise
    noisy = clean + rng.normal(0, 0.05, clean.shape).astype(np.float32)
    assert noise_sigma(clean) < 0.005
    assert noise_sigma(noisy) == pytest.approx(0.05, rel=0.15)
    assert noise_sigma(noisy, rows=16) == pytest.approx(noise_sigma(noisy), rel=1e-5)  # strips: same sums
    whole, strips = denoise(noisy, 0.7, rows=10_000), denoise(noisy, 0.7, rows=37)
    assert np.array_equal(whole, strips)  # 16 px of context per strip: one pass, exactly
    assert np.sqrt(np.mean((whole - clean) ** 2)) < 0.5 * 0.05  # the noise is averaged away ...
    assert np.abs(denoise(clean, 0.7) - clean).mean() < 0.01  # ... a clean image is left (almost) alone
    assert denoise(noisy, 0.0) is noisy


def test_equalize_lifts_a_faint_boundary_to_its_deep_neighbours():
    from matgan.grains.segment import equalize

    rng = np.random.default_rng(5)
    image = np.full((192, 256), 0.8, np.float32) + rng.normal(0, 0.02, (192, 256)).astype(np.float32)
    image[:, 60:62] -= 0.5  # a deep boundary on the left ...
    image[:, 190:192] -= 0.05  # ... a faint one on the right, each with its own tiles of grain around it
    out = equalize(image, 2.5, 32)
    assert out.shape == image.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1

    def depth(a, col):
        return float(np.median(a[:, 100:150]) - a[:, col].mean())  # grain level minus the line's level

    before = depth(image, 190) / depth(image, 60)
    after = depth(out, 190) / depth(out, 60)
    assert before == pytest.approx(0.1, abs=0.01) and after > 2.5 * before  # the faint line stands out far more
    noise = float(np.std(out[:, 100:150])) / float(np.std(image[:, 100:150]))
    assert depth(out, 190) / depth(image, 190) > 0.8 * noise  # ... and no less above the grain's noise than before
    assert np.array_equal(equalize(image, 2.5, 32), out)  # deterministic
    assert equalize(image, 0.0) is image  # 0 = off
    flat = np.full((40, 40), 0.5, np.float32)
    assert equalize(flat, 2.5) is flat  # nothing to stretch
    for shape in ((101, 37), (5, 300)):  # not whole tiles; thinner than one tile
        odd = rng.random(shape).astype(np.float32)
        assert equalize(odd, 2.5, 32).shape == shape


def test_segment_equalize_option_reaches_the_segmenter(tiny_run, tmp_path):
    from matgan.grains.segment import EQUALIZE_CLIP, GrainSegmenter, default_model_path

    model = tiny_run / "run" / "model.pt"
    path = tiny_run / "data" / "rendered" / "00000.png"
    gray = to_gray_float(read_image(path))
    segmenter = GrainSegmenter(model)
    for clip in sorted({0.0, EQUALIZE_CLIP, 2.5}):
        out = tmp_path / f"eq{clip}"
        result = run("segment", path, "--model", model, "--equalize", clip, "-o", out)
        assert result.exit_code == 0, result.output
        assert np.array_equal(read_label_image(out / "00000_labels.tif"), segmenter.segment(gray, equalize_clip=clip))
        assert read_hdf5(out / "results.h5")[1]["equalize"] == clip
    assert not np.array_equal(segmenter.boundary_probability(gray, equalize_clip=0.0),
                              segmenter.boundary_probability(gray, equalize_clip=2.5))
    # a setting of the model: a trained one goes without, the shipped one with EQUALIZE_CLIP (its meta says so), by path too
    assert segmenter.equalize_clip == 0.0
    assert np.array_equal(segmenter.segment(gray), segmenter.segment(gray, equalize_clip=0.0))
    out = tmp_path / "own"
    assert run("segment", path, "--model", model, "-o", out).exit_code == 0
    assert read_hdf5(out / "results.h5")[1]["equalize"] == 0.0
    assert GrainSegmenter().equalize_clip == GrainSegmenter(default_model_path()).equalize_clip == EQUALIZE_CLIP > 0


def test_output_temperature_softens_the_map_and_reaches_the_segmenter(tmp_path):
    from matgan.errors import MatganError
    from matgan.grains.render import render
    from matgan.grains.segment import OUTPUT_TEMPERATURE, GrainSegmenter
    from matgan.grains.synth import synthesize

    _, labels, _ = synthesize(160, 28, seed=7, dispersion=0.3)
    path = tmp_path / "micrograph.png"
    write_image(path, render(labels, "brightfield", seed=7))
    gray = to_gray_float(read_image(path))
    segmenter = GrainSegmenter()
    maps = {t: segmenter.boundary_probability(gray, temperature=t) for t in (1.0, 2.0, 4.0)}
    # the same logits read at another temperature: p_T = (1 - tanh(atanh(1 - 2 p_1) / T)) / 2
    logits = np.arctanh(np.clip(1 - 2 * maps[1.0].astype(np.float64), -0.999, 0.999))
    inner = np.abs(1 - 2 * maps[1.0]) < 0.999  # away from float32 saturation
    for t in (2.0, 4.0):
        assert np.allclose(maps[t][inner], (1 - np.tanh(logits[inner] / t)) / 2, atol=2e-3)
    # softer with T: fewer pixels near 0 or 1, the ranking kept
    soft = [float(((m > 0.05) & (m < 0.95)).mean()) for m in maps.values()]
    assert soft[0] < soft[1] < soft[2]
    assert np.corrcoef(maps[1.0].ravel(), maps[4.0].ravel())[0, 1] > 0.9
    with pytest.raises(MatganError, match="temperature"):
        segmenter.boundary_probability(gray, temperature=0)
    for t in sorted({1.0, OUTPUT_TEMPERATURE}):
        out = tmp_path / f"T{t}"
        result = run("segment", path, "--temperature", t, "-o", out)
        assert result.exit_code == 0, result.output
        assert np.array_equal(read_label_image(out / "micrograph_labels.tif"), segmenter.segment(gray, temperature=t))
        assert read_hdf5(out / "results.h5")[1]["temperature"] == t
    assert run("segment", path, "--temperature", 0, "-o", tmp_path / "bad").exit_code == 2


def test_segment_denoise_option_reaches_the_segmenter(tiny_run, tmp_path):
    from matgan.grains.segment import DENOISE_STRENGTH, REFINE_RADIUS, SPLIT_EVIDENCE, GrainSegmenter

    model = tiny_run / "run" / "model.pt"
    path = tiny_run / "data" / "rendered" / "00000.png"
    image = to_gray_float(read_image(path))
    image = np.clip(image + np.random.default_rng(3).normal(0, 0.08, image.shape), 0, 1)  # a noisy camera
    write_image(tmp_path / "noisy.png", np.rint(image * 255).astype(np.uint8))
    gray = to_gray_float(read_image(tmp_path / "noisy.png"))
    segmenter = GrainSegmenter(model)
    for strength in sorted({0.0, DENOISE_STRENGTH, 0.7, 2.0}):
        out = tmp_path / f"dn{strength}"
        result = run("segment", tmp_path / "noisy.png", "--model", model, "--denoise", strength, "-o", out)
        assert result.exit_code == 0, result.output
        expected = segmenter.segment(gray, 1024, 64, 12, split=SPLIT_EVIDENCE, denoise_strength=strength)
        assert np.array_equal(read_label_image(out / "noisy_labels.tif"), expected)
        assert read_hdf5(out / "results.h5")[1]["denoise"] == strength
    assert not np.array_equal(segmenter.boundary_probability(gray, denoise_strength=0.0),
                              segmenter.boundary_probability(gray, denoise_strength=2.0))
    out = tmp_path / "no-refine"  # the refinement switch reaches the segmenter too
    assert run("segment", tmp_path / "noisy.png", "--model", model, "--no-refine", "-o", out).exit_code == 0
    assert np.array_equal(read_label_image(out / "noisy_labels.tif"), segmenter.segment(gray, refine=None))
    assert read_hdf5(out / "results.h5")[1]["refine_radius"] == "off"
    assert read_hdf5(tmp_path / f"dn{DENOISE_STRENGTH}" / "results.h5")[1]["refine_radius"] == REFINE_RADIUS


def test_any_bit_depth_and_colour(tiny_run, tmp_path):
    base = read_image(tiny_run / "data" / "rendered" / "00001.png")
    folder = tmp_path / "mixed"
    write_image(folder / "grey16.tif", base.astype(np.uint16) * 257)
    write_image(folder / "rgb.png", np.repeat(base[..., None], 3, axis=2))
    write_image(folder / "photo.jpg", base)
    write_image(folder / "old.bmp", base[:50, :61])
    result = run("segment", folder, "--model", tiny_run / "run" / "model.pt", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    for stem, shape in (("grey16", (64, 64)), ("rgb", (64, 64)), ("photo", (64, 64)), ("old", (50, 61))):
        assert read_label_image(tmp_path / "out" / f"{stem}_labels.tif").shape == shape


def test_bad_images_named_others_processed_exit_2(tiny_run, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_image(folder / "good.png", read_image(tiny_run / "data" / "rendered" / "00002.png"))
    (folder / "junk.png").write_text("this is text")
    result = run("segment", folder, "--model", tiny_run / "run" / "model.pt", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "junk.png" in result.output
    assert (tmp_path / "out" / "good_labels.tif").exists()
    assert not (tmp_path / "out" / "junk_labels.tif").exists()
    again = run("segment", folder / "good.png", "--model", tiny_run / "run" / "model.pt", "-o", tmp_path / "out")
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_wrong_or_damaged_checkpoint_is_a_clear_error(tiny_run, tmp_path):
    image = tiny_run / "data" / "rendered" / "00000.png"
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes((tiny_run / "run" / "model.pt").read_bytes()[:5000])
    result = run("segment", image, "--model", damaged, "-o", tmp_path / "o1")
    assert result.exit_code == 2 and "damaged.pt" in result.output and "Traceback" not in result.output
    from matgan.core.checkpoint import save_variant
    from matgan.core.variants import build_variant

    other = tmp_path / "other.pt"
    save_variant(other, build_variant("cyclegan", {"ngf": 4, "ndf": 4, "n_blocks": 1}), meta={"domain": "mnist"})
    result = run("segment", image, "--model", other, "-o", tmp_path / "o2")
    assert result.exit_code == 2 and "not a grains model" in result.output
    missing = run("segment", image, "--model", tmp_path / "none.pt", "-o", tmp_path / "o3")
    assert missing.exit_code == 2 and "none.pt" in missing.output


def test_default_model_segments_a_rendered_micrograph(tmp_path):
    from matgan.grains.evaluate import score
    from matgan.grains.render import render
    from matgan.grains.segment import GrainSegmenter, default_model_path
    from matgan.grains.synth import synthesize

    if not default_model_path().exists():
        pytest.skip("the default model is not shipped in this checkout")
    _, labels, _ = synthesize(192, 28, seed=123, dispersion=0.3)
    image = to_gray_float(render(labels, "faint", seed=123))
    pred = GrainSegmenter().segment(image)
    chance = score(np.ones_like(labels), labels)["f1"]
    assert score(pred, labels)["f1"] > max(0.6, chance + 0.4)


def test_bright_boundaries_are_segmented_after_inversion(tmp_path):
    """SEM backscatter or dark-field images show boundaries bright: `--boundary bright` finds them."""
    from matgan.grains.evaluate import score
    from matgan.grains.render import render
    from matgan.grains.segment import default_model_path
    from matgan.grains.synth import synthesize

    _, labels, _ = synthesize(192, 28, seed=321, dispersion=0.3)
    image = 255 - render(labels, "brightfield", seed=321)  # bright lines on dark grains
    write_image(tmp_path / "sem.png", image)
    methods = ["watershed"] + (["cyclegan"] if default_model_path().exists() else [])
    for method in methods:
        f1 = {}
        for look in ("dark", "bright"):
            out = tmp_path / f"{method}_{look}"
            result = run("segment", tmp_path / "sem.png", "--method", method, "--boundary", look, "-o", out)
            assert result.exit_code == 0, result.output
            f1[look] = score(read_label_image(out / "sem_labels.tif"), labels)["f1"]
            assert read_hdf5(out / "results.h5")[1]["boundary"] == look
        assert f1["bright"] > 0.85 and f1["bright"] > f1["dark"] + 0.4, (method, f1)
        overlay = read_image(tmp_path / f"{method}_bright" / "sem_overlay.png")
        grains = read_label_image(tmp_path / f"{method}_bright" / "sem_labels.tif") > 0
        grey = (overlay[..., 0] == overlay[..., 1]) & (overlay[..., 1] == overlay[..., 2]) & grains
        assert grey.mean() > 0.3 and np.array_equal(overlay[grey, 0], image[grey])  # the image as it is


def test_zoom_lets_the_default_model_see_grains_smaller_than_it_was_trained_on(tmp_path):
    from matgan.grains.evaluate import resolvable_truth, score
    from matgan.grains.render import render
    from matgan.grains.segment import default_model_path
    from matgan.grains.synth import synthesize

    if not default_model_path().exists():
        pytest.skip("the default model is not shipped in this checkout")
    _, labels, _ = synthesize(160, 9, seed=77, dispersion=0.3)  # 9 px grains; the model saw 16-56 px
    write_image(tmp_path / "small.png", render(labels, "brightfield", seed=77))
    scores = {}
    for zoom in (1, 2):
        out = tmp_path / f"zoom{zoom}"
        result = run("segment", tmp_path / "small.png", "--zoom", zoom, "-o", out)
        assert result.exit_code == 0, result.output
        assert read_hdf5(out / "results.h5")[1]["zoom"] == zoom
        pred = read_label_image(out / "small_labels.tif")
        assert pred.shape == labels.shape
        scores[zoom] = score(pred, resolvable_truth(labels))
    assert scores[2]["f1"] > scores[1]["f1"] + 0.03, scores
    assert scores[2]["count_error"] < scores[1]["count_error"] - 0.1, scores
    assert run("segment", tmp_path / "small.png", "--zoom", 8, "-o", tmp_path / "z8").exit_code == 2


def test_default_model_with_flips_and_turns_keeps_the_image_frame():
    from matgan.grains.segment import GrainSegmenter, _dihedral, default_model_path

    rng = np.random.default_rng(0)
    image = rng.random((5, 7))
    for k in range(8):  # every transform is undone by its inverse, whatever the aspect
        assert np.array_equal(_dihedral(_dihedral(image, k), k, inverse=True), image)
    if not default_model_path().exists():
        pytest.skip("the default model is not shipped in this checkout")
    from matgan.errors import MatganError
    from matgan.grains.render import render
    from matgan.grains.synth import synthesize

    _, labels, _ = synthesize(96, 20, seed=5)
    gray = to_gray_float(render(labels[:, :80], "brightfield", seed=5))  # not square, not a multiple of 4
    segmenter = GrainSegmenter()
    one, eight = segmenter.boundary_probability(gray), segmenter.boundary_probability(gray, tta=8)
    assert one.shape == eight.shape == gray.shape and 0 <= eight.min() and eight.max() <= 1
    # the average of the eight views agrees with the plain pass on where boundaries are
    assert np.corrcoef(one.ravel(), eight.ravel())[0, 1] > 0.9
    with pytest.raises(MatganError, match="tta 3"):
        segmenter.boundary_probability(gray, tta=3)
    for shape in [(1, 40), (7, 9), (40, 3)]:  # slivers smaller than the network's padding still segment
        assert segmenter.segment(gray[:shape[0], :shape[1]], tta=2).shape == shape


def test_photometric_jitter_weakens_contrast_reproducibly():
    import torch

    from matgan.grains.train import photometric_jitter

    crop = torch.linspace(-1, 1, 64 * 64).view(1, 64, 64)
    outs = [photometric_jitter(crop, torch.Generator().manual_seed(s)) for s in (1, 1, 2)]
    assert torch.equal(outs[0], outs[1]) and not torch.equal(outs[0], outs[2])  # seeded
    for out in outs:
        assert out.shape == crop.shape and out.min() >= -1 and out.max() <= 1
        assert out.std() < crop.std()  # contrast only ever falls


def test_uneven_etch_jitter_fades_some_places_more_than_others():
    import torch

    from matgan.grains.train import photometric_jitter

    # a stripe pattern of uniform contrast: one factor per crop keeps the local contrast even, a
    # field of factors 16 px apart makes it vary across the crop, within the factor range
    stripes = torch.where(torch.arange(128) % 8 < 2, -1.0, 1.0).view(1, 1, 128).expand(1, 128, 128).clone()

    def local_contrast(out):  # the stripes' amplitude per 8 x 8 block (one period), blur and noise off
        return out.view(16, 8, 16, 8).amax((1, 3)) - out.view(16, 8, 16, 8).amin((1, 3))

    for seed in range(3):
        even = local_contrast(photometric_jitter(stripes, torch.Generator().manual_seed(seed), noise=0, blur=0))
        uneven = photometric_jitter(stripes, torch.Generator().manual_seed(seed), noise=0, blur=0, field=16)
        assert torch.equal(uneven, photometric_jitter(stripes, torch.Generator().manual_seed(seed), noise=0,
                                                      blur=0, field=16))  # seeded
        assert even.max() - even.min() < 1e-5
        spread = local_contrast(uneven)
        assert spread.max() - spread.min() > 0.5  # the 0.35-1 factor range shows up within one crop
        assert spread.min() >= 0.35 * 2 - 1e-4 and spread.max() <= 2 + 1e-4


def test_dropped_boundaries_merge_whole_grain_pairs_without_loose_ends():
    import cv2
    import torch

    from matgan.grains.train import break_boundaries, drop_boundaries, make_virtual

    maps = torch.from_numpy(make_virtual(4, 128, (20, 30), seed=3).astype(np.float32))[:, None] / 127.5 - 1

    def grains(plane):
        return cv2.connectedComponents((plane.numpy() > 0).astype(np.uint8), connectivity=4)[0] - 1

    def loose_ends(before, after):  # ends of the 1 px skeleton next to what changed, away from the frame
        from scipy import ndimage as ndi
        from skimage.morphology import skeletonize

        sk = skeletonize(after.numpy() < 0).astype(np.uint8)
        neighbours = cv2.filter2D(sk, -1, np.ones((3, 3), np.float32), borderType=cv2.BORDER_CONSTANT) - sk
        near = ndi.binary_dilation((before != after).numpy(), iterations=4)
        near[:8], near[-8:], near[:, :8], near[:, -8:] = False, False, False, False
        return int(((sk == 1) & (neighbours == 1) & near).sum())

    dropped = drop_boundaries(maps, torch.Generator().manual_seed(0), n_edges=(3, 3))
    assert torch.equal(dropped, drop_boundaries(maps, torch.Generator().manual_seed(0), n_edges=(3, 3)))
    assert dropped.shape == maps.shape
    cut = break_boundaries(maps, torch.Generator().manual_seed(0))
    for before, after, broken in zip(maps[:, 0], dropped[:, 0], cut[:, 0]):
        changed = before != after
        assert changed.any() and bool((before[changed] < 0).all()) and bool((after[changed] == 1).all())
        assert grains(after) == grains(before) - 3  # three boundaries gone: three pairs merged into one grain each
        # whole boundaries go, junction to junction: no loose ends, unlike the cut maps (two per cut)
        assert loose_ends(before, after) <= 1 and loose_ends(before, broken) >= 4


def test_train_with_merged_fakes_through_the_cli(tiny_run, tmp_path):
    import torch

    from matgan.core.checkpoint import read_checkpoint
    from matgan.grains.train import grain_dataset, make_virtual

    real = [np.full((64, 64), 0.8, np.float32)]
    virtual = make_virtual(2, 64, (14, 14), seed=0)
    plain = grain_dataset(real, virtual, 32, 0, True)
    merged = grain_dataset(real, virtual, 32, 0, True, merged_fakes=1.0)
    for i in range(2):  # same crops; every broken map from whole boundaries, none from cut discs
        a, b, fake = merged[i]
        assert torch.equal(b, plain[i][1]) and not torch.equal(fake, plain[i][2])
        assert bool(((fake != b) <= (b < 0)).all())
    common = ["train", tiny_run / "data" / "rendered", "--steps", 2, "--crop", 32, "--batch-size", 2,
              "--n-virtual", 2, *TINY]
    result = run(*common, "--merged-fakes", 0.5, "-o", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert read_checkpoint(tmp_path / "run" / "model.pt", "cyclegan")["meta"]["merged_fakes"] == 0.5
    result = run(*common, "--merged-fakes", 1.5, "-o", tmp_path / "bad")
    assert result.exit_code == 2 and "--merged-fakes" in result.output


def test_paired_targets_ride_with_their_crops_and_unknown_ones_weigh_nothing():
    import torch

    from matgan.grains.train import grain_dataset, make_virtual

    virtual = make_virtual(3, 64, (14, 14), seed=0)
    real = [virtual[0] / 255.0, virtual[1] / 255.0, np.full((64, 64), 0.8)]  # images that are their answers
    targets = [virtual[0], virtual[1], None]
    data = grain_dataset(real, virtual, 32, 0, True, length=30, augment=True, targets=targets)
    plain = grain_dataset(real, virtual, 32, 0, True, length=30, augment=True)
    for i in range(30):  # random crops and flips: the target moves with its image; the rest is unchanged
        a, b, broken, paired = data[i]
        assert paired["target_b"].shape == a.shape == (1, 32, 32)
        assert all(torch.equal(x, y) for x, y in zip((a, b, broken), plain[i]))
        if i % 3 == 2:
            assert float(paired["weight"]) == 0
        else:
            assert float(paired["weight"]) == 1
            jittered = a.flatten() - a.mean()  # the jitter rescales about the mean and adds noise
            target = paired["target_b"].flatten() - paired["target_b"].mean()
            assert float(torch.corrcoef(torch.stack([jittered, target]))[0, 1]) > 0.6


def test_train_with_paired_maps_through_the_cli(tiny_run, tmp_path):
    from matgan.core.checkpoint import read_checkpoint

    data = tiny_run / "data"
    common = ["train", data / "rendered", "--steps", 2, "--crop", 32, "--batch-size", 2, "--n-virtual", 2, *TINY]
    result = run(*common, "--paired", data / "virtual", "-o", tmp_path / "run")
    assert result.exit_code == 0, result.output
    meta = read_checkpoint(tmp_path / "run" / "model.pt", "cyclegan")["meta"]
    assert meta["paired"] == 4 and meta["paired_weight"] == 10
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert any('"loss_paired": 0.' in line or '"loss_paired": 1.' in line for line in lines)
    # no name in common, or a map of another size: one clear line naming the file, nothing trained
    elsewhere = tmp_path / "maps"
    elsewhere.mkdir()
    write_image(elsewhere / "other.png", np.zeros((64, 64), np.uint8))
    result = run(*common, "--paired", elsewhere, "-o", tmp_path / "bad")
    assert result.exit_code == 2 and "no paired map has the name of a real image" in result.output
    write_image(elsewhere / "00001.png", np.zeros((48, 64), np.uint8))
    result = run(*common, "--paired", elsewhere, "-o", tmp_path / "bad")
    assert result.exit_code == 2 and "00001.png: paired map is 64 x 48 px" in result.output
    assert not (tmp_path / "bad" / "model.pt").exists()


def test_train_with_augmentation_through_the_cli(tiny_run, tmp_path):
    result = run("train", tiny_run / "data" / "rendered", "--steps", 2, "--crop", 32, "--batch-size", 2,
                 "--n-virtual", 2, "--augment", "--augment-field", 16, *TINY, "-o", tmp_path / "run")
    assert result.exit_code == 0, result.output
    from matgan.core.checkpoint import read_checkpoint

    meta = read_checkpoint(tmp_path / "run" / "model.pt", "cyclegan")["meta"]
    assert meta["augment"] is True and meta["augment_field"] == 16


def test_train_with_equalization_and_the_model_remembers(tiny_run, tmp_path):
    import torch

    from matgan.grains.segment import GrainSegmenter

    common = ["--steps", 2, "--crop", 32, "--batch-size", 2, "--n-virtual", 2, *TINY]
    for name, extra in (("plain", []), ("eq", ["--equalize", 2.5])):
        result = run("train", tiny_run / "data" / "rendered", *common, *extra, "-o", tmp_path / name)
        assert result.exit_code == 0, result.output
    plain, eq = GrainSegmenter(tmp_path / "plain" / "model.pt"), GrainSegmenter(tmp_path / "eq" / "model.pt")
    assert plain.equalize_clip == 0.0 and eq.equalize_clip == 2.5
    weights = [torch.load(tmp_path / name / "model.pt", weights_only=True)["model"] for name in ("plain", "eq")]
    assert weights[0].keys() == weights[1].keys()  # same seed, other real crops: the generator saw them equalized
    assert any(not torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    path = tiny_run / "data" / "rendered" / "00000.png"
    assert run("segment", path, "--model", tmp_path / "eq" / "model.pt", "-o", tmp_path / "out").exit_code == 0
    assert read_hdf5(tmp_path / "out" / "results.h5")[1]["equalize"] == 2.5  # segments with it by default
    gray = to_gray_float(read_image(path))
    assert np.array_equal(read_label_image(tmp_path / "out" / "00000_labels.tif"),
                          eq.segment(gray, equalize_clip=2.5))


def test_train_with_weight_average_segments_with_it(tiny_run, tmp_path):
    import torch

    from matgan.core.checkpoint import load_variant, read_checkpoint
    from matgan.grains.segment import GrainSegmenter

    args = ["train", tiny_run / "data" / "rendered", "--crop", 32, "--batch-size", 2, "--n-virtual", 2,
            "--grain-size", 14, *TINY]
    assert run(*args, "--steps", 3, "-o", tmp_path / "run").exit_code == 0
    result = run(*args, "--steps", 6, "--ema", 0.9, "--resume", "-o", tmp_path / "run")  # the average starts here
    assert result.exit_code == 0, result.output
    model = tmp_path / "run" / "model.pt"
    assert read_checkpoint(model, "cyclegan")["meta"]["ema_decay"] == 0.9
    variant, _ = load_variant(model, "cyclegan", torch.device("cpu"))
    live, average = variant.nets["G_AB"], variant.ema["G_AB"]
    assert any(not torch.equal(a, b) for a, b in zip(live.parameters(), average.parameters()))
    segmenter = GrainSegmenter(model)
    assert all(torch.equal(a, b) for a, b in zip(segmenter.net.parameters(), average.parameters()))
    # resumed without it, the run drops the average instead of keeping a stale one
    assert run(*args, "--steps", 7, "--resume", "-o", tmp_path / "run").exit_code == 0
    variant, _ = load_variant(model, "cyclegan", torch.device("cpu"))
    assert "G_AB" not in variant.ema


def test_train_on_bright_boundaries_inverts_and_the_model_remembers(tiny_run, tmp_path, monkeypatch):
    import matgan.grains.train as grains_train
    from matgan.core.checkpoint import read_checkpoint
    from matgan.grains.segment import GrainSegmenter

    rendered = sorted((tiny_run / "data" / "rendered").glob("*.png"))
    bright = tmp_path / "bright"
    bright.mkdir()
    for path in rendered:
        write_image(bright / path.name, 255 - read_image(path))
    seen = []  # the real domain as the training gets it
    original = grains_train.grain_dataset
    monkeypatch.setattr(grains_train, "grain_dataset", lambda real, *a, **k: seen.extend(real) or original(real, *a, **k))
    args = ["--steps", 3, "--crop", 32, "--batch-size", 2, "--n-virtual", 3, "--sample-every", 2, *TINY]
    assert run("train", bright, "--boundary", "bright", *args, "-o", tmp_path / "run").exit_code == 0
    assert len(seen) == len(rendered)
    for got, path in zip(seen, rendered):  # dark boundaries again, as rendered
        assert np.allclose(got, to_gray_float(read_image(path)), atol=1e-6)
    ours = read_checkpoint(tmp_path / "run" / "model.pt", "cyclegan")
    dark = read_checkpoint(tiny_run / "run" / "model.pt", "cyclegan")  # the same run on the images as rendered
    assert ours["meta"]["boundary"] == "bright" and dark["meta"]["boundary"] == "dark"
    assert ours["meta"]["estimated_grain_size"] == pytest.approx(dark["meta"]["estimated_grain_size"], rel=1e-3)
    # segmenting with it inverts by default; --boundary overrides the model's look
    image = sorted(bright.glob("*.png"))[0]
    gray = to_gray_float(read_image(image))
    segmenter = GrainSegmenter(tmp_path / "run" / "model.pt")
    for option, look in (([], "bright"), (["--boundary", "dark"], "dark")):
        out = tmp_path / f"seg_{look}"
        result = run("segment", image, "--model", tmp_path / "run" / "model.pt", *option, "-o", out)
        assert result.exit_code == 0, result.output
        assert read_hdf5(out / "results.h5")[1]["boundary"] == look
        expected = segmenter.segment(1.0 - gray if look == "bright" else gray)
        assert np.array_equal(read_label_image(out / f"{image.stem}_labels.tif"), expected)
