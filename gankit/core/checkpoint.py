"""Checkpoints as safetensors (every tensor) + JSON (everything else); nothing is ever unpickled.

A checkpoint ``ckpt/step_00001000`` is two files: ``.safetensors`` holding model weights and buffers,
optimizer tensors and RNG states, and ``.json`` holding the step, the config, the optimizers'
hyper-parameters, the data-stream position and the SHA-256 of the tensor file. Both are written
to a temporary file and renamed, the JSON last, so a checkpoint with a JSON file is complete.
A failed write leaves no temporary file; what killed runs leave behind, `clean_leftovers` removes, and
`describe_resume` says which newer incomplete checkpoints a resume skips.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from gankit.errors import CheckpointError, ConfigError
from gankit.fileutil import file_sha256

FORMAT = "gankit-checkpoint-v1"
_STEP = re.compile(r"^step_(\d+)\.(json|safetensors)$")
_TMP = re.compile(r"^\..+\.tmp\d+$")  # .NAME.tmpPID, what an interrupted atomic write leaves
_META_KEYS = ("tensors", "sha256", "step", "stream", "config")


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _discard(*paths: Path) -> None:
    """Remove temporary files if they are there, hiding any error (the write's own error is the one to report)."""
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `path` through a temporary file and a rename; the temporary file never outlives a failure."""
    tmp = _tmp_path(path)
    try:
        _write_synced(tmp, data)
        os.replace(tmp, path)
    finally:
        _discard(tmp)


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, _json_bytes(obj))


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
    """Write step_<step>.{safetensors,json} atomically; keep only the newest `keep` checkpoints.

    Both files are written to temporary files first and renamed, the JSON last; a failed write (a full disk,
    a read-only folder) removes the temporary files, leaves the previous checkpoints as they were and raises
    CheckpointError."""
    stem = f"step_{step:08d}"
    st_path, json_path = ckpt_dir / f"{stem}.safetensors", ckpt_dir / f"{stem}.json"
    temps = (_tmp_path(st_path), _tmp_path(json_path))
    try:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        data = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
        meta = {**meta, "format": FORMAT, "step": step, "tensors": st_path.name,
                "sha256": hashlib.sha256(data).hexdigest()}
        _write_synced(temps[0], data)
        _write_synced(temps[1], _json_bytes(meta))
        os.replace(temps[0], st_path)
        os.replace(temps[1], json_path)
    except OSError as e:
        raise CheckpointError(_write_failure(ckpt_dir, step, e)) from None
    finally:
        _discard(*temps)
    for old in list_checkpoints(ckpt_dir)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
        old.with_suffix(".safetensors").unlink(missing_ok=True)
    return json_path


def _write_failure(ckpt_dir: Path, step: int, e: OSError) -> str:
    kept = "; the previous checkpoint is kept" if list_checkpoints(ckpt_dir) else ""
    if e.errno == errno.ENOSPC:
        return f"{ckpt_dir}: no space left on device while writing checkpoint step {step}{kept}"
    return f"{ckpt_dir}: cannot write checkpoint step {step} ({e.strerror or e}){kept}"


def _by_step(ckpt_dir: Path, suffix: str) -> dict[int, Path]:
    """step -> step_*.<suffix> files of a folder."""
    if not ckpt_dir.is_dir():
        return {}
    return {int(m.group(1)): p for p in ckpt_dir.iterdir() if (m := _STEP.match(p.name)) and m.group(2) == suffix}


def list_checkpoints(ckpt_dir: Path) -> list[Path]:
    """JSON files of complete checkpoints, oldest first."""
    return [p for _, p in sorted(_by_step(ckpt_dir, "json").items())]


def _incomplete(ckpt_dir: Path) -> list[int]:
    """Steps whose tensor file has no metadata file (a killed write, or a deleted JSON)."""
    return sorted(set(_by_step(ckpt_dir, "safetensors")) - set(_by_step(ckpt_dir, "json")))


def _incomplete_text(steps: list[int]) -> str:
    if len(steps) == 1:
        return f"step {steps[0]} has no metadata file (incomplete checkpoint)"
    return f"steps {', '.join(map(str, steps))} have no metadata file (incomplete checkpoints)"


def _ckpt_folder(path: Path) -> Path:
    """The folder that holds a run's checkpoints: run/ckpt, or the folder itself."""
    for d in (path / "ckpt", path):
        if list_checkpoints(d):
            return d
    return path / "ckpt" if (path / "ckpt").is_dir() else path


def find_checkpoint(path: Path) -> Path:
    """Resolve a run directory, a ckpt directory or a checkpoint file to the newest checkpoint's JSON."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such run directory or checkpoint")
    if path.is_file():
        return path.with_suffix(".json")
    folder = _ckpt_folder(path)
    found = list_checkpoints(folder)
    if found:
        return found[-1]
    skipped = _incomplete(folder)
    note = f"; {_incomplete_text(skipped)}" if skipped else ""
    raise CheckpointError(f"{path}: no checkpoint found (expected ckpt/step_*.json and .safetensors){note}")


def describe_resume(path: Path) -> str | None:
    """A one-line notice when resuming `path` skips newer incomplete checkpoints (tensors without metadata),
    e.g. "resuming from step 500: step 1000 has no metadata file (incomplete checkpoint)"; None otherwise."""
    chosen = find_checkpoint(path)
    if Path(path).is_file():
        return None
    step = int(_STEP.match(chosen.name).group(1))
    newer = [s for s in _incomplete(chosen.parent) if s > step]
    return f"resuming from step {step}: {_incomplete_text(newer)}" if newer else None


def clean_leftovers(ckpt_dir: Path) -> list[Path]:
    """Remove what killed runs leave in `ckpt_dir`: tensor files without their JSON (incomplete checkpoints)
    and the temporary files of atomic writes (.NAME.tmpPID). Complete checkpoints and other files stay.
    Returns the removed files."""
    ckpt_dir = Path(ckpt_dir)
    tensors = _by_step(ckpt_dir, "safetensors")
    removed = [tensors[s] for s in _incomplete(ckpt_dir)]
    if ckpt_dir.is_dir():
        removed += sorted(p for p in ckpt_dir.iterdir() if _TMP.match(p.name) and p.is_file())
    for p in removed:
        p.unlink(missing_ok=True)
    return removed


def _meta_problem(meta: dict) -> str | None:
    """What is wrong with the fields of a checkpoint's metadata that loading relies on, or None."""
    missing = [k for k in _META_KEYS if k not in meta]
    if missing:
        return f"lacks {', '.join(missing)}"
    name, step, stream = meta["tensors"], meta["step"], meta["stream"]
    if not isinstance(name, str) or not name or ".." in name or any(c in name for c in "/\\"):
        return f"tensors {name!r} is not a plain file name in the checkpoint's folder"
    if type(step) is not int or step < 0:
        return f"step {step!r} is not a non-negative integer"
    if not (isinstance(stream, dict) and sorted(stream) == ["epoch", "pos"]
            and all(type(v) is int for v in stream.values())):
        return f"stream {stream!r} is not {{'epoch': int, 'pos': int}}"
    if not isinstance(meta["sha256"], str):
        return f"sha256 {meta['sha256']!r} is not a string"
    return None


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Load and verify a checkpoint; any damage raises CheckpointError naming the file."""
    meta_path = find_checkpoint(path)
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{meta_path}: unreadable checkpoint metadata ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{meta_path}: not a gankit checkpoint (format {meta.get('format') if isinstance(meta, dict) else None!r})")
    if problem := _meta_problem(meta):
        raise CheckpointError(f"{meta_path}: bad checkpoint metadata: {problem}")
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


def load_module_from(option: str, source: str | Path, module: torch.nn.Module, prefix: str = "model.G") -> None:
    """Another run's weights (a run directory, ckpt folder or checkpoint file: its newest checkpoint) of `prefix`
    into `module`, for a config option such as model.init_from; any problem is one ConfigError naming the option."""
    try:
        tensors, _ = load_checkpoint(Path(source).expanduser())
        load_module(prefix, module, tensors, f"{option} {source}")
    except CheckpointError as e:
        raise ConfigError(f"{option}: {e}") from None


def load_module(prefix: str, module: torch.nn.Module, tensors: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    head = prefix + "."
    sd = {k[len(head):]: v for k, v in tensors.items() if k.startswith(head)}
    try:
        module.load_state_dict(sd)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "mismatch"
        raise CheckpointError(f"{source}: weights of '{prefix}' do not fit the network ({first})") from None
