"""Completion networks: C keeps the image size and sees the mask; the global + local D; dilation rates."""

from __future__ import annotations

import pytest
import torch

from gankit.nets.completion import CompletionNet, ContextDiscriminator, dilations


@pytest.mark.parametrize("channels,size", [(1, 32), (3, 64), (3, 16)])
def test_completion_net_shapes(channels, size):
    C = CompletionNet(channels, 4, size)
    out = C(torch.randn(2, channels, size, size), torch.zeros(2, 1, size, size))
    assert out.shape == (2, channels, size, size) and out.abs().max() <= 1


def test_dilations_follow_the_paper_and_fit_the_feature_map():
    assert dilations(256) == [2, 4, 8, 16] and dilations(32) == [2, 4] and dilations(16) == [2] and dilations(8) == [1]


def test_c_uses_the_mask_channel():
    torch.manual_seed(0)
    C = CompletionNet(1, 4, 16)  # train mode: batch statistics keep the signal alive at initialisation
    x = torch.randn(1, 1, 16, 16).expand(2, -1, -1, -1)
    masks = torch.zeros(2, 1, 16, 16)
    masks[1, :, :8] = 1
    with torch.no_grad():
        out = C(x, masks)
    assert (out[0] - out[1]).abs().max() > 1e-3


@pytest.mark.parametrize("local", [0, 16])
def test_context_discriminator_global_and_local(local):
    D = ContextDiscriminator(3, 32, local, 4)
    patch = torch.randn(2, 3, local, local) if local else None
    assert D(torch.randn(2, 3, 32, 32), patch).shape == (2, 1)
    assert (D.local_d is None) == (local == 0) and D.head.in_features == 64 * (2 if local else 1)


def test_one_step_moves_every_parameter():
    torch.manual_seed(0)
    C, D = CompletionNet(1, 4, 16), ContextDiscriminator(1, 16, 8, 4)
    params = list(C.parameters()) + list(D.parameters())
    before = [p.detach().clone() for p in params]
    opt = torch.optim.Adam(params, lr=1e-2)
    x, m = torch.randn(4, 1, 16, 16), torch.zeros(4, 1, 16, 16)
    m[:, :, 4:10, 4:10] = 1
    out = C(x * (1 - m), m)
    loss = ((out - x) ** 2 * m).mean() + D(out, out[:, :, 4:12, 4:12]).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert all(not torch.equal(p, q) for p, q in zip(params, before))
