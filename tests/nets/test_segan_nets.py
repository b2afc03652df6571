"""SEGAN networks: shapes, the paper's widths, z at the bottleneck, virtual batch norm, one training step."""

from __future__ import annotations

import pytest
import torch

from gankit.nets.segan import SEGANDiscriminator, SEGANGenerator, VirtualBatchNorm1d, widths


def test_paper_widths_and_bottleneck():
    assert widths(16, 11) == [16, 32, 32, 64, 64, 128, 128, 256, 256, 512, 1024]
    G = SEGANGenerator(16384, width=16, depth=11)
    assert G.z_shape == (1024, 8) and len(G.enc) == len(G.dec) == 11


@pytest.mark.parametrize("length,depth,use_z", [(1024, 5, True), (512, 9, False), (2048, 11, True)])
def test_generator_and_discriminator_shapes(length, depth, use_z):
    G = SEGANGenerator(length, width=2, depth=depth, kernel=7, use_z=use_z)
    x = torch.randn(3, 1, length)
    y = G(x)
    assert y.shape == x.shape and y.abs().max() <= 1
    D = SEGANDiscriminator(length, width=2, depth=depth, kernel=7, n_ref=2)
    D.set_reference(torch.randn(4, 2, length))
    assert D(torch.cat([x, y], 1)).shape == (3,)


def test_length_must_fit_the_strides():
    with pytest.raises(ValueError, match="multiple of 2048"):
        SEGANGenerator(3000, width=2, depth=11)


def test_z_changes_the_output_and_a_given_z_fixes_it():
    torch.manual_seed(0)
    G = SEGANGenerator(256, width=2, depth=4, kernel=5)
    x = torch.randn(2, 1, 256)
    z = torch.randn(2, *G.z_shape)
    assert torch.equal(G(x, z), G(x, z)) and not torch.equal(G(x, z), G(x, torch.randn_like(z)))


def test_skips_connect_every_level():
    """A change of the input's first sample reaches the output's first samples through the skip of layer 1."""
    torch.manual_seed(0)
    G = SEGANGenerator(256, width=2, depth=4, kernel=5, use_z=False)
    x = torch.randn(1, 1, 256)
    g = torch.autograd.functional.jacobian(lambda a: G(a)[0, 0, :4].sum(), x)
    assert g[0, 0, :4].abs().sum() > 0


def test_vbn_uses_the_reference_batch_not_the_other_examples():
    torch.manual_seed(0)
    D = SEGANDiscriminator(256, width=2, depth=4, kernel=5, n_ref=3)
    D.set_reference(torch.randn(3, 2, 256))
    ref = D.ref.clone()
    D.set_reference(torch.randn(3, 2, 256))  # kept once: later calls change nothing
    assert torch.equal(D.ref, ref) and bool(D.ref_set)
    a, b = torch.randn(1, 2, 256), torch.randn(4, 2, 256)
    assert torch.allclose(D(a), D(torch.cat([a, b]))[:1], atol=1e-6)
    vbn = VirtualBatchNorm1d(2)
    h = torch.randn(5, 2, 16) * 3 + 1
    out = vbn(h, 5)[:5]  # all reference examples: mean ~0 and variance ~1 over reference batch and time
    assert out.mean().abs() < 0.2 and (out.var() - 1).abs() < 0.2


def test_one_step_moves_every_parameter():
    torch.manual_seed(0)
    G = SEGANGenerator(256, width=2, depth=4, kernel=5)
    D = SEGANDiscriminator(256, width=2, depth=4, kernel=5, n_ref=2)
    noisy, clean = torch.randn(4, 1, 256) * 0.3, torch.randn(4, 1, 256) * 0.3
    D.set_reference(torch.cat([noisy, clean], 1))
    opt_g, opt_d = torch.optim.Adam(G.parameters(), 1e-2), torch.optim.Adam(D.parameters(), 1e-2)
    g0, d0 = [p.detach().clone() for p in G.parameters()], [p.detach().clone() for p in D.parameters()]
    fake = G(noisy)
    loss_d = (D(torch.cat([noisy, clean], 1)) - 1).pow(2).mean() + D(torch.cat([noisy, fake.detach()], 1)).pow(2).mean()
    opt_d.zero_grad(), loss_d.backward(), opt_d.step()
    loss_g = (D(torch.cat([noisy, fake], 1)) - 1).pow(2).mean() + 100 * (fake - clean).abs().mean()
    opt_g.zero_grad(), loss_g.backward(), opt_g.step()
    assert all(not torch.equal(p, q) for p, q in zip(G.parameters(), g0))
    assert all(not torch.equal(p, q) for p, q in zip(D.parameters(), d0))
