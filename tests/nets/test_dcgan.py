"""DCGAN generator / discriminator: resolutions, shapes, norms, init, one training step, penalties."""
import pytest
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gankit.errors import ConfigError
from gankit.losses import gradient_penalty, r1_penalty
from gankit.nets.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_plan, init_weights

RESOLUTIONS = [28, 32, 64]


@pytest.mark.parametrize(
    "res, plan", [(28, (7, 2)), (32, (4, 3)), (64, (4, 4)), (8, (4, 1)), (48, (6, 3)), (128, (4, 5))]
)
def test_plan(res, plan):
    assert dcgan_plan(res) == plan


@pytest.mark.parametrize("res", [4, 7, 9, 30, 36, 100])
def test_unsupported_resolution(res):
    with pytest.raises(ConfigError, match=f"resolution {res} is not supported"):
        dcgan_plan(res)
    with pytest.raises(ConfigError):
        DCGANGenerator(8, res, 1, 8)
    with pytest.raises(ConfigError):
        DCGANDiscriminator(res, 1, 8)


@pytest.mark.parametrize("res", RESOLUTIONS)
@pytest.mark.parametrize("channels", [1, 3])
def test_generator_shape(res, channels):
    G = DCGANGenerator(z_dim=10, resolution=res, channels=channels, width=8)
    assert G.z_dim == 10
    out = G(torch.randn(4, 10))
    assert out.shape == (4, channels, res, res)
    assert out.abs().max() <= 1.0
    n_up = dcgan_plan(res)[1]
    convts = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(convts) == n_up + 1  # projection + n stride-2 stages
    assert all(m.stride == (2, 2) for m in convts[1:])


@pytest.mark.parametrize("res", RESOLUTIONS)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_discriminator_shape(res, channels, norm):
    D = DCGANDiscriminator(resolution=res, channels=channels, width=8, norm=norm)
    out = D(torch.randn(4, channels, res, res))
    assert out.shape == (4,)
    assert torch.isfinite(out).all()
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == dcgan_plan(res)[1] + 1
    norm_type = {"batch": nn.BatchNorm2d, "layer": nn.GroupNorm, "none": type(None)}[norm]
    assert sum(isinstance(m, norm_type) for m in D.modules()) == (0 if norm == "none" else len(convs) - 2)
    assert isinstance(D.net[1], nn.LeakyReLU)  # no norm on the first layer


def test_bad_discriminator_norm():
    with pytest.raises(ConfigError, match="valid: batch, layer, none"):
        DCGANDiscriminator(32, 1, 8, norm="instance")


@pytest.mark.parametrize("res, norm", [(28, "batch"), (32, "layer"), (64, "none"), (32, "batch")])
def test_one_training_step(one_step, res, norm):
    G = DCGANGenerator(z_dim=8, resolution=res, channels=3, width=8)
    D = DCGANDiscriminator(resolution=res, channels=3, width=8, norm=norm)
    one_step(G, D, (3, res, res))


@pytest.mark.parametrize("norm", ["layer", "none"])
def test_no_cross_sample_dependence(cross_sample_change, norm):
    D = DCGANDiscriminator(32, 3, 8, norm=norm)
    assert cross_sample_change(D, (3, 32, 32)) < 1e-5


def test_batch_norm_has_cross_sample_dependence(cross_sample_change):
    D = DCGANDiscriminator(32, 3, 8, norm="batch")
    assert cross_sample_change(D, (3, 32, 32)) > 1e-4


def test_init_weights():
    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=32, resolution=32, channels=3, width=16)
    D = DCGANDiscriminator(32, 3, 16, norm="layer")
    for model in (G, D):
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m.weight.numel() >= 2000:
                assert abs(m.weight.std().item() - 0.02) < 0.003
                assert abs(m.weight.mean().item()) < 0.003
            if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                assert abs(m.weight.mean().item() - 1.0) < 0.02 and m.weight.std().item() > 0.005
            if getattr(m, "bias", None) is not None:
                assert torch.count_nonzero(m.bias) == 0
    # re-init of a perturbed plain module, also through Module.apply
    lin = nn.Linear(400, 50)
    init_weights(lin)
    assert abs(lin.weight.std().item() - 0.02) < 0.002 and torch.count_nonzero(lin.bias) == 0
    bn = nn.BatchNorm2d(500)
    nn.Sequential(bn).apply(init_weights)
    assert abs(bn.weight.mean().item() - 1.0) < 0.005 and 0.015 < bn.weight.std().item() < 0.025


@pytest.mark.parametrize("norm", ["layer", "none"])
def test_gradient_penalties_through_discriminator(norm):
    torch.manual_seed(0)
    D = DCGANDiscriminator(28, 1, 8, norm=norm)
    real, fake = torch.randn(4, 1, 28, 28), torch.randn(4, 1, 28, 28)
    loss = gradient_penalty(D, real, fake) + r1_penalty(D, real)
    assert torch.isfinite(loss)
    loss.backward()
    # (the first conv's bias gets zero gradient with norm "none": D is piecewise linear in x there)
    grad = D.net[0].weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().max() > 0


def test_spectral_norm_can_wrap_every_layer():
    G = DCGANGenerator(8, 32, 1, 8)
    D = DCGANDiscriminator(32, 1, 8, norm="none")
    for model in (G, D):
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                spectral_norm(m)
    out = D(G(torch.randn(4, 8)))
    assert out.shape == (4,) and torch.isfinite(out).all()
