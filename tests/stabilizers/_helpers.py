"""Tiny configs for stabilizer tests."""

from __future__ import annotations

from gankit.families.registry import apply_overrides
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


def gan_models(cfg, shape: tuple[int, ...], num_classes: int | None = None) -> dict:
    """The GAN family's modules for data of `shape` (as a run with `cfg` builds them)."""
    from gankit.core.spec import DataSpec
    from gankit.families.gan import build_models_for

    fields = {"x": tuple(shape), **({"y": ()} if num_classes else {})}
    spec = DataSpec("image" if len(shape) == 3 else "vector", fields, num_classes=num_classes)
    return build_models_for(cfg, spec)
