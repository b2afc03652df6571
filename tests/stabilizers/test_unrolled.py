import torch
import torch.nn.functional as F
from torch import nn

from gankit.losses import d_minimax, g_nonsat
from gankit.stabilizers.unrolled import adam_update, unroll


def _nets():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))
    G = nn.Linear(1, 2)
    return D, G


def _g_grads(g_loss, G):
    return torch.autograd.grad(g_loss, list(G.parameters()))


def test_unrolled_step_equals_hand_written_k_steps():
    D, G = _nets()
    k, lr = 3, 0.5
    real = torch.randn(8, 2)
    zs = [torch.randn(8, 1) for _ in range(k)]
    z = torch.randn(8, 1)

    critic = unroll(D, lambda call, i: d_minimax(call(real), call(G(zs[i]))), k, lr)
    ours = _g_grads(g_nonsat(critic(G(z))), G)

    w, b = D[0].weight.detach().clone().requires_grad_(), D[0].bias.detach().clone().requires_grad_()
    for i in range(k):
        fake = G(zs[i])
        loss = F.softplus(-(real @ w.T + b)).mean() + F.softplus(fake @ w.T + b).mean()
        gw, gb = torch.autograd.grad(loss, (w, b), create_graph=True)
        w, b = w - lr * gw, b - lr * gb
    by_hand = _g_grads(F.softplus(-(G(z) @ w.T + b)).mean(), G)

    for a, h in zip(ours, by_hand):
        torch.testing.assert_close(a, h, rtol=1e-5, atol=1e-7)
    # looking ahead changes G's gradient (the second-order term through the fakes), and D is untouched
    plain = _g_grads(g_nonsat(D(G(z))), G)
    assert any((a - p).abs().max() > 1e-4 for a, p in zip(ours, plain))
    assert D[0].weight.grad is None


def test_zero_steps_is_plain_d():
    D, G = _nets()
    z = torch.randn(4, 1)
    critic = unroll(D, lambda call, i: call(z).sum(), 0, 0.1)
    torch.testing.assert_close(critic(G(z)), D(G(z)))


def test_functional_adam_matches_torch_adam():
    torch.manual_seed(2)
    p = torch.randn(5, requires_grad=True)
    target = torch.randn(5)
    params, state = {"p": p.detach().clone()}, {}
    opt = torch.optim.Adam([p], lr=0.1, betas=(0.5, 0.9), eps=1e-8)
    for _ in range(3):
        opt.zero_grad()
        ((p - target) ** 2).sum().backward()
        opt.step()
        g = 2 * (params["p"] - target)
        params, state = adam_update(params, [g], state, 0.1, betas=(0.5, 0.9), eps=1e-8)
    torch.testing.assert_close(params["p"], p.detach(), rtol=1e-5, atol=1e-6)
