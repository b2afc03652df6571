"""A small Fashion-MNIST CNN that gankit trains itself: features for FID[fashion-cnn], softmax for IS.

The shipped weights (``gankit/assets/fashion_cnn.safetensors``) come from
``gankit train-classifier fashion`` with its defaults (see docs/metrics.md for the SHA-256 and
the exact command). Inputs are images (N, 1, 28, 28) in [-1, 1]; 32x32 inputs are resized.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import CheckpointError, ConfigError
from gankit.fileutil import file_sha256
from gankit.metrics._validate import MetricInputError

ASSET_PATH = Path(__file__).resolve().parent.parent / "assets" / "fashion_cnn.safetensors"
# SHA-256 of the shipped weights file, produced by `gankit train-classifier fashion` (docs/metrics.md).
ASSET_SHA256 = "2d0d96f2ddb8866a4a769834c1b4093df06cd2580c7d742dd1ce130703e261ea"
FEATURE_DIM = 128
NUM_CLASSES = 10
INPUT_SIZE = 28
EXTRACTOR_NAME = "fashion-cnn"


def _conv_block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]


class FashionCNN(nn.Module):
    """Three conv blocks (28 -> 14 -> 7 -> 3), a 128-d feature layer, a 10-way classifier."""

    def __init__(self, width: int = 32, feature_dim: int = FEATURE_DIM, dropout: float = 0.3):
        super().__init__()
        self.arch = {"width": width, "feature_dim": feature_dim, "dropout": dropout}
        w = width
        self.body = nn.Sequential(*_conv_block(1, w), *_conv_block(w, 2 * w), *_conv_block(2 * w, 4 * w), nn.Flatten())
        self.embed = nn.Sequential(nn.Linear(4 * w * 9, feature_dim), nn.BatchNorm1d(feature_dim), nn.ReLU())
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(feature_dim, NUM_CLASSES)

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.embed(self.body(x))
        return f, self.head(self.drop(f))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(x)[1]


def prepare_images(x: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) in [-1, 1] -> (N, 1, 28, 28); other sizes are resized (bilinear, antialiased)."""
    if x.dim() != 4 or x.shape[1] != 1:
        raise MetricInputError(
            f"the fashion-cnn extractor needs grayscale images of shape (N, 1, H, W); got {tuple(x.shape)}")
    if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        if min(x.shape[-2:]) < 8:
            raise MetricInputError(f"images of size {tuple(x.shape[-2:])} are too small for the fashion-cnn extractor")
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False, antialias=True)
    return x


# ---- weights files --------------------------------------------------------------------------------
def save_weights(model: FashionCNN, path: Path, info: dict[str, Any]) -> str:
    """Write the state dict (float32) with `info` as JSON metadata; returns the file's SHA-256."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"gankit": json.dumps(info, sort_keys=True)})
    return file_sha256(path)


def read_info(path: Path) -> dict[str, Any]:
    """The JSON metadata saved with the weights (architecture, seed, test accuracy, command)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    return json.loads(meta.get("gankit", "{}"))


def load_model(path: Path | None = None, expected_sha256: str | None = None) -> tuple[FashionCNN, str]:
    """The classifier in eval mode from `path` (default: the shipped asset) and the file's SHA-256.

    With the shipped asset (or `expected_sha256`) a mismatching hash raises CheckpointError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path) if path is not None else ASSET_PATH
    if expected_sha256 is None and path == ASSET_PATH and ASSET_SHA256 != "PENDING":
        expected_sha256 = ASSET_SHA256
    if not path.is_file():
        raise CheckpointError(f"{path}: fashion-cnn weights not found; create them with `gankit train-classifier fashion`")
    sha = file_sha256(path)
    if expected_sha256 is not None and sha != expected_sha256:
        raise CheckpointError(f"{path}: SHA-256 {sha} does not match the expected {expected_sha256}")
    try:
        arch = read_info(path).get("arch", {})
        model = FashionCNN(**arch)
        model.load_state_dict(load_file(str(path)))
    except (RuntimeError, ValueError, TypeError, OSError, SafetensorError) as e:
        raise CheckpointError(f"{path}: not a fashion-cnn weights file ({e})") from None
    return model.eval(), sha


# ---- the feature extractor ---------------------------------------------------------------------
class FashionCNNExtractor(nn.Module):
    """Registry extractor "fashion-cnn": 128-d penultimate features and 10-class logits."""

    name = EXTRACTOR_NAME
    expects_images = True

    def __init__(self, weights: str | Path | None = None, device: str | torch.device = "cpu"):
        super().__init__()
        self.net, self.weights_sha256 = load_model(Path(weights) if weights is not None else None)
        self.net.requires_grad_(False)
        self.to(device)

    def train(self, mode: bool = True) -> "FashionCNNExtractor":
        return super().train(False)  # always in eval mode (batch norm statistics, no dropout)

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.features_and_logits(prepare_images(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(x)[0]

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(x)[1]

    def probs(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x).softmax(dim=1)


# ---- training ----------------------------------------------------------------------------------
@dataclass
class TrainSettings:
    epochs: int = 5
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 1  # bit-exact reproduction needs the same thread count (and torch build)
    flip: bool = True  # random horizontal flips
    limit: int | None = None  # use only the first `limit` training images (tests)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Top-1 accuracy of `model` on images x (N, 1, H, W) in [-1, 1] with labels y."""
    was = model.training
    model.eval()
    correct = 0
    for s in range(0, len(x), batch_size):
        correct += int((model(prepare_images(x[s:s + batch_size])).argmax(1) == y[s:s + batch_size]).sum())
    model.train(was)
    return correct / max(len(x), 1)


def _lr_at(step: int, total: int, base: float) -> float:
    """Linear warm-up over the first 3% of steps, then cosine decay to zero."""
    warm = max(1, total // 33)
    if step < warm:
        return base * (step + 1) / warm
    return 0.5 * base * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))


def _epoch(model, opt, x, y, s: TrainSettings, gen: torch.Generator, step0: int, total: int) -> tuple[int, float]:
    model.train()
    perm = torch.randperm(len(x), generator=gen)
    step, loss_sum, n_batches = step0, 0.0, 0
    for start in range(0, len(x) - s.batch_size + 1, s.batch_size):
        idx = perm[start:start + s.batch_size]
        xb, yb = x[idx], y[idx]
        if s.flip:
            flip = torch.rand(len(xb), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, total, s.lr)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step, loss_sum, n_batches = step + 1, loss_sum + loss.item(), n_batches + 1
    return step, loss_sum / max(n_batches, 1)


def train_classifier(train: tuple[torch.Tensor, torch.Tensor], test: tuple[torch.Tensor, torch.Tensor],
                     s: TrainSettings, log: Callable[[str], None] = print) -> tuple[FashionCNN, dict[str, Any]]:
    """Train a FashionCNN on (x, y) in [-1, 1]; deterministic for `s.seed` and `s.threads`."""
    if s.epochs < 1 or s.batch_size < 1 or s.lr <= 0:
        raise ConfigError(f"train-classifier: epochs, batch size and lr must be positive, got {s}")
    x, y = train
    if s.limit is not None:
        x, y = x[:s.limit], y[:s.limit]
    if len(x) < s.batch_size:
        raise ConfigError(f"train-classifier: {len(x)} training images, fewer than one batch of {s.batch_size}")
    old_threads = torch.get_num_threads()
    torch.set_num_threads(s.threads)
    try:
        torch.manual_seed(s.seed)
        model = FashionCNN()
        gen = torch.Generator().manual_seed(s.seed + 1)
        opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
        total, step, t0 = s.epochs * (len(x) // s.batch_size), 0, time.perf_counter()
        for epoch in range(1, s.epochs + 1):
            step, loss = _epoch(model, opt, x, y, s, gen, step, total)
            acc = accuracy(model, *test)
            log(f"epoch {epoch}/{s.epochs}: train loss {loss:.4f}, test accuracy {acc:.4f} "
                f"({time.perf_counter() - t0:.0f} s)")
    finally:
        torch.set_num_threads(old_threads)
    info = {"arch": model.arch, "settings": asdict(s), "test_accuracy": acc, "n_train": len(x), "n_test": len(test[0]),
            "torch": torch.__version__}
    return model.eval(), info
