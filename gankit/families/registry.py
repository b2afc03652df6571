"""The model families by name, and config functions that know every family's model section.

    cfg = new_config("gan")                      # defaults
    cfg = apply_overrides(cfg, {"model.z_dim": 64, "train.g_lr": 1e-4})
    cfg = from_dict(json.loads(text))            # a run's config.json (old ones have no model.family)

Adding a family: a module in gankit/families/ with a `FAMILY` record, and one line in FAMILIES.
"""

from __future__ import annotations

from typing import Any

from gankit import config as C
from gankit.core.family import Family
from gankit.errors import ConfigError
from gankit.families import completion, cyclegan, gan, pix2pix, pixelcnn, segan, seqgan, srgan, stargan, vae, vaegan
from gankit.families import text2image
from gankit.stabilizers import validate_stab

FAMILIES: dict[str, Family] = {f.name: f for f in (gan.FAMILY, pix2pix.FAMILY, cyclegan.FAMILY, stargan.FAMILY)}
FAMILIES.update({f.name: f for f in (srgan.FAMILY, completion.FAMILY)})  # restoration
FAMILIES.update({f.name: f for f in (vae.FAMILY, pixelcnn.FAMILY, vaegan.FAMILY)})  # likelihood models
FAMILIES[seqgan.NAME] = seqgan.FAMILY  # token sequences
FAMILIES[text2image.NAME] = text2image.FAMILY  # text -> image
FAMILIES[segan.NAME] = segan.FAMILY  # speech waveforms
MODEL_SECTIONS = {name: f.config for name, f in FAMILIES.items()}
DEFAULT_FAMILY = gan.NAME


def family_of(cfg: C.Config) -> Family:
    name = cfg.model.family
    if name not in FAMILIES:
        raise ConfigError(f"unknown model.family {name!r}; valid families: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def validate(cfg: C.Config) -> C.Config:
    """Shared sections, the stab section's ranges, then the family's own checks."""
    C.validate(cfg)
    validate_stab(cfg.stab)
    family_of(cfg).validate(cfg)
    return cfg


def new_config(family: str = DEFAULT_FAMILY, preset: str = "custom") -> C.Config:
    cfg = C.Config(preset=preset)
    C.set_family(cfg, family, MODEL_SECTIONS)
    return cfg


def apply_overrides(cfg: C.Config, overrides: dict[str, Any]) -> C.Config:
    return validate(C.apply_overrides(cfg, overrides, MODEL_SECTIONS))


def from_dict(data: dict[str, Any]) -> C.Config:
    return validate(C.from_dict(data, MODEL_SECTIONS, DEFAULT_FAMILY))
