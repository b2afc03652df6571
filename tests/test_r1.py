import math

import pytest
import torch
from torch import nn

from gankit.losses import dragan_penalty, gradient_penalty, r1_penalty


class LinearD(nn.Module):
    """D(x) = flatten(x) @ w + b, logits of shape (N,)."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w, dtype=torch.float32))
        self.b = nn.Parameter(torch.tensor(0.7))

    def forward(self, x):
        return x.reshape(x.shape[0], -1) @ self.w + self.b


class QuadD(nn.Module):
    """D(x) = a * ||x||^2 per sample, so grad_x D = 2 a x."""

    def __init__(self, a=1.0):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(float(a)))

    def forward(self, x):
        return self.a * x.reshape(x.shape[0], -1).pow(2).sum(dim=1)


# ----------------------------------------------------------------------------- R1
def test_r1_linear_d_is_squared_weight_norm():
    D = LinearD([1.0, 2.0, -2.0])
    real = torch.randn(6, 3)
    r1 = r1_penalty(D, real)
    assert r1.dim() == 0
    assert r1.item() == pytest.approx(9.0, rel=1e-6)


def test_r1_linear_d_with_n_by_1_logits():
    D = nn.Linear(2, 1)
    with torch.no_grad():
        D.weight.copy_(torch.tensor([[3.0, -4.0]]))
        D.bias.fill_(-2.0)
    assert r1_penalty(D, torch.randn(5, 2)).item() == pytest.approx(25.0, rel=1e-6)


def test_r1_image_shaped_input_flattens_per_sample():
    w = torch.arange(1.0, 13.0).reshape(3, 2, 2) / 10  # ||w||^2 = sum(k^2, 1..12)/100 = 6.5
    D = LinearD(w.reshape(-1))
    real = torch.randn(4, 3, 2, 2)
    assert r1_penalty(D, real).item() == pytest.approx(6.5, rel=1e-6)


def test_r1_quadratic_d_is_batch_mean_of_squared_gradient_norm():
    real = torch.tensor([[1.0, 0.0], [1.0, 2.0]])  # ||2x||^2 = 4 and 20 -> mean 12 (sum would be 24)
    assert r1_penalty(QuadD(), real).item() == pytest.approx(12.0, rel=1e-6)
    # and with a scale a: grad = 2 a x -> 4 a^2 mean ||x||^2 = 0.25 * 12
    assert r1_penalty(QuadD(0.5), real).item() == pytest.approx(3.0, rel=1e-6)


def test_r1_matches_per_sample_gradients_of_a_nonlinear_d():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    real = torch.randn(5, 3)
    expected = []
    for i in range(5):
        xi = real[i : i + 1].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(D(xi).sum(), xi)
        expected.append(g.pow(2).sum())
    torch.testing.assert_close(r1_penalty(D, real), torch.stack(expected).mean())


def test_r1_leaves_the_real_batch_alone():
    real = torch.randn(4, 3)
    before = real.clone()
    r1_penalty(LinearD([1.0, 1.0, 1.0]), real)
    assert not real.requires_grad
    assert real.grad is None
    assert torch.equal(real, before)


def test_r1_gradient_wrt_linear_weights_is_2w():
    D = LinearD([1.0, 2.0, -2.0])
    r1 = r1_penalty(D, torch.randn(6, 3))
    assert r1.requires_grad  # graph kept (create_graph) so the penalty can train D
    gw, gb = torch.autograd.grad(r1, [D.w, D.b], allow_unused=True)
    torch.testing.assert_close(gw, torch.tensor([2.0, 4.0, -4.0]))
    assert gb is None or torch.all(gb == 0)  # the bias does not affect grad_x D


def test_r1_backward_gives_analytic_gradient_wrt_scale():
    # R1 = 4 a^2 mean ||x||^2  ->  dR1/da = 8 a mean ||x||^2
    real = torch.tensor([[1.0, 0.0], [1.0, 2.0]])  # mean ||x||^2 = 3
    D = QuadD(1.5)
    r1_penalty(D, real).backward()
    assert D.a.grad.item() == pytest.approx(8 * 1.5 * 3.0, rel=1e-6)


# ----------------------------------------------------------------------------- WGAN-GP / DRAGAN on a linear D
@pytest.mark.parametrize("w, expected", [([3.0, 4.0], 16.0), ([0.6, 0.8], 0.0), ([0.3, 0.4], 0.25)])
def test_gradient_penalty_linear_d(w, expected):
    torch.manual_seed(0)
    D = LinearD(w)
    gp = gradient_penalty(D, torch.randn(8, 2), torch.randn(8, 2) + 3)
    assert gp.item() == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("w, expected", [([3.0, 4.0], 16.0), ([0.6, 0.8], 0.0), ([0.3, 0.4], 0.25)])
def test_dragan_penalty_linear_d(w, expected):
    torch.manual_seed(0)
    D = LinearD(w)
    pen = dragan_penalty(D, torch.randn(8, 2), generator=torch.Generator().manual_seed(3))
    assert pen.item() == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("which", ["gp", "dragan"])
def test_penalty_gradient_wrt_linear_weights(which):
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||; w = (3, 4) -> 2 * 4 * (0.6, 0.8) = (4.8, 6.4)
    D = LinearD([3.0, 4.0])
    real = torch.randn(6, 2)
    pen = gradient_penalty(D, real, torch.randn(6, 2)) if which == "gp" else dragan_penalty(D, real)
    (gw,) = torch.autograd.grad(pen, D.w)
    torch.testing.assert_close(gw, torch.tensor([4.8, 6.4]))


def test_gradient_penalty_evaluates_between_real_and_fake():
    # quadratic D: grad at x_hat = 2 x_hat; real at norm 1 and fake at norm 2 along one direction,
    # so ||x_hat|| = t in [1, 2] and each sample's penalty (2t - 1)^2 lies in [1, 9]
    u = torch.tensor([0.6, 0.8])
    real, fake = u.repeat(2000, 1), 2 * u.repeat(2000, 1)
    gp = gradient_penalty(QuadD(), real, fake, generator=torch.Generator().manual_seed(0)).item()
    assert 1.0 < gp < 9.0
    # eps ~ U[0, 1] -> E[(2t - 1)^2] with t = 2 - eps is E[(3 - 2 eps)^2] = 9 - 6 + 4/3 = 13/3
    assert gp == pytest.approx(13 / 3, abs=0.4)
    assert not math.isclose(gp, 1.0, abs_tol=0.3) and not math.isclose(gp, 9.0, abs_tol=0.3)
