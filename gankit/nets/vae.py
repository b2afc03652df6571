"""Convolutional encoder, decoder and feature discriminator of the VAE and VAE-GAN families.

Square images whose size is a multiple of 4 (28 for Fashion-MNIST, 8 for sklearn digits): two stride-2 stages
(28 -> 14 -> 7) each way.

- `Encoder(x)` -> (mean, log-variance) of the Gaussian posterior q(z | x), each (B, latent);
- `Decoder(z)` -> (B, out_channels, H, W): the likelihood's parameters (VAE, gankit.nets.likelihood) or, with
  `tanh=True`, an image in [-1, 1] (VAE-GAN's generator);
- `FeatureDiscriminator(x)` -> (logit (B,), features (B, F)): the features of its last conv stage are VAE-GAN's
  "learned similarity" space (Larsen et al. 2016 use a deep layer of D).
"""

from __future__ import annotations

from torch import Tensor, nn

from gankit.errors import ConfigError


def check_size(channels: int, h: int, w: int, who: str) -> None:
    if h != w or h % 4 or h < 4:
        raise ConfigError(f"{who} needs square images whose size is a multiple of 4, got {h}x{w}")
    if channels < 1:
        raise ConfigError(f"{who}: images need at least one channel")


def _down(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.LeakyReLU(0.2)]


class Encoder(nn.Module):
    def __init__(self, channels: int, size: int, latent: int, width: int):
        super().__init__()
        self.latent = latent
        self.body = nn.Sequential(*_down(channels, width), *_down(width, 2 * width), nn.Flatten())
        self.head = nn.Linear(2 * width * (size // 4) ** 2, 2 * latent)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean, logvar = self.head(self.body(x)).chunk(2, dim=1)
        return mean, logvar.clamp(-12, 8)


class Decoder(nn.Module):
    def __init__(self, latent: int, size: int, width: int, out_channels: int, tanh: bool = False):
        super().__init__()
        self.latent, self.start = latent, size // 4
        self.fc = nn.Sequential(nn.Linear(latent, 2 * width * self.start ** 2), nn.ReLU())
        self.body = nn.Sequential(
            nn.Unflatten(1, (2 * width, self.start, self.start)),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(width, width, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(width, out_channels, 3, 1, 1), *([nn.Tanh()] if tanh else []))

    @property
    def z_dim(self) -> int:  # the name the latent-space tools (gankit latent) read
        return self.latent

    def forward(self, z: Tensor) -> Tensor:
        return self.body(self.fc(z))


class FeatureDiscriminator(nn.Module):
    def __init__(self, channels: int, size: int, width: int):
        super().__init__()
        self.features = nn.Sequential(*_down(channels, width), nn.Conv2d(width, 2 * width, 4, 2, 1), nn.Flatten())
        self.head = nn.Sequential(nn.LeakyReLU(0.2), nn.Linear(2 * width * (size // 4) ** 2, 1))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        f = self.features(x)
        return self.head(f).squeeze(1), f
