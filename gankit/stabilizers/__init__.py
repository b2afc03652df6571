"""Stabilizers and mode-collapse remedies as composable options of the `stab` config section.

`build_stab_models(cfg, shape)` builds the networks with the model-side options (spectral norm,
minibatch layers, PacGAN, G noise/dropout, MAD-GAN, MRGAN's E and D2, G_ema); `setup_trainer`
adds their optimizers and the EMA hook. The step-side options (label smoothing/ranges/flipping,
instance noise, R1, unrolling, MRGAN terms) are applied in `gankit.train.steps`. TTUR and Adam-for-G
with SGD-for-D are plain `train` options (g_lr/d_lr, g_opt/d_opt).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

from gankit.errors import ConfigError
from gankit.nets import build_models
from gankit.stabilizers.ema import EMAHook, ema_update, make_ema
from gankit.stabilizers.labels import TARGET_LOSSES, label_spec
from gankit.stabilizers.madgan import MultiGenerator, add_class_head, madgan_step
from gankit.stabilizers.minibatch import add_minibatch_layers
from gankit.stabilizers.mixture import MixtureLatent
from gankit.stabilizers.mrgan import build_encoder
from gankit.stabilizers.noise import add_g_noise
from gankit.stabilizers.norm import apply_spectral_norm
from gankit.stabilizers.pack import Packed, packed_shape
from gankit.stabilizers.schedule import LRDecayHook

_NON_NEGATIVE = ("instance_noise", "instance_noise_anneal_steps", "g_noise", "r1_gamma", "ema_start", "minibatch_disc",
                 "unrolled_k", "madgan_k", "mrgan_recon", "mrgan_mode", "latent_components")


def mrgan_on(s) -> bool:
    return s.mrgan_recon > 0 or s.mrgan_mode > 0


def _check_range(name: str, rng: Any) -> None:
    if rng is not None and (len(rng) != 2 or rng[0] > rng[1]):
        raise ConfigError(f"stab.{name} must be two numbers lo,hi with lo <= hi, got {rng!r}")


def _check_ranges(s) -> None:
    for key in _NON_NEGATIVE:
        if getattr(s, key) < 0:
            raise ConfigError(f"stab.{key} must be >= 0, got {getattr(s, key)!r}")
    _check_range("real_label_range", s.real_label_range)
    _check_range("fake_label_range", s.fake_label_range)
    bounded = {"flip_prob": (0.0, 1.0), "g_dropout": (0.0, 1.0), "ema": (0.0, 1.0)}
    for key, (lo, hi) in bounded.items():
        if not lo <= getattr(s, key) < hi:
            raise ConfigError(f"stab.{key} must be in [{lo}, {hi}), got {getattr(s, key)!r}")
    if not s.label_smooth > 0:
        raise ConfigError(f"stab.label_smooth must be > 0 (1 = off), got {s.label_smooth!r}")
    if s.pack < 1 or s.minibatch_disc_dim < 1:
        raise ConfigError(f"stab.pack and stab.minibatch_disc_dim must be >= 1, got {s.pack}, {s.minibatch_disc_dim}")
    if s.unrolled_opt not in ("sgd", "adam"):
        raise ConfigError(f"stab.unrolled_opt={s.unrolled_opt!r} is not valid; choose one of: sgd, adam")
    if s.unrolled_lr is not None and not s.unrolled_lr > 0:
        raise ConfigError(f"stab.unrolled_lr must be > 0 (or none = train.d_lr), got {s.unrolled_lr!r}")
    if s.lr_decay not in ("none", "linear", "cosine"):
        raise ConfigError(f"stab.lr_decay={s.lr_decay!r} is not valid; choose one of: none, linear, cosine")
    if not 0.0 <= s.lr_decay_floor <= 1.0:
        raise ConfigError(f"stab.lr_decay_floor must be in [0, 1], got {s.lr_decay_floor!r}")
    if s.madgan_k == 1:
        raise ConfigError("stab.madgan_k must be 0 (off) or >= 2 generators")
    if s.latent_components == 1:
        raise ConfigError("stab.latent_components must be 0 (off) or >= 2 components")


def _check_combinations(cfg) -> None:
    s, loss = cfg.stab, cfg.train.loss
    if label_spec(s).active and loss not in TARGET_LOSSES:
        raise ConfigError(f"label smoothing/ranges/flipping (stab.label_smooth, stab.*_label_range, stab.flip_prob) "
                          f"need a loss with targets ({', '.join(TARGET_LOSSES)}), not train.loss={loss}")
    if cfg.train.batch_size % s.pack:
        raise ConfigError(f"train.batch_size={cfg.train.batch_size} must be divisible by stab.pack={s.pack}")
    if s.madgan_k:
        clash = [k for k, on in {"pack": s.pack > 1, "unrolled_k": s.unrolled_k > 0, "mrgan_*": mrgan_on(s),
                                 "label options": label_spec(s).active, "r1_gamma": s.r1_gamma > 0,
                                 "instance_noise": s.instance_noise > 0}.items() if on]
        if clash:
            raise ConfigError(f"stab.madgan_k uses its own (k+1)-class step; it cannot be combined with stab.{', stab.'.join(clash)}")
        if loss not in ("minimax", "nonsat"):
            raise ConfigError(f"stab.madgan_k uses a cross-entropy loss; set train.loss=nonsat (got {loss})")


_UNCONDITIONAL_ONLY = {"pack": lambda s: s.pack > 1, "minibatch_disc": lambda s: s.minibatch_disc > 0,
                       "mbstd": lambda s: s.mbstd, "g_noise/g_dropout": lambda s: s.g_noise > 0 or s.g_dropout > 0,
                       "madgan_k": lambda s: s.madgan_k > 0, "mrgan_*": mrgan_on, "unrolled_k": lambda s: s.unrolled_k > 0,
                       "label options": lambda s: label_spec(s).active, "instance_noise": lambda s: s.instance_noise > 0,
                       "r1_gamma": lambda s: s.r1_gamma > 0, "latent_components": lambda s: s.latent_components > 0}


def validate_stab(cfg) -> None:
    """ConfigError for out-of-range stab values and incompatible combinations."""
    _check_ranges(cfg.stab)
    _check_combinations(cfg)
    if getattr(cfg.model, "cond", "none") != "none":
        used = [k for k, on in _UNCONDITIONAL_ONLY.items() if on(cfg.stab)]
        if used:
            raise ConfigError(f"stab.{', stab.'.join(used)} work with unconditional models only (model.cond=none); "
                              "spectral norm and EMA work with both")


def stabilize_generator(G: nn.Module, s) -> nn.Module:
    """Generator-side options on one G: noise/dropout layers, spectral norm."""
    if s.g_noise > 0 or s.g_dropout > 0:
        add_g_noise(G, s.g_noise, s.g_dropout, s.g_noise_at_sampling)
    return apply_spectral_norm(G) if s.spectral_norm_g else G


def stabilize_discriminator(D: nn.Module, s) -> nn.Module:
    """Discriminator-side options on a D built for the packed shape: minibatch layers, MAD-GAN head,
    spectral norm, PacGAN wrapper."""
    add_minibatch_layers(D, s.minibatch_disc, s.minibatch_disc_dim, s.mbstd)
    if s.madgan_k:
        add_class_head(D, s.madgan_k + 1)
    if s.spectral_norm_d:
        apply_spectral_norm(D)
    return Packed(D, s.pack) if s.pack > 1 else D


def _g_model_cfg(cfg):
    """The model section G is built from: with a discrete latent code G takes k + z_dim - 1 inputs."""
    k = cfg.stab.latent_components
    return dataclasses.replace(cfg.model, z_dim=cfg.model.z_dim - 1 + k) if k else cfg.model


def _one_generator(G: nn.Module, cfg) -> nn.Module:
    G = stabilize_generator(G, cfg.stab)
    k = cfg.stab.latent_components
    return MixtureLatent(G, k, cfg.model.z_dim) if k else G


def _generators(cfg, shape: tuple[int, ...], first: nn.Module) -> nn.Module:
    s = cfg.stab
    if not s.madgan_k:
        return _one_generator(first, cfg)
    pool = [first]

    def make() -> nn.Module:
        return _one_generator(pool.pop() if pool else build_models(_g_model_cfg(cfg), shape)[0], cfg)

    return MultiGenerator(make, s.madgan_k)


def build_generator(cfg, shape: tuple[int, ...], num_classes: int | None = None) -> nn.Module:
    """G as a run with this config trains it (for loading checkpoints)."""
    return _generators(cfg, shape, build_models(_g_model_cfg(cfg), shape, num_classes)[0])


def build_discriminator(cfg, shape: tuple[int, ...]) -> nn.Module:
    """D as a run with this config trains it."""
    return stabilize_discriminator(build_models(cfg.model, packed_shape(shape, cfg.stab.pack))[1], cfg.stab)


def build_stab_models(cfg, shape: tuple[int, ...], num_classes: int | None = None) -> dict[str, nn.Module]:
    """{"G", "D"} plus "E", "D2" (MRGAN) and "G_ema" (EMA) as the config asks.

    With every option off this is exactly `build_models` (the same random draws)."""
    s = cfg.stab
    G, D = build_models(cfg.model, shape, num_classes)
    if s.latent_components:
        G = build_models(_g_model_cfg(cfg), shape, num_classes)[0]
    if s.pack > 1:
        D = build_models(cfg.model, packed_shape(shape, s.pack))[1]
    models = {"G": _generators(cfg, shape, G), "D": stabilize_discriminator(D, s)}
    if mrgan_on(s):
        models["E"] = build_encoder(build_models(cfg.model, shape)[1], cfg.model.z_dim)
        models["D2"] = build_discriminator(cfg, shape)
    if s.ema > 0:
        models["G_ema"] = make_ema(models["G"])
    return models


def setup_trainer(trainer) -> None:
    """Optimizers for E (G's settings) and D2 (D's settings), the EMA and lr-decay hooks and MAD-GAN's step."""
    from gankit.train.trainer import make_optimizer

    t, s = trainer.cfg.train, trainer.cfg.stab
    if "E" in trainer.models:
        trainer.optims["E"] = make_optimizer(t.g_opt, trainer.models["E"].parameters(), t.g_lr, t)
    if "D2" in trainer.models:
        trainer.optims["D2"] = make_optimizer(t.d_opt, trainer.models["D2"].parameters(), t.d_lr, t)
    if "G_ema" in trainer.models:
        trainer.register(EMAHook(s.ema, s.ema_start))
    if s.lr_decay != "none":
        trainer.register(LRDecayHook(s.lr_decay, s.lr_decay_floor))
    if s.madgan_k:
        trainer.step_fn = madgan_step


__all__ = ["EMAHook", "MixtureLatent", "MultiGenerator", "Packed", "apply_spectral_norm", "build_discriminator", "build_generator",
           "build_stab_models", "ema_update", "setup_trainer", "stabilize_discriminator", "stabilize_generator",
           "validate_stab"]
