"""Typed, validated run configuration: a few dataclass sections with dotted overrides.

    cfg = resolve("dcgan-fashion", ["--train.g_lr=1e-4", "--model.z_dim=64"])

Every unknown section or key, and every value of the wrong type, raises ``ConfigError`` naming
the valid choices. ``to_dict``/``from_dict`` round-trip through JSON (the run directory keeps the
resolved config beside its checkpoints).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from gankit.errors import ConfigError


@dataclass
class DataConfig:
    name: str = "fashion-mnist"  # fashion-mnist | image-folder | digits | ring8 | grid25
    root: str | None = None  # data directory; None = standard places, then download
    split: str = "train"
    resolution: int | None = None  # None = native size
    channels: int | None = None  # force 1 or 3 channels for image folders
    download: bool = True
    cache_dir: str | None = None  # default $GANKIT_CACHE or ~/.cache/gankit
    limit: int | None = None  # keep only the first `limit` samples
    n_samples: int = 100000  # size of the 2D toy data sets
    seed: int = 0


@dataclass
class ModelConfig:
    arch: str = "dcgan"  # dcgan | mlp
    z_dim: int = 100
    g_width: int = 64
    d_width: int = 64
    depth: int = 2  # hidden layers of the MLP networks
    d_norm: str = "batch"  # batch | layer | none
    cond: str = "none"  # none | cgan | projection | acgan (class-conditional G(z, y) and D)
    cond_bn: bool = False  # conditional batch norm in G (needs cond != none)


@dataclass
class TrainConfig:
    steps: int = 2000  # generator updates
    batch_size: int = 64
    n_critic: int = 1  # discriminator updates per generator update
    loss: str = "nonsat"  # minimax | nonsat | lsgan | wgan | wgan-gp | hinge | dragan
    lsgan_a: float = 0.0
    lsgan_b: float = 1.0
    lsgan_c: float = 1.0
    gp_lambda: float = 10.0  # WGAN-GP and DRAGAN penalty weight
    clip: float = 0.01  # WGAN weight clipping
    g_opt: str = "adam"  # adam | sgd | rmsprop
    d_opt: str = "adam"
    g_lr: float = 2e-4
    d_lr: float = 2e-4  # a different d_lr is the two time-scale update rule (TTUR)
    beta1: float = 0.5
    beta2: float = 0.999
    momentum: float = 0.0  # SGD momentum
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int | None = None  # torch CPU threads; None = torch's default
    acgan_weight: float = 1.0  # weight of the AC-GAN auxiliary classification loss (model.cond=acgan)


@dataclass
class LogConfig:
    out_dir: str = "runs"
    name: str | None = None  # run directory name; default <preset>-<timestamp>
    log_every: int = 50
    sample_every: int = 500
    ckpt_every: int = 500
    keep_ckpts: int = 3
    eval_every: int = 0  # 0 = no evaluation during training
    eval_n: int = 2000  # generated (and real) samples per evaluation
    eval_metrics: str = "fid"  # comma-separated metric names (gankit.metrics.METRICS) or "auto"
    eval_extractor: str = "auto"  # fashion-cnn | inception-v3 | identity | auto (by data shape)
    n_grid: int = 64  # samples in each PNG grid (fixed z)
    progress: bool = True
    tensorboard: bool = True


@dataclass
class StabConfig:
    """Stabilizers and mode-collapse remedies (gankit.stabilizers); the defaults switch everything off."""
    spectral_norm_d: bool = False
    spectral_norm_g: bool = False
    label_smooth: float = 1.0  # D's target for real samples (one-sided smoothing, e.g. 0.9); 1 = off
    real_label_range: tuple[float, ...] | None = None  # random real targets U[lo, hi], e.g. 0.7,1.2
    fake_label_range: tuple[float, ...] | None = None  # random fake targets U[lo, hi], e.g. 0,0.3
    flip_prob: float = 0.0  # swap real/fake targets of each D sample with this probability
    instance_noise: float = 0.0  # std of Gaussian noise added to D's inputs (real and fake)
    instance_noise_anneal_steps: int = 0  # linear decay to 0 over this many steps; 0 = constant
    g_noise: float = 0.0  # std of Gaussian noise layers after G's hidden activations
    g_dropout: float = 0.0  # dropout after G's hidden activations
    g_noise_at_sampling: bool = False  # keep G's noise/dropout active when sampling
    r1_gamma: float = 0.0  # R1 penalty gamma/2 * E||grad D(x)||^2 on real data
    ema: float = 0.0  # decay of an EMA copy of G (G_ema, used for sampling/eval); 0 = off
    ema_start: int = 0  # G_ema copies G until this step
    minibatch_disc: int = 0  # minibatch discrimination kernels (Salimans et al. 2016); 0 = off
    minibatch_disc_dim: int = 5  # dimension of each kernel
    mbstd: bool = False  # minibatch standard-deviation feature (Karras et al. 2018)
    pack: int = 1  # PacGAN: D judges `pack` samples at once
    unrolled_k: int = 0  # unrolled GAN: G looks k D-updates ahead
    unrolled_opt: str = "sgd"  # sgd | adam: update rule of the unrolled D steps
    unrolled_lr: float | None = None  # None = train.d_lr
    madgan_k: int = 0  # MAD-GAN: k generators, D with k+1 outputs; 0 = off
    latent_components: int = 0  # discrete latent code: z_0 picks one of k components (mixture prior); 0 = off
    mrgan_recon: float = 0.0  # MRGAN: weight of ||x - G(E(x))||^2 (enables E and D2 when > 0)
    mrgan_mode: float = 0.0  # MRGAN: weight of the mode regulariser -log D(G(E(x)))
    lr_decay: str = "none"  # none | linear | cosine: decay every optimizer's lr over train.steps
    lr_decay_floor: float = 0.0  # final lr as a fraction of the initial one
    monitor: bool = True  # training health monitor (warnings in the progress bar and metrics.jsonl)


@dataclass
class Config:
    preset: str = "dcgan-fashion"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    log: LogConfig = field(default_factory=LogConfig)
    stab: StabConfig = field(default_factory=StabConfig)


def sections(cfg: Config) -> dict[str, Any]:
    """The dataclass sections of a config, by name."""
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if dataclasses.is_dataclass(getattr(cfg, f.name))}


def to_dict(cfg: Config) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def _hints(obj: Any) -> dict[str, Any]:
    return typing.get_type_hints(type(obj))


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Convert a parsed value (str from the command line, or a JSON value) to `hint`, or raise."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{where}: cannot be None")
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{where}: expected a boolean (true/false), got {value!r}")
    if hint is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    if origin in (tuple, list):
        items = value.split(",") if isinstance(value, str) else list(value)
        (arg, *_) = typing.get_args(hint) or (str,)
        return origin(_coerce(v, arg, where) for v in items)
    raise ConfigError(f"{where}: unsupported config type {hint!r}")


def set_value(cfg: Config, dotted: str, value: Any) -> None:
    """Set `section.key` on `cfg` after checking that both exist and coercing the type."""
    secs = sections(cfg)
    if "." not in dotted:
        raise ConfigError(f"config key '{dotted}' must be 'section.key'; sections: {', '.join(secs)}")
    sec_name, key = dotted.split(".", 1)
    if sec_name not in secs:
        raise ConfigError(f"unknown config section '{sec_name}'; valid sections: {', '.join(secs)}")
    section = secs[sec_name]
    hints = _hints(section)
    if key not in hints:
        raise ConfigError(f"unknown config key '{dotted}'; valid keys of '{sec_name}': {', '.join(hints)}")
    setattr(section, key, _coerce(value, hints[key], dotted))


def parse_overrides(args: list[str]) -> dict[str, str]:
    """['--train.lr=1e-4', '--model.z_dim', '64'] -> {'train.lr': '1e-4', 'model.z_dim': '64'}."""
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) <= 2:
            raise ConfigError(f"unexpected argument '{arg}'; overrides look like --section.key=value")
        body = arg[2:]
        if "=" in body:
            key, val = body.split("=", 1)
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            key, val = body, args[i + 1]
            i += 1
        else:
            raise ConfigError(f"override '{arg}' has no value; write --{body}=VALUE")
        out[key] = val
        i += 1
    return out


def apply_overrides(cfg: Config, overrides: dict[str, Any]) -> Config:
    for key, val in overrides.items():
        set_value(cfg, key, val)
    validate(cfg)
    return cfg


def from_dict(data: dict[str, Any]) -> Config:
    """Rebuild a Config from `to_dict` output (e.g. a run's config.json), validating every key."""
    cfg = Config()
    if not isinstance(data, dict):
        raise ConfigError("config must be a JSON object")
    for sec_name, values in data.items():
        if sec_name == "preset":
            cfg.preset = _coerce(values, str, "preset")
            continue
        if not isinstance(values, dict):
            raise ConfigError(f"config section '{sec_name}' must be an object")
        for key, val in values.items():
            set_value(cfg, f"{sec_name}.{key}", val)
    validate(cfg)
    return cfg


_CHOICES = {
    "model.arch": ("dcgan", "mlp"),
    "model.d_norm": ("batch", "layer", "none"),
    "model.cond": ("none", "cgan", "projection", "acgan"),
    "train.loss": ("minimax", "nonsat", "lsgan", "wgan", "wgan-gp", "hinge", "dragan"),
    "train.g_opt": ("adam", "sgd", "rmsprop"),
    "train.d_opt": ("adam", "sgd", "rmsprop"),
}

_POSITIVE = ("train.steps", "train.batch_size", "train.n_critic", "train.g_lr", "train.d_lr", "model.z_dim",
             "model.g_width", "model.d_width", "log.log_every", "log.n_grid", "log.keep_ckpts",
             "log.eval_n")


def validate(cfg: Config) -> None:
    """Check value ranges and choices that types alone cannot express."""
    secs = sections(cfg)
    for dotted, choices in _CHOICES.items():
        sec, key = dotted.split(".")
        if getattr(secs[sec], key) not in choices:
            raise ConfigError(f"{dotted}={getattr(secs[sec], key)!r} is not valid; choose one of: {', '.join(choices)}")
    for dotted in _POSITIVE:
        sec, key = dotted.split(".")
        if getattr(secs[sec], key) <= 0:
            raise ConfigError(f"{dotted} must be > 0, got {getattr(secs[sec], key)!r}")
    from gankit.stabilizers import validate_stab  # late import: stabilizers import this module

    validate_stab(cfg)
    if cfg.model.cond_bn and cfg.model.cond == "none":
        raise ConfigError("model.cond_bn=true needs a conditional model: set --model.cond=cgan|projection|acgan")
    if cfg.train.loss in ("wgan-gp", "dragan") and cfg.model.d_norm == "batch":
        raise ConfigError(f"train.loss={cfg.train.loss} uses a gradient penalty, which batch norm in D breaks; "
                          "set --model.d_norm=layer or --model.d_norm=none")
