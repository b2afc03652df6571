"""Discrete latent code (stab.latent_components): component choice, discontinuity, config and checkpoints."""

import pytest
import torch

from gankit.errors import ConfigError
from gankit.nets import MLPGenerator
from gankit.sample import load_generator
from gankit.stabilizers.mixture import MixtureLatent
from gankit.stabilizers.mixture import component
from gankit.run import build_trainer

from gankit.families.gan import generate, sampler_module

from ._helpers import tiny


def test_components_are_uniform_and_in_range():
    k = 7
    c = component(torch.randn(70000, generator=torch.Generator().manual_seed(0)), k)
    assert c.min() == 0 and c.max() == k - 1
    counts = torch.bincount(c, minlength=k).double()
    assert (counts / counts.sum() - 1 / k).abs().max() < 0.01
    # monotone in z0: the component boundaries are the k-quantiles of N(0, 1)
    z0 = torch.linspace(-4, 4, 1001)
    assert (component(z0, k).diff() >= 0).all()
    assert component(torch.tensor([-1e9, 0.0, 1e9]), k).tolist() == [0, 3, 6]


def test_forward_feeds_one_hot_and_remaining_coordinates():
    inner = MLPGenerator(4 + 2, (2,), width=8, depth=1)
    G = MixtureLatent(inner, 4, 3)
    z = torch.randn(5, 3)
    expected = inner(torch.cat([torch.nn.functional.one_hot(component(z[:, 0], 4), 4).float(), z[:, 1:]], 1))
    assert torch.equal(G(z), expected)
    assert G.z_dim == 3
    with pytest.raises(ValueError):
        MixtureLatent(inner, 4, 4)


def test_output_jumps_only_between_components():
    G = MixtureLatent(MLPGenerator(5 + 1, (2,), width=16, depth=2), 5, 2)
    z0 = torch.linspace(-3, 3, 2001)
    z = torch.stack([z0, torch.zeros_like(z0)], 1)
    with torch.no_grad():
        x = G(z)
    c = component(z0, 5)
    same = c[1:] == c[:-1]
    step = (x[1:] - x[:-1]).norm(dim=1)
    assert step[same].max() == 0  # z_0 only chooses the component
    assert (step[~same] > 0).all()


def test_config_builds_and_reloads_from_the_run_directory(tmp_path):
    cfg = tiny(tmp_path, **{"stab.latent_components": 6, "model.z_dim": 2})
    t = build_trainer(cfg, tmp_path / "run")
    assert isinstance(t.models["G"], MixtureLatent) and t.models["G"].G.z_dim == 7
    assert t.train() == "finished"
    G2, _, _ = load_generator(tmp_path / "run")
    z = torch.randn(10, 2)
    assert torch.equal(G2(z), _gen(t, z))


@pytest.mark.parametrize("over", [{"stab.latent_components": 1}, {"stab.latent_components": -2}])
def test_bad_values_are_config_errors(tmp_path, over):
    with pytest.raises(ConfigError, match="latent_components"):
        tiny(tmp_path, **over)


def _gen(t, z):
    """Samples of the trained run's sampling generator (G_ema when there is one), eval mode."""
    return generate(sampler_module(t.models), z)
