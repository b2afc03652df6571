"""Tests of gankit.losses against hand computations (plain `math`), finite differences and limits."""
import math

import pytest
import torch
from torch import nn

from gankit import losses as L
from gankit.errors import ConfigError

REAL = [0.0, 1.0, -2.0]
FAKE = [0.5, -1.0]


def sp(x: float) -> float:
    """softplus by hand."""
    return math.log1p(math.exp(x))


def mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs)


def t(xs) -> torch.Tensor:
    return torch.tensor(xs, dtype=torch.float64)


# ----------------------------------------------------------------------------- values
HAND = {
    "d_minimax": mean(sp(-r) for r in REAL) + mean(sp(f) for f in FAKE),
    "g_minimax": -mean(sp(f) for f in FAKE),
    "g_nonsat": mean(sp(-f) for f in FAKE),
    "d_lsgan": 0.5 * mean((r - 1) ** 2 for r in REAL) + 0.5 * mean(f**2 for f in FAKE),
    "g_lsgan": 0.5 * mean((f - 1) ** 2 for f in FAKE),
    "d_wgan": mean(FAKE) - mean(REAL),
    "g_wgan": -mean(FAKE),
    "d_hinge": mean(max(0.0, 1 - r) for r in REAL) + mean(max(0.0, 1 + f) for f in FAKE),
    "g_hinge": -mean(FAKE),
}


def test_hand_values_are_the_expected_numbers():
    # a few spelled-out numbers so a wrong `sp`/`mean` above cannot hide a wrong loss
    assert HAND["d_minimax"] == pytest.approx(1.688115, abs=1e-5)
    assert HAND["d_lsgan"] == pytest.approx(0.5 * (1 + 0 + 9) / 3 + 0.5 * (0.25 + 1) / 2, abs=1e-12)
    assert HAND["d_hinge"] == pytest.approx((1 + 0 + 3) / 3 + (1.5 + 0) / 2, abs=1e-12)


@pytest.mark.parametrize("name", sorted(HAND))
@pytest.mark.parametrize("column", [False, True], ids=["N", "Nx1"])
def test_loss_values(name, column):
    fn = getattr(L, name)
    real, fake = t(REAL), t(FAKE)
    if column:
        real, fake = real[:, None], fake[:, None]
    out = fn(real, fake) if name.startswith("d_") else fn(fake)
    assert out.dim() == 0
    assert out.item() == pytest.approx(HAND[name], abs=1e-9)


def test_lsgan_custom_targets():
    real, fake = t(REAL), t(FAKE)
    want_d = 0.5 * mean((r - 0.5) ** 2 for r in REAL) + 0.5 * mean((f + 1) ** 2 for f in FAKE)
    assert L.d_lsgan(real, fake, a=-1.0, b=0.5).item() == pytest.approx(want_d, abs=1e-9)
    assert L.g_lsgan(fake, c=0.0).item() == pytest.approx(0.5 * mean(f**2 for f in FAKE), abs=1e-9)


def test_bad_logit_shape_is_rejected():
    with pytest.raises(ValueError):
        L.g_nonsat(torch.zeros(3, 2))


# ----------------------------------------------------------------------------- directions
# logits inside (-1, 1) and fake > 0 so that hinge and lsgan are strictly monotone there
DIR_REAL = [0.2, -0.3, 0.5]
DIR_FAKE = [0.1, 0.4, 0.6]


@pytest.mark.parametrize("name", sorted(L.LOSSES))
def test_direction(name):
    loss = L.get_loss(name)
    real, fake, step = t(DIR_REAL), t(DIR_FAKE), 0.05
    base_d = loss.d(real, fake)
    assert loss.d(real + step, fake) < base_d  # D scores real higher -> lower D loss
    assert loss.d(real, fake - step) < base_d  # D scores fake lower -> lower D loss
    assert loss.g(fake + step) < loss.g(fake)  # G fools D more -> lower G loss
    real.requires_grad_(True)
    fake.requires_grad_(True)
    g_real, g_fake = torch.autograd.grad(loss.d(real, fake), (real, fake))
    assert (g_real < 0).all() and (g_fake > 0).all()
    (g_gen,) = torch.autograd.grad(loss.g(fake), fake)
    assert (g_gen < 0).all()


# ----------------------------------------------------------------------------- stability
def _value_and_grad(fn, *args):
    args = [a.clone().requires_grad_(True) for a in args]
    out = fn(*args)
    grads = torch.autograd.grad(out, args)
    assert torch.isfinite(out)
    assert all(torch.isfinite(g).all() for g in grads)
    return out.item(), grads


def test_minimax_stable_at_extreme_logits():
    big = torch.full((4,), 100.0)  # float32 on purpose: the naive log(sigmoid) form gives inf here
    v, (gr, gf) = _value_and_grad(L.d_minimax, big, -big)  # perfect D
    assert v == pytest.approx(0.0, abs=1e-6)
    assert gr.abs().max() < 1e-6 and gf.abs().max() < 1e-6
    v, (gr, gf) = _value_and_grad(L.d_minimax, -big, big)  # worst D: 100 + 100
    assert v == pytest.approx(200.0, abs=1e-3)
    assert gr.tolist() == pytest.approx([-0.25] * 4, abs=1e-6)
    assert gf.tolist() == pytest.approx([0.25] * 4, abs=1e-6)


def test_generator_losses_stable_at_extreme_logits():
    big = torch.full((4,), 100.0)
    v, (g,) = _value_and_grad(L.g_nonsat, -big)  # D rejects fakes: non-saturating G still gets gradient
    assert v == pytest.approx(100.0, abs=1e-3)
    assert g.tolist() == pytest.approx([-0.25] * 4, abs=1e-6)
    v, (g,) = _value_and_grad(L.g_nonsat, big)
    assert v == pytest.approx(0.0, abs=1e-6)
    v, (g,) = _value_and_grad(L.g_minimax, -big)  # saturating G: loss ~ 0, vanishing gradient
    assert v == pytest.approx(0.0, abs=1e-6) and g.abs().max() < 1e-6
    v, _ = _value_and_grad(L.g_minimax, big)
    assert v == pytest.approx(-100.0, abs=1e-3)


@pytest.mark.parametrize("name", sorted(L.LOSSES))
def test_every_loss_finite_at_extremes(name):
    loss = L.get_loss(name)
    big = torch.full((4,), 100.0)
    for r, f in [(big, -big), (-big, big)]:
        _value_and_grad(loss.d, r, f)
        _value_and_grad(loss.g, f)


# ----------------------------------------------------------------------------- penalties
def linear_d(dim: int, weight: list[float]) -> nn.Module:
    """D(x) = w . flatten(x) + b: its input gradient is w everywhere."""
    lin = nn.Linear(dim, 1).double()
    with torch.no_grad():
        lin.weight.copy_(t(weight)[None])
        lin.bias.fill_(0.3)
    return nn.Sequential(nn.Flatten(), lin, nn.Flatten(0))


def tanh_d() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 1), nn.Flatten(0)).double()


def fd_grad(D: nn.Module, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """Per-sample input gradients by central differences (D has no cross-sample dependence)."""
    grads = torch.zeros_like(x)
    with torch.no_grad():
        for j in range(x.shape[1]):
            e = torch.zeros_like(x)
            e[:, j] = h
            grads[:, j] = (D(x + e) - D(x - e)) / (2 * h)
    return grads


def unit_penalty_by_fd(D: nn.Module, x: torch.Tensor) -> float:
    return ((fd_grad(D, x).norm(dim=1) - 1) ** 2).mean().item()


W = [0.8, -0.8, 0.8, -0.8]  # ||W|| = 1.6


@pytest.mark.parametrize("shape", [(5, 4), (5, 1, 2, 2)])
def test_gradient_penalty_linear_d_exact(shape):
    D = linear_d(4, W)
    real, fake = torch.randn(shape, dtype=torch.float64), torch.randn(shape, dtype=torch.float64)
    gp = L.gradient_penalty(D, real, fake)
    assert gp.item() == pytest.approx((1.6 - 1) ** 2, abs=1e-12)
    # create_graph=True: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    gp.backward()
    want = [2 * (1.6 - 1) * w / 1.6 for w in W]
    assert D[1].weight.grad[0].tolist() == pytest.approx(want, abs=1e-12)


def test_gradient_penalty_nonlinear_d_at_coincident_points():
    D = tanh_d()
    x = torch.randn(6, 3, dtype=torch.float64) * 2
    gp = L.gradient_penalty(D, x, x.clone())  # x_hat = x whatever eps is
    assert gp.item() == pytest.approx(unit_penalty_by_fd(D, x), abs=1e-7)


def test_gradient_penalty_nonlinear_d_interpolates_per_sample():
    D = tanh_d()
    real = torch.randn(6, 3, dtype=torch.float64) * 2
    fake = torch.randn(6, 3, dtype=torch.float64) * 2
    gp = L.gradient_penalty(D, real, fake, generator=torch.Generator().manual_seed(7))
    eps = torch.rand(6, generator=torch.Generator().manual_seed(7), dtype=torch.float64)[:, None]
    x_hat = eps * real + (1 - eps) * fake
    assert gp.item() == pytest.approx(unit_penalty_by_fd(D, x_hat), abs=1e-7)
    # the penalty really depends on where it is taken
    assert abs(gp.item() - unit_penalty_by_fd(D, real)) > 1e-4
    # same generator seed, same value
    again = L.gradient_penalty(D, real, fake, generator=torch.Generator().manual_seed(7))
    assert again.item() == pytest.approx(gp.item(), abs=1e-14)


def test_gradient_penalty_shape_mismatch():
    D = linear_d(4, W)
    with pytest.raises(ValueError):
        L.gradient_penalty(D, torch.zeros(2, 4), torch.zeros(3, 4))


def test_dragan_penalty_linear_d_exact():
    D = linear_d(4, W)
    gp = L.dragan_penalty(D, torch.randn(5, 4, dtype=torch.float64))
    assert gp.item() == pytest.approx((1.6 - 1) ** 2, abs=1e-12)
    gp.backward()
    assert D[1].weight.grad[0].tolist() == pytest.approx([2 * 0.6 * w / 1.6 for w in W], abs=1e-12)


def test_dragan_penalty_nonlinear_d():
    D = tanh_d()
    x = torch.randn(6, 3, dtype=torch.float64)
    assert L.dragan_penalty(D, x, c=0.0).item() == pytest.approx(unit_penalty_by_fd(D, x), abs=1e-7)
    gp = L.dragan_penalty(D, x, generator=torch.Generator().manual_seed(3), c=0.5)
    noise = torch.rand(6, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    x_hat = x + 0.5 * x.std() * noise
    assert gp.item() == pytest.approx(unit_penalty_by_fd(D, x_hat), abs=1e-7)
    assert abs(gp.item() - unit_penalty_by_fd(D, x)) > 1e-4


def test_r1_penalty_linear_and_quadratic():
    D = linear_d(4, W)
    x = torch.randn(5, 4, dtype=torch.float64)
    assert L.r1_penalty(D, x).item() == pytest.approx(1.6**2, abs=1e-12)

    class Quad(nn.Module):  # D(x) = 0.5 ||x||^2 -> grad = x -> R1 = mean ||x||^2
        def forward(self, x):
            return 0.5 * x.pow(2).flatten(1).sum(1)

    assert L.r1_penalty(Quad(), x).item() == pytest.approx(x.pow(2).sum(1).mean().item(), abs=1e-12)


def test_r1_penalty_nonlinear_d_and_graph():
    D = tanh_d()
    x = torch.randn(6, 3, dtype=torch.float64)
    r1 = L.r1_penalty(D, x)
    assert r1.item() == pytest.approx(fd_grad(D, x).pow(2).sum(1).mean().item(), abs=1e-7)
    r1.backward()
    # every parameter but the output bias (which does not change the input gradient) gets a gradient
    for p in (D[0].weight, D[0].bias, D[2].weight):
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().max() > 0
    assert D[2].bias.grad is None
    assert x.grad is None  # the caller's tensor is not turned into a leaf that collects gradients


# ----------------------------------------------------------------------------- clipping
def test_clip_weights():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 1))
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(50)
    before = [p.detach().clone() for p in m.parameters()]
    assert max(p.abs().max().item() for p in before) > 0.1
    assert L.clip_weights(m, 0.1) is None
    for p, b in zip(m.parameters(), before):
        assert p.abs().max().item() <= 0.1 + 1e-7
        assert torch.equal(p, b.clamp(-0.1, 0.1))
        assert p.requires_grad and p.is_leaf
    with pytest.raises(ConfigError):
        L.clip_weights(m, 0.0)


# ----------------------------------------------------------------------------- registry
EXPECTED = {  # name -> (d, g, penalty, clip)
    "minimax": (L.d_minimax, L.g_minimax, None, False),
    "nonsat": (L.d_minimax, L.g_nonsat, None, False),
    "wgan": (L.d_wgan, L.g_wgan, None, True),
    "wgan-gp": (L.d_wgan, L.g_wgan, "gp", False),
    "hinge": (L.d_hinge, L.g_hinge, None, False),
    "dragan": (L.d_minimax, L.g_nonsat, "dragan", False),
}


def test_registry_names():
    assert set(L.LOSSES) == set(EXPECTED) | {"lsgan"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_get_loss_members(name):
    loss = L.get_loss(name)
    d, g, penalty, clip = EXPECTED[name]
    assert (loss.name, loss.d, loss.g, loss.penalty, loss.clip) == (name, d, g, penalty, clip)


def test_get_loss_lsgan_params():
    loss = L.get_loss("lsgan", a=-1, b=0.5, c=0)
    assert loss.name == "lsgan" and loss.penalty is None and not loss.clip
    real, fake = t(REAL), t(FAKE)
    assert loss.d(real, fake).item() == pytest.approx(L.d_lsgan(real, fake, -1.0, 0.5).item(), abs=1e-12)
    assert loss.g(fake).item() == pytest.approx(0.5 * mean(f**2 for f in FAKE), abs=1e-12)
    default = L.get_loss("lsgan")
    assert default.d(real, fake).item() == pytest.approx(HAND["d_lsgan"], abs=1e-12)


def test_get_loss_errors():
    with pytest.raises(ConfigError, match="valid losses: minimax, nonsat, lsgan, wgan, wgan-gp, hinge, dragan"):
        L.get_loss("wgangp")
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) d; valid: a, b, c"):
        L.get_loss("lsgan", d=1.0)
    with pytest.raises(ConfigError, match="valid: none"):
        L.get_loss("hinge", margin=2.0)
    with pytest.raises(ConfigError, match="must be a number"):
        L.get_loss("lsgan", a="zero")
