"""Run under torchrun by tests/core/test_dist.py (and in one process for the reference):

    torchrun --standalone --nproc_per_node=2 tests/core/dist_driver.py OUT FAMILY [--resume] [--stop-at N] KEY=VALUE...

Registers the test families (tiny-vae, and tiny-ae: its deterministic autoencoder, no noise, no batch norm),
trains (or resumes OUT/run), and writes every rank's parameters and buffers to OUT/rank{r}.safetensors.
`--stop-at N` makes the last rank alone receive SIGTERM after step N (the ranks must agree to stop together).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2]))

from safetensors.torch import save_file  # noqa: E402

from gankit.core.dist import shutdown  # noqa: E402
from gankit.core.family import Family  # noqa: E402
from gankit.core.loop import HookBase  # noqa: E402
from gankit.core.optim import make_optimizer  # noqa: E402
from gankit.core.phases import Phase, Setup  # noqa: E402
from gankit.families import registry  # noqa: E402
from gankit.presets import preset_config  # noqa: E402
from gankit.run import build_trainer, train  # noqa: E402
from tests.families import tiny_vae  # noqa: E402


@dataclass
class TinyAEConfig(tiny_vae.TinyVAEConfig):
    family: str = "tiny-ae"


def ae_loss(batch, ctx):
    x = batch["x"].flatten(1)
    mean, _ = ctx.models["enc"](x).chunk(2, dim=1)
    recon = 0.5 * (x - ctx.models["dec"](mean)).pow(2).sum(1).mean()
    return recon, {"loss/recon": recon.detach()}


def build_ae(cfg, spec):
    models = tiny_vae.build_models(cfg, spec)
    params = [p for m in models.values() for p in m.parameters()]
    optims = {"vae": make_optimizer(cfg.train.g_opt, params, cfg.train.g_lr, cfg.train)}
    return Setup(models, optims, [Phase("ae", ("vae",), ae_loss)], sample=partial(tiny_vae.sample, models),
                 preview=partial(tiny_vae.preview, models))


FAMILIES = {"tiny-vae": (tiny_vae.FAMILY, tiny_vae.TinyVAEConfig),
            "tiny-ae": (Family("tiny-ae", TinyAEConfig, tiny_vae.validate, build_ae, tiny_vae.build_models,
                               tiny_vae.sample, "a deterministic autoencoder on vectors"), TinyAEConfig)}


def config(out: Path, family: str, pairs: list[str]):
    for name, (fam, section) in FAMILIES.items():
        registry.FAMILIES[name] = fam
        registry.MODEL_SECTIONS[name] = section
    over = dict(p.split("=", 1) for p in pairs)
    base = preset_config(over.pop("preset")) if "preset" in over else registry.new_config(family)
    return registry.apply_overrides(base, {"model.family": family, **over, "log.out_dir": str(out),
                                           "log.name": "run", "log.progress": "false", "log.tensorboard": "false",
                                           "log.sample_every": "0", "train.threads": "1"})


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("family")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--stop-at", type=int, default=0)
    args, pairs = ap.parse_known_args()
    cfg = config(args.out, args.family, pairs)
    rank, size = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    if args.stop_at:
        trainer = build_trainer(cfg, args.out / "run")

        class Stop(HookBase):
            def after_step(self):
                if self.trainer.step == args.stop_at and rank == size - 1:
                    self.trainer._on_signal(15, None)

        trainer.register(Stop())
        (args.out / "run").mkdir(parents=True, exist_ok=True)
        status = trainer.train()
        shutdown(trainer.world)
    else:
        status, trainer = train(cfg, resume=args.out / "run" if args.resume else None)
    tensors = {f"{n}.{k}": v.detach().cpu().contiguous() for n, m in trainer.models.items()
               for k, v in m.state_dict().items()}
    save_file(tensors, str(args.out / f"rank{rank}.safetensors"))
    (args.out / f"status{rank}.txt").write_text(f"{status} {trainer.step}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
