"""SeqGAN's networks: shapes and one training step of the LSTM generator and the CNN discriminator, the sampler,
the roll-out policy's update, and the vectorised roll-outs against the authors' loop."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gankit.nets.rollout import complete, rollout_rewards, rollout_rewards_loop
from gankit.nets.seqgan import PAPER_FILTERS, LSTMLM, TextCNN, draw, nll, scaled_filters, update_rollout


def test_lstm_shapes_and_one_mle_step():
    torch.manual_seed(0)
    G = LSTMLM(vocab=13, length=7, emb=5, hidden=6)
    x = torch.randint(0, 13, (4, 7))
    assert G(x).shape == (4, 7, 13) and G.log_probs(x).shape == (4, 7)
    s = G.sample(9, torch.Generator().manual_seed(1))
    assert s.shape == (9, 7) and s.dtype == torch.long and 0 <= int(s.min()) and int(s.max()) < 13
    opt = torch.optim.Adam(G.parameters(), lr=0.05)
    before = F.cross_entropy(G(x).flatten(0, 1), x.flatten())
    for _ in range(20):
        loss = F.cross_entropy(G(x).flatten(0, 1), x.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.8 * float(before.detach())
    assert nll(G, x) == pytest.approx(-float(G.log_probs(x).detach().mean()), rel=1e-5)


def test_sampling_is_seeded_and_teacher_forcing_matches_sampling_logits():
    G = LSTMLM(vocab=13, length=6, emb=5, hidden=6)
    a, b = (G.sample(5, torch.Generator().manual_seed(3)) for _ in range(2))
    assert torch.equal(a, b)
    # the step-by-step state of sampling equals the teacher-forced state of the sampled sequence
    state, tok = G.zero_state(5), torch.zeros(5, dtype=torch.long)
    hs = G.states(a)[0]
    for t in range(6):
        state = G.cell(tok, state)
        assert torch.allclose(state[0], hs[:, t], atol=1e-6)
        tok = a[:, t]


def test_draw_follows_the_softmax_and_temperature():
    logits = torch.tensor([[0.0, 1.0, 2.0, -1.0, 0.5]]).repeat(40000, 1)
    g = torch.Generator().manual_seed(0)
    freq = torch.bincount(draw(logits, g), minlength=5).double() / len(logits)
    assert torch.allclose(freq, torch.softmax(logits[0].double(), 0), atol=0.01)
    cold = torch.bincount(draw(logits, g, temperature=0.5), minlength=5).double() / len(logits)
    assert torch.allclose(cold, torch.softmax(logits[0].double() / 0.5, 0), atol=0.01)
    assert torch.equal(draw(logits[:3], g, temperature=0), torch.tensor([2, 2, 2]))


def test_cnn_discriminator_shapes_filters_and_one_step():
    D = TextCNN(vocab=13, length=7, emb=8, filters=scaled_filters(0.05), dropout=0.25)
    assert D.filters == tuple((w, max(1, round(n * 0.05))) for w, n in PAPER_FILTERS if w <= 7)
    assert sum(n for _, n in PAPER_FILTERS) == 1720 and len(TextCNN(13, 20).convs) == 12
    x = torch.randint(0, 13, (6, 7))
    y = torch.tensor([1.0, 1, 1, 0, 0, 0])
    assert D(x).shape == (6,)
    opt = torch.optim.Adam(D.parameters(), lr=1e-2)
    before = [p.clone() for p in D.parameters()]
    loss = F.binary_cross_entropy_with_logits(D(x), y) + 0.2 * D.l2()
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert all(not torch.equal(a, b) for a, b in zip(before, D.parameters()))
    with torch.no_grad():
        assert float(D.l2()) == pytest.approx(0.5 * float(D.out.weight.pow(2).sum() + D.out.bias.pow(2).sum()))


def test_rollout_policy_moves_towards_g_with_rate():
    G, R = LSTMLM(11, 5, 3, 4), LSTMLM(11, 5, 3, 4)
    old = {k: v.clone() for k, v in R.state_dict().items()}
    update_rollout(R, G, 0.8)
    assert torch.equal(R.embedding, G.embedding)  # copied, as the authors' code
    for name in ("W", "U", "b", "Wo", "bo"):
        assert torch.allclose(getattr(R, name), 0.8 * old[name] + 0.2 * getattr(G, name))


def test_completions_keep_every_prefix():
    R = LSTMLM(11, 6, 3, 4)
    seqs = torch.randint(0, 11, (3, 6))
    full = complete(R, seqs, 2, torch.Generator().manual_seed(0)).reshape(5, 2, 3, 6)  # (t, roll-out, b, T)
    for t in range(1, 6):
        assert torch.equal(full[t - 1, :, :, :t], seqs[:, :t].expand(2, 3, t))


def _peaked(vocab: int = 11, length: int = 6) -> LSTMLM:
    """A policy whose samples are (almost surely) its most likely tokens, so both roll-outs draw the same."""
    torch.manual_seed(1)
    R = LSTMLM(vocab, length, 3, 4, std=1.0)
    with torch.no_grad():
        R.Wo.mul_(1e4)
    return R


def test_vectorised_rollouts_equal_the_loop():
    R = _peaked()
    seqs = torch.randint(0, 11, (4, 6), generator=torch.Generator().manual_seed(2))
    score = lambda s: s.float().sum(1) + 0.1 * s[:, -1].float()  # noqa: E731
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(5)
    fast = rollout_rewards(R, seqs, score, n=3, generator=g1, chunk=7)
    slow = rollout_rewards_loop(R, seqs, score, n=3, generator=g2)
    assert fast.shape == (4, 6) and torch.allclose(fast, slow)
    assert torch.allclose(fast[:, -1], score(seqs))  # the whole sequence's own reward


def test_rollout_values_are_means_over_rollouts():
    """With a random policy and the score 'last token is 0', a prefix's value estimates p(last token = 0)."""
    R = LSTMLM(3, 4, 3, 4, std=0.0)  # uniform over 3 tokens
    seqs = torch.ones(50, 4, dtype=torch.long)
    q = rollout_rewards(R, seqs, lambda s: (s[:, -1] == 0).float(), n=40, generator=torch.Generator().manual_seed(0))
    assert abs(float(q[:, :-1].mean()) - 1 / 3) < 0.03 and float(q[:, -1].max()) == 0.0
