"""Losses: values against hand computation, and gradients reaching every parameter."""

import math

import pytest
import torch

from matgan.core import losses
from matgan.core.nets import MLPDiscriminator, MLPGenerator

R = torch.tensor([2.0, -1.0])
F_ = torch.tensor([0.5, -3.0])


def sp(x):  # softplus by hand
    return math.log1p(math.exp(x))


@pytest.mark.parametrize("kind,expected_d,expected_g", [
    ("bce", (sp(-2) + sp(1)) / 2 + (sp(0.5) + sp(-3)) / 2, (sp(-0.5) + sp(3)) / 2),
    ("lsgan", 0.5 * (((2 - 1) ** 2 + (-1 - 1) ** 2) / 2 + (0.25 + 9) / 2), ((0.5 - 1) ** 2 + (-3 - 1) ** 2) / 2),
    ("hinge", (0 + 2) / 2 + (1.5 + 0) / 2, (-0.5 + 3) / 2),
    ("wgan", (0.5 - 3) / 2 - (2 - 1) / 2, (-0.5 + 3) / 2),
])
def test_adversarial_losses_match_hand_computation(kind, expected_d, expected_g):
    assert losses.discriminator_loss(kind, R, F_).item() == pytest.approx(expected_d, rel=1e-6)
    assert losses.generator_loss(kind, F_).item() == pytest.approx(expected_g, rel=1e-6)


def test_bce_equals_torch_binary_cross_entropy_on_a_patch_map():
    real, fake = torch.randn(2, 1, 5, 5), torch.randn(2, 1, 5, 5)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    expected = bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))
    assert losses.discriminator_loss("bce", real, fake).item() == pytest.approx(expected.item(), rel=1e-6)


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="unknown adversarial loss"):
        losses.generator_loss("l3", F_)


def test_cycle_and_identity_are_mean_absolute_error():
    a, b = torch.tensor([[1.0, -1.0]]), torch.tensor([[0.5, 1.0]])
    assert losses.cycle_loss(a, b).item() == pytest.approx((0.5 + 2.0) / 2)
    assert losses.identity_loss(a, b).item() == pytest.approx((0.5 + 2.0) / 2)


def test_categorical_code_loss_is_cross_entropy():
    logits = torch.tensor([[2.0, 0.0, 0.0]])
    expected = -math.log(math.exp(2) / (math.exp(2) + 2))
    assert losses.categorical_code_loss(logits, torch.tensor([0])).item() == pytest.approx(expected, rel=1e-6)


def test_gaussian_nll_by_hand():
    mean, log_std, target = torch.tensor([[0.0, 1.0]]), torch.tensor([[0.0, math.log(2.0)]]), torch.tensor([[1.0, 1.0]])
    expected = (0.5 + 0.5 * math.log(2 * math.pi)) + (math.log(2.0) + 0.5 * math.log(2 * math.pi))
    assert losses.gaussian_nll(mean, log_std, target).item() == pytest.approx(expected, rel=1e-6)


def test_gradient_penalty_of_a_linear_critic_with_unit_gradient_is_zero():
    critic = torch.nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.6, 0.8, 0.0, 0.0]]))
    gp = losses.gradient_penalty(lambda x: critic(x).squeeze(1), torch.randn(8, 4), torch.randn(8, 4))
    assert gp.item() == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():
        critic.weight.mul_(3.0)  # gradient norm 3 -> penalty (3 - 1)^2 = 4
    gp = losses.gradient_penalty(lambda x: critic(x).squeeze(1), torch.randn(8, 4), torch.randn(8, 4))
    assert gp.item() == pytest.approx(4.0, rel=1e-5)


@pytest.mark.parametrize("kind", losses.ADVERSARIAL)
def test_gradients_reach_every_parameter(kind):
    torch.manual_seed(0)
    G, D = MLPGenerator(4, (6,), (8,)), MLPDiscriminator((6,), (8,))
    real = torch.randn(5, 6)
    fake = G(torch.randn(5, 4))
    loss_d = losses.discriminator_loss(kind, D(real), D(fake.detach()))
    if kind == "wgan":
        loss_d = loss_d + losses.gradient_penalty(D, real, fake)
    loss_d.backward()
    # Every parameter gets a gradient; every weight a non-zero one (under wgan/hinge the output bias
    # cancels between the real and the fake term, which is mathematics, not a broken graph).
    assert all(p.grad is not None for p in D.parameters())
    assert all(p.grad.abs().sum() > 0 for name, p in D.named_parameters() if name.endswith("weight"))
    D.zero_grad()
    losses.generator_loss(kind, D(fake)).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())
