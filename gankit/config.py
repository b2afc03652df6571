"""Typed, validated run configuration: dataclass sections with dotted overrides.

Sections: data, model, train, log, stab. The `model` section's dataclass belongs to the model family
(`--model.family=NAME`); the functions that may change it take `models`, the table of family name ->
model-section class (gankit.families binds it). Every unknown section or key, and every value of
the wrong type, raises ``ConfigError`` naming the valid choices. ``to_dict``/``from_dict``
round-trip through JSON (the run directory keeps the resolved config beside its checkpoints).
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Mapping

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
    per_class: int | None = None  # fashion-mnist: keep N images of every class (after limit), chosen by subset_seed
    subset_seed: int = 0  # seed of the per_class selection
    n_samples: int = 100000  # size of the 2D toy data sets
    seed: int = 0


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
    amp: str = "none"  # none | bf16 | fp16: autocast in the phases' losses (fp16 with a GradScaler)
    channels_last: bool = False  # image modules and batches in channels_last memory order
    compile: bool = False  # torch.compile the modules the phases call (slower on CPU; measured in docs)
    data_on_device: str = "auto"  # auto (on a GPU when it fits) | yes | no: where the in-memory data set lives


@dataclass
class LogConfig:
    out_dir: str = "runs"
    name: str | None = None  # run directory name; default <preset>-<timestamp>
    log_every: int = 50
    sample_every: int = 500
    ckpt_every: int = 500
    keep_ckpts: int = 3
    eval_every: int = 0  # 0 = no evaluation during training
    eval_at_end: bool = False  # evaluate once when the run reaches train.steps (make demo: FID of the result)
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
    model: Any = None  # the family's model section (gankit.families.new_config)
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


ModelSections = Mapping[str, type]


def set_family(cfg: Config, name: Any, models: ModelSections) -> None:
    """Make cfg.model the model section of family `name` (fresh defaults when the family changes)."""
    name = _coerce(name, str, "model.family")
    if name not in models:
        raise ConfigError(f"unknown model.family {name!r}; valid families: {', '.join(models)}")
    if cfg.model is None or cfg.model.family != name:
        cfg.model = models[name]()


def set_value(cfg: Config, dotted: str, value: Any, models: ModelSections | None = None) -> None:
    """Set `section.key` on `cfg` after checking that both exist and coercing the type."""
    if dotted == "model.family":
        if models is None:
            raise ConfigError("model.family can only be set with the table of families (gankit.families)")
        set_family(cfg, value, models)
        return
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


def apply_overrides(cfg: Config, overrides: dict[str, Any], models: ModelSections | None = None) -> Config:
    """Set every override (model.family first, so that the other model keys land in its section);
    checks values with `validate` (the families' own checks are gankit.families.validate)."""
    if "model.family" in overrides:
        set_value(cfg, "model.family", overrides["model.family"], models)
    for key, val in overrides.items():
        if key != "model.family":
            set_value(cfg, key, val, models)
    validate(cfg)
    return cfg


def from_dict(data: dict[str, Any], models: ModelSections, default_family: str) -> Config:
    """Rebuild a Config from `to_dict` output (e.g. a run's config.json), checking every key.

    A config written before families existed has no model.family: it is `default_family`."""
    if not isinstance(data, dict):
        raise ConfigError("config must be a JSON object")
    cfg = Config()
    flat: dict[str, Any] = {}
    for sec_name, values in data.items():
        if sec_name == "preset":
            cfg.preset = _coerce(values, str, "preset")
            continue
        if not isinstance(values, dict):
            raise ConfigError(f"config section '{sec_name}' must be an object")
        flat.update({f"{sec_name}.{key}": val for key, val in values.items()})
    flat.setdefault("model.family", default_family)
    return apply_overrides(cfg, flat, models)


_CHOICES = {
    "train.loss": ("minimax", "nonsat", "lsgan", "wgan", "wgan-gp", "hinge", "dragan"),
    "train.g_opt": ("adam", "sgd", "rmsprop"),
    "train.d_opt": ("adam", "sgd", "rmsprop"),
    "train.amp": ("none", "bf16", "fp16"),
    "train.data_on_device": ("auto", "yes", "no"),
}

_POSITIVE = ("train.steps", "train.batch_size", "train.n_critic", "train.g_lr", "train.d_lr", "train.clip",
             "log.log_every", "log.n_grid", "log.keep_ckpts", "log.eval_n")
_RANGES = (  # (keys, test, the valid range in words)
    (_POSITIVE, lambda v: v > 0, "> 0"),
    (("train.momentum", "train.gp_lambda", "train.acgan_weight"), lambda v: v >= 0, ">= 0"),
    (("train.beta1", "train.beta2"), lambda v: 0 <= v < 1, "in [0, 1)"),
    (("train.threads", "data.limit", "data.resolution"), lambda v: v is None or v >= 1, ">= 1 (or none)"),
)
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def check_finite(prefix: str, section: Any) -> None:
    """ConfigError for a NaN or infinite value of any float (or tuple-of-floats) field of a section."""
    for f in dataclasses.fields(section):
        value = getattr(section, f.name)
        items = value if isinstance(value, tuple) else (value,)
        if any(isinstance(v, float) and not math.isfinite(v) for v in items):
            raise ConfigError(f"{prefix}.{f.name} must be a finite number, got {value!r}")


def _check_log_name(name: str | None) -> None:
    """The run directory must stay inside log.out_dir."""
    if name is not None and (name in (".", "..") or any(c in name for c in "/\\")):
        raise ConfigError(f"log.name={name!r} must be a plain folder name inside log.out_dir (no '/', '\\' or '..')")


def check_choices(section: str, values: Any, choices: Mapping[str, tuple[str, ...]]) -> None:
    """ConfigError naming the valid values when `values.<key>` is not one of `choices[key]` (families use it too)."""
    for key, valid in choices.items():
        if getattr(values, key) not in valid:
            raise ConfigError(f"{section}.{key}={getattr(values, key)!r} is not valid; choose one of: {', '.join(valid)}")


def validate(cfg: Config) -> None:
    """Check the value ranges and choices of the shared sections that types alone cannot express."""
    if cfg.model is None:
        raise ConfigError("the config has no model section; set --model.family")
    secs = sections(cfg)
    for name, section in secs.items():
        check_finite(name, section)
    for dotted, choices in _CHOICES.items():
        sec, key = dotted.split(".")
        check_choices(sec, secs[sec], {key: choices})
    for keys, ok, rule in _RANGES:
        for dotted in keys:
            sec, key = dotted.split(".")
            if not ok(getattr(secs[sec], key)):
                raise ConfigError(f"{dotted} must be {rule}, got {getattr(secs[sec], key)!r}")
    if not _DEVICE.fullmatch(cfg.train.device):
        raise ConfigError(f"train.device={cfg.train.device!r} is not valid; choose auto, cpu, cuda, cuda:N or mps")
    _check_log_name(cfg.log.name)
