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
from gankit.core.accel import Precision, channels_last, place_fields, step_modules
from gankit.core.dist import World, any_ranks, average_gradients, broadcast_modules, gather
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

    def __init__(self, cfg, run_dir: Path, dataset, setup: Setup, device: torch.device, world: World = World()):
        self.cfg, self.run_dir, self.dataset, self.device, self.world = cfg, Path(run_dir), dataset, device, world
        self.spec = dataset.spec
        self.setup = setup
        self.models = {k: m.to(device) for k, m in setup.models.items()}
        self.optims = setup.optims
        self.base_lrs = base_lrs(self.optims)  # as configured, for schedules
        self.phases: list[Phase] = list(setup.phases)
        self.step = 0
        # one global batch a step (DistributedSampler-like), each rank its slice; the noise differs per rank
        self.stream = BatchStream(len(dataset), cfg.train.batch_size * world.size, cfg.train.seed)
        self.noise = torch.Generator(device=device).manual_seed(cfg.train.seed + 1 + 1_000_003 * world.rank)
        broadcast_modules(self.models, world)
        self.hooks: list[HookBase] = []
        self.scalars: dict[str, float] = {}
        self.samples_seen = 0  # data samples drawn so far in this process (throughput)
        self.stop_signal: int | None = None
        self._pending_signal: int | None = None  # multi-process: a signal this rank got, not yet agreed on
        self.status = "running"
        self._saving = False  # a checkpoint is being written: a second signal waits for it
        self._hook_states: dict[str, dict] = {}  # from a checkpoint, for hooks registered later
        t = cfg.train
        self.precision = Precision(t.amp, device)
        self.step_models = step_modules(self.models, t.compile, t.channels_last)  # what the phases call
        self._channels_last = t.channels_last
        self._cpu_fields = dataset.fields
        self._fields = place_fields(dataset.fields, device, t.data_on_device)  # batches are cut where it lives
        self.register(*setup.hooks)

    # ---- data ------------------------------------------------------------------------------
    def next_batch(self) -> dict[str, torch.Tensor]:
        idx = self.stream.next()
        if self.world.multi:
            bs = self.cfg.train.batch_size
            idx = idx[self.world.rank * bs:(self.world.rank + 1) * bs]
        self.samples_seen += len(idx)
        batch = {k: v[idx.to(v.device)].to(self.device, non_blocking=True) for k, v in self._fields.items()}
        return {k: channels_last(v) for k, v in batch.items()} if self._channels_last else batch

    def real(self, n: int) -> torch.Tensor:
        """The first n samples of the data set's main field (for pictures and evaluation)."""
        return self._cpu_fields[self.spec.main][:n]

    def first(self, n: int) -> dict[str, torch.Tensor]:
        """The first n samples of every field (on the CPU)."""
        return {k: v[:n] for k, v in self._cpu_fields.items()}

    # ---- the loop ----------------------------------------------------------------------------
    def register(self, *hooks: HookBase) -> None:
        for h in hooks:
            h.trainer = self
            self.hooks.append(h)
            if _hook_key(h) in self._hook_states:
                h.load_state(self._hook_states[_hook_key(h)])

    def run_step(self) -> dict[str, float]:
        """Every due phase, each `repeats` times: loss, zero_grad, backward, optimizer steps, `after`."""
        ctx = StepContext(self.step_models, self.optims, self.step, self.noise, self.device)
        out: dict = {}
        batch = None
        for phase in self.phases:
            if self.step % phase.interval or (phase.active is not None and not phase.active(self.step)):
                continue
            ctx.repeats = phase.repeats
            for i in range(phase.repeats):
                ctx.repeat = i
                if phase.new_batch or batch is None:
                    batch = self.next_batch()
                with self.precision.autocast():
                    loss, scalars = phase.loss(batch, ctx)
                opts = [self.optims[name] for name in phase.optims]
                for opt in opts:
                    opt.zero_grad(set_to_none=True)
                self.precision.backward(loss)
                average_gradients(opts, self.world)
                self.precision.step(opts)
                if phase.after is not None:
                    phase.after()
                out.update(scalars)
        broadcast_modules(self.models, self.world, buffers_only=True)
        return self._read(out)

    def _read(self, scalars: dict) -> dict[str, float]:
        """The step's logged scalars as floats, read from the device in one transfer (one host sync a step)."""
        tensors = {k: v for k, v in scalars.items() if torch.is_tensor(v)}
        out = {k: float(v) for k, v in scalars.items() if k not in tensors}
        if tensors:
            dtype = torch.float32 if self.device.type == "mps" else torch.float64  # exact for float32 values
            values = torch.stack([v.detach().to(self.device, dtype).reshape(()) for v in tensors.values()])
            out.update(zip(tensors, values.tolist()))
        return {k: out[k] for k in scalars}

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
                bad = not all(map(_finite, scalars.values()))
                bad, stop = any_ranks([bad, self._pending_signal is not None], self.world, self.device)
                if bad:
                    self.status = "diverged"
                if stop and self.stop_signal is None:  # every rank stops after the same step
                    self.stop_signal = self._pending_signal or signal.SIGTERM
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
        if (self.stop_signal is not None or self._pending_signal is not None) and not self._saving:
            raise KeyboardInterrupt  # a second Ctrl-C stops at once
        if self.world.multi:  # the ranks agree after the step, so that all stop at the same one
            self._pending_signal = signum
        else:
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
        if precision := self.precision.state():
            meta["precision"] = precision  # the fp16 loss scale and its growth counter
        rngs = {"rng.torch": torch.get_rng_state(), "rng.z": self.noise.get_state()}
        if self.device.type == "cuda":
            rngs["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        on = self.device if self.world.multi and self.device.type == "cuda" else torch.device("cpu")  # nccl: GPU
        for key, value in rngs.items():  # every rank's generators (a collective when there are several)
            for rank, v in enumerate(gather(value.to(on), self.world)):
                tensors[key if rank == 0 else f"{key}.rank{rank}"] = v.cpu()
        if self.world.multi:
            meta["world_size"] = self.world.size
        return tensors, meta

    def save_checkpoint(self) -> Path:
        tensors, meta = self.state()
        if not self.world.main:  # rank 0 writes; the others took part in gathering the state
            return Path(f"step_{self.step:08d}")
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
        saved_world = int(meta.get("world_size", 1))
        if saved_world != self.world.size:
            raise CheckpointError(f"{source}: written by a run of {saved_world} process(es); resume it with "
                                  f"{saved_world} (this run has {self.world.size})")
        suffix = f".rank{self.world.rank}" if self.world.rank else ""
        torch.set_rng_state(tensors["rng.torch" + suffix])
        self.noise.set_state(tensors["rng.z" + suffix])
        if self.device.type == "cuda" and "rng.cuda" + suffix in tensors:
            torch.cuda.set_rng_state(tensors["rng.cuda" + suffix], self.device)
        self.precision.load_state(meta.get("precision", {}))
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
