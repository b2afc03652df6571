"""Conditional G/D: shapes, one training step, the projection identity, conditional batch norm, AC-GAN head."""
from dataclasses import dataclass, replace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import ConfigError
from gankit.losses import d_minimax, g_nonsat
from gankit.nets import build_models
from gankit.nets.conditional import ConditionalBatchNorm, ConditionalDiscriminator, ConditionalGenerator

K = 3


@dataclass
class Cfg:
    arch: str = "dcgan"
    z_dim: int = 6
    g_width: int = 8
    d_width: int = 8
    depth: int = 2
    d_norm: str = "batch"
    cond: str = "cgan"
    cond_bn: bool = False


CASES = [(arch, cond, bn) for arch in ("mlp", "dcgan") for cond in ("cgan", "projection", "acgan")
         for bn in (False, True)]
SHAPES = {"mlp": (1, 8, 8), "dcgan": (1, 16, 16)}


def pair(arch, cond, cond_bn=False, shape=None, **kw):
    torch.manual_seed(0)
    return build_models(Cfg(arch=arch, cond=cond, cond_bn=cond_bn, **kw), shape or SHAPES[arch], num_classes=K)


@pytest.mark.parametrize("arch, cond, cond_bn", CASES)
def test_shapes(arch, cond, cond_bn):
    G, D = pair(arch, cond, cond_bn)
    assert isinstance(G, ConditionalGenerator) and isinstance(D, ConditionalDiscriminator)
    assert G.z_dim == 6 and G.num_classes == K
    y = torch.tensor([0, 1, 2, 1, 0])
    x = G(torch.randn(5, 6), y)
    assert x.shape == (5, *SHAPES[arch]) and x.abs().max() <= 1
    logits, aux = D.outputs(x, y)
    assert logits.shape == (5,) and D(x, y).shape == (5,)
    assert (aux is None) == (cond != "acgan")
    if aux is not None:
        assert aux.shape == (5, K)
    has_cbn = any(isinstance(m, ConditionalBatchNorm) for m in G.modules())
    plain_bn = any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.affine for m in G.modules())
    assert has_cbn == cond_bn and not (cond_bn and plain_bn)


@pytest.mark.parametrize("arch, cond, cond_bn", CASES)
def test_one_training_step_moves_every_parameter(arch, cond, cond_bn):
    G, D = pair(arch, cond, cond_bn)
    G.train(), D.train()
    opt_d, opt_g = torch.optim.Adam(D.parameters(), lr=1e-2), torch.optim.Adam(G.parameters(), lr=1e-2)
    g0, d0 = [p.detach().clone() for p in G.parameters()], [p.detach().clone() for p in D.parameters()]
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    real, z = torch.rand(6, *SHAPES[arch]) * 2 - 1, torch.randn(6, 6)
    (rl, ra), (fl, fa) = D.outputs(real, y), D.outputs(G(z, y).detach(), y)
    loss_d = d_minimax(rl, fl) + (F.cross_entropy(ra, y) + F.cross_entropy(fa, y) if ra is not None else 0)
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    assert all(torch.equal(p, q) for p, q in zip(G.parameters(), g0))
    logits, aux = D.outputs(G(z, y), y)
    loss_g = g_nonsat(logits) + (F.cross_entropy(aux, y) if aux is not None else 0)
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    assert torch.isfinite(loss_d) and torch.isfinite(loss_g)
    moved = [not torch.equal(a, p.detach()) for a, p in zip(d0 + g0, [*D.parameters(), *G.parameters()])]
    assert all(moved)


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_projection_is_unconditional_logit_plus_embedding_inner_product(arch):
    G, D = pair(arch, "projection", d_norm="none")
    D.eval()
    x, y = torch.randn(4, *SHAPES[arch]), torch.tensor([2, 0, 1, 2])
    with torch.no_grad():
        nn.init.normal_(D.embed.weight, 0.0, 1.0)  # make the class term large enough to matter
        h = D.body(x)
        phi = h.sum(dim=(2, 3)) if h.dim() == 4 else h
        expected = D.head(h).reshape(-1) + (D.embed.weight[y] * phi).sum(dim=1)
        out = D(x, y)
        other = D(x, (y + 1) % K)
    assert torch.allclose(out, expected, atol=1e-5)
    assert (out - other).abs().max() > 1e-3  # the label matters


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_cgan_discriminator_and_generator_use_the_label(arch):
    G, D = pair(arch, "cgan")
    G.eval(), D.eval()
    z, x = torch.randn(4, 6), torch.randn(4, *SHAPES[arch])
    y0, y1 = torch.zeros(4, dtype=torch.long), torch.ones(4, dtype=torch.long)
    with torch.no_grad():
        assert (G(z, y0) - G(z, y1)).abs().max() > 1e-4
        assert (D(x, y0) - D(x, y1)).abs().max() > 1e-6
        assert torch.equal(G(z), G(z, torch.arange(4) % K))  # no y: balanced labels


def test_conditional_batch_norm_is_bn_with_per_class_affine():
    cbn = ConditionalBatchNorm(4, K, dims=2)
    with torch.no_grad():
        cbn.gamma.weight.copy_(torch.arange(12.0).view(K, 4))
        cbn.beta.weight.copy_(-torch.arange(12.0).view(K, 4))
    x, y = torch.randn(5, 4, 3, 3), torch.tensor([0, 2, 1, 1, 0])
    norm = F.batch_norm(x, None, None, training=True, eps=cbn.bn.eps)
    expected = norm * cbn.gamma.weight[y][:, :, None, None] + cbn.beta.weight[y][:, :, None, None]
    assert torch.allclose(cbn(x, y), expected, atol=1e-5)


def test_acgan_auxiliary_loss_decreases_on_separable_toy():
    torch.manual_seed(0)
    _, D = build_models(Cfg(arch="mlp", cond="acgan", d_norm="none", d_width=16), (2,), num_classes=K)
    centers = torch.tensor([[3.0, 0.0], [-3.0, 3.0], [-3.0, -3.0]])
    y = torch.arange(60) % K
    x = centers[y] + 0.3 * torch.randn(60, 2)
    opt = torch.optim.Adam(D.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        loss = F.cross_entropy(D.outputs(x, y)[1], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] > 0.5 and losses[-1] < 0.1 * losses[0]
    assert (D.outputs(x, y)[1].argmax(1) == y).all()


def test_build_errors_and_unconditional_default():
    with pytest.raises(ConfigError, match="labelled"):
        build_models(Cfg(), (1, 16, 16), num_classes=None)
    with pytest.raises(ConfigError, match="at least 2"):
        build_models(Cfg(), (1, 16, 16), num_classes=1)
    with pytest.raises(ConfigError, match="model.cond"):
        build_models(Cfg(cond="bogus"), (1, 16, 16), num_classes=K)
    with pytest.raises(ConfigError, match="square"):
        build_models(Cfg(arch="dcgan"), (2,), num_classes=K)
    G, D = build_models(replace(Cfg(), cond="none"), (1, 16, 16), num_classes=K)  # ignored when unconditional
    assert not isinstance(G, ConditionalGenerator) and D(G(torch.randn(2, 6))).shape == (2,)


def test_labels_are_required_where_d_uses_them():
    _, D = pair("mlp", "projection")
    with pytest.raises(ValueError, match="labels"):
        D(torch.randn(2, *SHAPES["mlp"]))
    _, D = pair("mlp", "acgan")
    assert D(torch.randn(2, *SHAPES["mlp"])).shape == (2,)  # AC-GAN's D does not read y
