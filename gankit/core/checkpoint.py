"""Checkpoints as safetensors (every tensor) + JSON (everything else); nothing is ever unpickled.

A checkpoint ``ckpt/step_00001000`` is two files: ``.safetensors`` holding model weights and buffers,
optimizer tensors and RNG states, and ``.json`` holding the step, the config, the optimizers'
hyper-parameters, the data-stream position and the SHA-256 of the tensor file. Both are written
to a temporary file and renamed, the JSON last, so a checkpoint with a JSON file is complete.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from gankit.errors import CheckpointError
from gankit.fileutil import file_sha256

FORMAT = "gankit-checkpoint-v1"
_NAME = re.compile(r"^step_(\d+)\.json$")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def flatten_optimizer(prefix: str, state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimizer state_dict into tensors (for safetensors) and a JSON-able remainder."""
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, dict[str, Any]] = {}
    for idx, pstate in state["state"].items():
        meta[str(idx)] = {}
        for name, val in pstate.items():
            if torch.is_tensor(val):
                tensors[f"{prefix}.state.{idx}.{name}"] = val.detach().cpu().contiguous()
            else:
                meta[str(idx)][name] = val
    return tensors, {"param_groups": state["param_groups"], "scalars": meta}


def unflatten_optimizer(prefix: str, tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in meta["scalars"].items()}
    head = prefix + ".state."
    for key, val in tensors.items():
        if key.startswith(head):
            idx, name = key[len(head):].split(".", 1)
            state.setdefault(int(idx), {})[name] = val
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(ckpt_dir: Path, step: int, tensors: dict[str, torch.Tensor], meta: dict, keep: int = 3) -> Path:
    """Write step_<step>.{safetensors,json} atomically; keep only the newest `keep` checkpoints."""
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    stem = f"step_{step:08d}"
    st_path = ckpt_dir / f"{stem}.safetensors"
    tmp = ckpt_dir / f".{stem}.safetensors.tmp{os.getpid()}"
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))
    os.replace(tmp, st_path)
    meta = {**meta, "format": FORMAT, "step": step, "tensors": st_path.name, "sha256": file_sha256(st_path)}
    atomic_write_json(ckpt_dir / f"{stem}.json", meta)
    for old in list_checkpoints(ckpt_dir)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
        old.with_suffix(".safetensors").unlink(missing_ok=True)
    return ckpt_dir / f"{stem}.json"


def list_checkpoints(ckpt_dir: Path) -> list[Path]:
    """JSON files of complete checkpoints, oldest first."""
    if not ckpt_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in ckpt_dir.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def find_checkpoint(path: Path) -> Path:
    """Resolve a run directory, a ckpt directory or a checkpoint file to the newest checkpoint's JSON."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such run directory or checkpoint")
    if path.is_file():
        return path.with_suffix(".json")
    for d in (path / "ckpt", path):
        found = list_checkpoints(d)
        if found:
            return found[-1]
    raise CheckpointError(f"{path}: no checkpoint found (expected ckpt/step_*.json and .safetensors)")


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Load and verify a checkpoint; any damage raises CheckpointError naming the file."""
    meta_path = find_checkpoint(path)
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{meta_path}: unreadable checkpoint metadata ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{meta_path}: not a gankit checkpoint (format {meta.get('format') if isinstance(meta, dict) else None!r})")
    st_path = meta_path.with_name(meta["tensors"])
    if not st_path.is_file():
        raise CheckpointError(f"{st_path}: checkpoint tensor file is missing")
    if file_sha256(st_path) != meta["sha256"]:
        raise CheckpointError(f"{st_path}: checksum mismatch, the file is truncated or corrupt")
    try:
        tensors = load_file(str(st_path))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{st_path}: corrupt safetensors file ({e})") from None
    return tensors, meta


def module_tensors(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


def load_module(prefix: str, module: torch.nn.Module, tensors: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    head = prefix + "."
    sd = {k[len(head):]: v for k, v in tensors.items() if k.startswith(head)}
    try:
        module.load_state_dict(sd)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "mismatch"
        raise CheckpointError(f"{source}: weights of '{prefix}' do not fit the network ({first})") from None
