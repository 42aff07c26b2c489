"""Networks: one definition serves 1-D and 2-D data; shapes, ranges, logits."""

import pytest
import torch

from matgan.core import nets


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 64), (3, 32, 32), (2, 128)])
def test_dcgan_generator_and_discriminator_shapes(shape):
    G = nets.DCGANGenerator(10, shape, channels=(32, 16))
    D = nets.DCGANDiscriminator(shape, channels=(16, 32), fc_hidden=24)
    x = G(torch.randn(4, 10))
    assert x.shape == (4, *shape) and x.abs().max() <= 1
    logits, features = D(x, return_features=True)
    assert logits.shape == (4,) and features.shape == (4, 24)


def test_infogan_mnist_generator_follows_the_paper_layout():
    G = nets.DCGANGenerator(74, (1, 28, 28), channels=(128, 64), fc_hidden=1024)
    assert G.base == (128, 7, 7)
    widths = [m.out_features for m in G.fc if isinstance(m, torch.nn.Linear)]
    assert widths == [1024, 128 * 7 * 7]


def test_vanilla_mlp_sizes_and_conditioning():
    G, D = nets.MLPGenerator(100, (1, 28, 28), (256,), cond_dim=10), nets.MLPDiscriminator((1, 28, 28), (256,), 10)
    assert [m.out_features for m in G.body if isinstance(m, torch.nn.Linear)] == [256, 784]
    cond = torch.eye(10)[:3]
    assert G(torch.randn(3, 100), cond).shape == (3, 1, 28, 28)
    assert D(torch.randn(3, 1, 28, 28), cond).shape == (3,)


def test_discriminators_end_in_logits_not_sigmoid():
    for D in (nets.MLPDiscriminator((8,)), nets.DCGANDiscriminator((1, 16, 16), (8, 16)), nets.PatchDiscriminator(1, 8)):
        assert not any(isinstance(m, torch.nn.Sigmoid) for m in D.modules())


@pytest.mark.parametrize("dims,size", [(1, (64,)), (2, (48, 40))])
def test_resnet_generator_and_patch_discriminator_are_fully_convolutional(dims, size):
    G = nets.ResnetGenerator(1, 2, ngf=8, n_blocks=2, dims=dims)
    D = nets.PatchDiscriminator(2, ndf=8, n_layers=2, dims=dims)
    y = G(torch.randn(2, 1, *size))
    assert y.shape == (2, 2, *size)
    assert D(y).shape[:2] == (2, 1)


def test_resnet_generator_uses_reflection_padding_and_instance_norm():
    G = nets.ResnetGenerator(1, 1, ngf=8, n_blocks=1)
    kinds = {type(m) for m in G.modules()}
    assert torch.nn.ReflectionPad2d in kinds and torch.nn.InstanceNorm2d in kinds


def test_encoder_outputs_vectors():
    assert nets.Encoder((1, 28, 28), 8).forward(torch.randn(2, 1, 28, 28)).shape == (2, 8)
    assert nets.Encoder((1, 28, 28), 1, arch="conv", channels=(8, 16)).forward(torch.randn(2, 1, 28, 28)).shape == (2, 1)


def test_indivisible_size_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="divisible"):
        nets.DCGANGenerator(4, (1, 30), channels=(8, 8, 8))
