import math

import pytest
import torch

from gankit.stabilizers.noise import add_instance_noise, instance_noise_std


# ----------------------------------------------------------------------------- instance_noise_std
@pytest.mark.parametrize("anneal_steps", [0, -5])
@pytest.mark.parametrize("step", [0, 1, 37, 10**6])
def test_std_is_constant_without_annealing(step, anneal_steps):
    assert instance_noise_std(0.3, step, anneal_steps) == pytest.approx(0.3, abs=1e-12)


@pytest.mark.parametrize("step, expected", [(0, 0.5), (25, 0.375), (50, 0.25), (80, 0.1), (99, 0.005)])
def test_std_decays_linearly_to_zero(step, expected):
    assert instance_noise_std(0.5, step, 100) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("step", [100, 101, 150, 10**6])
def test_std_is_zero_at_and_after_the_end_of_annealing(step):
    assert instance_noise_std(0.5, step, 100) == 0.0


def test_annealed_std_scales_with_the_initial_std_and_never_increases():
    steps = range(0, 130)
    a = [instance_noise_std(0.2, s, 120) for s in steps]
    b = [instance_noise_std(0.6, s, 120) for s in steps]
    assert all(x >= y for x, y in zip(a, a[1:]))
    assert a[0] > a[60] > a[119] > 0.0 == a[120]
    for x, y in zip(a, b):  # linear in the initial std
        assert y == pytest.approx(3.0 * x, abs=1e-12)


# ----------------------------------------------------------------------------- add_instance_noise
def _base(shape=(4, 50_000)):
    # a non-trivial input, so "returns only the noise" or "scales x" would be caught
    return torch.linspace(-3.0, 3.0, math.prod(shape)).reshape(shape)


def test_zero_std_returns_the_input_unchanged():
    x = torch.randn(8, 3, 5, 5)
    out = add_instance_noise(x, 0.0)
    assert out.shape == x.shape
    assert torch.equal(out, x)


@pytest.mark.parametrize("s", [0.3, 2.0])
def test_added_noise_is_zero_mean_with_std_s(s):
    torch.manual_seed(0)
    x = _base()
    out = add_instance_noise(x, s)
    assert out.shape == x.shape and out.dtype == x.dtype
    noise = out - x
    n = noise.numel()  # 200_000
    assert abs(noise.mean().item()) < 5 * s / math.sqrt(n)  # 5 sigma of the sample mean
    assert noise.std().item() == pytest.approx(s, rel=0.01)  # sample std has rel. sd ~ 1/sqrt(2n) = 0.16%
    # every row (sample) gets its own per-element noise, not one constant per sample
    row_std = noise.std(dim=1)
    torch.testing.assert_close(row_std, torch.full_like(row_std, s), rtol=0.03, atol=0.0)


def test_added_noise_is_gaussian():
    torch.manual_seed(1)
    x = _base()
    noise = (add_instance_noise(x, 0.7) - x) / 0.7
    within_1 = (noise.abs() < 1).float().mean().item()
    within_2 = (noise.abs() < 2).float().mean().item()
    assert within_1 == pytest.approx(0.6827, abs=0.01)  # a uniform with sd 1 would give 0.577
    assert within_2 == pytest.approx(0.9545, abs=0.01)  # ... and 1.0


def test_reproducible_under_manual_seed_and_fresh_each_call():
    x = _base((2, 1000))
    torch.manual_seed(123)
    a = add_instance_noise(x, 0.5)
    b = add_instance_noise(x, 0.5)  # next draw from the same stream
    torch.manual_seed(123)
    a2 = add_instance_noise(x, 0.5)
    torch.manual_seed(124)
    c = add_instance_noise(x, 0.5)
    assert torch.equal(a, a2)
    assert not torch.allclose(a, b)
    assert not torch.allclose(a, c)


def test_uses_the_global_torch_rng():
    x = _base((3, 7, 11))
    torch.manual_seed(7)
    expected = x + 0.4 * torch.randn_like(x)
    after_expected = torch.randn(5)
    torch.manual_seed(7)
    out = add_instance_noise(x, 0.4)
    after_out = torch.randn(5)
    torch.testing.assert_close(out, expected)
    # it consumed the global stream exactly like one randn_like(x)
    assert torch.equal(after_out, after_expected)


def test_gradient_passes_through_unchanged():
    x = _base((4, 10)).clone().requires_grad_(True)
    torch.manual_seed(0)
    (add_instance_noise(x, 1.5) * 3.0).sum().backward()
    torch.testing.assert_close(x.grad, torch.full_like(x, 3.0))
