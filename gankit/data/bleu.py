"""BLEU of token sequences against a reference corpus, vectorised (the poems' BLEU-2 and PG-BLEU's reward).

`References(refs, max_n)` keeps, for every n-gram of the references, the largest number of times it occurs in
any one reference (the clip of multi-reference BLEU). `sentence_bleu` scores each hypothesis as NLTK's
`sentence_bleu(all references, hypothesis, weights=(1/N,)*N, smoothing_function=SmoothingFunction().method1)`:
clipped n-gram precisions, epsilon 0.1 for a zero count, 0 when no unigram matches, and the brevity penalty
against the closest reference length (1 here: every sequence of a data set has one length).
"""

from __future__ import annotations

import torch
from torch import Tensor

EPSILON = 0.1  # NLTK's method1 smoothing


def ngram_keys(seqs: Tensor, n: int, vocab: int) -> Tensor:
    """(B, L-n+1) int64 codes of the n-grams of every row (base-`vocab` numbers)."""
    keys = torch.zeros(seqs.shape[0], seqs.shape[1] - n + 1, dtype=torch.long, device=seqs.device)
    for k in range(n):
        keys = keys * vocab + seqs[:, k:seqs.shape[1] - n + 1 + k]
    return keys


def occurrence_rank(keys: Tensor) -> Tensor:
    """For each position, how many times its n-gram has occurred in its row up to and including it."""
    eq = keys.unsqueeze(2) == keys.unsqueeze(1)
    return torch.tril(eq).sum(2)


class References:
    """n-gram clip counts of a reference corpus (B, L) int64."""

    def __init__(self, refs: Tensor, max_n: int, vocab: int):
        if vocab ** max_n >= 2 ** 62:
            raise ValueError(f"{max_n}-grams over {vocab} ids do not fit int64 codes")
        self.max_n, self.vocab, self.lengths = max_n, vocab, refs.shape[1]
        self.keys, self.clip = [], []
        for n in range(1, max_n + 1):
            keys = ngram_keys(refs, n, vocab)
            counts = occurrence_rank(keys)  # the largest rank of an n-gram in a row is its count there
            uniq, inv = torch.unique(keys.flatten(), return_inverse=True)
            clip = torch.zeros(len(uniq), dtype=torch.long).scatter_reduce(0, inv, counts.flatten(), "amax")
            self.keys.append(uniq)
            self.clip.append(clip)

    def clipped(self, hyps: Tensor, n: int) -> tuple[Tensor, Tensor]:
        """(matches, total) n-gram counts of every hypothesis row."""
        keys = ngram_keys(hyps, n, self.vocab)
        table, clip = self.keys[n - 1], self.clip[n - 1]
        pos = torch.searchsorted(table, keys).clamp_(max=len(table) - 1)
        allowed = torch.where(table[pos] == keys, clip[pos], torch.zeros_like(pos))
        matches = (occurrence_rank(keys) <= allowed).sum(1)
        return matches, torch.full_like(matches, keys.shape[1])


def sentence_bleu(hyps: Tensor, refs: References, n: int | None = None) -> Tensor:
    """BLEU-n (uniform weights, method1 smoothing) of every row of `hyps` (B, L) against all references."""
    n = n or refs.max_n
    if hyps.shape[1] < n:
        raise ValueError(f"BLEU-{n} of sequences of {hyps.shape[1]} tokens")
    logs = []
    for k in range(1, n + 1):
        m, total = refs.clipped(hyps, k)
        p = torch.where(m > 0, m.double(), torch.full_like(m, 0, dtype=torch.double) + EPSILON) / total
        logs.append(p.log())
    score = torch.stack(logs, 1).mean(1).exp()
    c, r = hyps.shape[1], refs.lengths
    bp = 1.0 if c >= r else float(torch.exp(torch.tensor(1.0 - r / c)))
    first, _ = refs.clipped(hyps, 1)
    return torch.where(first > 0, score * bp, torch.zeros_like(score))


def mean_bleu(hyps: Tensor, refs: References, n: int | None = None, batch_size: int = 2000) -> float:
    """The mean sentence BLEU of the hypotheses (the SeqGAN poems' BLEU-2 with n=2)."""
    parts = [sentence_bleu(hyps[i:i + batch_size], refs, n) for i in range(0, len(hyps), batch_size)]
    return float(torch.cat(parts).mean())
