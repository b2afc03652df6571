"""The training loop: a step function per regime, hooks for everything else, exact resume.

The trainer owns the state that a checkpoint must capture — networks (``models``), optimizers
(``optims``), the step counter, the data stream position and every random generator — and
nothing else. Logging, sample grids, checkpoints and evaluation are hooks.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from gankit.config import Config, to_dict
from gankit.errors import CheckpointError, ConfigError
from gankit.losses import get_loss
from gankit.train import checkpoint as ck

StepFn = Callable[["Trainer"], dict[str, float]]


class BatchStream:
    """Endless shuffled mini-batch indices (drop-last epochs); its position is two integers."""

    def __init__(self, n: int, batch_size: int, seed: int):
        if n < batch_size:
            raise ConfigError(f"train.batch_size={batch_size} is larger than the data set ({n} samples)")
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.epoch, self.pos = 0, 0
        self._perm = self._permutation()

    def _permutation(self) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return torch.randperm(self.n, generator=g)

    def next(self) -> torch.Tensor:
        if self.pos + self.batch_size > self.n:
            self.epoch, self.pos = self.epoch + 1, 0
            self._perm = self._permutation()
        idx = self._perm[self.pos:self.pos + self.batch_size]
        self.pos += self.batch_size
        return idx

    def state(self) -> dict[str, int]:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state(self, state: dict[str, int]) -> None:
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])
        self._perm = self._permutation()


def make_optimizer(kind: str, params, lr: float, cfg) -> torch.optim.Optimizer:
    factories = {
        "adam": lambda: torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2)),
        "sgd": lambda: torch.optim.SGD(params, lr=lr, momentum=cfg.momentum),
        "rmsprop": lambda: torch.optim.RMSprop(params, lr=lr),
    }
    if kind not in factories:
        raise ConfigError(f"unknown optimizer '{kind}'; valid: {', '.join(factories)}")
    return factories[kind]()


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name} but no CUDA device is available; use --train.device=cpu")
    return dev


class HookBase:
    """Override any of these; `self.trainer` is set before `before_train`."""

    trainer: "Trainer"

    def before_train(self) -> None: ...

    def after_step(self) -> None: ...

    def after_train(self) -> None: ...


class Trainer:
    def __init__(self, cfg: Config, run_dir: Path, dataset, models: dict[str, nn.Module],
                 step_fn: StepFn, device: torch.device):
        self.cfg, self.run_dir, self.dataset, self.device = cfg, Path(run_dir), dataset, device
        self.models = {k: m.to(device) for k, m in models.items()}
        t = cfg.train
        self.optims: dict[str, torch.optim.Optimizer] = {
            "G": make_optimizer(t.g_opt, self.models["G"].parameters(), t.g_lr, t),
            "D": make_optimizer(t.d_opt, self.models["D"].parameters(), t.d_lr, t),
        }
        lparams = {"a": t.lsgan_a, "b": t.lsgan_b, "c": t.lsgan_c} if t.loss == "lsgan" else {}
        self.loss = get_loss(t.loss, **lparams)
        self.step_fn = step_fn
        self.step = 0
        self.stream = BatchStream(len(dataset), t.batch_size, t.seed)
        self.z_gen = torch.Generator(device=device).manual_seed(t.seed + 1)
        self.hooks: list[HookBase] = []
        self.scalars: dict[str, float] = {}
        self.stop_signal: int | None = None
        self.status = "running"
        self._x = dataset.x  # kept on the CPU; batches move to the device
        self._y = dataset.y

    # ---- what step functions use -------------------------------------------------------
    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        idx = self.stream.next()
        x = self._x[idx].to(self.device, non_blocking=True)
        y = self._y[idx].to(self.device) if self._y is not None else None
        return x, y

    def sample_z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.models["G"].z_dim, generator=self.z_gen, device=self.device)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, **kwargs) -> torch.Tensor:
        """Samples for viewing and evaluation: the EMA generator if there is one, in eval mode."""
        G = self.models.get("G_ema", self.models["G"])
        was_training = G.training
        G.eval()
        out = G(z.to(self.device), **kwargs)
        G.train(was_training)
        return out

    # ---- the loop ----------------------------------------------------------------------
    def register(self, *hooks: HookBase) -> None:
        for h in hooks:
            h.trainer = self
            self.hooks.append(h)

    def train(self) -> str:
        """Run until cfg.train.steps; returns 'finished', 'interrupted' or 'diverged'."""
        old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            for h in self.hooks:
                h.before_train()
            self.status = "running"
            while self.step < self.cfg.train.steps and self.status == "running":
                scalars = self.step_fn(self)
                self.step += 1
                self.scalars = scalars
                if not all(map(_finite, scalars.values())):
                    self.status = "diverged"
                for h in self.hooks:
                    h.after_step()
                if self.stop_signal is not None and self.status == "running":
                    self.status = "interrupted"
            if self.status == "running":
                self.status = "finished"
            for h in self.hooks:
                h.after_train()
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)
        return self.status

    def _on_signal(self, signum, frame) -> None:
        if self.stop_signal is not None:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.stop_signal = signum

    # ---- checkpoints --------------------------------------------------------------------
    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        tensors: dict[str, torch.Tensor] = {}
        meta: dict = {"config": to_dict(self.cfg), "stream": self.stream.state(), "optims": {}, "time": time.time(),
                      "data_shape": list(self.dataset.shape), "class_names": self.dataset.class_names,
                      "num_classes": getattr(self.models["G"], "num_classes", None)}
        for name, m in self.models.items():
            tensors.update(ck.module_tensors(f"model.{name}", m))
        for name, opt in self.optims.items():
            t, m = ck.flatten_optimizer(f"optim.{name}", opt.state_dict())
            tensors.update(t)
            meta["optims"][name] = m
        tensors["rng.torch"] = torch.get_rng_state()
        tensors["rng.z"] = self.z_gen.get_state()
        if self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        return tensors, meta

    def save_checkpoint(self) -> Path:
        tensors, meta = self.state()
        return ck.save_checkpoint(self.run_dir / "ckpt", self.step, tensors, meta, keep=self.cfg.log.keep_ckpts)

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict, source: str) -> None:
        for name, m in self.models.items():
            ck.load_module(f"model.{name}", m, tensors, source)
        for name, opt in self.optims.items():
            if name not in meta.get("optims", {}):
                raise CheckpointError(f"{source}: no state for optimizer '{name}'")
            try:
                opt.load_state_dict(ck.unflatten_optimizer(f"optim.{name}", tensors, meta["optims"][name]))
            except (ValueError, KeyError, RuntimeError) as e:
                raise CheckpointError(f"{source}: optimizer '{name}' state does not fit ({e})") from None
        self.step = int(meta["step"])
        self.stream.load_state(meta["stream"])
        torch.set_rng_state(tensors["rng.torch"])
        self.z_gen.set_state(tensors["rng.z"])
        if self.device.type == "cuda" and "rng.cuda" in tensors:
            torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)

    def resume(self, path: Path) -> None:
        tensors, meta = ck.load_checkpoint(path)
        self.load_state(tensors, meta, str(ck.find_checkpoint(path)))


def _finite(v: float) -> bool:
    return v == v and v not in (float("inf"), float("-inf"))
