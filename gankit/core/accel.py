"""Speed options of a run, kept out of the loop: mixed precision (autocast; a GradScaler for fp16), channels_last,
torch.compile, and the data set kept on the device.

    prec = Precision("bf16", device)
    with prec.autocast():
        loss = phase.loss(batch, ctx)
    prec.backward(loss)
    prec.step(optimizers)        # unscales, skips a step whose gradients overflowed (fp16), updates the scale

bf16 needs no loss scaling (its exponent range is float32's); fp16 does. Gradient penalties (WGAN-GP, DRAGAN,
R1) take gradients inside the loss, before any scaling, so under fp16 they may underflow: prefer bf16 for them.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
DEVICE_DATA_FRACTION = 0.25  # "auto" keeps the data set on a GPU when it takes at most this share of free memory


class Precision:
    """Autocast and loss scaling for one run; `state` / `load_state` carry the fp16 scale across a resume."""

    def __init__(self, amp: str, device: torch.device):
        self.amp, self.device_type = amp, device.type
        self.dtype = _DTYPES.get(amp)
        self.scaler = torch.amp.GradScaler(device.type, enabled=amp == "fp16")

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        self.scaler.scale(loss).backward()

    def step(self, optimizers: list[torch.optim.Optimizer]) -> None:
        for opt in optimizers:
            self.scaler.step(opt)
        self.scaler.update()

    def state(self) -> dict:
        return self.scaler.state_dict() if self.scaler.is_enabled() else {}

    def load_state(self, state: dict) -> None:
        if self.scaler.is_enabled() and state:
            self.scaler.load_state_dict(state)


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """Image batches (4-D) in channels_last memory order; other tensors unchanged."""
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x


def step_modules(models: dict, compile_: bool, channels_last_: bool) -> dict:
    """The modules the phases call: the same objects (channels_last in place), or torch.compile'd views of them
    (checkpoints keep the originals, so their tensor names do not change)."""
    out = {}
    for name, m in models.items():
        if isinstance(m, nn.Module) and channels_last_:
            m.to(memory_format=torch.channels_last)
        trainable = isinstance(m, nn.Module) and any(True for _ in m.parameters())
        out[name] = torch.compile(m) if compile_ and trainable else m
    return out


def place_fields(fields: dict[str, torch.Tensor], device: torch.device, mode: str) -> dict[str, torch.Tensor]:
    """The data set's tensors on `device` ("yes"), on the CPU ("no"), or on a GPU when they fit ("auto")."""
    if device.type == "cpu" or mode == "no":
        return fields
    if mode == "auto":
        size = sum(v.numel() * v.element_size() for v in fields.values())
        free = torch.cuda.mem_get_info(device)[0] if device.type == "cuda" else 0
        if size > DEVICE_DATA_FRACTION * free:
            return fields
    return {k: v.to(device) for k, v in fields.items()}
