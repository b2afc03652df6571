"""Run under .venv-ref: gankit's InceptionV3 against torch-fidelity's and pytorch-fid's networks.

One RANDOM-weight state dict (real weights cannot be downloaded here) is written where each
reference looks for it (torch-fidelity: feature_extractor_weights_path; pytorch-fid:
$TORCH_HOME/hub/checkpoints/pt_inception-2015-12-05-6726825d.pth) and loaded into gankit's
network too; all see the same uint8 images. Prints JSON {check: {"max_abs_diff", "scale"}}.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from gankit.metrics.features import extract
from gankit.metrics.inception import WEIGHTS_FILENAME, FIDInceptionV3, InceptionExtractor


def random_state_dict(seed: int) -> dict[str, torch.Tensor]:
    """He-initialised convs and non-trivial BatchNorm statistics, so activations stay O(1)."""
    g = torch.Generator().manual_seed(seed)
    net = FIDInceptionV3()
    for name, t in net.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        if name.endswith("conv.weight"):
            fan_in = t[0].numel()
            t.copy_(torch.randn(t.shape, generator=g) * (2.0 / fan_in) ** 0.5)
        elif name.endswith(("bn.weight", "running_var")):
            t.copy_(0.8 + 0.4 * torch.rand(t.shape, generator=g))
        elif name.endswith(("bn.bias", "running_mean")):
            t.copy_(0.1 * torch.randn(t.shape, generator=g))
        elif name.startswith("fc."):
            t.copy_(torch.randn(t.shape, generator=g) * 0.05)
    return net.state_dict()


def images_uint8(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    smooth = rng.integers(0, 256, size=(3, 3, 8, 8)).repeat(4, axis=2).repeat(4, axis=3)
    noise = rng.integers(-20, 21, size=smooth.shape)
    return {
        "rgb32": np.clip(smooth + noise, 0, 255).astype(np.uint8),
        "gray28": rng.integers(0, 256, size=(2, 1, 28, 28)).astype(np.uint8),
    }


def compare(mine: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    return {"max_abs_diff": float(np.abs(mine - ref).max()), "scale": float(np.abs(ref).mean())}


def torch_fidelity_checks(weights: Path, imgs: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    ref_net = FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(weights)
    )
    mine = InceptionExtractor(weights=weights, variant="torch-fidelity")
    out = {}
    for key, u8 in imgs.items():
        rgb = torch.from_numpy(u8).repeat(1, 3 // u8.shape[1], 1, 1)
        with torch.no_grad():
            ref_feats, ref_logits = ref_net(rgb)
        feats, logits = extract(mine, u8.astype(np.float64) / 127.5 - 1.0, batch_size=2, logits=True)
        out[f"torch-fidelity/{key}/2048"] = compare(feats, ref_feats.double().numpy())
        out[f"torch-fidelity/{key}/logits"] = compare(logits, ref_logits.double().numpy())
    return out


def pytorch_fid_checks(weights: Path, imgs: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    from pytorch_fid.inception import InceptionV3

    ref_net = InceptionV3([3]).eval()  # loads $TORCH_HOME/hub/checkpoints/<WEIGHTS_FILENAME>
    mine = InceptionExtractor(weights=weights, variant="pytorch-fid")
    u8 = imgs["rgb32"]
    with torch.no_grad():
        ref = ref_net(torch.from_numpy(u8).float() / 255)[0].flatten(1)
    feats = extract(mine, u8.astype(np.float64) / 127.5 - 1.0, batch_size=3)
    return {"pytorch-fid/rgb32/2048": compare(feats, ref.double().numpy())}


def main(seed: int) -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "hub" / "checkpoints" / WEIGHTS_FILENAME
        weights.parent.mkdir(parents=True)
        torch.save(random_state_dict(seed), weights)
        os.environ["TORCH_HOME"] = tmp
        imgs = images_uint8(seed)
        results = {**torch_fidelity_checks(weights, imgs), **pytorch_fid_checks(weights, imgs)}
    print(json.dumps(results))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
