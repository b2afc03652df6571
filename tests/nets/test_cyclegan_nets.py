"""CycleGAN networks: ResNet generator shapes and layers, instance-norm PatchGAN, the history pool of fakes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gankit.core import checkpoint as ck
from gankit.errors import ConfigError
from gankit.nets.cyclegan import ImagePool, ResBlock, ResnetGenerator, auto_blocks
from gankit.nets.pix2pix import PatchGAN


@pytest.mark.parametrize("res,in_ch,out_ch", [(28, 1, 1), (32, 1, 3), (64, 3, 3)])
def test_resnet_generator_shapes(res, in_ch, out_ch):
    G = ResnetGenerator(in_ch, out_ch, width=4, n_blocks=2)
    out = G(torch.randn(2, in_ch, res, res))
    assert out.shape == (2, out_ch, res, res) and out.abs().max() <= 1


def test_resnet_generator_layers():
    """c7s1-k, d2k, d4k, n x R4k, u2k, uk, c7s1-out: instance norm, reflection padding, tanh."""
    G = ResnetGenerator(1, 3, width=4, n_blocks=5)
    convs = [m for m in G.net if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert [(m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0]) for m in convs] == [
        (1, 4, 7, 1), (4, 8, 3, 2), (8, 16, 3, 2), (16, 8, 3, 2), (8, 4, 3, 2), (4, 3, 7, 1)]
    assert sum(isinstance(m, ResBlock) for m in G.net) == 5 and isinstance(G.net[-1], nn.Tanh)
    assert any(isinstance(m, nn.InstanceNorm2d) for m in G.modules())
    assert any(isinstance(m, nn.ReflectionPad2d) for m in G.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in G.modules())
    assert [auto_blocks(r) for r in (28, 64, 128, 256, 512)] == [3, 3, 6, 9, 9]


def test_resblock_is_residual():
    block = ResBlock(4)
    nn.init.zeros_(block.body[-2].weight), nn.init.zeros_(block.body[-2].bias)  # the last conv: the body gives 0
    x = torch.randn(2, 4, 8, 8)
    assert torch.equal(block(x), x)


def test_instance_norm_patchgan():
    D = PatchGAN(3, 4, 2, norm="instance")
    assert any(isinstance(m, nn.InstanceNorm2d) for m in D.modules())
    assert D(torch.randn(2, 3, 32, 32)).shape == (2, 1, 6, 6)
    with pytest.raises(ConfigError, match="unknown D norm 'group'"):
        PatchGAN(3, norm="group")


def test_pool_returns_new_images_until_full_then_half_old():
    torch.manual_seed(0)
    pool = ImagePool(4, (1, 2, 2))
    first = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 2, 2)  # image i is filled with the value i
    assert torch.equal(pool.query(first), first) and int(pool.count) == 4 and torch.equal(pool.images, first)
    new = torch.arange(4.0, 404.0).view(400, 1, 1, 1).expand(400, 1, 2, 2)
    out = pool.query(new)
    ids = out[:, 0, 0, 0].long()
    swapped = ids != torch.arange(4, 404)
    assert 0.4 < swapped.float().mean() < 0.6  # about half come from the pool, the others are the new images
    assert (ids[swapped] < torch.arange(4, 404)[swapped]).all()  # an image from the pool is an earlier one
    assert int(pool.count) == 4 and (pool.images >= 4).all()  # the first images have been replaced by now
    assert torch.equal(ImagePool(0, (1, 2, 2)).query(new), new)


def test_pool_survives_a_checkpoint(tmp_path):
    pool = ImagePool(5, (1, 3, 3))
    pool.query(torch.randn(3, 1, 3, 3))
    ck.save_checkpoint(tmp_path, 1, ck.module_tensors("model.pool_A", pool), {"config": {}, "stream": {"epoch": 0, "pos": 0}})
    tensors, _ = ck.load_checkpoint(tmp_path)
    back = ImagePool(5, (1, 3, 3))
    ck.load_module("model.pool_A", back, tensors)
    assert int(back.count) == 3 and torch.equal(back.images, pool.images)
