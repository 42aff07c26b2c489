"""How well a spectra InfoGAN obeys its peak control and how close its spectra are to real ones.

Control: Spearman |rho| between the calibrated code and the measured peak frequency of spectra
drawn with random codes; the share of `--peak low|mid|high` spectra whose peak lies in the asked
third; the error in Hz of `--peak <F>Hz` over a grid of frequencies.

Fidelity: a small 1-D CNN classifier is trained on half of a real spectra set; its last hidden
layer is the feature space. The Frechet distance between generated spectra and one quarter of the
real set stands beside the same distance between the two held-out real quarters (same sizes: the
distance is biased by sample size); the classifier's accuracy on generated spectra (against the
class asked for) stands beside its accuracy on held-out real spectra.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np
from scipy import stats

from matgan.core import metrics
from matgan.vibration import spectra
from matgan.vibration.generate import PEAK_WORDS, Calibration, generate


def code_peak_spearman(variant, meta: dict, code_index: int = 0, n: int = 512, seed: int = 0) -> float:
    """Spearman rho between continuous code `code_index` (random, uniform in [-1, 1]) and the measured
    peak of the generated spectra (random classes and noise); 0 when undefined (constant output)."""
    import torch

    from matgan.vibration.gan import model_freqs, model_spectra

    generator = torch.Generator().manual_seed(seed)
    with torch.inference_mode():
        cont = variant.uniform(n, variant.config.n_cont, generator=generator)
        samples = variant.sample(n, generator=generator, cont=cont)
    peaks = spectra.dominant_peak(model_spectra(samples, meta), model_freqs(meta))
    rho = stats.spearmanr(cont[:, code_index].cpu().numpy(), peaks)[0]
    return float(rho) if np.isfinite(rho) else 0.0


def control_metrics(variant, meta: dict, n: int = 2000, n_targets: int = 20, seed: int = 0) -> dict[str, Any]:
    """Peak-control scores of a calibrated model.

    Returns
    -------
    dict: spearman_rho (code vs measured peak, random codes and classes), in_band_share
    {low, mid, high} in [0, 1], hz_error {median, p90} in Hz (|measured - asked| over `n_targets`
    frequencies spread over the central 90 % of the learned range), range_hz.
    """
    calibration = Calibration.from_dict(meta["calibration"])
    rho = code_peak_spearman(variant, meta, calibration.code_index, n, seed)
    in_band = {}
    for i, word in enumerate(PEAK_WORDS):
        lo, hi = calibration.band(word)
        out = generate(variant, meta, n, word, seed=seed + 1 + i)
        in_band[word] = float(np.mean((out["peak_hz"] >= lo) & (out["peak_hz"] <= hi)))
    lo, hi = calibration.range_hz
    margin = 0.05 * (hi - lo)
    errors = []
    per_target = max(1, n // n_targets)
    for j, target in enumerate(np.linspace(lo + margin, hi - margin, n_targets)):
        out = generate(variant, meta, per_target, float(target), seed=seed + 10 + j)
        errors.append(np.abs(out["peak_hz"] - target))
    errors = np.concatenate(errors)
    return {"spearman_rho": rho, "abs_spearman_rho": abs(rho), "in_band_share": in_band,
            "hz_error": {"median": float(np.median(errors)), "p90": float(np.percentile(errors, 90))},
            "range_hz": [lo, hi], "samples": n}


def train_spectrum_classifier(x, labels, n_classes: int, steps: int = 600, seed: int = 0, out_dir=None):
    """Train the evaluation classifier on spectra x (N, 1, L) in [-1, 1] with classes (N,).

    The network is the core's strided-conv discriminator with one output per class, trained as the
    core `classifier` variant by the core Trainer (no augmentation for spectra).
    """
    import torch

    from matgan.core.data import TensorPairs
    from matgan.core.trainer import TrainConfig, Trainer, seed_everything
    from matgan.core.variants.classifier import Classifier, ClassifierConfig

    seed_everything(seed)
    config = ClassifierConfig(data_shape=tuple(x.shape[1:]), num_classes=n_classes, channels=(16, 32, 64, 64),
                              fc_hidden=64, max_shift_px=0.0)
    classifier = Classifier(config)
    dataset = TensorPairs(x, torch.as_tensor(labels).long())
    train_config = TrainConfig(steps=steps, batch_size=min(64, len(dataset)), seed=seed, device="cpu",
                               log_every=100, sample_every=0, checkpoint_every=0, progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        Trainer(classifier, dataset, train_config, out_dir or tmp, overwrite=True,
                meta={"domain": "vibration", "role": "evaluation classifier"}).fit()
    return classifier.cpu().eval()


def _classify(classifier, x) -> tuple[np.ndarray, np.ndarray]:
    logits, features = classifier.logits_and_features(x)
    return logits.argmax(1).numpy(), features.float().numpy()


def fidelity_metrics(variant, meta: dict, real_path: str | os.PathLike, classifier_steps: int = 600,
                     seed: int = 0) -> dict[str, Any]:
    """Frechet distance and class accuracy of generated spectra against a real spectra file.

    Returns
    -------
    dict: frechet_generated_vs_real, frechet_real_vs_real (the floor: two real quarters),
    frechet_ratio (generated / real floor), mmd_generated_vs_real and mmd_real_vs_real (on the
    same features), class_accuracy_generated, class_accuracy_real (held-out real), sizes.
    """
    import torch

    from matgan.errors import MatganError
    from matgan.vibration.gan import spectra_dataset

    dataset, arrays, attrs = spectra_dataset(real_path, meta["spectrum"]["db_range"])
    x, labels = dataset.tensors[0], dataset.tensors[1].numpy()
    if x.shape[-1] != meta["spectrum"]["n_bins"]:
        raise MatganError(f"{real_path}: {x.shape[-1]} bins, the model makes {meta['spectrum']['n_bins']}")
    if len(x) < 8:
        raise MatganError(f"{real_path}: {len(x)} spectra are too few to score fidelity (need 8 or more)")
    order = np.random.default_rng(seed).permutation(len(x))
    half, quarter = len(x) // 2, len(x) // 4
    train_idx, a_idx, b_idx = order[:half], order[half:half + quarter], order[half + quarter:half + 2 * quarter]
    classifier = train_spectrum_classifier(x[train_idx], labels[train_idx], len(meta["class_names"]),
                                           classifier_steps, seed)
    pred_a, feat_a = _classify(classifier, x[a_idx])
    pred_b, feat_b = _classify(classifier, x[b_idx])
    generator = torch.Generator().manual_seed(seed)
    asked = labels[b_idx]
    with torch.inference_mode():
        fake = variant.sample(len(b_idx), generator=generator, cat=torch.from_numpy(asked))
    pred_g, feat_g = _classify(classifier, fake.float())
    fd_real = metrics.frechet_distance(feat_b, feat_a)
    fd_fake = metrics.frechet_distance(feat_g, feat_a)
    return {
        "frechet_generated_vs_real": fd_fake, "frechet_real_vs_real": fd_real,
        "frechet_ratio": fd_fake / fd_real if fd_real > 0 else float("inf"),
        "mmd_generated_vs_real": metrics.mmd(feat_g, feat_a), "mmd_real_vs_real": metrics.mmd(feat_b, feat_a),
        "class_accuracy_generated": float(np.mean(pred_g == asked)),
        "class_accuracy_real": float(np.mean(np.concatenate([pred_a == labels[a_idx], pred_b == labels[b_idx]]))),
        "sizes": {"classifier_train": int(half), "real_quarter": int(quarter), "generated": int(len(b_idx))},
        "real": str(real_path),
    }


def evaluate_model(variant, meta: dict, real_path: str | os.PathLike | None = None, n: int = 2000,
                   classifier_steps: int = 600, seed: int = 0) -> dict[str, Any]:
    """Control metrics, and fidelity metrics when a real spectra file is given."""
    result: dict[str, Any] = {"calibration": Calibration.from_dict(meta["calibration"]).summary(),
                              "control": control_metrics(variant, meta, n=n, seed=seed)}
    if real_path is not None:
        result["fidelity"] = fidelity_metrics(variant, meta, real_path, classifier_steps, seed=seed)
    return result
