"""build_models: picks the family from the (duck-typed) config and rejects bad configs."""
from dataclasses import dataclass, replace

import pytest
import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.nets import build_models
from gankit.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from gankit.nets.mlp import MLPDiscriminator, MLPGenerator


@dataclass
class Cfg:  # same fields as the lead's config
    arch: str = "dcgan"
    z_dim: int = 100
    g_width: int = 64
    d_width: int = 64
    depth: int = 2
    d_norm: str = "batch"


SMALL = Cfg(z_dim=6, g_width=8, d_width=8)


@pytest.mark.parametrize(
    "shape, d_norm", [((1, 28, 28), "batch"), ((3, 32, 32), "layer"), ((1, 64, 64), "none"), ((3, 64, 64), "batch")]
)
def test_dcgan(shape, d_norm):
    G, D = build_models(replace(SMALL, d_norm=d_norm), shape)
    assert isinstance(G, DCGANGenerator) and isinstance(D, DCGANDiscriminator)
    assert G.z_dim == 6
    x = G(torch.randn(4, 6))
    assert x.shape == (4, *shape)
    assert D(x).shape == (4,)
    has_bn = any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    assert has_bn == (d_norm == "batch")


def test_widths_are_used():
    G, D = build_models(replace(SMALL, g_width=4, d_width=12), (1, 32, 32))
    assert [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)][-1].in_channels == 4
    assert [m for m in D.modules() if isinstance(m, nn.Conv2d)][0].out_channels == 12


@pytest.mark.parametrize("shape, tanh", [((2,), False), ((1, 8, 8), True), ((3, 8, 6), True)])
def test_mlp(shape, tanh):
    cfg = replace(SMALL, arch="mlp", depth=3, d_norm="layer")
    G, D = build_models(cfg, shape)
    assert isinstance(G, MLPGenerator) and isinstance(D, MLPDiscriminator)
    assert any(isinstance(m, nn.Tanh) for m in G.modules()) == tanh
    assert sum(isinstance(m, nn.Linear) for m in G.modules()) == 4
    assert sum(isinstance(m, nn.LayerNorm) for m in D.modules()) == 3
    x = G(torch.randn(4, 6))
    assert x.shape == (4, *shape)
    assert D(x).shape == (4,)


def test_errors():
    with pytest.raises(ConfigError, match="unknown arch 'resnet'; valid: dcgan, mlp"):
        build_models(replace(SMALL, arch="resnet"), (1, 32, 32))
    with pytest.raises(ConfigError, match="unknown d_norm 'spectral'; valid: batch, layer, none"):
        build_models(replace(SMALL, d_norm="spectral"), (1, 32, 32))
    with pytest.raises(ConfigError, match="H == W"):
        build_models(SMALL, (2,))
    with pytest.raises(ConfigError, match="H == W"):
        build_models(SMALL, (1, 28, 32))
    with pytest.raises(ConfigError, match="resolution 30 is not supported"):
        build_models(SMALL, (1, 30, 30))
    with pytest.raises(ConfigError, match="z_dim"):
        build_models(replace(SMALL, z_dim=0), (1, 32, 32))
    with pytest.raises(ConfigError, match="d_width"):
        build_models(replace(SMALL, d_width=2.5), (1, 32, 32))
    with pytest.raises(ConfigError, match="depth"):
        build_models(replace(SMALL, arch="mlp", depth=-1), (2,))
    with pytest.raises(ConfigError, match="data shape"):
        build_models(replace(SMALL, arch="mlp"), (0,))
