"""Gated PixelCNN: shapes, masks, and the receptive field of every pixel (by gradients): exactly the pixels before
it in raster order, with no blind spot."""

from __future__ import annotations

import torch

from gankit.nets.pixelcnn import GatedPixelCNN, horizontal_mask, vertical_mask


def test_masks():
    assert vertical_mask(3, False).tolist() == [[1, 1, 1], [0, 0, 0], [0, 0, 0]]  # mask A: rows above only
    assert vertical_mask(3, True).tolist() == [[1, 1, 1], [1, 1, 1], [0, 0, 0]]
    assert horizontal_mask(5, False).tolist() == [[1, 1, 0, 0, 0]]
    assert horizontal_mask(5, True).tolist() == [[1, 1, 1, 0, 0]]


def test_shapes_and_condition():
    net = GatedPixelCNN(256, width=8, blocks=2, num_classes=10)
    out = net(torch.zeros(3, 1, 12, 10), torch.tensor([0, 3, 9]))
    assert out.shape == (3, 256, 12, 10)
    assert not torch.allclose(out[0], out[1])  # the class changes the output
    assert GatedPixelCNN(2, width=4, blocks=0)(torch.zeros(2, 1, 5, 5)).shape == (2, 2, 5, 5)


def receptive_field(net: GatedPixelCNN, h: int, w: int, i: int, j: int) -> torch.Tensor:
    x = torch.randn(1, 1, h, w, dtype=torch.float64, requires_grad=True)
    net(x)[0, :, i, j].sum().backward()
    return x.grad[0, 0] != 0


def test_receptive_field_is_exactly_the_raster_past():
    torch.manual_seed(0)
    h = w = 6
    net = GatedPixelCNN(2, width=6, blocks=4, kernel=3, first_kernel=7).double()
    for i in range(h):
        for j in range(w):
            past = torch.zeros(h, w, dtype=torch.bool)
            past[:i] = True
            past[i, :j] = True
            assert torch.equal(receptive_field(net, h, w, i, j), past), (i, j)


def test_rows_below_do_not_change_the_rows_above():
    """What the sampler relies on: the output on rows 0..i is the same when the input stops at row i."""
    torch.manual_seed(0)
    net = GatedPixelCNN(2, width=4, blocks=2)
    x = torch.randn(2, 1, 7, 7)
    full = net(x)
    for i in range(7):
        assert torch.allclose(net(x[:, :, :i + 1])[:, :, i], full[:, :, i], atol=1e-6)


def test_one_step_moves_every_parameter():
    torch.manual_seed(0)
    net = GatedPixelCNN(256, width=4, blocks=1, num_classes=3)
    before = [p.detach().clone() for p in net.parameters()]
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    from gankit.nets import likelihood as lik

    x = torch.rand(4, 1, 6, 6) * 2 - 1
    loss = -lik.log_prob("categorical", net(x, torch.tensor([0, 1, 2, 0])), x).mean()
    opt.zero_grad(), loss.backward(), opt.step()
    assert all(not torch.equal(p, q) for p, q in zip(net.parameters(), before))
