"""Scores of trained MNIST models, read by the evaluation classifier; one dict of plain numbers per run.

All generators: Frechet distance of classifier features (generated vs the official test set) and the
class histogram. Per variant: cgan label agreement, infogan code -> digit accuracy after Hungarian
matching, aae reconstruction error and latent-vs-prior KS statistics, cyclegan inversion error and
digit preservation.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from matgan.core.metrics import class_histogram, frechet_distance, ks_statistic, matching_accuracy
from matgan.errors import MatganError
from matgan.mnist.classifier import DigitClassifier, classify, digits_to_tensor

NUM_DIGITS = 10


def load_run(run_dir: str | os.PathLike):
    """The trained model of an MNIST run folder (or checkpoint file): (variant in eval mode, payload).

    `payload["meta"]["model"]` names the textbook model (gan, dcgan, ..., cyclegan).
    """
    from matgan.core.checkpoint import load_variant

    path = Path(run_dir)
    if path.is_dir():
        path = path / "last.pt"
    variant, payload = load_variant(path)
    if payload["meta"].get("domain") != "mnist" or "model" not in payload["meta"]:
        raise MatganError(f"{path}: not an MNIST run (made by `matgan mnist train`)")
    return variant, payload


def generate(variant, model: str, n: int, seed: int = 0, batch_size: int = 500, **conditions) -> torch.Tensor:
    """n samples (N, 1, 28, 28) in [-1, 1] from a generator variant, in batches, repeatable by `seed`.

    Condition arrays of length n (`labels`, `cat`, `cont`) are split with the batches.
    """
    if model == "cyclegan":
        raise MatganError("cyclegan translates digits; it does not generate them from noise")
    generator = torch.Generator().manual_seed(seed)
    parts = []
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        chunk = {k: v[start:stop] for k, v in conditions.items() if v is not None}
        parts.append(variant.sample(stop - start, generator=generator, **chunk).float().cpu())
    return torch.cat(parts) if parts else torch.zeros(0, 1, 28, 28)


def generator_scores(classifier: DigitClassifier, samples: torch.Tensor, test_features: np.ndarray) -> dict:
    """Frechet distance to the test set in classifier features, class histogram, modes covered.

    Returns
    -------
    dict with `fd_classifier` (>= 0, lower is better), `class_histogram` (10 shares summing to 1),
    `modes_covered` (digits holding at least 2 % of the samples) and `digits` (the readings, (N,)).
    """
    digits, features = classify(classifier, samples)
    histogram = class_histogram(digits, NUM_DIGITS)
    return {"fd_classifier": frechet_distance(features, test_features),
            "class_histogram": [round(float(h), 4) for h in histogram],
            "modes_covered": int(np.sum(histogram >= 0.02)), "digits": digits}


def evaluate_run(variant, meta: dict, classifier: DigitClassifier, test_images: np.ndarray,
                 test_labels: np.ndarray, num_samples: int = 10000, seed: int = 0) -> dict:
    """The metrics of one trained MNIST model.

    Parameters
    ----------
    variant, meta : from `load_run`.
    classifier : the evaluation classifier.
    test_images, test_labels : the official test set, uint8 (N, 28, 28) and (N,).
    num_samples : how many digits to generate (generators) or translate (cyclegan, at most N).

    Returns
    -------
    A JSON-ready dict: `model`, `step`, the shared generator scores and the variant's own figures;
    errors on a [0, 1] pixel scale.
    """
    model = meta["model"]
    test_x = digits_to_tensor(test_images)
    labels = np.asarray(test_labels, dtype=np.int64)
    result: dict = {"model": model, "num_samples": num_samples}
    if model == "cyclegan":
        result.update(_cyclegan_scores(variant, classifier, test_x[:num_samples], labels[:num_samples]))
        return result
    _, test_features = classify(classifier, test_x)
    asked = np.arange(num_samples) % NUM_DIGITS
    if model == "cgan" or model == "aae" and meta.get("prior") in ("mixture", "style"):
        samples = generate(variant, model, num_samples, seed, labels=torch.from_numpy(asked))
    elif model == "infogan":
        samples = generate(variant, model, num_samples, seed, cat=torch.from_numpy(asked))
    else:
        samples = generate(variant, model, num_samples, seed)
    scores = generator_scores(classifier, samples, test_features)
    digits = scores.pop("digits")
    result.update(scores)
    if model == "cgan" or model == "aae" and meta.get("prior") in ("mixture", "style"):
        result["label_accuracy"] = float(np.mean(digits == asked))
        result["label_accuracy_per_digit"] = [round(float(np.mean(digits[asked == d] == d)), 4)
                                              for d in range(NUM_DIGITS)]
    if model == "infogan":
        accuracy, mapping = matching_accuracy(digits, asked)
        result["cat_accuracy"] = accuracy
        result["code_to_digit"] = {str(k): v for k, v in sorted(mapping.items())}
    if model == "aae":
        result.update(_aae_scores(variant, meta, test_x, labels, seed))
    return result


def _aae_scores(variant, meta: dict, test_x: torch.Tensor, labels: np.ndarray, seed: int) -> dict:
    """Reconstruction error of the test digits and per-dimension KS distance of their codes to the prior."""
    latent, errors_sq, errors_abs = [], [], []
    prior = meta.get("prior", "gaussian")
    for start in range(0, len(test_x), 500):
        x = test_x[start : start + 500]
        z = variant.encode(x)
        content = torch.from_numpy(labels[start : start + 500]) if prior == "style" else None
        recon = variant.decode(z, content).float().cpu()
        difference = (recon - x) / 2  # [0, 1] pixel scale
        errors_sq.append(difference.pow(2).mean(dim=(1, 2, 3)))
        errors_abs.append(difference.abs().mean(dim=(1, 2, 3)))
        latent.append(z.float().cpu())
    z = torch.cat(latent).numpy()
    if prior == "mixture":
        generator = torch.Generator().manual_seed(seed)
        reference = variant.sample_prior(len(z), torch.from_numpy(labels), generator).cpu().numpy()
        ks = ks_statistic(z, reference)
    else:
        ks = ks_statistic(z, "norm")
    return {"prior": prior, "recon_mse": float(torch.cat(errors_sq).mean()),
            "recon_mae": float(torch.cat(errors_abs).mean()),
            "latent_ks": [round(float(v), 4) for v in ks], "latent_ks_max": float(ks.max())}


def _cyclegan_scores(variant, classifier: DigitClassifier, test_x: torch.Tensor, labels: np.ndarray) -> dict:
    """A -> B on test digits against the exact inverse 255 - x, and B -> A on inverted test digits.

    The classifier reads white digits on black, so a B-side (black on white) translation is inverted
    back before it is read. Errors on a [0, 1] pixel scale.
    """
    to_b, to_a = [], []
    for start in range(0, len(test_x), 500):
        x = test_x[start : start + 500]
        to_b.append(variant.sample(x, "AB").float().cpu())
        to_a.append(variant.sample(-x, "BA").float().cpu())
    to_b_all, to_a_all = torch.cat(to_b), torch.cat(to_a)
    mae_ab = float(((to_b_all - (-test_x)).abs() / 2).mean())
    mae_ba = float(((to_a_all - test_x).abs() / 2).mean())
    kept_ab = float(np.mean(classify(classifier, -to_b_all)[0] == labels))
    kept_ba = float(np.mean(classify(classifier, to_a_all)[0] == labels))
    return {"mae_to_inverse": (mae_ab + mae_ba) / 2, "mae_ab": mae_ab, "mae_ba": mae_ba,
            "digit_kept": (kept_ab + kept_ba) / 2, "digit_kept_ab": kept_ab, "digit_kept_ba": kept_ba,
            "test_digits_read": float(np.mean(classify(classifier, test_x)[0] == labels))}
