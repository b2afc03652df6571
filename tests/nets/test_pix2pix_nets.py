"""pix2pix networks: U-Net shapes and skips, PatchGAN patch sizes and receptive fields, dropout at test time."""

from __future__ import annotations

import pytest
import torch

from gankit.errors import ConfigError
from gankit.nets.pix2pix import PatchGAN, UNet, receptive_field, unet_depth


@pytest.mark.parametrize("res,depth", [(28, 2), (32, 5), (64, 6), (256, 8)])
def test_unet_shapes(res, depth):
    G = UNet(1, 3, res, width=4)
    assert G.depth == depth == unet_depth(res)
    out = G(torch.randn(2, 1, res, res))
    assert out.shape == (2, 3, res, res) and out.abs().max() <= 1


def test_unet_rejects_odd_sizes():
    with pytest.raises(ConfigError, match="even image size"):
        UNet(1, 1, 27)


def test_unet_skip_connects_input_detail_to_output():
    """The first encoder level reaches the last decoder level directly: a one-pixel change of the input moves
    the output at that pixel even when the bottleneck is zeroed."""
    G = UNet(1, 1, 32, width=4, dropout=0.0).eval()
    G.up[0].register_forward_hook(lambda m, i, o: torch.zeros_like(o))  # kill the innermost path
    x = torch.zeros(1, 1, 32, 32)
    y = x.clone()
    y[0, 0, 16, 16] = 1.0
    assert (G(x) - G(y)).abs()[0, 0, 14:19, 14:19].max() > 0


def test_dropout_stays_on_at_test_time_when_asked():
    x = torch.randn(2, 1, 32, 32)
    noisy, plain = UNet(1, 1, 32, width=4).eval(), UNet(1, 1, 32, width=4, dropout_at_test=False).eval()
    assert not torch.equal(noisy(x), noisy(x)) and torch.equal(plain(x), plain(x))


def test_patchgan_receptive_fields_and_outputs():
    assert [receptive_field(n) for n in range(5)] == [7, 16, 34, 70, 142]
    x = torch.randn(2, 4, 64, 64)
    assert PatchGAN(4, 8, 3)(x).shape == (2, 1, 6, 6)
    assert PatchGAN(4, 8, mode="pixel")(x).shape == (2, 1, 64, 64)
    assert PatchGAN(4, 8, 3, mode="image")(x).shape == (2, 1, 1, 1)


def test_patch_logit_sees_only_its_receptive_field():
    """Changing pixels outside a patch's receptive field leaves its logit unchanged (n_layers=1: 16 px)."""
    D = PatchGAN(1, 4, 1, norm="none").eval()
    x = torch.randn(1, 1, 64, 64)
    y = x.clone()
    y[..., 40:, 40:] = 0  # far from the top-left patches
    a, b = D(x), D(y)
    assert torch.equal(a[..., 0, 0], b[..., 0, 0]) and not torch.equal(a, b)
