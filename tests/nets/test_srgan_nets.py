"""SRGAN networks: SRResNet shapes, scale and receptive radius, the paper's D, VGG19 features from safetensors."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from gankit.nets.srgan import SRDiscriminator, SRResNet, VGG19Features, upscale_stages


@pytest.mark.parametrize("scale,blocks", [(2, 0), (4, 2), (8, 1)])
def test_srresnet_shapes(scale, blocks):
    G = SRResNet(scale, blocks, width=8)
    assert len(G.up) == upscale_stages(scale) and len(G.blocks) == blocks
    assert G(torch.randn(2, 3, 6, 5)).shape == (2, 3, 6 * scale, 5 * scale)


def test_scale_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        SRResNet(3)


def test_receptive_radius_bounds_the_influence_of_a_pixel():
    """A change of one LR pixel moves HR outputs only within `radius` LR pixels of it, and does reach that far."""
    torch.manual_seed(0)
    G = SRResNet(4, 2, width=8).eval()
    x = torch.randn(1, 3, 41, 41)
    y = x.clone()
    y[..., 20, 20] += 5
    diff = (G(x) - G(y)).abs().sum(1)[0] > 0
    rows = diff.any(1).nonzero().flatten()
    reach = max(20 * 4 - int(rows.min()), int(rows.max()) - (20 * 4 + 3)) / 4
    assert reach <= G.radius and reach > G.radius - 2


def test_srresnet_one_step_lowers_the_mse():
    torch.manual_seed(0)
    G = SRResNet(4, 1, width=8)
    opt = torch.optim.Adam(G.parameters(), lr=1e-3)
    lr = torch.rand(4, 3, 6, 6) * 2 - 1
    hr = lr.repeat_interleave(4, 2).repeat_interleave(4, 3)  # a target G can learn
    before = [p.detach().clone() for p in G.parameters()]
    losses = []
    for _ in range(5):
        loss = (G(lr) - hr).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert all(not torch.equal(p, q) for p, q in zip(G.parameters(), before))


@pytest.mark.parametrize("size", [16, 32, 96])
def test_discriminator_logits_and_features(size):
    D = SRDiscriminator(size, width=4, dense=16)
    logit, feats = D(torch.randn(3, 3, size, size), features=True)
    assert logit.shape == (3, 1) and len(feats) == 7
    assert [f.shape[1] for f in feats] == [4, 8, 8, 16, 16, 32, 32]
    assert feats[-1].shape[-1] == size // 16


def test_discriminator_one_step_moves_every_parameter():
    torch.manual_seed(0)
    D = SRDiscriminator(32, width=4, dense=8)
    opt = torch.optim.Adam(D.parameters(), lr=1e-2)
    before = [p.detach().clone() for p in D.parameters()]
    real, fake = torch.rand(4, 3, 32, 32) * 2 - 1, torch.rand(4, 3, 32, 32) * 2 - 1
    loss = torch.nn.functional.softplus(-D(real)).mean() + torch.nn.functional.softplus(D(fake)).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert all(not torch.equal(p, q) for p, q in zip(D.parameters(), before))


def test_discriminator_needs_a_size_divisible_by_16():
    with pytest.raises(ValueError, match="divisible by 16"):
        SRDiscriminator(40)


def random_vgg19(path, seed=0):
    """A VGG19 state dict with torchvision's key names (features.* and classifier.*), random values."""
    torch.manual_seed(seed)
    full = VGG19Features("54")
    tensors = {k: torch.randn_like(v) * 0.05 for k, v in full.state_dict().items()}
    tensors["classifier.0.weight"] = torch.zeros(4, 4)  # ignored
    save_file(tensors, str(path))
    return tensors


@pytest.mark.parametrize("layer,channels,down", [("22", 128, 2), ("54", 512, 16)])
def test_vgg_features_cut_and_loaded_from_safetensors(tmp_path, layer, channels, down):
    from safetensors.torch import load_file

    tensors = random_vgg19(tmp_path / "vgg.safetensors")
    vgg = VGG19Features(layer)
    vgg.load_weights(load_file(str(tmp_path / "vgg.safetensors")))
    out = vgg(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert out.shape == (2, channels, 32 // down, 32 // down) and (out >= 0).all()  # after a ReLU
    first = vgg.features[0]
    assert torch.equal(first.weight, tensors["features.0.weight"])
    keys = list(vgg.state_dict())
    assert keys[-1] == ("features.7.bias" if layer == "22" else "features.34.bias")


def test_vgg_features_normalise_like_imagenet():
    vgg = VGG19Features("22")
    x = torch.zeros(1, 3, 4, 4)  # mid gray in [-1, 1] = 0.5 in [0, 1]
    seen = {}
    vgg.features[0].register_forward_hook(lambda m, i, o: seen.update(x=i[0]))
    vgg(x)
    want = (0.5 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    assert torch.allclose(seen["x"][0, :, 0, 0], want)


def test_vgg_load_refuses_a_wrong_file():
    vgg = VGG19Features("22")
    with pytest.raises(KeyError, match="missing features.0.weight"):
        vgg.load_weights({})
    bad = {k: torch.zeros(1) for k in vgg.state_dict()}
    with pytest.raises(KeyError, match="has shape"):
        vgg.load_weights(bad)
