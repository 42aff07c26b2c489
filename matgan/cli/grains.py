"""`matgan grains`: virtual micrographs, grain segmentation (classical and CycleGAN), measurement, scoring.

A thin layer: every command parses options, calls `matgan.grains.*` functions and writes files
atomically. Torch is imported only by the CycleGAN paths.
"""

from __future__ import annotations

import click
import numpy as np

from matgan.cli.common import (
    MatganGroup,
    batch_size_option,
    device_option,
    out_option,
    overwrite_option,
    precision_option,
    resume_option,
    seed_option,
    steps_option,
)
from matgan.grains.segment import (  # numpy only: no torch at import
    BOUNDARY_LOOKS,
    DENOISE_STRENGTH,
    EQUALIZE_CLIP,
    OUTPUT_TEMPERATURE,
)

CLASSICAL = ("otsu", "local", "canny", "watershed")


@click.group(cls=MatganGroup)
def grains() -> None:
    """Grain structures: synthesis, segmentation, measurement, scoring.

    \b
    synth     virtual micrographs with exact labels (HDF5 or a folder of images)
    measure   grain statistics and ASTM E112 grain size from boundary maps or labels
    segment   boundaries, labels and grain sizes from micrographs (CycleGAN or classical)
    evaluate  score predicted segmentations against ground truth
    train     train the CycleGAN on a folder of real micrographs
    """


@grains.command()
@click.option("-n", "count", type=click.IntRange(1), default=16, show_default=True, help="number of micrographs")
@click.option("--size", type=click.IntRange(8), default=512, show_default=True, help="image side in px")
@click.option("--grain-size", default="40", show_default=True,
              help="mean grain diameter in px, or LO:HI to draw each image's size log-uniformly")
@click.option("--dispersion", type=float, default=0.0, show_default=True, help="log-normal sigma of grain sizes")
@click.option("--seeds", type=click.Choice(["uniform", "hardcore"]), default="uniform", show_default=True)
@click.option("--lloyd", type=click.IntRange(0, 100), default=0, show_default=True, help="Lloyd relaxation steps")
@click.option("--aspect", type=float, default=1.0, show_default=True, help="grain elongation (rolled grains)")
@click.option("--angle", type=float, default=0.0, show_default=True, help="rolling direction in degrees")
@click.option("--periodic", is_flag=True, help="tile seamlessly")
@click.option("--twins", type=float, default=0.0, show_default=True, help="share of grains with an annealing twin")
@click.option("--thickness", type=click.IntRange(1, 20), default=2, show_default=True, help="boundary px")
@click.option("--render", "styles", default=None,
              help="also render a realistic look: a style or a comma list cycled over images "
                   "(brightfield, tint, faint, dirty, heavy; a+b+... = a random style between them per image)")
@click.option("--bit-depth", type=click.Choice(["8", "16"]), default="8", show_default=True)
@click.option("--format", "image_format", type=click.Choice(["png", "tif"]), default="png", show_default=True,
              help="image format for folder output")
@seed_option
@out_option(required=True, help="OUT.h5 (one HDF5 file) or a folder (virtual/, labels/, rendered/ images)")
@overwrite_option
def synth(count, size, grain_size, dispersion, seeds, lloyd, aspect, angle, periodic, twins, thickness, styles,
          bit_depth, image_format, seed, out, overwrite) -> None:
    """Make N virtual micrographs with exact grain labels (and optionally rendered versions)."""
    from matgan.grains.datasets import synth_dataset

    options = dict(dispersion=dispersion, seeds=seeds, lloyd=lloyd, aspect=aspect, angle=angle,
                   periodic=periodic, twins=twins, thickness=thickness)
    style_list = [s.strip() for s in styles.split(",") if s.strip()] if styles else []
    path = synth_dataset(out, count, size, grain_size, options, style_list, int(bit_depth), image_format, seed,
                         overwrite)
    click.echo(f"wrote {count} micrographs to {path}")


@grains.command()
@click.argument("real", nargs=-1, required=True, type=click.Path())
@click.option("--virtual", "virtual_path", type=click.Path(), default=None,
              help="virtual micrographs (HDF5 from `matgan grains synth`); synthesized when absent")
@click.option("--grain-size", default=None,
              help="grain diameter (px, or LO:HI) of the synthesized virtual domain; default: estimated from REAL")
@click.option("--crop", type=int, default=128, show_default=True, help="training crop side in px")
@click.option("--n-virtual", type=click.IntRange(1), default=200, show_default=True)
@click.option("--closed-boundaries/--no-closed-boundaries", default=True, show_default=True,
              help="show D_B broken boundary maps as fakes")
@click.option("--merged-fakes", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="with --closed-boundaries, this share of the broken maps loses whole boundaries between two "
                   "grains (merged grains) instead of pieces")
@click.option("--paired", "paired", type=click.Path(exists=True), multiple=True,
              help="virtual micrographs known to be the answers for some REAL images (files or folders, matched by "
                   "file name, e.g. the virtual/ folder `grains synth` writes beside rendered/): G_AB is pulled "
                   "towards them by L1 (a semi-supervised CycleGAN); the other real images stay unpaired")
@click.option("--paired-weight", type=click.FloatRange(0, min_open=True), default=10.0, show_default=True,
              help="weight of the --paired L1 (the cycle loss weighs 10)")
@click.option("--scale-matching/--no-scale-matching", default=True, show_default=True,
              help="synthesize the virtual domain at the estimated real grain size")
@click.option("--augment/--no-augment", default=False, show_default=True,
              help="show the generator real crops with weaker contrast, blur and noise too")
@click.option("--augment-field", type=click.FloatRange(0), default=0.0, show_default=True,
              help="with --augment, vary the weaker contrast over each crop on this scale in px, an uneven etch "
                   "(0 = one contrast per crop)")
@click.option("--ema", "ema_decay", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True,
              help="segment with a moving average of the generator's weights at this decay, e.g. 0.995 (0 = off)")
@click.option("--boundary", type=click.Choice(BOUNDARY_LOOKS), default="dark", show_default=True,
              help="how boundaries look in REAL: dark (etched, bright-field) or bright (SEM backscatter, "
                   "dark-field; inverted first, and the model remembers it)")
@click.option("--equalize", type=click.FloatRange(0), default=0.0, show_default=True,
              help="show the generator REAL through adaptive histogram equalisation (CLAHE) at this clip, e.g. 2.5 "
                   "(0 = off; the model remembers it, so `grains segment` equalizes with it too)")
@click.option("--cycle-noise", type=click.FloatRange(0), default=0.0, show_default=True,
              help="noise sigma added to translations inside the cycle loss (stops hidden texture; 0 = off)")
@click.option("--ngf", type=int, default=16, show_default=True, help="generator width")
@click.option("--ndf", type=int, default=32, show_default=True, help="discriminator width")
@click.option("--blocks", type=int, default=6, show_default=True, help="ResNet blocks per generator")
@click.option("--sample-every", type=int, default=250, show_default=True)
@steps_option
@batch_size_option
@seed_option
@device_option
@precision_option
@out_option(required=True)
@resume_option
@overwrite_option
def train(real, virtual_path, grain_size, crop, n_virtual, closed_boundaries, merged_fakes, paired, paired_weight,
          scale_matching, augment,
          augment_field, ema_decay, boundary, equalize, cycle_noise, ngf, ndf, blocks, sample_every, steps, batch_size,
          seed, device, precision, out, resume, overwrite) -> None:
    """Train the real <-> virtual CycleGAN on REAL micrographs (files or folders); writes OUT/model.pt."""
    from matgan.cli.common import echo_json
    from matgan.grains.train import train as train_model

    summary = train_model(real, out, virtual_path=virtual_path, grain_size=grain_size, steps=steps or 2000,
                          crop=crop, batch_size=batch_size or 4, n_virtual=n_virtual,
                          closed_boundaries=closed_boundaries, merged_fakes=merged_fakes,
                          paired=list(paired) or None, paired_weight=paired_weight,
                          scale_matching=scale_matching, augment=augment,
                          augment_field=augment_field, ema_decay=ema_decay, boundary=boundary, equalize=equalize,
                          model={"ngf": ngf, "ndf": ndf, "n_blocks": blocks, "cycle_noise": cycle_noise},
                          seed=seed, device=device, precision=precision, sample_every=sample_every, resume=resume,
                          overwrite=overwrite)
    click.echo(f"model: {out}/model.pt")
    echo_json({k: summary[k] for k in ("step", "samples_per_s", "seconds", "grain_size_range") if k in summary})


def _run_images(inputs, out, overwrite, pixel_size, labels_of, per_image_outputs: bool, results_h5: bool,
                attrs: dict | None = None, label_inputs: bool = False) -> None:
    """The loop `measure` and `segment` share: per image labels -> tables and pictures; bad files reported.

    `labels_of(path, image)` returns grain labels for one image. Exit status 2 when any input failed.
    """
    import sys
    from pathlib import Path

    from tqdm.auto import tqdm

    from matgan.errors import MatganError
    from matgan.grains import report
    from matgan.grains.measure import grain_table, image_summary
    from matgan.grains.segment import boundary_map_from_labels
    from matgan.io import check_writable, list_images, read_image, read_label_image, write_image

    reader = read_label_image if label_inputs else read_image
    files = list_images(inputs)
    if not files:
        raise MatganError(f"{', '.join(inputs)}: no images found (PNG, TIFF, JPEG or BMP)")
    out_dir = Path(out)
    suffixes = ("_boundaries.png", "_labels.tif", "_overlay.png") if per_image_outputs else ("_overlay.png",)
    planned = [out_dir / n for n in report.run_output_names(results_h5)]
    planned += [out_dir / f"{f.stem}{s}" for f in files for s in suffixes]
    check_writable(planned, overwrite)
    stems = [f.stem for f in files]
    if len(set(stems)) != len(stems):
        raise MatganError("two inputs share a file name stem; their outputs would collide (rename one)")
    grains_rows, summaries, failed = [], [], 0
    for path in tqdm(files, desc="images", unit="image", disable=len(files) < 2):
        try:
            image = reader(path)
            labels = labels_of(path, image)
        except MatganError as exc:
            failed += 1
            tqdm.write(f"error: {exc}", file=sys.stderr)
            continue
        table = grain_table(labels, pixel_size)
        grains_rows += report.grain_rows(path.name, table)
        summary = image_summary(labels, pixel_size)
        summaries.append(dict(image=path.name, height=labels.shape[0], width=labels.shape[1],
                              pixel_size_um=pixel_size, **summary))
        if per_image_outputs:
            write_image(out_dir / f"{path.stem}_boundaries.png", boundary_map_from_labels(labels), overwrite=True)
            write_image(out_dir / f"{path.stem}_labels.tif", labels.astype(np.int32), overwrite=True)
        write_image(out_dir / f"{path.stem}_overlay.png", report.overlay(image, labels), overwrite=True)
    report.write_run_outputs(out_dir, grains_rows, summaries, pixel_size, overwrite=True, results_h5=results_h5,
                             attrs=attrs)
    click.echo(f"{len(summaries)} image(s), {len(grains_rows)} grains -> {out_dir}")
    if failed:
        raise SystemExit(2)


@grains.command()
@click.argument("masks", nargs=-1, required=True, type=click.Path())
@click.option("--pixel-size", type=click.FloatRange(min=0, min_open=True), default=None,
              help="micrometres per pixel (gives ASTM E112 G numbers)")
@click.option("--boundary", type=click.Choice(["auto", "dark", "bright"]), default="auto", show_default=True,
              help="two-valued masks: which value is boundary (auto: the minority one); label images as they are")
@out_option(help="output folder (default: grains_measure/)")
@overwrite_option
def measure(masks, pixel_size, boundary, out, overwrite) -> None:
    """Measure grains in boundary maps or label images: grains.csv, summary.csv, overlays, histogram."""
    from matgan.grains.measure import as_labels

    _run_images(masks, out or "grains_measure", overwrite, pixel_size,
                lambda path, image: as_labels(image, boundary), per_image_outputs=False, results_h5=False,
                label_inputs=True)


@grains.command()
@click.argument("images", nargs=-1, required=True, type=click.Path())
@click.option("--method", type=click.Choice(("cyclegan",) + CLASSICAL), default="cyclegan", show_default=True)
@click.option("--model", type=click.Path(), default=None,
              help="CycleGAN checkpoint (model.pt from `grains train`); default: the shipped model")
@click.option("--pixel-size", type=click.FloatRange(min=0, min_open=True), default=None,
              help="micrometres per pixel (gives ASTM E112 G numbers)")
@click.option("--tile", type=click.IntRange(64), default=1024, show_default=True,
              help="tile side in px (memory grows with it; the image size does not matter)")
@click.option("--overlap", type=click.IntRange(0), default=64, show_default=True, help="tile overlap in px")
@click.option("--min-area", type=click.IntRange(1), default=12, show_default=True,
              help="grains smaller than this (px) are merged into a neighbour")
@click.option("--tta", type=click.Choice(["1", "2", "4", "8"]), default="1", show_default=True,
              help="cyclegan: average the generator over this many flips/quarter turns (slower, steadier)")
@click.option("--denoise", type=click.FloatRange(0), default=DENOISE_STRENGTH, show_default=True,
              help="cyclegan: non-local means before the generator at this multiple of the image's estimated "
                   "noise (0 = off; 0.7 for a noisy camera, but it can erase very faint boundaries)")
@click.option("--equalize", type=click.FloatRange(0), default=None,
              help="cyclegan: contrast-limited adaptive histogram equalisation before the generator, at this "
                   "clip limit (0 = off): faint boundaries and uneven lighting evened out  [default: "
                   f"{EQUALIZE_CLIP:g} with the shipped model, off with a model from `grains train`]")
@click.option("--temperature", type=click.FloatRange(0, min_open=True), default=OUTPUT_TEMPERATURE, show_default=True,
              help="cyclegan: read the generator's output at this temperature (its logits divided by it before "
                   "the tanh; 1 = as trained, above 1 weakly drawn boundaries keep some depth)")
@click.option("--split/--no-split", default=True, show_default=True,
              help="cyclegan, watershed: cut grains between two concave corners where the boundary map shows a "
                   "missed boundary (off for very noisy images or strongly non-convex grains)")
@click.option("--refine/--no-refine", default=True, show_default=True,
              help="cyclegan: move each boundary onto the ridge of the generator's boundary map (within a few "
                   "px), keeping the grains")
@click.option("--zoom", type=click.FloatRange(0.25, 4.0), default=1.0, show_default=True,
              help="cyclegan: show the generator the image resampled by this factor (2 for grains under about "
                   "16 px across, the shipped model's smallest; --tile counts the generator's px); results stay at "
                   "the image's own size")
@click.option("--boundary", type=click.Choice(BOUNDARY_LOOKS), default=None,
              help="how boundaries look: dark (etched, bright-field optical) or bright (SEM backscatter, "
                   "dark-field; the image is inverted before any method; overlays show it as it is)  "
                   "[default: the look the CycleGAN model was trained on, dark for the shipped one]")
@device_option
@out_option(help="output folder (default: grains_segment/)")
@overwrite_option
def segment(images, method, model, pixel_size, tile, overlap, min_area, tta, denoise, equalize, temperature, split,
            refine, zoom, boundary, device, out, overwrite) -> None:
    """Segment micrographs into grains: per-image boundaries, labels, overlay; run tables and results.h5."""
    from matgan.grains.segment import REFINE_RADIUS, SPLIT_EVIDENCE, dark_boundaries
    from matgan.io import to_gray_float

    evidence = SPLIT_EVIDENCE if split else None
    radius = REFINE_RADIUS if refine else None
    if method == "cyclegan":
        from matgan.grains.segment import GrainSegmenter, default_model_path

        segmenter = GrainSegmenter(model, device=device)
        boundary = boundary or segmenter.boundary
        equalize = segmenter.equalize_clip if equalize is None else equalize

        def labels_of(path, image):
            return segmenter.segment(gray(image), tile, overlap, min_area, tta=int(tta), split=evidence,
                                     denoise_strength=denoise, refine=radius, zoom=zoom, equalize_clip=equalize,
                                     temperature=temperature)

        model_name = str(model or default_model_path())
    else:
        from matgan.grains.baselines import segment_classical

        options = {"split": evidence} if method == "watershed" else {}
        boundary = boundary or "dark"

        def labels_of(path, image):
            return segment_classical(gray(image), method, min_area=min_area, **options)

        model_name = ""

    def gray(image):  # every method looks for dark boundaries
        return dark_boundaries(to_gray_float(image), boundary)

    attrs = {"method": method, "model": model_name, "tile": tile, "overlap": overlap, "min_area": min_area,
             "pixel_size_um": pixel_size, "tta": int(tta) if method == "cyclegan" else 0,
             "denoise": denoise if method == "cyclegan" else 0.0, "equalize": equalize if method == "cyclegan" else 0.0,
             "temperature": temperature if method == "cyclegan" else 1.0,
             "split_evidence": evidence if evidence is not None and method in ("cyclegan", "watershed") else "off",
             "refine_radius": radius if radius is not None and method == "cyclegan" else "off",
             "zoom": zoom if method == "cyclegan" else 1.0, "boundary": boundary}
    _run_images(images, out or "grains_segment", overwrite, pixel_size, labels_of, per_image_outputs=True,
                results_h5=True, attrs=attrs)


@grains.command()
@click.argument("pred_dir", type=click.Path())
@click.argument("truth_dir", type=click.Path())
@click.option("--tolerance", type=click.FloatRange(0), default=2.0, show_default=True,
              help="boundary match tolerance in px")
@click.option("--truth-boundary", type=click.Choice(["auto", "dark", "bright"]), default="auto", show_default=True,
              help="which value is boundary in two-valued truth masks")
def evaluate(pred_dir, truth_dir, tolerance, truth_boundary) -> None:
    """Score predictions against truth, matched by file stem (a `_labels`/`_boundaries` suffix is ignored).

    Prints one row per image, the mean, and a JSON object last.
    """
    from matgan.cli.common import echo_json
    from matgan.grains.evaluate import SCORE_KEYS, mean_scores, score
    from matgan.grains.measure import as_labels
    from matgan.io import read_label_image

    pairs = _match_files(pred_dir, truth_dir)
    rows = []
    click.echo("image " + " ".join(f"{k:>11}" for k in SCORE_KEYS))
    for name, pred_path, truth_path in pairs:
        pred = as_labels(read_label_image(pred_path), "auto")
        truth = as_labels(read_label_image(truth_path), truth_boundary)
        if pred.shape != truth.shape:
            from matgan.errors import MatganError

            raise MatganError(f"{pred_path}: shape {pred.shape} differs from {truth_path} {truth.shape}")
        result = score(pred, truth, tolerance)
        rows.append(result)
        click.echo(f"{name} " + " ".join(f"{result[k]:11.4f}" for k in SCORE_KEYS))
    mean = mean_scores(rows)
    click.echo("mean " + " ".join(f"{mean[k]:11.4f}" for k in SCORE_KEYS))
    echo_json({"n_images": len(rows), "tolerance_px": tolerance, **mean})


def _match_files(pred_dir, truth_dir):
    """(stem, prediction, truth) for every truth image with a prediction of the same stem."""
    from matgan.errors import MatganError
    from matgan.io import list_images

    def stem(path):
        s = path.stem
        for suffix in ("_labels", "_boundaries"):
            if s.endswith(suffix):
                return s[: -len(suffix)]
        return s

    preds: dict[str, object] = {}
    for p in list_images([pred_dir]):
        key = stem(p)
        # prefer label images over boundary maps over anything else
        rank = 0 if p.stem.endswith("_labels") else 1 if p.stem.endswith("_boundaries") else 2
        if key not in preds or rank < preds[key][0]:
            preds[key] = (rank, p)
    pairs = [(stem(t), preds[stem(t)][1], t) for t in list_images([truth_dir]) if stem(t) in preds]
    if not pairs:
        raise MatganError(f"{pred_dir}: no prediction matches an image in {truth_dir} by file name")
    return pairs
