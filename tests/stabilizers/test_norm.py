import torch
from torch import nn

from gankit.stabilizers.norm import apply_spectral_norm, largest_singular_value


def test_spectral_norm_makes_largest_singular_value_one():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Conv2d(1, 1, 1), nn.Linear(32, 3))
    net[0].weight.data *= 10.0
    net[3].weight.data *= 0.01
    assert largest_singular_value(net[0].weight) > 3.0
    apply_spectral_norm(net, n_power_iterations=5)
    for _ in range(20):  # power iteration runs in each training-mode forward
        net[0](torch.randn(4, 6)), net[3](torch.randn(4, 32))
    for layer in (net[0], net[3]):
        assert abs(largest_singular_value(layer.weight) - 1.0) < 1e-3


def test_spectral_norm_conv_transpose_uses_output_dim():
    torch.manual_seed(1)
    conv = nn.ConvTranspose2d(8, 4, 4, 2, 1)
    apply_spectral_norm(conv, n_power_iterations=10)
    for _ in range(10):
        conv(torch.randn(2, 8, 3, 3))
    assert abs(largest_singular_value(conv.weight, dim=1) - 1.0) < 1e-3


def test_apply_twice_is_a_no_op():
    net = nn.Linear(3, 3)
    apply_spectral_norm(apply_spectral_norm(net))
    assert len(net.parametrizations.weight) == 1
