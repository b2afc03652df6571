"""Multi-process data-parallel training under torchrun: one process per device (gloo on CPUs, nccl on GPUs).

    torchrun --nproc_per_node=2 -m gankit train dcgan-fashion --train.batch_size=32

Every rank builds the same modules from the same seed (and rank 0's parameters are broadcast once, to be sure).
Each step rank r trains on its own slice of one global batch (a BatchStream over the whole data set with
batch_size x world size: the DistributedSampler of an in-memory data set, whose position stays two integers, so
resume stays exact), draws its own noise (generator seeded per rank), and after every backward the gradients of
the phase's optimizers are averaged over the ranks in one flat all_reduce per phase before the optimizers step.
That is DistributedDataParallel's arithmetic without its module wrapper: DDP's wrapper expects each forward
through a module to be followed by a backward through it, which GAN phases break (G runs forward in D's phase,
D in G's), while families here call their modules directly. Buffers (batch-norm running statistics) are
broadcast from rank 0 after every step, as DDP broadcasts them before every forward. Only rank 0 logs, draws
pictures, evaluates and writes files; a checkpoint holds every rank's noise state, and a stop signal on any rank
stops every rank at the same step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from gankit.errors import ConfigError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def multi(self) -> bool:
        return self.size > 1


def world_from_env(device_type: str) -> World:
    """This process's place among torchrun's (WORLD_SIZE, RANK, LOCAL_RANK); joins the process group once."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        return World()
    world = World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        if device_type == "cuda":
            torch.cuda.set_device(world.local_rank)
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    if device_type not in ("cpu", "cuda"):
        raise ConfigError(f"multi-process training runs on cpu or cuda devices, not {device_type}")
    return world


def rank_device(device: torch.device, world: World) -> torch.device:
    """cuda:LOCAL_RANK for every rank of a multi-GPU run; the device as given otherwise."""
    return torch.device("cuda", world.local_rank) if world.multi and device.type == "cuda" else device


def broadcast_modules(models: dict, world: World, buffers_only: bool = False) -> None:
    """Rank 0's parameters (unless buffers_only) and buffers on every rank."""
    if not world.multi:
        return
    for m in models.values():
        if isinstance(m, nn.Module):
            tensors = list(m.buffers()) if buffers_only else [*m.parameters(), *m.buffers()]
            for t in tensors:
                dist.broadcast(t.data, 0)


def average_gradients(optimizers: list[torch.optim.Optimizer], world: World) -> None:
    """Every gradient of the optimizers' parameters replaced by its mean over the ranks (one all_reduce)."""
    if not world.multi:
        return
    grads = [p.grad for opt in optimizers for g in opt.param_groups for p in g["params"] if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world.size
    offset = 0
    for g in grads:
        g.copy_(flat[offset: offset + g.numel()].view_as(g))
        offset += g.numel()


def any_ranks(flags: list[bool], world: World, device: torch.device) -> list[bool]:
    """Each flag True on every rank when it is True on at least one (one all_reduce; all ranks must call it)."""
    if not world.multi:
        return list(flags)
    t = torch.tensor([int(f) for f in flags], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]


def gather(t: torch.Tensor, world: World) -> list[torch.Tensor]:
    """Every rank's copy of a same-shaped tensor, in rank order (all ranks must call it)."""
    if not world.multi:
        return [t]
    out = [torch.empty_like(t) for _ in range(world.size)]
    dist.all_gather(out, t)
    return out


def broadcast_text(text: str, world: World, device: torch.device) -> str:
    """Rank 0's string (e.g. the run directory's timestamped name) on every rank."""
    if not world.multi:
        return text
    data = torch.tensor(list(text.encode()), dtype=torch.uint8, device=device)
    size = torch.tensor([len(data)], device=device)
    dist.broadcast(size, 0)
    if not world.main:
        data = torch.empty(int(size.item()), dtype=torch.uint8, device=device)
    dist.broadcast(data, 0)
    return bytes(data.tolist()).decode()


def barrier(world: World) -> None:
    if world.multi:
        dist.barrier()


def shutdown(world: World) -> None:
    """Leave the process group together: no rank exits while another still writes or communicates (a rank that
    left early could abort in gloo's teardown)."""
    if world.multi and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
