"""The MNIST scores on stand-in models whose right answers are known, and the textbook network sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from matgan.core.variants import build_variant
from matgan.io import tensor_to_uint8
from matgan.mnist.classifier import classify, digits_to_tensor, load_classifier
from matgan.mnist.data import load_mnist
from matgan.mnist.evaluate import evaluate_run
from matgan.mnist.models import MODELS, variant_config


@pytest.fixture(scope="module")
def scored(mnist_dir, classifier_run):
    """(classifier, test digits, test labels, what the classifier reads on them)."""
    classifier = load_classifier(classifier_run[0])
    images, labels = load_mnist("test", mnist_dir)
    return classifier, images, labels.astype(np.int64), classify(classifier, images)[0]


class DigitPicker:
    """A 'generator' that returns real test digits of the asked class: what a perfect cgan would do."""

    def __init__(self, images, labels, permutation=None):
        self.images, self.labels = images, labels
        self.permutation = np.arange(10) if permutation is None else permutation

    def sample(self, n, generator=None, labels=None, cat=None, **_):
        asked = self.permutation[np.asarray(labels if labels is not None else cat)]
        rng = np.random.default_rng(int(torch.randint(1 << 30, (), generator=generator)))
        picks = [rng.choice(np.flatnonzero(self.labels == d)) for d in asked]
        return digits_to_tensor(self.images[picks])


class ExactInverter:
    """A 'CycleGAN' that translates by the exact inverse 255 - x in both directions."""

    def sample(self, x, direction="AB"):
        return -x


def test_a_perfect_conditional_generator_scores_the_classifier_accuracy(scored):
    classifier, images, labels, read = scored
    result = evaluate_run(DigitPicker(images, labels), {"model": "cgan"}, classifier, images, labels, 400)
    assert result["label_accuracy"] == pytest.approx(np.mean(read == labels), abs=0.06)
    assert result["modes_covered"] == 10
    assert len(result["label_accuracy_per_digit"]) == 10


def test_frechet_distance_is_small_for_real_digits_and_large_for_noise(scored):
    classifier, images, labels, _ = scored
    real = evaluate_run(DigitPicker(images, labels), {"model": "cgan"}, classifier, images, labels, 400)

    class Noise:
        def sample(self, n, generator=None, **_):
            return torch.rand(n, 1, 28, 28, generator=generator) * 2 - 1

    noise = evaluate_run(Noise(), {"model": "gan"}, classifier, images, labels, 400)
    assert real["fd_classifier"] < 0.2 * noise["fd_classifier"]


def test_infogan_accuracy_undoes_a_permuted_code(scored):
    classifier, images, labels, read = scored
    permutation = np.random.default_rng(0).permutation(10)
    result = evaluate_run(DigitPicker(images, labels, permutation), {"model": "infogan"}, classifier, images,
                          labels, 400)
    assert result["cat_accuracy"] == pytest.approx(np.mean(read == labels), abs=0.06)
    matched = sum(result["code_to_digit"][str(code)] == int(permutation[code]) for code in range(10))
    assert matched >= 9


def test_cyclegan_exact_inverse_has_zero_error_and_keeps_every_readable_digit(scored):
    classifier, images, labels, read = scored
    result = evaluate_run(ExactInverter(), {"model": "cyclegan"}, classifier, images, labels, 100)
    # uint8 -> [-1, 1] -> negation is exact, so the only error is float round-off
    assert result["mae_to_inverse"] < 1e-6
    assert result["digit_kept"] == pytest.approx(np.mean(read[:100] == labels[:100]))

    class Identity:
        def sample(self, x, direction="AB"):
            return x

    assert evaluate_run(Identity(), {"model": "cyclegan"}, classifier, images, labels, 100)["mae_to_inverse"] > 0.3


def test_digits_to_tensor_round_trips_through_io():
    digits = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    x = digits_to_tensor(digits)
    assert x.shape == (5, 1, 28, 28) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    np.testing.assert_array_equal(tensor_to_uint8(x), digits)


def _linear_shapes(net):
    return [(m.in_features, m.out_features) for m in net.modules() if isinstance(m, torch.nn.Linear)]


def test_the_textbook_sizes():
    gan = build_variant(*variant_config("gan"))
    assert _linear_shapes(gan.nets["G"]) == [(100, 256), (256, 784)]
    assert _linear_shapes(gan.nets["D"]) == [(784, 256), (256, 1)]

    info = build_variant(*variant_config("infogan"))
    assert info.config.z_dim == 62 and info.config.n_cont == 2 and info.config.n_cat == 10
    assert _linear_shapes(info.nets["G"]) == [(74, 1024), (1024, 7 * 7 * 128)]
    convs = [(m.in_channels, m.out_channels) for m in info.nets["G"].modules()
             if isinstance(m, torch.nn.ConvTranspose2d)]
    assert convs == [(128, 64), (64, 1)]
    assert info.nets["G"](torch.zeros(2, 74)).shape == (2, 1, 28, 28)

    for model in MODELS:
        name, options = variant_config(model)
        assert build_variant(name, options).name == name
