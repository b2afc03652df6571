import pytest
import torch

from gankit.errors import ConfigError
from gankit.stabilizers.pack import pack, packed_shape

from ._helpers import gan_models, tiny


def test_pack_concatenates_consecutive_samples():
    x = torch.arange(12.0).reshape(6, 2)
    p = pack(x, 3)
    assert p.shape == (2, 6)
    assert torch.equal(p[1], torch.cat([x[3], x[4], x[5]]))
    img = torch.randn(8, 1, 5, 5)
    pi = pack(img, 4)
    assert pi.shape == (2, 4, 5, 5) and torch.equal(pi[1, 2], img[6, 0])
    assert packed_shape((3, 28, 28), 2) == (6, 28, 28)
    with pytest.raises(ConfigError, match="divisible"):
        pack(torch.zeros(5, 2), 2)


def test_packed_discriminators(tmp_path):
    cfg = tiny(tmp_path, **{"stab.pack": 4})
    D = gan_models(cfg, (2,))["D"]
    assert D(torch.randn(16, 2)).shape == (4,)
    cfg = tiny(tmp_path, "dcgan-fashion", **{"stab.pack": 2})
    D = gan_models(cfg, (1, 28, 28))["D"]
    assert D(torch.randn(6, 1, 28, 28)).shape == (3,)
    with pytest.raises(ConfigError, match="divisible by stab.pack"):
        tiny(tmp_path, **{"stab.pack": 3})
