"""The FID variant of InceptionV3 (TensorFlow's 2015-12-05 graph as ported by pytorch-fid), in plain torch.

Module names match the `pt_inception-2015-12-05-6726825d.pth` state dict of pytorch-fid (the same
layout torch-fidelity uses): FID-specific InceptionA/C/E blocks (average pooling without the
padded zeros; max pooling in the last E block), 1008 classes, 2048-d pool3 features.
Weights: see `resolve_weights` (argument, $GANKIT_INCEPTION_WEIGHTS, cache dir, download).
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import CheckpointError, GankitError
from gankit.fileutil import file_sha256


class BasicConv2d(nn.Module):
    """Conv (no bias) + BatchNorm (eps 1e-3) + ReLU."""

    def __init__(self, cin: int, cout: int, **conv_kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **conv_kwargs)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool_tf(x: torch.Tensor) -> torch.Tensor:
    """3x3 stride-1 average pool that, like TensorFlow, ignores the padded zeros."""
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_avg_pool_tf(x))], 1)


class InceptionB(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionC(nn.Module):
    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        row, col = {"kernel_size": (1, 7), "padding": (0, 3)}, {"kernel_size": (7, 1), "padding": (3, 0)}
        self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, **row)
        self.branch7x7_3 = BasicConv2d(c7, 192, **col)
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, **col)
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, **row)
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, **col)
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, **row)
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = layer(bd)
        return torch.cat([self.branch1x1(x), b7, bd, self.branch_pool(_avg_pool_tf(x))], 1)


class InceptionD(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_1(x)
        for layer in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = layer(b7)
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    """pool="avg": Mixed_7b (TF-style average pool); pool="max": Mixed_7c (the TF graph uses max pooling)."""

    def __init__(self, cin: int, pool: str) -> None:
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        if self.pool == "max":
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            pooled = _avg_pool_tf(x)
        return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    """The network: 299x299 normalised input -> 2048-d pool3 features; `fc` gives the 1008 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, c7=128)
        self.Mixed_6c = InceptionC(768, c7=160)
        self.Mixed_6d = InceptionC(768, c7=160)
        self.Mixed_6e = InceptionC(768, c7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, pool="avg")
        self.Mixed_7c = InceptionE(2048, pool="max")
        self.fc = nn.Linear(2048, 1008)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), kernel_size=3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)

    def unbiased_logits(self, pool3: torch.Tensor) -> torch.Tensor:
        """pool3 @ fc.weight.T without the bias, as the original Inception Score code (and torch-fidelity)."""
        return pool3 @ self.fc.weight.T


# --- preprocessing -------------------------------------------------------------------------------

INPUT_SIZE = 299


def _tf1_axis(in_size: int, out_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Source indices (lo, hi) and weights of TF 1.x bilinear resizing (align_corners=False), in float32."""
    grid = torch.arange(0, out_size, 1, dtype=torch.float32) * torch.tensor(in_size / out_size, dtype=torch.float32)
    lo = grid.long()
    return lo, (lo + 1).clamp_max(in_size - 1), grid - lo.float()


def resize_bilinear_tf1(x: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """Bilinear resize exactly as TensorFlow 1.x (and torch-fidelity's float32 'slow' path)."""
    ylo, yhi, dy = (t.to(x.device) for t in _tf1_axis(x.shape[2], size))
    xlo, xhi, dx = (t.to(x.device) for t in _tf1_axis(x.shape[3], size))
    top, bottom = x.index_select(2, ylo), x.index_select(2, yhi)
    dx, dy = dx.view(1, 1, 1, -1), dy.view(1, 1, -1, 1)
    in0 = top.index_select(3, xlo) + (top.index_select(3, xhi) - top.index_select(3, xlo)) * dx
    in1 = bottom.index_select(3, xlo) + (bottom.index_select(3, xhi) - bottom.index_select(3, xlo)) * dx
    return in0 + (in1 - in0) * dy


def _prep_torch_fidelity(x: torch.Tensor, quantize: bool) -> torch.Tensor:
    """[-1,1] -> 8-bit pixel values (rounded, as when saving PNGs) -> TF1 resize -> (p - 128) / 128."""
    p = (x.double() + 1.0) * 127.5
    if quantize:
        p = torch.floor(p + 0.5).clamp(0.0, 255.0)
    p = resize_bilinear_tf1(p.float())
    return (p - 128) / 128


def _prep_pytorch_fid(x: torch.Tensor, quantize: bool) -> torch.Tensor:
    """[-1,1] -> [0,1] -> torch bilinear resize (align_corners=False) -> 2x - 1, as pytorch-fid."""
    x01 = (x.float() + 1) / 2
    if quantize:
        x01 = torch.floor(x01 * 255 + 0.5).clamp(0, 255) / 255
    x01 = F.interpolate(x01, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    return 2 * x01 - 1


PREPROCESSORS = {"torch-fidelity": _prep_torch_fidelity, "pytorch-fid": _prep_pytorch_fid}


def to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Grayscale (N,1,H,W) repeated to 3 channels; RGB passes through."""
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"Inception expects images (N, 1 or 3, H, W), got shape {tuple(x.shape)}")
    return x.repeat(1, 3, 1, 1) if x.shape[1] == 1 else x


# --- weights -------------------------------------------------------------------------------------

WEIGHTS_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + WEIGHTS_FILENAME
# torch.hub convention: the file name carries the first 8 hex digits of the file's sha256.
WEIGHTS_SHA256_PREFIX = "6726825d"
WEIGHTS_ENV = "GANKIT_INCEPTION_WEIGHTS"


def cache_dir() -> Path:
    """$GANKIT_CACHE, else ~/.cache/gankit."""
    return Path(os.environ.get("GANKIT_CACHE") or Path.home() / ".cache" / "gankit")


def download_weights(dest: Path, url: str = WEIGHTS_URL, timeout: float = 60.0) -> Path:
    """Download the weights to `dest` (atomically), checking the sha256 prefix of the file name."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + f".part{os.getpid()}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
        digest = file_sha256(tmp)
        if not digest.startswith(WEIGHTS_SHA256_PREFIX):
            raise CheckpointError(
                f"downloaded Inception weights from {url} have sha256 {digest}, expected {WEIGHTS_SHA256_PREFIX}..."
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _missing_weights_error(cached: Path, reason: str) -> GankitError:
    return GankitError(
        f"Inception weights not found and not downloadable ({reason}). Download {WEIGHTS_URL} "
        f"and put it at {cached} (or point ${WEIGHTS_ENV} or the weights argument at the file)"
    )


def resolve_weights(path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The weights file: `path`, else $GANKIT_INCEPTION_WEIGHTS, else the cache dir, else download."""
    explicit = path or os.environ.get(WEIGHTS_ENV)
    if explicit:
        explicit = Path(explicit).expanduser()
        if not explicit.is_file():
            source = "weights argument" if path else f"${WEIGHTS_ENV}"
            raise CheckpointError(f"Inception weights file {explicit} (from {source}) does not exist")
        return explicit
    cached = cache_dir() / WEIGHTS_FILENAME
    if cached.is_file():
        return cached
    if not download:
        raise _missing_weights_error(cached, "download disabled")
    try:
        return download_weights(cached)
    except OSError as exc:  # no network, DNS failure, HTTP error, disk error
        raise _missing_weights_error(cached, f"{type(exc).__name__}: {exc}") from exc


def load_network(weights: Path) -> FIDInceptionV3:
    """FIDInceptionV3 with the state dict at `weights` (torch.load with weights_only=True), in eval mode."""
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt, truncated or pickled-object file
        raise CheckpointError(f"cannot read Inception weights {weights}: {exc}") from exc
    net = FIDInceptionV3()
    try:
        net.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"Inception weights {weights} do not fit the FID InceptionV3: {exc}") from exc
    return net.eval().requires_grad_(False)


class InceptionExtractor(nn.Module):
    """Images in [-1, 1] (N, 1|3, H, W) -> 2048-d pool3 features; `logits` -> 1008 unbiased logits.

    variant "torch-fidelity" (default; the original TensorFlow FID pipeline): pixels p = (x+1)*127.5
    rounded to 8 bits, TF1 bilinear resize, (p - 128) / 128. Variant "pytorch-fid": [0,1] pixels
    rounded to 8 bits, torch bilinear resize, 2x - 1. quantize=False skips the 8-bit rounding.
    """

    name = "inception-v3"
    expects_images = True

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        variant: str = "torch-fidelity",
        quantize: bool = True,
        download: bool = True,
    ) -> None:
        super().__init__()
        if variant not in PREPROCESSORS:
            raise GankitError(f"unknown Inception variant {variant!r}; valid: {sorted(PREPROCESSORS)}")
        path = resolve_weights(weights, download=download)
        self.net = load_network(path)
        self.weights_sha256 = file_sha256(path)
        self.variant, self.quantize = variant, quantize

    def _prep(self, images: torch.Tensor) -> torch.Tensor:
        x = to_rgb(images.to(next(self.net.parameters()).device))
        return PREPROCESSORS[self.variant](x, self.quantize)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(self._prep(images))

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.unbiased_logits(self.forward(images))

    def features_and_logits(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pool3 = self.forward(images)
        return pool3, self.net.unbiased_logits(pool3)
