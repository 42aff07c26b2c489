"""Every variant takes a train_step on tiny nets; the vanilla GAN learns a toy mixture."""

import pytest
import torch

from matgan.core.data import gaussian_mixture
from matgan.core.variants import VARIANTS, build_variant
from matgan.errors import MatganError

IMG = (1, 16, 16)
TINY = {
    "gan": ({"data_shape": IMG, "z_dim": 8, "g_hidden": (16,), "d_hidden": (16,)}, False),
    "dcgan": ({"data_shape": IMG, "z_dim": 8, "g_channels": (16, 8), "d_channels": (8, 16)}, False),
    "cgan": ({"data_shape": IMG, "z_dim": 8, "g_hidden": (16,), "d_hidden": (16,), "num_classes": 3}, True),
    "infogan": ({"data_shape": IMG, "z_dim": 8, "n_cat": 3, "n_cont": 2, "g_channels": (16, 8), "d_channels": (8, 16),
                 "g_fc": 32, "d_fc": 32, "q_hidden": 8}, False),
    "aae": ({"data_shape": IMG, "z_dim": 2, "prior": "mixture", "num_classes": 3, "enc_hidden": (16,),
             "dec_hidden": (16,), "disc_hidden": (16,)}, True),
    "classifier": ({"data_shape": IMG, "channels": (8, 16), "fc_hidden": 16, "num_classes": 3}, True),
    "cyclegan": ({"ngf": 4, "ndf": 4, "n_blocks": 1, "d_layers": 2, "pool_size": 2}, False),
}


def _batch(name, labelled):
    torch.manual_seed(0)
    x = torch.rand(4, *IMG) * 2 - 1
    if name == "cyclegan":
        return (torch.rand(2, 1, 32, 32) * 2 - 1, torch.rand(2, 1, 32, 32) * 2 - 1, torch.rand(2, 1, 32, 32) * 2 - 1)
    return (x, torch.tensor([0, 1, 2, 0])) if labelled else (x,)


def test_all_six_variants_are_registered():
    assert {"gan", "dcgan", "cgan", "infogan", "aae", "cyclegan"} <= set(VARIANTS)


@pytest.mark.parametrize("name", sorted(TINY))
def test_one_train_step_updates_every_optimised_network(name):
    config, labelled = TINY[name]
    torch.manual_seed(0)
    variant = build_variant(name, config)
    variant.build_optimizers(10)
    before = {k: v.clone() for k, v in variant.state_dict().items() if torch.is_tensor(v) and v.dtype.is_floating_point}
    logs = variant.train_step(_batch(name, labelled))
    assert logs and all(isinstance(v, float) and v == v for v in logs.values())
    for net_name in variant.nets:
        changed = any(not torch.equal(before[k], v) for k, v in variant.state_dict().items()
                      if k.startswith(f"nets.{net_name}.") and k in before)
        assert changed, f"{name}: {net_name} was not updated"
    images, nrow = variant.preview(_batch(name, labelled), torch.Generator().manual_seed(0))
    assert images.ndim == 4 and nrow > 0 and images.abs().max() <= 1.0 + 1e-6


def test_config_round_trip_and_unknown_option():
    variant = build_variant("infogan", {"n_cat": 0, "g_channels": [32, 16]})
    again = build_variant("infogan", variant.config.to_dict())
    assert again.config == variant.config and again.config.g_channels == (32, 16)
    with pytest.raises(MatganError, match="unknown option"):
        build_variant("gan", {"zdim": 3})
    with pytest.raises(MatganError, match="unknown GAN variant"):
        build_variant("biggan")


def test_conditional_samples_follow_requested_labels_shape():
    variant = build_variant("cgan", TINY["cgan"][0])
    assert variant.sample(5, labels=torch.tensor([2, 2, 1, 0, 1])).shape == (5, *IMG)


def test_infogan_codes_can_be_fixed():
    variant = build_variant("infogan", TINY["infogan"][0])
    a = variant.sample(3, generator=torch.Generator().manual_seed(1), cat=1, cont=torch.zeros(3, 2))
    b = variant.sample(3, generator=torch.Generator().manual_seed(1), cat=1, cont=torch.zeros(3, 2))
    assert torch.equal(a, b)


def test_vanilla_gan_moves_samples_toward_the_modes():
    from matgan.cli.toy import mode_statistics, toy_variant_config

    torch.manual_seed(0)
    points, centres = gaussian_mixture(2048, modes=4, radius=2.0, seed=0)
    variant = build_variant("gan", toy_variant_config("gan", 4))
    variant.build_optimizers(600)
    before = mode_statistics(variant.sample(1000, generator=torch.Generator().manual_seed(0)), centres)
    g = torch.Generator().manual_seed(0)
    for _ in range(600):
        variant.train_step((points[torch.randint(len(points), (128,), generator=g)],))
    after = mode_statistics(variant.sample(1000, generator=torch.Generator().manual_seed(0)), centres)
    assert after["mean_distance_to_mode"] < 0.5 * before["mean_distance_to_mode"]
    assert after["share_near_mode"] > before["share_near_mode"] + 0.2


def test_classifier_learns_to_separate_two_1d_classes():
    torch.manual_seed(0)
    x = torch.randn(64, 1, 32) * 0.1
    y = torch.arange(64) % 2
    x[y == 1, 0, 8:16] += 1.0  # class 1 has a bump
    clf = build_variant("classifier", {"data_shape": (1, 32), "num_classes": 2, "channels": (8, 16), "fc_hidden": 16,
                                       "max_shift_px": 0.0, "lr": 1e-2})
    clf.build_optimizers(60)
    for _ in range(60):
        clf.train_step((x, y))
    logits, features = clf.logits_and_features(x)
    assert (logits.argmax(1) == y).float().mean() > 0.95 and features.shape == (64, 16)


def test_paired_l1_pulls_the_translation_to_known_targets_only():
    from matgan.core import losses
    from matgan.core.trainer import seed_everything

    out, target = torch.zeros(2, 1, 4, 4), torch.ones(2, 1, 4, 4)
    assert float(losses.paired_l1(out, target, torch.tensor([1.0, 0.0]))) == 0.5  # the unknown one adds nothing
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(2, 1, 32, 32, generator=g) * 2 - 1, torch.rand(2, 1, 32, 32, generator=g) * 2 - 1
    paired = {"target_b": -a, "weight": torch.tensor([1.0, 0.0])}  # a known answer for the first image only

    def distance_after(weight):  # same seed and data; only the paired weight differs
        seed_everything(0)
        model = build_variant("cyclegan", {"ngf": 4, "ndf": 4, "n_blocks": 1, "d_layers": 2, "pool_size": 2,
                                           "lambda_paired": weight})
        model.build_optimizers(40)
        logged = [model.train_step((a, b, paired))["loss_paired"] for _ in range(40)]
        return float((model.sample(a[:1]) - paired["target_b"][:1]).abs().mean()), logged

    pulled, logged = distance_after(50.0)
    free, ignored = distance_after(0.0)
    assert pulled < 0.85 * free and logged[-1] < logged[0]
    assert set(ignored) == {0.0}  # weight 0: the dict is ignored


def test_cycle_noise_changes_the_cycle_loss_and_stays_seeded():
    from matgan.core.trainer import seed_everything

    def cycle_loss(noise):
        seed_everything(3)
        model = build_variant("cyclegan", {"ngf": 4, "ndf": 4, "n_blocks": 1, "d_layers": 2, "pool_size": 2,
                                           "cycle_noise": noise})
        model.build_optimizers(10)
        seed_everything(4)
        a, b = torch.rand(2, 1, 32, 32) * 2 - 1, torch.rand(2, 1, 32, 32) * 2 - 1
        return model.train_step((a, b))["loss_cycle"]

    plain, noisy = cycle_loss(0.0), cycle_loss(0.5)
    assert torch.isfinite(torch.tensor(noisy)) and noisy != plain
    assert cycle_loss(0.5) == noisy  # same seed, same noise
