"""SeqGAN's networks (Yu et al. 2017): the LSTM language model (generator, roll-out policy and the oracle of the
synthetic benchmark share its equations) and the CNN text classifier (discriminator).

The LSTM is written out gate by gate as in the authors' code (row vectors times matrices):
    i = sigmoid(x Wi + h Ui + bi), f = sigmoid(x Wf + h Uf + bf), o = sigmoid(x Wog + h Uog + bog),
    c~ = tanh(x Wc + h Uc + bc), c = f * c_prev + i * c~, h = o * tanh(c), logits = h Wo + bo,
with the four gates stored side by side (W: E x 4H in the order i, f, o, c~). The first input is the
embedding of the start token; sampled tokens are fed back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

GATES = ("i", "f", "og", "c")  # the order of the blocks of W, U, b
PAPER_FILTERS = ((1, 100), (2, 200), (3, 200), (4, 200), (5, 200), (6, 100), (7, 100), (8, 100), (9, 100),
                 (10, 100), (15, 160), (20, 160))  # (width, count) of the SeqGAN discriminator


class LSTMLM(nn.Module):
    """A token LSTM language model over sequences of `length` tokens from a vocabulary of `vocab` ids."""

    def __init__(self, vocab: int, length: int, emb: int = 32, hidden: int = 32, start: int = 0, std: float = 0.1):
        super().__init__()
        self.vocab, self.length, self.start, self.hidden = vocab, length, start, hidden
        self.embedding = nn.Parameter(torch.randn(vocab, emb) * std)
        self.W = nn.Parameter(torch.randn(emb, 4 * hidden) * std)
        self.U = nn.Parameter(torch.randn(hidden, 4 * hidden) * std)
        self.b = nn.Parameter(torch.randn(4 * hidden) * std)
        self.Wo = nn.Parameter(torch.randn(hidden, vocab) * std)
        self.bo = nn.Parameter(torch.randn(vocab) * std)

    def zero_state(self, n: int) -> tuple[Tensor, Tensor]:
        z = self.W.new_zeros(n, self.hidden)
        return z, z

    def cell(self, tok: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """The state after reading tokens `tok` (n,)."""
        h, c = state
        gates = self.embedding[tok] @ self.W + h @ self.U + self.b
        i, f, o, cc = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(cc)
        return torch.sigmoid(o) * torch.tanh(c), c

    def logits(self, h: Tensor) -> Tensor:
        return h @ self.Wo + self.bo

    def inputs(self, tokens: Tensor) -> Tensor:
        """The teacher-forced inputs: the start token, then the sequence less its last token."""
        first = tokens.new_full((tokens.shape[0], 1), self.start)
        return torch.cat([first, tokens[:, :-1]], dim=1)

    def states(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher-forced (h, c) of every position, (n, L, H) each: position t's state predicts token t."""
        state, hs, cs = self.zero_state(tokens.shape[0]), [], []
        for tok in self.inputs(tokens).unbind(1):
            state = self.cell(tok, state)
            hs.append(state[0])
            cs.append(state[1])
        return torch.stack(hs, 1), torch.stack(cs, 1)

    def forward(self, tokens: Tensor) -> Tensor:
        """Teacher-forced logits (n, L, V)."""
        return self.logits(self.states(tokens)[0])

    def log_probs(self, tokens: Tensor) -> Tensor:
        """log p(token_t | tokens_<t) of every position, (n, L)."""
        return self(tokens).log_softmax(-1).gather(2, tokens.unsqueeze(2)).squeeze(2)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> Tensor:
        """n sequences (n, L) int64 drawn token by token from softmax(logits / temperature)."""
        state, out = self.zero_state(n), []
        tok = torch.full((n,), self.start, dtype=torch.long, device=self.W.device)
        for _ in range(self.length):
            state = self.cell(tok, state)
            tok = draw(self.logits(state[0]), generator, temperature)
            out.append(tok)
        return torch.stack(out, 1)


def draw(logits: Tensor, generator: torch.Generator | None, temperature: float = 1.0) -> Tensor:
    """One token per row from softmax(logits / temperature) (temperature 0: the most likely token), by inverting
    the cumulative distribution with one uniform number per row (10x faster than torch.multinomial on CPU)."""
    if temperature == 0:
        return logits.argmax(-1)
    x = logits / temperature if temperature != 1.0 else logits
    cdf = (x - x.amax(-1, keepdim=True)).exp_().cumsum_(-1)
    u = torch.rand((len(x), 1), generator=generator, device=x.device) * cdf[:, -1:]
    return torch.searchsorted(cdf, u).squeeze(1).clamp_(max=x.shape[-1] - 1)


def nll(model: LSTMLM, tokens: Tensor, batch_size: int = 1000) -> float:
    """Mean per-token negative log-likelihood of `tokens` under `model` (NLL-oracle when `model` is the oracle)."""
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(tokens), batch_size):
            total -= float(model.log_probs(tokens[i:i + batch_size]).double().sum())
    return total / tokens.numel()


@torch.no_grad()
def update_rollout(rollout: LSTMLM, G: LSTMLM, rate: float) -> None:
    """The delayed copy as the authors' code writes it: the embedding is copied, every other weight becomes
    rate * its old value + (1 - rate) * G's. (Their sampling graph never sees the update and rolls out with the
    current G, i.e. rate 0: docs/seqgan.md.)"""
    rollout.embedding.copy_(G.embedding)
    for name in ("W", "U", "b", "Wo", "bo"):
        getattr(rollout, name).mul_(rate).add_(getattr(G, name), alpha=1 - rate)


class Highway(nn.Module):
    """y = t * relu(W x) + (1 - t) * x with the gate t = sigmoid(W_t x + b_t - 2) (bias -2: carry at first)."""

    def __init__(self, size: int, bias: float = -2.0):
        super().__init__()
        self.h, self.t, self.bias = nn.Linear(size, size), nn.Linear(size, size), bias

    def forward(self, x: Tensor) -> Tensor:
        t = torch.sigmoid(self.t(x) + self.bias)
        return t * F.relu(self.h(x)) + (1 - t) * x


class TextCNN(nn.Module):
    """The SeqGAN discriminator (Kim 2014's CNN): embedding, convolutions of several widths over the whole
    embedding, ReLU and max-over-time pooling, a highway layer, dropout, then one logit (real high).

    `filters` is ((width, count), ...); widths longer than the sequence are left out."""

    def __init__(self, vocab: int, length: int, emb: int = 64, filters=PAPER_FILTERS, dropout: float = 0.25):
        super().__init__()
        self.filters = tuple((w, n) for w, n in filters if w <= length and n > 0)
        self.embedding = nn.Embedding(vocab, emb)
        nn.init.uniform_(self.embedding.weight, -1.0, 1.0)
        self.convs = nn.ModuleList(nn.Conv1d(emb, n, w) for w, n in self.filters)
        total = sum(n for _, n in self.filters)
        self.highway, self.drop, self.out = Highway(total), nn.Dropout(dropout), nn.Linear(total, 1)

    def forward(self, tokens: Tensor) -> Tensor:
        x = self.embedding(tokens).transpose(1, 2)  # (n, E, L)
        feats = torch.cat([F.relu(conv(x)).amax(dim=2) for conv in self.convs], dim=1)
        return self.out(self.drop(self.highway(feats))).squeeze(1)

    def l2(self) -> Tensor:
        """The authors' L2 term: sum of squares / 2 of the output layer's weight and bias."""
        return 0.5 * (self.out.weight.pow(2).sum() + self.out.bias.pow(2).sum())


def scaled_filters(scale: float) -> tuple[tuple[int, int], ...]:
    """The paper's filter widths with their counts times `scale` (at least one filter each)."""
    return tuple((w, max(1, round(n * scale))) for w, n in PAPER_FILTERS)
