import torch

from gankit.stabilizers.minibatch import MinibatchDiscrimination, MinibatchStdDev

from ._helpers import gan_models, tiny


def test_minibatch_discrimination_shape_and_cross_sample_dependence():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(6, kernels=4, kernel_dim=3)
    h = torch.randn(5, 6)
    out = layer(h)
    assert out.shape == (5, 10) and torch.equal(out[:, :6], h)
    h2 = h.clone()
    h2[4] += 1.0  # change another sample only
    assert not torch.allclose(layer(h2)[0, 6:], out[0, 6:])
    # identical samples: each sees N-1 exact copies, o = N - 1
    same = layer(h[:1].repeat(4, 1))
    torch.testing.assert_close(same[:, 6:], torch.full((4, 4), 3.0))


def test_minibatch_stddev_feature():
    h = torch.tensor([[0.0, 2.0], [2.0, 4.0]])
    out = MinibatchStdDev()(h)
    torch.testing.assert_close(out[:, 2], torch.full((2,), 1.0), atol=1e-4, rtol=0)
    img = MinibatchStdDev()(torch.randn(3, 4, 2, 2))
    assert img.shape == (3, 5, 2, 2)


def test_discriminators_with_minibatch_layers(tmp_path):
    cfg = tiny(tmp_path, **{"stab.minibatch_disc": 5, "stab.mbstd": True})
    D = gan_models(cfg, (2,))["D"]
    x = torch.randn(8, 2)
    out = D(x)
    assert out.shape == (8,)
    x2 = x.clone()
    x2[7] += 3.0
    assert abs(D(x2)[0] - out[0]) > 1e-6  # D's verdict on sample 0 depends on sample 7
    cfg = tiny(tmp_path, "dcgan-fashion", **{"stab.minibatch_disc": 3, "stab.mbstd": True})
    assert gan_models(cfg, (1, 28, 28))["D"](torch.randn(4, 1, 28, 28)).shape == (4,)
