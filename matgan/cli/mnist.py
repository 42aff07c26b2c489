"""`matgan mnist`: train, sample and score the six textbook GAN variants on MNIST."""

from __future__ import annotations

from pathlib import Path

import click

from matgan.cli.common import (
    MatganGroup,
    batch_size_option,
    device_option,
    echo_json,
    out_option,
    overwrite_option,
    resume_option,
    seed_option,
    steps_option,
)

MODELS = ("gan", "dcgan", "cgan", "infogan", "aae", "cyclegan")
data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False), default=None,
    help="folder with the four MNIST IDX files (default: $MATGAN_DATA/mnist, else ~/.cache/matgan/mnist)")
download_option = click.option("--download", is_flag=True,
                               help="fetch missing MNIST files (md5-checked) into the data folder")
classifier_option = click.option(
    "--classifier", type=click.Path(), default=None,
    help="evaluation classifier (file or train-classifier folder; default ~/.cache/matgan/mnist_classifier)")


@click.group(cls=MatganGroup)
def mnist() -> None:
    """The textbook GAN variants on MNIST: gan, dcgan, cgan, infogan, aae, cyclegan.

    \b
    matgan mnist train-classifier            the evaluation classifier (once, >= 99 % on the test set)
    matgan mnist train --model cgan -o runs/cgan
    matgan mnist sample runs/cgan -o cgan.png
    matgan mnist eval runs/cgan
    """


@mnist.command("train")
@click.option("--model", type=click.Choice(MODELS), required=True, help="which textbook variant")
@click.option("--prior", type=click.Choice(["gaussian", "mixture", "style"]), default="gaussian", show_default=True,
              help="aae only: Gaussian, label-incorporated mixture of 10 Gaussians, or style/content")
@data_dir_option
@steps_option
@click.option("--epochs", type=int, default=None, help="training length in passes over the data (instead of --steps)")
@batch_size_option
@seed_option
@device_option
@out_option(help="run folder (default runs/mnist-MODEL)")
@click.option("--ema", type=float, default=0.0, show_default=True, help="generator EMA decay (0: off)")
@click.option("--limit", type=int, default=None, help="train on the first N training digits only")
@download_option
@resume_option
@overwrite_option
def train(model, prior, data_dir, steps, epochs, batch_size, seed, device, out, ema, limit, download, resume,
          overwrite):
    """Train MODEL on the MNIST training set; prints a JSON summary (steps, samples/s, losses)."""
    from matgan.mnist.models import train_model

    out = out or f"runs/mnist-{model}" + (f"-{prior}" if model == "aae" else "")
    summary = train_model(model, out, data_dir, steps=steps, epochs=epochs, batch_size=batch_size, seed=seed,
                          device=device, prior=prior, resume=resume, overwrite=overwrite, limit=limit,
                          ema_decay=ema, download=download)
    echo_json(summary)


def _test_set(data_dir, meta: dict, limit: int | None = None):
    from matgan.mnist.data import load_mnist

    return load_mnist("test", data_dir if data_dir is not None else meta.get("data_dir"), limit=limit)


@mnist.command("sample")
@click.argument("run_dir", type=click.Path())
@click.option("--digit", type=int, default=None, help="only this digit (infogan: this categorical code value)")
@click.option("-n", "num", type=int, default=100, show_default=True, help="how many samples")
@out_option(help="picture to write (default RUN_DIR/sample.png)")
@click.option("--npz", type=click.Path(dir_okay=False), default=None,
              help="also write the raw images (N, 28, 28) uint8 and the asked labels/codes")
@seed_option
@data_dir_option
@overwrite_option
def sample(run_dir, digit, num, out, npz, seed, data_dir, overwrite):
    """The picture RUN_DIR's variant is known for: grid, per-digit rows, code sweeps, latent, pairs."""
    from matgan.io import check_writable, write_image
    from matgan.mnist.evaluate import load_run
    from matgan.mnist.pictures import sample_picture, save_npz

    out = Path(out) if out else Path(run_dir) / "sample.png"
    check_writable([out] + ([npz] if npz else []), overwrite)
    variant, payload = load_run(run_dir)
    meta = payload["meta"]
    test_images = test_labels = None
    if meta["model"] in ("aae", "cyclegan"):
        test_images, test_labels = _test_set(data_dir, meta)
    picture, arrays = sample_picture(variant, meta, num, digit, seed, test_images, test_labels)
    if npz:
        save_npz(npz, arrays, overwrite=True)
    write_image(out, picture, overwrite=True)
    click.echo(f"wrote {out}" + (f" and {npz}" if npz else ""))


@mnist.command("eval")
@click.argument("run_dir", type=click.Path())
@data_dir_option
@classifier_option
@click.option("-n", "num", type=int, default=10000, show_default=True, help="samples to generate (or translate)")
@seed_option
def evaluate(run_dir, data_dir, classifier, num, seed):
    """Score RUN_DIR with the evaluation classifier; prints one JSON object of the variant's metrics."""
    from matgan.mnist.classifier import load_classifier
    from matgan.mnist.evaluate import evaluate_run, load_run

    variant, payload = load_run(run_dir)
    reader = load_classifier(classifier)
    test_images, test_labels = _test_set(data_dir, payload["meta"])
    result = evaluate_run(variant, payload["meta"], reader, test_images, test_labels, num, seed)
    echo_json({"run": str(run_dir), "step": payload["step"], **result})


@mnist.command("train-classifier")
@data_dir_option
@steps_option
@batch_size_option
@seed_option
@device_option
@out_option(help="classifier folder (default ~/.cache/matgan/mnist_classifier)")
@click.option("--limit", type=int, default=None, help="train and test on the first N digits only")
@download_option
@resume_option
@overwrite_option
def train_classifier(data_dir, steps, batch_size, seed, device, out, limit, download, resume, overwrite):
    """Train the evaluation classifier; prints a JSON summary with its official test-set accuracy."""
    from matgan.mnist.classifier import train_classifier as train

    summary = train(out, data_dir, steps=steps or 3000, batch_size=batch_size or 128, seed=seed, device=device,
                    resume=resume, overwrite=overwrite, limit=limit, download=download)
    echo_json(summary)
