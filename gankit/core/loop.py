"""The training loop: phases for the updates, hooks for everything else, exact resume.

The trainer owns the state a checkpoint must capture — modules, optimizers, the step counter, the
data stream position and every random generator — and nothing else. It knows no model roles: a
family's `Setup` names the modules, optimizers and phases. Logging, pictures, checkpoints,
schedules and evaluation are hooks.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import torch

from gankit.config import to_dict
from gankit.core import checkpoint as ck
from gankit.core.optim import base_lrs, set_lrs
from gankit.core.phases import Phase, Setup, StepContext
from gankit.errors import CheckpointError, ConfigError


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


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name} but no CUDA device is available; use --train.device=cpu")
    return dev


class HookBase:
    """Override any of these; `self.trainer` is set before `before_train`. A hook whose state must survive a
    resume (e.g. a half-filled logging window) returns it from `state` (JSON-able) and takes it in `load_state`."""

    trainer: "Trainer"

    def before_train(self) -> None: ...

    def after_step(self) -> None: ...

    def after_train(self) -> None: ...

    def state(self) -> dict | None:
        return None

    def load_state(self, state: dict) -> None: ...


class Trainer:
    """Runs a family's phases over a dict-batch data set; `cfg` is the run's config (saved in checkpoints)."""

    def __init__(self, cfg, run_dir: Path, dataset, setup: Setup, device: torch.device):
        self.cfg, self.run_dir, self.dataset, self.device = cfg, Path(run_dir), dataset, device
        self.spec = dataset.spec
        self.setup = setup
        self.models = {k: m.to(device) for k, m in setup.models.items()}
        self.optims = setup.optims
        self.base_lrs = base_lrs(self.optims)  # as configured, for schedules
        self.phases: list[Phase] = list(setup.phases)
        self.step = 0
        self.stream = BatchStream(len(dataset), cfg.train.batch_size, cfg.train.seed)
        self.noise = torch.Generator(device=device).manual_seed(cfg.train.seed + 1)
        self.hooks: list[HookBase] = []
        self.scalars: dict[str, float] = {}
        self.samples_seen = 0  # data samples drawn so far in this process (throughput)
        self.stop_signal: int | None = None
        self.status = "running"
        self._saving = False  # a checkpoint is being written: a second signal waits for it
        self._hook_states: dict[str, dict] = {}  # from a checkpoint, for hooks registered later
        self._fields = dataset.fields  # kept on the CPU; batches move to the device
        self.register(*setup.hooks)

    # ---- data ------------------------------------------------------------------------------
    def next_batch(self) -> dict[str, torch.Tensor]:
        idx = self.stream.next()
        self.samples_seen += len(idx)
        return {k: v[idx].to(self.device, non_blocking=True) for k, v in self._fields.items()}

    def real(self, n: int) -> torch.Tensor:
        """The first n samples of the data set's main field (for pictures and evaluation)."""
        return self._fields[self.spec.main][:n]

    def first(self, n: int) -> dict[str, torch.Tensor]:
        """The first n samples of every field (on the CPU)."""
        return {k: v[:n] for k, v in self._fields.items()}

    # ---- the loop ----------------------------------------------------------------------------
    def register(self, *hooks: HookBase) -> None:
        for h in hooks:
            h.trainer = self
            self.hooks.append(h)
            if _hook_key(h) in self._hook_states:
                h.load_state(self._hook_states[_hook_key(h)])

    def run_step(self) -> dict[str, float]:
        """Every due phase, each `repeats` times: loss, zero_grad, backward, optimizer steps, `after`."""
        ctx = StepContext(self.models, self.optims, self.step, self.noise, self.device)
        out: dict = {}
        batch = None
        for phase in self.phases:
            if self.step % phase.interval:
                continue
            ctx.repeats = phase.repeats
            for i in range(phase.repeats):
                ctx.repeat = i
                if phase.new_batch or batch is None:
                    batch = self.next_batch()
                loss, scalars = phase.loss(batch, ctx)
                opts = [self.optims[name] for name in phase.optims]
                for opt in opts:
                    opt.zero_grad(set_to_none=True)
                loss.backward()
                for opt in opts:
                    opt.step()
                if phase.after is not None:
                    phase.after()
                out.update(scalars)
        return {k: float(v) for k, v in out.items()}

    def train(self) -> str:
        """Run until cfg.train.steps; returns 'finished', 'interrupted' or 'diverged'."""
        old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            for h in self.hooks:
                h.before_train()
            self.status = "running"
            while self.step < self.cfg.train.steps and self.status == "running":
                scalars = self.run_step()
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
        if self.stop_signal is not None and not self._saving:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.stop_signal = signum  # while a checkpoint is written, it is finished first

    # ---- checkpoints ---------------------------------------------------------------------------
    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        tensors: dict[str, torch.Tensor] = {}
        spec = self.spec
        meta: dict = {"config": to_dict(self.cfg), "stream": self.stream.state(), "optims": {}, "time": time.time(),
                      "spec": spec.to_dict(), "data_shape": list(spec.shape),
                      "class_names": list(spec.class_names) if spec.class_names else None, **self.setup.meta}
        for name, m in self.models.items():
            tensors.update(ck.module_tensors(f"model.{name}", m))
        for name, opt in self.optims.items():
            t, m = ck.flatten_optimizer(f"optim.{name}", opt.state_dict())
            tensors.update(t)
            meta["optims"][name] = m
        meta["hooks"] = {_hook_key(h): s for h in self.hooks if (s := h.state()) is not None}
        tensors["rng.torch"] = torch.get_rng_state()
        tensors["rng.z"] = self.noise.get_state()
        if self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        return tensors, meta

    def save_checkpoint(self) -> Path:
        tensors, meta = self.state()
        self._saving = True
        try:
            return ck.save_checkpoint(self.run_dir / "ckpt", self.step, tensors, meta, keep=self.cfg.log.keep_ckpts)
        finally:
            self._saving = False

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
        set_lrs(self.optims, self.base_lrs, 1.0)  # the configured lrs (a resume may change them); schedules follow
        self.step = int(meta["step"])
        self.stream.load_state(meta["stream"])
        torch.set_rng_state(tensors["rng.torch"])
        self.noise.set_state(tensors["rng.z"])
        if self.device.type == "cuda" and "rng.cuda" in tensors:
            torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)
        self._hook_states = dict(meta.get("hooks", {}))
        for h in self.hooks:
            if _hook_key(h) in self._hook_states:
                h.load_state(self._hook_states[_hook_key(h)])

    def resume(self, path: Path) -> None:
        tensors, meta = ck.load_checkpoint(path)
        self.load_state(tensors, meta, str(ck.find_checkpoint(path)))


def _hook_key(h: HookBase) -> str:
    return type(h).__name__


def _finite(v: float) -> bool:
    return v == v and v not in (float("inf"), float("-inf"))
