"""Every variant end to end through the CLI on a tiny synthetic MNIST: train, sample, eval, errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

SHARED_MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"

# (model, extra train options, arrays the --npz file holds, metrics eval prints)
CASES = [
    ("gan", [], {"images"}, {"fd_classifier", "class_histogram", "modes_covered"}),
    ("dcgan", [], {"images"}, {"fd_classifier", "class_histogram"}),
    ("cgan", [], {"images", "labels"}, {"fd_classifier", "label_accuracy", "label_accuracy_per_digit"}),
    ("infogan", [], {"images", "cat", "cont"}, {"fd_classifier", "cat_accuracy", "code_to_digit"}),
    ("aae", ["--prior", "gaussian"], {"images", "z", "test_latent"}, {"recon_mse", "latent_ks", "fd_classifier"}),
    ("aae", ["--prior", "mixture"], {"images", "z", "labels"}, {"recon_mse", "latent_ks", "label_accuracy"}),
    ("aae", ["--prior", "style"], {"images", "labels"}, {"recon_mae", "latent_ks_max", "label_accuracy"}),
    ("cyclegan", [], {"images", "inputs", "labels"}, {"mae_to_inverse", "digit_kept", "mae_ab", "digit_kept_ba"}),
]


def test_the_throwaway_classifier_learns_the_synthetic_digits(classifier_run):
    folder, summary = classifier_run
    assert (folder / "classifier.pt").is_file()
    assert summary["test_accuracy"] > 0.9
    assert summary["step"] == 60


@pytest.mark.parametrize(("model", "options", "arrays", "metrics"), CASES,
                         ids=[c[0] + (c[1][1] if c[1] else "") for c in CASES])
def test_train_sample_eval_end_to_end(matgan_cli, mnist_dir, classifier_run, tmp_path, model, options, arrays,
                                      metrics):
    run = tmp_path / "run"
    result, summary = matgan_cli("mnist", "train", "--model", model, *options, "--data-dir", mnist_dir,
                                 "--steps", 2, "--batch-size", 8, "--device", "cpu", "--seed", 1, "-o", run)
    assert result.exit_code == 0, result.output
    assert summary["step"] == 2
    assert {"config.json", "metrics.jsonl", "last.pt"} <= {p.name for p in run.iterdir()}
    assert list((run / "samples").glob("*.png")), "the trainer's preview picture"

    picture, npz = tmp_path / "grid.png", tmp_path / "out.npz"
    result, _ = matgan_cli("mnist", "sample", run, "-n", 20, "-o", picture, "--npz", npz, "--data-dir", mnist_dir)
    assert result.exit_code == 0, result.output
    image = cv2.imread(str(picture), cv2.IMREAD_UNCHANGED)
    assert image is not None and image.dtype == np.uint8 and min(image.shape[:2]) > 28
    with np.load(npz) as data:
        assert arrays <= set(data.files)
        assert data["images"].dtype == np.uint8 and data["images"].shape[1:] == (28, 28)
        assert len(data["images"]) >= 20 if model != "cyclegan" else len(data["images"]) == 20

    result, scores = matgan_cli("mnist", "eval", run, "--data-dir", mnist_dir, "--classifier", classifier_run[0],
                                "-n", 50)
    assert result.exit_code == 0, result.output
    assert metrics <= set(scores) and scores["model"] == model and scores["step"] == 2
    if "fd_classifier" in scores:
        assert scores["fd_classifier"] >= 0
        assert sum(scores["class_histogram"]) == pytest.approx(1.0, abs=1e-3)
    if model == "cyclegan":
        assert 0 <= scores["mae_to_inverse"] <= 1 and 0 <= scores["digit_kept"] <= 1


def test_cgan_rows_follow_the_asked_digit(matgan_cli, mnist_dir, tmp_path):
    run = tmp_path / "run"
    assert matgan_cli("mnist", "train", "--model", "cgan", "--data-dir", mnist_dir, "--steps", 1, "--batch-size", 8,
                      "-o", run)[0].exit_code == 0
    matgan_cli("mnist", "sample", run, "-n", 30, "-o", tmp_path / "all.png", "--npz", tmp_path / "all.npz")
    with np.load(tmp_path / "all.npz") as data:
        np.testing.assert_array_equal(data["labels"], np.repeat(np.arange(10), 3))
    matgan_cli("mnist", "sample", run, "-n", 6, "--digit", 7, "-o", tmp_path / "seven.png", "--npz", tmp_path / "7.npz")
    with np.load(tmp_path / "7.npz") as data:
        assert list(data["labels"]) == [7] * 6


def test_same_seed_same_samples_and_resume_continues(matgan_cli, mnist_dir, tmp_path):
    run = tmp_path / "run"
    assert matgan_cli("mnist", "train", "--model", "gan", "--data-dir", mnist_dir, "--steps", 2, "--batch-size", 8,
                      "-o", run)[0].exit_code == 0
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        matgan_cli("mnist", "sample", run, "-n", 4, "--seed", seed, "-o", tmp_path / f"{name}.png",
                   "--npz", tmp_path / f"{name}.npz")
    images = {name: np.load(tmp_path / f"{name}.npz")["images"] for name in "abc"}
    np.testing.assert_array_equal(images["a"], images["b"])
    assert not np.array_equal(images["a"], images["c"])

    result, summary = matgan_cli("mnist", "train", "--model", "gan", "--data-dir", mnist_dir, "--steps", 4,
                                 "--batch-size", 8, "-o", run, "--resume")
    assert result.exit_code == 0, result.output
    assert summary["step"] == 4


def _one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message


def test_errors_are_one_line_and_nothing_is_overwritten(matgan_cli, mnist_dir, tmp_path):
    run = tmp_path / "run"
    assert matgan_cli("mnist", "train", "--model", "gan", "--data-dir", mnist_dir, "--steps", 1, "--batch-size", 8,
                      "-o", run)[0].exit_code == 0
    before = (run / "last.pt").read_bytes()
    _one_line_error(matgan_cli("mnist", "train", "--model", "gan", "--data-dir", mnist_dir, "--steps", 1,
                               "-o", run)[0], "--overwrite")
    assert (run / "last.pt").read_bytes() == before

    (tmp_path / "taken.png").write_bytes(b"keep")
    _one_line_error(matgan_cli("mnist", "sample", run, "-o", tmp_path / "taken.png")[0], "taken.png", "--overwrite")
    assert (tmp_path / "taken.png").read_bytes() == b"keep"
    _one_line_error(matgan_cli("mnist", "sample", run, "--digit", 12, "-o", tmp_path / "x.png")[0], "--digit 12")
    assert not (tmp_path / "x.png").exists()

    _one_line_error(matgan_cli("mnist", "train", "--model", "gan", "--data-dir", tmp_path / "empty_nowhere",
                               "-o", tmp_path / "r2")[0], "put the MNIST files")
    _one_line_error(matgan_cli("mnist", "train", "--model", "gan", "--data-dir", mnist_dir, "--steps", 2,
                               "--epochs", 1, "-o", tmp_path / "r3")[0], "not both")
    _one_line_error(matgan_cli("mnist", "eval", tmp_path / "no_run")[0], "no such checkpoint")
    _one_line_error(matgan_cli("mnist", "eval", run, "--classifier", tmp_path / "no_clf",
                               "--data-dir", mnist_dir)[0], "train-classifier")


def test_epochs_set_the_number_of_steps(matgan_cli, mnist_dir, tmp_path):
    result, summary = matgan_cli("mnist", "train", "--model", "gan", "--data-dir", mnist_dir, "--epochs", 1,
                                 "--batch-size", 100, "--limit", 300, "-o", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert summary["step"] == 3  # 300 digits / 100 per batch


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="../shared/data/mnist is absent")
def test_a_real_slice_trains(matgan_cli, tmp_path):
    result, summary = matgan_cli("mnist", "train", "--model", "dcgan", "--data-dir", SHARED_MNIST, "--limit", 256,
                                 "--steps", 2, "--batch-size", 16, "-o", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert summary["step"] == 2
