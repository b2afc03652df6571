"""Tiny configs for stabilizer tests."""

from __future__ import annotations

from gankit.config import apply_overrides
from gankit.presets import preset_config


def tiny(tmp_path, preset: str = "gan-ring8", **over):
    base = {"train.steps": 8, "train.batch_size": 16, "data.n_samples": 256, "model.g_width": 16,
            "model.d_width": 16, "model.z_dim": 4, "log.out_dir": str(tmp_path), "log.name": "run",
            "log.progress": False, "log.tensorboard": False, "log.sample_every": 0, "log.ckpt_every": 4,
            "train.threads": 1}
    if preset.endswith("fashion"):
        base.update({"data.limit": 64, "model.g_width": 8, "model.d_width": 8})
        base.pop("data.n_samples")
    base.update(over)
    return apply_overrides(preset_config(preset), base)


def params(trainer) -> dict:
    return {f"{n}.{k}": v.clone() for n, m in trainer.models.items() for k, v in m.state_dict().items()}
