"""SeqGAN's action values: Monte Carlo roll-outs of every prefix of a batch of sequences.

For a sequence x_1..x_T, the value of the prefix x_1..x_t (t < T) is the mean reward of `n` completions
sampled by the roll-out policy from that prefix; the value of the whole sequence is its own reward.

`rollout_rewards` draws all prefixes x all roll-outs as one batch: the roll-out policy reads every sequence
once (teacher forcing gives the state after each prefix), then the completions of all (T-1) * n * B rows are
sampled together, one position at a time; rows are ordered by prefix length so that at position p the rows
still sampling are a leading slice (prefixes shorter than p). `rollout_rewards_loop` is the authors' loop
(for each roll-out, for each prefix length, a full pass of the policy): the same distribution, kept for the
timing comparison and the tests.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from gankit.nets.seqgan import LSTMLM, draw

Score = Callable[[Tensor], Tensor]  # sequences (n, T) int64 -> rewards (n,)


@torch.no_grad()
def complete(policy: LSTMLM, seqs: Tensor, n: int, generator: torch.Generator | None, block: int = 128) -> Tensor:
    """Completions ((T-1) * n * B, T): row block t-1 (t = 1..T-1) keeps the first t tokens of each sequence
    (repeated n times, sequence index fastest) and samples the rest. The output layer and the sampling run
    over the active rows in blocks of `block` rows, so that the (block x vocabulary) logits stay in the cache."""
    B, T = seqs.shape
    hs, cs = policy.states(seqs)  # hs[:, t] predicts token t from the prefix x_<t
    rows = n * B
    out = seqs.repeat(n * (T - 1), 1)
    # rows in the order (prefix length t, roll-out, sequence); the state that samples position t (0-based) has
    # read the prefix of length t: hs[:, t]
    h = hs[:, 1:].transpose(0, 1).unsqueeze(1).expand(T - 1, n, B, policy.hidden).reshape(-1, policy.hidden).clone()
    c = cs[:, 1:].transpose(0, 1).unsqueeze(1).expand(T - 1, n, B, policy.hidden).reshape(-1, policy.hidden).clone()
    for p in range(1, T):  # 0-based position p is sampled by the rows whose prefix is shorter than p + 1
        k = p * rows
        tok = torch.cat([draw(policy.logits(h[i:min(i + block, k)]), generator) for i in range(0, k, block)])
        out[:k, p] = tok
        if p < T - 1:
            h[:k], c[:k] = policy.cell(tok, (h[:k], c[:k]))
    return out


@torch.no_grad()
def rollout_rewards(policy: LSTMLM, seqs: Tensor, score: Score, n: int = 16, generator: torch.Generator | None = None,
                    chunk: int = 512) -> Tensor:
    """Action values (B, T): column t-1 is the mean score of n completions of the prefix of length t (t < T),
    the last column the score of the sequences themselves. Vectorised over prefixes and roll-outs."""
    B, T = seqs.shape
    full = complete(policy, seqs, n, generator)
    scores = torch.cat([score(full[i:i + chunk]) for i in range(0, len(full), chunk)])
    values = scores.reshape(T - 1, n, B).mean(1).t()  # (B, T-1)
    return torch.cat([values, score(seqs).unsqueeze(1)], dim=1)


@torch.no_grad()
def complete_from(policy: LSTMLM, seqs: Tensor, t: int, generator: torch.Generator | None) -> Tensor:
    """The authors' roll-out of one prefix length t: read x_1..x_t, then sample positions t+1..T."""
    B, T = seqs.shape
    state = policy.zero_state(B)
    tok = seqs.new_full((B,), policy.start)
    out = seqs.clone()
    for p in range(T):
        state = policy.cell(tok, state)
        if p < t:
            tok = seqs[:, p]
        else:
            tok = draw(policy.logits(state[0]), generator)
            out[:, p] = tok
    return out


@torch.no_grad()
def rollout_rewards_loop(policy: LSTMLM, seqs: Tensor, score: Score, n: int = 16,
                         generator: torch.Generator | None = None) -> Tensor:
    """The same action values, one roll-out and one prefix length at a time (the authors' loop)."""
    B, T = seqs.shape
    values = torch.zeros(B, T - 1, device=seqs.device)
    for _ in range(n):
        for t in range(1, T):
            values[:, t - 1] += score(complete_from(policy, seqs, t, generator))
    return torch.cat([values / n, score(seqs).unsqueeze(1)], dim=1)
