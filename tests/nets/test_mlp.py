"""MLP generator / discriminator: shapes, activations, norms, one training step."""
import pytest
import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.nets.mlp import MLPDiscriminator, MLPGenerator

SHAPES = [(2,), (1, 8, 8), (3, 8, 8)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("depth", [0, 1, 3])
def test_generator_shape(shape, depth):
    G = MLPGenerator(5, shape, width=16, depth=depth)
    assert G.z_dim == 5
    out = G(torch.randn(4, 5))
    assert out.shape == (4, *shape)
    assert out.abs().max() <= 1.0
    assert sum(isinstance(m, nn.Linear) for m in G.modules()) == depth + 1


def last_linear(module: nn.Module) -> nn.Linear:
    return [m for m in module.modules() if isinstance(m, nn.Linear)][-1]


def test_generator_without_activation_is_unbounded():
    G = MLPGenerator(5, (2,), width=8, out_activation="none")
    with torch.no_grad():
        last_linear(G).bias.fill_(5.0)
    assert (G(torch.randn(4, 5)) > 1.0).all()
    G_tanh = MLPGenerator(5, (2,), width=8)
    with torch.no_grad():
        last_linear(G_tanh).bias.fill_(5.0)
    assert (G_tanh(torch.randn(4, 5)) < 1.0).all()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("norm", ["none", "layer", "batch"])
def test_discriminator_shape(shape, norm):
    D = MLPDiscriminator(shape, width=16, depth=2, norm=norm, dropout=0.2)
    out = D(torch.randn(4, *shape))
    assert out.shape == (4,)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("shape", [(2,), (3, 8, 8)])
@pytest.mark.parametrize("norm", ["none", "layer", "batch"])
def test_one_training_step(one_step, shape, norm):
    G = MLPGenerator(4, shape, width=16, depth=2, out_activation="none" if len(shape) == 1 else "tanh")
    D = MLPDiscriminator(shape, width=16, depth=2, norm=norm)
    one_step(G, D, shape)


@pytest.mark.parametrize("norm", ["none", "layer"])
def test_no_cross_sample_dependence(cross_sample_change, norm):
    assert cross_sample_change(MLPDiscriminator((3, 8, 8), width=16, norm=norm), (3, 8, 8)) < 1e-6


def test_batch_norm_has_cross_sample_dependence(cross_sample_change):
    assert cross_sample_change(MLPDiscriminator((3, 8, 8), width=16, norm="batch"), (3, 8, 8)) > 1e-4


def test_bad_arguments():
    with pytest.raises(ConfigError, match="valid: tanh, none"):
        MLPGenerator(4, (2,), out_activation="sigmoid")
    with pytest.raises(ConfigError, match="valid: none, layer, batch"):
        MLPDiscriminator((2,), norm="spectral")
    with pytest.raises(ConfigError, match="dropout"):
        MLPDiscriminator((2,), dropout=1.0)
    with pytest.raises(ConfigError, match="width"):
        MLPGenerator(4, (2,), width=0)
