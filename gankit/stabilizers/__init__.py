"""Stabilizers and mode-collapse remedies: options of the `stab` config section, as parts that compose
with any adversarial family.

- transforms of D's inputs and D's objective with soft targets, regularizers: `compose.py`;
- model wrappers: spectral norm (`norm.py`), minibatch layers (`minibatch.py`), G noise/dropout (`noise.py`),
  PacGAN (`pack.py`), EMA (`ema.py`), a discrete latent code (`mixture.py`);
- remedies with networks and updates of their own (unrolled D, MAD-GAN, MRGAN) are parts the GAN family
  uses (`unrolled.py`, `madgan.py`, `mrgan.py`).
TTUR and Adam-for-G with SGD-for-D are plain `train` options (g_lr/d_lr, g_opt/d_opt); lr decay is a core hook.
`validate_stab` checks the section's own ranges; families check the combinations they support.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from gankit.config import StabConfig, check_choices, check_finite
from gankit.errors import ConfigError

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
    check_choices("stab", s, {"unrolled_opt": ("sgd", "adam"), "lr_decay": ("none", "linear", "cosine")})
    if s.unrolled_lr is not None and not s.unrolled_lr > 0:
        raise ConfigError(f"stab.unrolled_lr must be > 0 (or none = train.d_lr), got {s.unrolled_lr!r}")
    if not 0.0 <= s.lr_decay_floor <= 1.0:
        raise ConfigError(f"stab.lr_decay_floor must be in [0, 1], got {s.lr_decay_floor!r}")
    if s.madgan_k == 1:
        raise ConfigError("stab.madgan_k must be 0 (off) or >= 2 generators")
    if s.latent_components == 1:
        raise ConfigError("stab.latent_components must be 0 (off) or >= 2 components")


def validate_stab(s) -> None:
    """ConfigError for non-finite or out-of-range values of the stab section."""
    check_finite("stab", s)
    _check_ranges(s)


def refuse_unused_stab(s, family: str, supported: tuple[str, ...]) -> None:
    """ConfigError naming every stab option set away from its default that `family` does not use."""
    default = StabConfig()
    unused = [f.name for f in fields(StabConfig)
              if f.name not in supported and getattr(s, f.name) != getattr(default, f.name)]
    if unused:
        raise ConfigError(f"{family} does not use stab.{', stab.'.join(unused)}; it supports stab."
                          f"{', stab.'.join(supported)}")
