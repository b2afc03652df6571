"""Hooks: logging (JSONL, TensorBoard, progress bar), progress pictures, loss curves, checkpoints, lr schedules."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path


from gankit import viz
from gankit.core.loop import HookBase
from gankit.core.optim import decay_factor, set_lrs


class LogHook(HookBase):
    """Averages every scalar over the steps of a `log_every` window that produced it (a phase with an interval or a
    schedule logs the mean of the steps it ran) and writes it to JSONL and TensorBoard; drives the progress bar.

    A resumed run logs the same rows as an uninterrupted one: a stop does not flush a half-filled window (its
    sums travel in the checkpoint), and rows after the checkpoint's step (a run killed after logging them) are
    cut from metrics.jsonl before training goes on."""

    def __init__(self, log_every: int, progress: bool = True, tensorboard: bool = True):
        self.log_every, self.progress, self.use_tb = log_every, progress, tensorboard
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}  # steps that produced each scalar in this window
        self._count = 0
        self.bar = None
        self.tb = None

    def state(self) -> dict:
        return {"sums": self._sums, "counts": self._counts, "count": self._count}

    def load_state(self, state: dict) -> None:
        self._sums, self._count = dict(state["sums"]), int(state["count"])
        # checkpoints written before per-scalar counts divided every sum by the window's step count
        self._counts = {k: int(v) for k, v in state.get("counts", dict.fromkeys(self._sums, self._count)).items()}

    def before_train(self) -> None:
        t = self.trainer
        self.path = t.run_dir / "metrics.jsonl"
        if t.step and self.path.exists():
            cut_rows_after(self.path, t.step)
        self._t0, self._step0 = time.perf_counter(), t.step
        self._tw, self._sw = self._t0, t.samples_seen
        if self.use_tb:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(t.run_dir / "tb"), purge_step=t.step + 1 if t.step else None)
        if self.progress:
            from tqdm import tqdm

            self.bar = tqdm(total=t.cfg.train.steps, initial=t.step, desc=t.cfg.preset, dynamic_ncols=True,
                            unit="step", smoothing=0.1)

    def after_step(self) -> None:
        t = self.trainer
        for k, v in t.scalars.items():
            self._sums[k] = self._sums.get(k, 0.0) + v
            self._counts[k] = self._counts.get(k, 0) + 1
        self._count += 1
        if self.bar is not None:
            self.bar.update(1)
        if t.step % self.log_every == 0 or t.step == t.cfg.train.steps or t.status == "diverged":
            self.flush()

    def flush(self) -> None:
        t = self.trainer
        if not self._count:
            return
        now = time.perf_counter()
        # data samples drawn per second (an epoch of N samples takes N / img_per_s seconds)
        imgs = t.samples_seen - self._sw
        row = {"step": t.step, "time": time.time(), "img_per_s": imgs / max(now - self._tw, 1e-9)}
        row.update({k: v / self._counts[k] for k, v in self._sums.items()})
        self.write(row)
        if self.bar is not None:
            short = {k.split("/")[-1]: f"{v:.3g}" for k, v in row.items() if k.startswith("loss/")}
            self.bar.set_postfix(img_s=f"{row['img_per_s']:.0f}", **short, refresh=False)
        self._sums, self._counts, self._count, self._tw, self._sw = {}, {}, 0, now, t.samples_seen

    def write(self, row: dict) -> None:
        """Append one row to metrics.jsonl and TensorBoard (other hooks log through this too)."""
        with open(self.path, "a") as f:
            f.write(json.dumps(row, allow_nan=True) + "\n")
        if self.tb is not None:
            for k, v in row.items():
                if k not in ("step", "time") and isinstance(v, (int, float)) and math.isfinite(v):
                    self.tb.add_scalar(k, v, row["step"])

    def message(self, text: str) -> None:
        """A line above the progress bar (and in the JSONL)."""
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text, flush=True)

    def after_train(self) -> None:
        if self.trainer.status != "interrupted":
            self.flush()
        if self.bar is not None:
            self.bar.close()
        if self.tb is not None:
            self.tb.close()


def cut_rows_after(path: Path, step: int) -> int:
    """Drop the rows of a JSONL log whose step is after `step` (atomically); returns how many were dropped."""
    lines = path.read_text().splitlines(keepends=True)
    keep = [line for line in lines if _row_step(line) <= step]
    if len(keep) < len(lines):
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        tmp.write_text("".join(keep))
        os.replace(tmp, path)
    return len(lines) - len(keep)


def _row_step(line: str) -> float:
    try:
        return float(json.loads(line).get("step", 0))
    except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
        return float("inf")  # a torn last line (killed mid-write) goes too


class SampleHook(HookBase):
    """The family's progress picture (sample grid, scatter, ...) and the loss-curve PNG every `every` steps."""

    def __init__(self, every: int, n_first: int = 64):
        self.every, self.n_first = every, n_first

    def before_train(self) -> None:
        self.dir = self.trainer.run_dir / "samples"

    def after_step(self) -> None:
        t = self.trainer
        if self.every and t.step % self.every == 0 and t.status == "running":
            self.save()

    def after_train(self) -> None:
        if self.trainer.status != "diverged":
            self.save()

    def save(self) -> Path:
        t = self.trainer
        path = self.dir / f"step_{t.step:08d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        t.setup.preview(path, f"step {t.step}", t.first(self.n_first))
        (self.dir / "latest.png").write_bytes(path.read_bytes())
        viz.plot_scalars(viz.read_jsonl(t.run_dir / "metrics.jsonl"), t.run_dir / "loss_curves.png",
                         t.setup.scalar_groups, title=t.cfg.preset)
        return path


class CheckpointHook(HookBase):
    """A checkpoint every `every` steps, at the end, and when a signal asks the run to stop.

    A diverged run (NaN/Inf) writes nothing, so the last checkpoint is the last good one."""

    def __init__(self, every: int):
        self.every = every
        self.last: Path | None = None

    def after_step(self) -> None:
        t = self.trainer
        if t.status != "running":
            return
        if (self.every and t.step % self.every == 0) or t.stop_signal is not None:
            self.last = t.save_checkpoint()

    def after_train(self) -> None:
        t = self.trainer
        if t.status in ("finished", "interrupted") and (self.last is None or not self.last.name.startswith(f"step_{t.step:08d}")):
            self.last = t.save_checkpoint()


class LRDecayHook(HookBase):
    """Sets every optimizer's lr to its configured value times the schedule's factor before every step
    (resuming needs no extra state; optimizers of any name)."""

    def __init__(self, kind: str, floor: float = 0.0):
        self.kind, self.floor = kind, floor

    def _apply(self) -> None:
        t = self.trainer
        set_lrs(t.optims, t.base_lrs, decay_factor(self.kind, t.step, t.cfg.train.steps, self.floor))

    def before_train(self) -> None:
        self._apply()

    def after_step(self) -> None:
        self._apply()
