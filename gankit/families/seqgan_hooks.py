"""SeqGAN's hooks and text helpers: NLL-oracle during training, PG-BLEU's reference table, sampling and decoding.

NLLOracleHook logs `eval/nll_oracle` (mean per-token NLL under the oracle of `n` sequences of G, drawn with a
fixed seed, so the training random state is untouched and runs resume exactly) through the LogHook into
metrics.jsonl, with `eval/epoch` (pretraining: passes over the data; adversarial: adversarial steps);
it evaluates the starting G too and draws RUN_DIR/nll_oracle.png. The scored G is `pick(models)` (SeqGAN's
weight average when it has one); when that is not the trained G, the trained G's value is logged too
(`eval/nll_oracle_g`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from torch import Tensor

from gankit import viz
from gankit.core import checkpoint as ck
from gankit.core.hooks import LogHook
from gankit.core.loop import HookBase
from gankit.data.bleu import References, sentence_bleu
from gankit.data.tokens import sample_batched
from gankit.nets.seqgan import LSTMLM, draw, nll

__all__ = ["draw", "generate", "decode", "NLLOracleHook", "ReferenceHook", "PretrainedCheckpoint", "preview"]
EVAL_SEED = 4242


def generate(G: LSTMLM, n: int, seed: int, temperature: float = 1.0) -> Tensor:
    """n sequences of G in eval mode from a generator seeded by `seed`, on the CPU."""
    was = G.training
    G.eval()
    try:
        return sample_batched(G, n, seed, temperature=temperature)
    finally:
        G.train(was)


def decode(tokens: Tensor, vocab: list[str] | None) -> list[str]:
    """Each row as text: its characters joined (a run with a vocabulary), else its ids separated by spaces."""
    if vocab is None:
        return [" ".join(str(int(t)) for t in row) for row in tokens]
    return ["".join(vocab[int(t)] for t in row) for row in tokens]


class NLLOracleHook(HookBase):
    def __init__(self, oracle: LSTMLM, every: tuple[int, int], n: int, pretrain_steps: int, adversarial_from: int,
                 pick=lambda models: models["G"]):
        self.oracle, self.every, self.n, self.pretrain, self.pick = oracle, every, n, pretrain_steps, pick
        self.adversarial_from = adversarial_from
        self.history: list[dict] = []
        self._pending: dict | None = None

    def before_train(self) -> None:
        t = self.trainer
        self.oracle = self.oracle.to(t.device)
        if t.step == 0:  # the starting G; written once the LogHook has opened metrics.jsonl
            self._pending = self.evaluate()

    def after_step(self) -> None:
        t = self.trainer
        if self._pending is not None:
            self._write(self._pending)
            self._pending = None
        if t.status == "running" and self.due(t.step):
            self._write(self.evaluate())

    def due(self, step: int) -> bool:
        """Every every[0] steps before the adversarial steps (and when pretraining ends), then every every[1]."""
        a = self.adversarial_from
        if step > a:
            return (step - a) % self.every[1] == 0
        return step % self.every[0] == 0 or step in (self.pretrain, a)

    def after_train(self) -> None:
        t = self.trainer
        if t.status == "finished" and (not self.history or self.history[-1]["step"] != t.step):
            self._write(self.evaluate())

    def evaluate(self) -> dict:
        t = self.trainer
        t0 = time.perf_counter()
        G = self.pick(t.models)
        row = {"step": t.step, "time": time.time(), "eval/nll_oracle": self._score(G)}
        if G is not t.models["G"]:
            row["eval/nll_oracle_g"] = self._score(t.models["G"])
        mle = t.step <= self.pretrain
        row["eval/epoch"] = t.step * t.cfg.train.batch_size / len(t.dataset) if mle else \
            max(0, t.step - self.adversarial_from)
        return {**row, "eval/seconds": time.perf_counter() - t0}

    def _score(self, G: LSTMLM) -> float:
        return nll(self.oracle, generate(G, self.n, EVAL_SEED).to(self.trainer.device))

    def _write(self, row: dict) -> None:
        t = self.trainer
        log = next((h for h in t.hooks if isinstance(h, LogHook)), None)
        if log is not None and hasattr(log, "path"):
            log.write(row)
        self.history.append(row)
        self._plot()

    def _plot(self) -> None:
        rows = [r for r in viz.read_jsonl(self.trainer.run_dir / "metrics.jsonl") if "eval/nll_oracle" in r]
        if rows:
            viz.plot_scalars(rows, self.trainer.run_dir / "nll_oracle.png", {"NLL-oracle": ["eval/nll_oracle"]},
                             title=self.trainer.cfg.preset)


class ReferenceHook(HookBase):
    """PG-BLEU's reward: BLEU-n against the whole training set, whose n-gram table is built before training."""

    def __init__(self, n: int, vocab: int):
        self.n, self.vocab, self.refs = n, vocab, None

    def before_train(self) -> None:
        t = self.trainer
        self.refs = References(t.first(len(t.dataset))["tokens"], self.n, self.vocab)

    def score(self, seqs: Tensor) -> Tensor:
        return sentence_bleu(seqs.cpu(), self.refs).float().to(seqs.device)


def preview(G: LSTMLM, vocab: list[str] | None, path, title: str, batch: dict[str, Tensor],
            n: int = 16) -> None:
    """The progress picture: G's token ids as an image (one row per sequence), and the decoded text in a .txt
    file beside it (and in latest.txt)."""
    tokens = generate(G, n, EVAL_SEED)
    path = Path(path)
    text = f"{title}\n" + "\n".join(decode(tokens, vocab)) + "\n"
    for out in (path.with_suffix(".txt"), path.parent / "latest.txt"):
        out.write_text(text, encoding="utf-8")
    plt = viz._plt()
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.imshow(np.asarray(tokens), aspect="auto", cmap="viridis")
    ax.set_xlabel("position")
    ax.set_ylabel("sample")
    ax.set_title(f"{title}: token ids")
    fig.savefig(path, dpi=80)
    plt.close(fig)


class PretrainedCheckpoint(HookBase):
    """The pretraining's own checkpoint: RUN_DIR/pretrained/step_<A>.* when the adversarial steps begin (G after
    MLE, D after its pretraining), kept beside the run's rolling checkpoints (`gankit sample RUN_DIR/pretrained`)."""

    def __init__(self, at: int):
        self.at = at

    def after_step(self) -> None:
        t = self.trainer
        if t.step == self.at and t.status == "running":
            tensors, meta = t.state()
            ck.save_checkpoint(t.run_dir / "pretrained", t.step, tensors, meta, keep=1)
