"""PixelCNN (van den Oord et al. 2016): an autoregressive model with an exact likelihood,
p(x) = prod_i p(x_i | x_<i) in raster order, from a gated PixelCNN with vertical and horizontal stacks
(gankit.nets.pixelcnn: masks A then B, no blind spot) on one-channel images.

model.likelihood: categorical (256-way softmax per pixel, the paper's; the default) or logistic on 8-bit images,
bernoulli on binarised ones (`--data.name=fashion-mnist-binary`). model.cond=true conditions every gate on the
class label (labelled data). One phase "nll" minimises the exact negative log-likelihood (nats per image) and
logs it with `bits_per_dim`; `gankit eval RUN --metrics nll` computes it on the test split.

Sampling is pixel by pixel, H * W forward passes of a batch (no cache; the pass for a pixel of row i runs on
rows 0..i only, which gives the same outputs there): slow, and timed in
benchmarks/likelihood_bench.py. Conditional runs sample the classes 0, 1, ..., K-1 in turn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn

from gankit import viz
from gankit.config import Config
from gankit.core.family import Family
from gankit.core.optim import make_optimizer
from gankit.core.phases import Phase, Setup, StepContext
from gankit.core.spec import DataSpec
from gankit.errors import ConfigError
from gankit.nets import likelihood as lik
from gankit.nets.pixelcnn import GatedPixelCNN
from gankit.stabilizers import refuse_unused_stab

NAME = "pixelcnn"
SUPPORTED_STAB = ("lr_decay", "lr_decay_floor", "monitor")


@dataclass
class PixelCNNConfig:
    family: str = NAME
    width: int = 64  # channels of both stacks
    blocks: int = 6  # gated blocks after the first (mask A) one
    kernel: int = 3  # kernel of the mask-B blocks (odd)
    first_kernel: int = 7  # kernel of the first, mask-A block (odd)
    likelihood: str = "categorical"  # categorical | logistic (8-bit) | bernoulli (binarised data)
    cond: bool = False  # class-conditional (labelled data)
    sample_batch: int = 500  # images per batched sampling loop


def validate(cfg: Config) -> None:
    m = cfg.model
    if m.width < 1 or m.blocks < 0 or m.sample_batch < 1:
        raise ConfigError("model.width and model.sample_batch must be >= 1 and model.blocks >= 0")
    if m.kernel < 3 or m.kernel % 2 == 0 or m.first_kernel < 3 or m.first_kernel % 2 == 0:
        raise ConfigError(f"model.kernel and model.first_kernel must be odd and >= 3, got {m.kernel}, "
                          f"{m.first_kernel}")
    lik.check_kind(m.likelihood)
    refuse_unused_stab(cfg.stab, NAME, SUPPORTED_STAB)


def build_models(cfg: Config, spec: DataSpec) -> dict[str, nn.Module]:
    m = cfg.model
    if spec.modality != "image" or len(spec.shape) != 3 or spec.shape[0] != 1:
        raise ConfigError(f"pixelcnn models one-channel images, not {spec.modality} data of shape {spec.shape}")
    if m.cond and not spec.labelled:
        raise ConfigError("model.cond=true needs labelled data (fields x and y)")
    net = GatedPixelCNN(lik.param_channels(m.likelihood, 1), m.width, m.blocks, m.kernel, m.first_kernel,
                        spec.num_classes if m.cond else 0)
    net.likelihood, net.image_shape, net.sample_batch = m.likelihood, tuple(spec.shape), m.sample_batch
    return {"net": net}


# ----------------------------------------------------------------------------- likelihood
def log_likelihood(net: GatedPixelCNN, x: Tensor, y: Tensor | None = None) -> Tensor:
    """Exact log p(x) in nats per image, (B,)."""
    return lik.log_prob(net.likelihood, net(x, y if net.num_classes else None), x)


def nll_loss(batch: dict[str, Tensor], ctx: StepContext):
    x = batch["x"]
    nll = -log_likelihood(ctx.models["net"], x, batch.get("y")).mean()
    return nll, {"loss/nll": nll.detach(), "bits_per_dim": nll.detach() / (x[0].numel() * math.log(2))}


# ----------------------------------------------------------------------------- sampling, pictures
@torch.no_grad()
def generate(net: GatedPixelCNN, n: int, seed: int, labels: Tensor | None = None) -> Tensor:
    """n images drawn pixel by pixel in raster order, net.sample_batch at a time (one forward pass per pixel)."""
    gen, dev = torch.Generator().manual_seed(seed), next(net.parameters()).device
    if net.num_classes and labels is None:
        labels = torch.arange(n) % net.num_classes
    c, h, w = net.image_shape
    out = []
    for start in range(0, n, net.sample_batch):
        b = min(net.sample_batch, n - start)
        y = labels[start:start + b].to(dev) if net.num_classes else None
        x = torch.zeros(b, c, h, w, device=dev)
        for i in range(h):
            for j in range(w):  # row i depends on rows <= i only: the rows below are not computed
                params = net(x[:, :, :i + 1], y)[:, :, i:i + 1, j:j + 1]
                x[:, :, i, j] = lik.sample(net.likelihood, params, gen)[:, :, 0, 0]
        out.append(x.cpu())
    return torch.cat(out)


def sample(models: dict[str, nn.Module], n: int, seed: int, inputs=None) -> Tensor:
    return generate(models["net"], n, seed)


def preview(models: dict[str, nn.Module], n: int, path, title: str, batch: dict[str, Tensor]) -> None:
    net = models["net"]
    was = net.training
    net.eval()
    viz.save_grid(generate(net, n, seed=0), path, nrow=net.num_classes or 8, scale=2)
    net.train(was)


def build(cfg: Config, spec: DataSpec) -> Setup:
    models = build_models(cfg, spec)
    t = cfg.train
    optims = {"net": make_optimizer(t.g_opt, models["net"].parameters(), t.g_lr, t)}
    n_preview = min(cfg.log.n_grid, 20 if cfg.model.cond else 16)
    return Setup(models, optims, [Phase("nll", ("net",), nll_loss)], sample=partial(sample, models),
                 preview=partial(preview, models, n_preview),
                 scalar_groups={"NLL (nats per image)": ["loss/nll"], "bits/dim": ["bits_per_dim"]})


FAMILY = Family(NAME, PixelCNNConfig, validate, build, build_models, sample,
                "gated PixelCNN: exact likelihood, masked vertical + horizontal stacks, pixel-by-pixel sampling")
