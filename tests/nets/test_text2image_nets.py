"""Text -> image networks: the GRU encoder's shape and padding, G(z, c) and D(x, e) shapes and text dependence,
conditioning augmentation's two outputs, and one training step that moves every parameter."""

from __future__ import annotations

import pytest
import torch

from gankit.losses import d_minimax, g_nonsat
from gankit.nets.text2image import TextDiscriminator, TextEncoder, TextGenerator


def test_encoder_shape_and_last_word():
    torch.manual_seed(0)
    E = TextEncoder(20, word_dim=8, emb_dim=12)
    ids = torch.tensor([[3, 4, 5, 0, 0, 0], [7, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6]])
    e = E(ids)
    assert e.shape == (3, 12)
    out, _ = E.gru(E.words(ids))
    assert torch.equal(e[0], out[0, 2]) and torch.equal(e[1], out[1, 0]) and torch.equal(e[2], out[2, 5])
    longer = torch.cat([ids, torch.zeros(3, 4, dtype=torch.long)], 1)  # more padding: the same embedding
    assert torch.allclose(E(longer), e, atol=1e-6)
    assert not torch.allclose(E(torch.tensor([[3, 4, 6]])), E(torch.tensor([[3, 4, 5]])))


@pytest.mark.parametrize("res,ca", [(28, False), (32, True)])
def test_generator_and_discriminator_shapes(res, ca):
    torch.manual_seed(0)
    G = TextGenerator(z_dim=8, emb_dim=12, t_dim=6, resolution=res, width=8, ca=ca)
    D = TextDiscriminator(emb_dim=12, t_dim=6, resolution=res, width=8)
    emb = torch.randn(4, 12)
    mu, logvar = G.condition(emb)
    assert mu.shape == (4, 6) and (logvar is None) == (not ca)
    x = G(torch.randn(4, 8), mu)
    assert x.shape == (4, 1, res, res) and x.abs().max() <= 1
    assert D(x, emb).shape == (4,)
    D.eval()
    s1, s2 = D(x[:1], emb[:1]), D(x[:1], emb[1:2])
    assert not torch.allclose(s1, s2)  # D judges the pair, not the image alone


def test_one_training_step_moves_every_parameter():
    torch.manual_seed(0)
    E, G = TextEncoder(20, 8, 12), TextGenerator(8, 12, 6, 28, width=8)
    D = TextDiscriminator(12, 6, 28, width=8)
    opt_d = torch.optim.Adam([*D.parameters(), *E.parameters()], lr=1e-2)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-2)
    before = {n: [p.detach().clone() for p in m.parameters()] for n, m in (("E", E), ("G", G), ("D", D))}
    ids, real, z = torch.randint(1, 20, (4, 5)), torch.rand(4, 1, 28, 28) * 2 - 1, torch.randn(4, 8)
    emb = E(ids)
    loss_d = d_minimax(D(real, emb), D(G(z, G.condition(emb.detach())[0]).detach(), emb))
    opt_d.zero_grad(), loss_d.backward(), opt_d.step()
    assert all(torch.equal(p, q) for p, q in zip(G.parameters(), before["G"]))
    emb = E(ids).detach()
    loss_g = g_nonsat(D(G(z, G.condition(emb)[0]), emb))
    opt_g.zero_grad(), loss_g.backward(), opt_g.step()
    for name, m in (("E", E), ("G", G), ("D", D)):
        moved = [not torch.equal(p, q) for p, q in zip(m.parameters(), before[name])]
        assert all(moved), name
