"""Shared checks for the network tests: one training step, and cross-sample dependence of D."""
import pytest
import torch
from torch import nn

from gankit.losses import d_minimax, g_nonsat


def _one_step(G: nn.Module, D: nn.Module, data_shape: tuple[int, ...], batch: int = 4) -> tuple[float, float]:
    """One D step and one G step with d_minimax / g_nonsat; asserts all parameters move."""
    torch.manual_seed(0)
    G.train(), D.train()
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-2)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-2)
    g0 = [p.detach().clone() for p in G.parameters()]
    d0 = [p.detach().clone() for p in D.parameters()]
    real = torch.rand(batch, *data_shape) * 2 - 1
    z = torch.randn(batch, G.z_dim)

    loss_d = d_minimax(D(real), D(G(z).detach()))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    assert all(torch.equal(p, q) for p, q in zip(G.parameters(), g0))  # D step leaves G alone

    loss_g = g_nonsat(D(G(z)))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()

    assert torch.isfinite(loss_d) and torch.isfinite(loss_g)
    for before, p in zip(d0 + g0, list(D.parameters()) + list(G.parameters())):
        assert not torch.equal(before, p.detach())
    return loss_d.item(), loss_g.item()


def _cross_sample_change(D: nn.Module, data_shape: tuple[int, ...], batch: int = 4) -> float:
    """Max change of logits 0..N-2 (train mode) when only the last sample is replaced."""
    torch.manual_seed(1)
    D.train()
    x = torch.randn(batch, *data_shape)
    y = x.clone()
    y[-1] = torch.randn(*data_shape) * 3 + 1
    with torch.no_grad():
        out_x, out_y = D(x), D(y)
    assert out_x.shape == (batch,)
    assert not torch.allclose(out_x[-1], out_y[-1])  # the replaced sample's own logit moves
    return (out_x[:-1] - out_y[:-1]).abs().max().item()


@pytest.fixture
def one_step():
    return _one_step


@pytest.fixture
def cross_sample_change():
    return _cross_sample_change
