"""The evaluation classifier: a small CNN that reads digits and gives the features metrics compare.

It is the core's `classifier` variant (a strided-conv discriminator with ten outputs), trained by
the core Trainer (no second training loop). Its 128-wide
last hidden layer is the feature space of the Frechet distance; its argmax is the digit.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from matgan.core.variants.classifier import Classifier, ClassifierConfig
from matgan.errors import MatganError

CLASSIFIER_FILE = "classifier.pt"
DigitClassifier = Classifier  # the digit reader is the core classifier with its default (MNIST) config


def digits_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 digits (N, 28, 28), 0 = background -> float32 tensor (N, 1, 28, 28) in [-1, 1]."""
    from matgan.io import image_to_tensor

    images = np.asarray(images)
    if images.ndim != 3:
        raise MatganError(f"expected digits (N, H, W), got shape {images.shape}")
    # io.image_to_tensor reads (H, W, C): the N digits travel as N channels, then become N images.
    return image_to_tensor(np.moveaxis(images, 0, -1))[0][:, None]


def classify(classifier: DigitClassifier, images: np.ndarray | torch.Tensor, batch_size: int = 500
             ) -> tuple[np.ndarray, np.ndarray]:
    """Digit and features of each image.

    Parameters
    ----------
    classifier : a trained `DigitClassifier`.
    images : uint8 (N, 28, 28) digits, or a float tensor (N, 1, 28, 28) in [-1, 1].

    Returns
    -------
    digits : (N,) int64 in 0..9, the classifier's reading.
    features : (N, 128) float32, the last hidden layer (the Frechet-distance feature space).
    """
    x = images if isinstance(images, torch.Tensor) else digits_to_tensor(images)
    digits, features = [], []
    for start in range(0, len(x), batch_size):
        logits, feats = classifier.logits_and_features(x[start : start + batch_size].float())
        digits.append(logits.argmax(1).cpu().numpy())
        features.append(feats.float().cpu().numpy())
    if not digits:
        return np.zeros(0, np.int64), np.zeros((0, classifier.config.fc_hidden), np.float32)
    return np.concatenate(digits), np.concatenate(features)


def default_classifier_dir() -> Path:
    """Where `matgan mnist train-classifier` puts the classifier unless told: the matgan cache folder."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "matgan" / "mnist_classifier"


def load_classifier(path: str | os.PathLike | None = None) -> DigitClassifier:
    """Load the evaluation classifier from a file or a train-classifier folder (default: the cache).

    Raises
    ------
    MatganError
        when there is none, saying how to make one.
    """
    from matgan.core.checkpoint import load_variant

    path = Path(path) if path is not None else default_classifier_dir()
    if path.is_dir():
        path = path / CLASSIFIER_FILE
    if not path.is_file():
        raise MatganError(f"{path}: no evaluation classifier; train one with `matgan mnist train-classifier` "
                          "(or pass --classifier PATH)")
    classifier, _ = load_variant(path, DigitClassifier.name)
    return classifier


def test_accuracy(classifier: DigitClassifier, images: np.ndarray, labels: np.ndarray) -> float:
    """Share of `images` (uint8 (N, 28, 28)) whose digit the classifier reads as `labels` (N,)."""
    digits, _ = classify(classifier, images)
    return float(np.mean(digits == np.asarray(labels)))


def train_classifier(out_dir: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None, *,
                     steps: int = 1500, batch_size: int = 128, seed: int = 0, device: str = "auto",
                     resume: bool = False, overwrite: bool = False, limit: int | None = None,
                     progress: bool = True, download: bool = False) -> dict:
    """Train the evaluation classifier on the MNIST training set, score it on the official test set.

    The run folder (default `default_classifier_dir()`) gets the Trainer's files and `classifier.pt`,
    a small inference checkpoint that `load_classifier` reads. `limit` trains on the first digits only
    (tests); `download` fetches missing MNIST files first. Returns the Trainer's summary plus `test_accuracy` in [0, 1].
    """
    from matgan.core.checkpoint import save_variant
    from matgan.core.data import TensorPairs
    from matgan.core.trainer import TrainConfig, Trainer, seed_everything
    from matgan.mnist.data import load_mnist

    out_dir = Path(out_dir) if out_dir is not None else default_classifier_dir()
    train_images, train_labels = load_mnist("train", data_dir, download=download, limit=limit)
    test_images, test_labels = load_mnist("test", data_dir, limit=limit)
    seed_everything(seed)
    classifier = DigitClassifier(ClassifierConfig())
    dataset = TensorPairs(digits_to_tensor(train_images), torch.from_numpy(train_labels.astype(np.int64)))
    config = TrainConfig(steps=steps, batch_size=batch_size, seed=seed, device=device, log_every=50,
                         sample_every=0, checkpoint_every=500, progress=progress)

    def evaluate(variant) -> dict[str, float]:
        return {"test_accuracy": test_accuracy(variant, test_images, test_labels)}

    trainer = Trainer(classifier, dataset, config, out_dir, resume=resume, overwrite=overwrite,
                      meta={"domain": "mnist", "role": "evaluation classifier", "train_digits": len(train_images)},
                      evaluate=evaluate)
    summary = trainer.fit()
    accuracy = summary["evaluation"].get("eval/test_accuracy")
    if accuracy is None:
        accuracy = test_accuracy(classifier, test_images, test_labels)
    save_variant(out_dir / CLASSIFIER_FILE, classifier.cpu(),
                 meta={"test_accuracy": accuracy, "test_digits": len(test_images), "steps": summary["step"]})
    return {**summary, "test_accuracy": accuracy, "classifier": str(out_dir / CLASSIFIER_FILE)}
