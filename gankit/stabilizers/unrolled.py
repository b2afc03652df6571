"""Unrolled GAN (Metz et al. 2017): G's loss is taken against D after k differentiable D updates.

The unrolled updates are done functionally — `torch.func.functional_call` on a dict of D's
parameters that each update replaces — so the graph runs from G's parameters (through the fake
samples in every unrolled D loss) to the final D parameters. D itself is never copied or changed.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call

Params = dict[str, Tensor]
CallD = Callable[[Tensor], Tensor]


def sgd_update(params: Params, grads: list[Tensor], state: dict, lr: float, **_) -> tuple[Params, dict]:
    """p <- p - lr g."""
    return {n: p - lr * g for (n, p), g in zip(params.items(), grads)}, state


def adam_update(params: Params, grads: list[Tensor], state: dict, lr: float, betas=(0.9, 0.999),
                eps: float = 1e-8) -> tuple[Params, dict]:
    """Adam with bias correction; `state` holds per-name (m, v) and the shared step. sqrt(v + eps^2) keeps
    the second derivative finite where v = 0."""
    b1, b2 = betas
    step = state.get("step", 0) + 1
    new_p, new_state = {}, {"step": step}
    for (n, p), g in zip(params.items(), grads):
        m0, v0 = state.get(n, (torch.zeros_like(p), torch.zeros_like(p)))
        m, v = b1 * m0 + (1 - b1) * g, b2 * v0 + (1 - b2) * g * g
        mhat, vhat = m / (1 - b1 ** step), v / (1 - b2 ** step)
        new_p[n] = p - lr * mhat / (torch.sqrt(vhat + eps * eps) + eps)
        new_state[n] = (m, v)
    return new_p, new_state


UPDATES = {"sgd": sgd_update, "adam": adam_update}


def adam_state_from(opt: torch.optim.Optimizer, D: nn.Module) -> dict:
    """Start the unrolled Adam from D's optimizer moments (zeros where it has none yet)."""
    state: dict = {"step": 0}
    for n, p in D.named_parameters():
        s = opt.state.get(p, {})
        if "exp_avg" in s:
            state[n] = (s["exp_avg"].detach().clone(), s["exp_avg_sq"].detach().clone())
            state["step"] = int(s["step"])
    return state


def functional_d(D: nn.Module, params: Params, buffers: Params) -> CallD:
    """D as a function of x with the given parameters and buffers."""
    return lambda x: functional_call(D, (params, buffers), (x,))


def unroll(D: nn.Module, d_loss: Callable[[CallD, int], Tensor], k: int, lr: float, rule: str = "sgd",
           state: dict | None = None, **opt_kw) -> CallD:
    """D after k differentiable updates minimising d_loss(D_fn, i), as a function of x.

    The start is a detached copy of D's parameters (D's own .grad is untouched); buffers are cloned so
    batch-norm statistics of the real D do not move."""
    params = {n: p.detach().requires_grad_(True) for n, p in D.named_parameters()}
    buffers = {n: b.clone() for n, b in D.named_buffers()}
    state = dict(state or {})
    for i in range(k):
        loss = d_loss(functional_d(D, params, buffers), i)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
        params, state = UPDATES[rule](params, list(grads), state, lr, **opt_kw)
    return functional_d(D, params, buffers)
