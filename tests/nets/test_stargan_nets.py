"""StarGAN networks: G(x, c) keeps the image size and sees its label planes; D's two heads; D's depth by size."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.nets.stargan import StarDiscriminator, StarGenerator, auto_d_layers, label_planes


@pytest.mark.parametrize("res,ch", [(28, 1), (32, 3)])
def test_generator_keeps_size(res, ch):
    G = StarGenerator(ch, 5, width=4, n_blocks=1)
    out = G(torch.randn(2, ch, res, res), torch.tensor([0, 4]))
    assert out.shape == (2, ch, res, res) and out.abs().max() <= 1
    assert G.net.net[1].in_channels == ch + 5  # the first conv sees the image and K label planes
    assert any(isinstance(m, nn.InstanceNorm2d) for m in G.modules())


def test_label_planes_reach_the_generator():
    torch.manual_seed(0)
    G, x = StarGenerator(1, 10, width=4, n_blocks=1), torch.randn(2, 1, 28, 28)
    planes = label_planes(x, torch.tensor([3, 7]), 10)
    assert planes.shape == (2, 11, 28, 28) and torch.equal(planes[:, 0:1], x)
    assert (planes[0, 4] == 1).all() and planes[0, 1:].sum() == 28 * 28 and (planes[1, 8] == 1).all()
    a, b = G(x, torch.tensor([3, 7])), G(x, torch.tensor([4, 7]))
    assert not torch.allclose(a[0], b[0]) and torch.allclose(a[1], b[1])  # only the changed label's image moves


@pytest.mark.parametrize("res,layers,patch", [(28, 2, 7), (32, 4, 2), (128, 6, 2)])
def test_discriminator_heads(res, layers, patch):
    assert auto_d_layers(res) == layers
    D = StarDiscriminator(1, 10, res, width=4, n_layers=layers)
    src, cls = D(torch.randn(3, 1, res, res))
    assert src.shape == (3, 1, patch, patch) and cls.shape == (3, 10)
    assert D.cls.kernel_size == (patch, patch)  # the class head covers the whole feature map
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d, nn.LayerNorm)) for m in D.modules())


def test_refusals():
    with pytest.raises(ConfigError, match="at least 2 domains"):
        StarGenerator(1, 1)
    with pytest.raises(ConfigError, match="divisible by 8"):
        StarDiscriminator(1, 10, 28, n_layers=3)
