"""pix2pixHD networks: the pyramid of the multi-scale D, feature matching, the global and local generators."""

from __future__ import annotations

import pytest
import torch

from gankit.errors import ConfigError
from gankit.nets.pix2pixhd import (LocalEnhancer, MultiScaleD, check_pyramid, downsample, feature_matching,
                                   global_down, global_generator, patch_out_size, pyramid_sizes)


def test_pyramid_shapes():
    D = MultiScaleD(3, 2, width=4, n_layers=1)
    out = D(torch.randn(2, 2, 28, 28))
    assert pyramid_sizes(28, 4) == [28, 14, 7, 4]
    assert len(out) == 3 and all(len(s) == 3 for s in out)  # 2 LeakyReLU activations + logits per scale
    assert [tuple(s[-1].shape) for s in out] == [(2, 1, n, n) for n in (12, 5, 1)]
    assert [s[-1].shape[-1] for s in out] == [patch_out_size(n, 1) for n in (28, 14, 7)]
    assert [s[0].shape[-1] for s in out] == [14, 7, 3]  # first stride-2 conv: s // 2


def test_second_d_sees_the_pooled_image():
    D = MultiScaleD(2, 1, width=4, n_layers=0).eval()
    x = torch.randn(1, 1, 8, 8)
    seen = []
    D.ds[1].register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    D.ds[1].features = D.ds[1].__call__  # route through the hooks
    D(x)
    pooled = downsample(x)
    assert pooled.shape[-1] == 4 and torch.equal(seen[0], pooled)
    # 3x3 stride 2, padding not counted: the corner averages its 2x2 neighbourhood, the next one 2x3
    assert torch.allclose(pooled[0, 0, 0, 0], x[0, 0, :2, :2].mean())
    assert torch.allclose(pooled[0, 0, 0, 1], x[0, 0, :2, 1:4].mean())


def test_feature_matching_zero_on_real_positive_otherwise():
    D = MultiScaleD(2, 1, width=4, n_layers=1)
    real = torch.randn(2, 1, 16, 16)
    assert feature_matching(D(real), D(real)).item() == 0.0
    fake = real + 0.5 * torch.randn_like(real)
    fm = feature_matching(D(fake), D(real))
    assert fm.item() > 0
    fm.backward()  # reaches D through the fakes' features only (the real ones are detached)
    assert D.ds[0].net[0].weight.grad is not None


def test_pyramid_refusals():
    check_pyramid(28, 4, 0, "patch")  # 4 px at the coarsest scale, smaller than the 7 px patch: fine
    with pytest.raises(ConfigError, match="down to 2 px .* use num_d <= 4"):
        check_pyramid(28, 5, 0, "patch")
    with pytest.raises(ConfigError, match="d_layers=3 leaves no output on the 7 px"):
        check_pyramid(28, 3, 3, "patch")
    with pytest.raises(ConfigError, match="num_d must be >= 1"):
        MultiScaleD(0, 1)


def test_global_and_local_generators():
    assert (global_down(28), global_down(14), global_down(256), global_down(27)) == (2, 1, 4, 0)
    G1 = global_generator(1, 3, 28, width=4, n_blocks=1)
    assert G1(torch.randn(2, 1, 28, 28)).shape == (2, 3, 28, 28)
    G = LocalEnhancer(1, 3, 28, width=4, n_blocks_global=1, n_blocks_local=1)
    x = torch.randn(2, 1, 28, 28)
    seen = []
    G.global_net.register_forward_hook(lambda m, i, o: seen.append((i[0].shape[-1], o.shape[1:])))
    out = G(x)
    assert out.shape == (2, 3, 28, 28) and out.abs().max() <= 1
    assert seen == [(14, torch.Size([8, 14, 14]))]  # G1 of width 2k at half size, its last features added
    with pytest.raises(ConfigError, match="even image size"):
        LocalEnhancer(1, 1, 27)
