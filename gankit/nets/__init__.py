"""Generator / discriminator families and `build_models`, which picks one from the config.

Every generator has `z_dim` and maps z (N, z_dim) to (N, *data_shape); every discriminator maps
(N, *data_shape) to logits of shape (N,).
"""
from __future__ import annotations

from typing import Any, Callable

from torch import nn

from gankit.errors import ConfigError
from gankit.nets.conditional import build_conditional
from gankit.nets.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_plan, init_weights
from gankit.nets.mlp import MLPDiscriminator, MLPGenerator

D_NORM_CHOICES = ("batch", "layer", "none")

Models = tuple[nn.Module, nn.Module]


def _build_mlp(cfg: Any, shape: tuple[int, ...]) -> Models:
    """MLP pair: tanh output for image-shaped data (C, H, W), raw output for vectors."""
    out_act = "tanh" if len(shape) == 3 else "none"
    G = MLPGenerator(cfg.z_dim, shape, width=cfg.g_width, depth=cfg.depth, out_activation=out_act)
    D = MLPDiscriminator(shape, width=cfg.d_width, depth=cfg.depth, norm=cfg.d_norm)
    return G, D


def _build_dcgan(cfg: Any, shape: tuple[int, ...]) -> Models:
    """DCGAN pair; needs square image data (C, H, W) at a supported resolution."""
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ConfigError(
            f"arch 'dcgan' needs square image data (C, H, W) with H == W, got data shape {shape}; "
            "use arch 'mlp' for vector data"
        )
    channels, res, _ = shape
    dcgan_plan(res)  # ConfigError naming the supported resolutions
    G = DCGANGenerator(cfg.z_dim, res, channels, width=cfg.g_width)
    D = DCGANDiscriminator(res, channels, width=cfg.d_width, norm=cfg.d_norm)
    return G, D


BUILDERS: dict[str, Callable[[Any, tuple[int, ...]], Models]] = {
    "dcgan": _build_dcgan,
    "mlp": _build_mlp,
}


def _check_cfg(cfg: Any, shape: tuple[int, ...]) -> None:
    if cfg.arch not in BUILDERS:
        raise ConfigError(f"unknown arch {cfg.arch!r}; valid: {', '.join(BUILDERS)}")
    if cfg.d_norm not in D_NORM_CHOICES:
        raise ConfigError(f"unknown d_norm {cfg.d_norm!r}; valid: {', '.join(D_NORM_CHOICES)}")
    for key in ("z_dim", "g_width", "d_width"):
        value = getattr(cfg, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{key} must be a positive integer, got {value!r}")
    if isinstance(cfg.depth, bool) or not isinstance(cfg.depth, int) or cfg.depth < 0:
        raise ConfigError(f"depth must be an integer >= 0, got {cfg.depth!r}")
    if not shape or any(s < 1 for s in shape):
        raise ConfigError(f"data shape must be non-empty with positive sizes, got {shape}")


def build_models(cfg: Any, data_shape: tuple[int, ...], num_classes: int | None = None, pack: int = 1) -> Models:
    """(G, D) for `cfg.arch` with fields z_dim, g_width, d_width, depth, d_norm; ConfigError on bad values.

    With `cfg.cond` (cgan | projection | acgan, default none) the conditional pair for `num_classes`
    (`pack`: a CGAN D for PacGAN; unconditional D's are built for the packed shape instead)."""
    shape = tuple(int(s) for s in data_shape)
    _check_cfg(cfg, shape)
    if getattr(cfg, "cond", "none") != "none":
        return build_conditional(cfg, shape, num_classes, pack)
    return BUILDERS[cfg.arch](cfg, shape)


__all__ = [
    "BUILDERS",
    "D_NORM_CHOICES",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "build_models",
    "dcgan_plan",
    "init_weights",
]
