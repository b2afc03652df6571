"""EvalHook: FID[fashion-cnn] (or any metrics) every `every` steps during training, logged and plotted.

Rows go through the LogHook's `write` (metrics.jsonl and TensorBoard) under "eval/<label>", e.g.
"eval/FID[fashion-cnn]". RUN_DIR/eval_curves.png shows each metric over steps and, for WGANs, the
critic's Wasserstein estimate ("critic/w_estimate", from the logged step scalars).
The generated samples come from the family's `sample(n, seed)` with a fixed seed, so evaluation never
touches the training random state (runs resume exactly with or without this hook).
"""

from __future__ import annotations

import json
import math
import time

import torch

from gankit import viz
from gankit.errors import GankitError
from gankit.metrics import evaluate as ev
from gankit.core.hooks import LogHook
from gankit.core.loop import HookBase

PREFIX = "eval/"
CRITIC_KEY = "critic/w_estimate"
WGAN_LOSSES = ("wgan", "wgan-gp")  # losses whose critic gap estimates the Wasserstein-1 distance


class EvalHook(HookBase):
    """Evaluate `n` generated samples against the first `n` training samples every `every` steps."""

    def __init__(self, every: int, n: int = 2000, metrics: str = "fid", extractor: str = "auto",
                 seed: int = 4242, use_cache: bool = True, batch_size: int = 500):
        if every < 1 or n < 2:
            raise GankitError(f"EvalHook: every must be >= 1 and n >= 2 (got every={every}, n={n})")
        self.every, self.n, self.metric_text, self.extractor_name = every, n, metrics, extractor
        self.seed, self.use_cache, self.batch_size = seed, use_cache, batch_size
        self.last_step: int | None = None
        self.history: list[dict] = []

    def before_train(self) -> None:
        t = self.trainer
        shape = t.spec.shape
        self.metrics = ev.parse_metrics(self.metric_text, shape)
        self.extractor = ev.make_extractor(self.extractor_name, shape, device=str(t.device))
        self.real = ev.real_stats(t.real(self.n), t.cfg.data, self.extractor, use_cache=self.use_cache)
        self.log = self._find_log_hook()

    def _find_log_hook(self):
        return next((h for h in self.trainer.hooks if isinstance(h, LogHook)), None)

    def after_step(self) -> None:
        t = self.trainer
        if t.status == "running" and t.step % self.every == 0:
            self.run()

    def after_train(self) -> None:
        t = self.trainer
        if t.status == "finished" and self.last_step != t.step:
            self.run()

    def generate(self) -> torch.Tensor:
        """The n samples of the fixed seed, on the CPU."""
        t = self.trainer
        return t.setup.sample(self.n, self.seed, inputs=t.first(self.n)).cpu()

    def run(self) -> dict[str, float]:
        """Evaluate now; log the row, print one line, redraw the curves. Returns {label: value}."""
        t = self.trainer
        t0 = time.perf_counter()
        try:
            results = ev.evaluate(self.generate(), self.real, self.metrics, self.extractor, extra=t.spec.extra)
        except GankitError as e:  # e.g. NaN samples from a diverging generator: log it, keep training
            self._message(f"step {t.step}: evaluation failed: {e}")
            results = {}
        row = {"step": t.step, "time": time.time(), **{PREFIX + k: v for k, v in results.items()},
               PREFIX + "seconds": time.perf_counter() - t0}
        self._write(row)
        self.history.append(row)
        self.last_step = t.step
        if results:
            self._message(f"step {t.step}: " + ", ".join(f"{k} {v:.4g}" for k, v in results.items()))
        self.plot()
        return results

    def _write(self, row: dict) -> None:
        if self.log is not None:
            self.log.write(row)
        else:
            with open(self.trainer.run_dir / "metrics.jsonl", "a") as f:
                f.write(json.dumps(row, allow_nan=True) + "\n")

    def _message(self, text: str) -> None:
        if self.log is not None:
            self.log.message(text)
        else:
            print(text, flush=True)

    def plot(self):
        """RUN_DIR/eval_curves.png: one panel per metric, plus the critic's Wasserstein estimate for WGANs."""
        t = self.trainer
        rows = viz.read_jsonl(t.run_dir / "metrics.jsonl")
        keys = sorted({k for r in rows for k, v in r.items() if k.startswith(PREFIX) and k != PREFIX + "seconds"
                       and isinstance(v, (int, float)) and math.isfinite(v)})
        groups = {k[len(PREFIX):]: [k] for k in keys}
        if t.cfg.train.loss in WGAN_LOSSES:
            groups["critic (Wasserstein estimate)"] = [CRITIC_KEY]
        return viz.plot_scalars(rows, t.run_dir / "eval_curves.png", groups, title=f"{t.cfg.preset}: evaluation")


def eval_hook_from_config(cfg) -> EvalHook | None:
    """The EvalHook that cfg.log asks for (every log.eval_every steps, or only at the last step with
    log.eval_at_end), or None when neither is set."""
    lg = cfg.log
    if not lg.eval_every and not lg.eval_at_end:
        return None
    every = lg.eval_every or cfg.train.steps
    return EvalHook(every, n=lg.eval_n, metrics=lg.eval_metrics, extractor=lg.eval_extractor)
