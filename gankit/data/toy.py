"""2D Gaussian mixtures for mode-collapse studies (Unrolled GAN, VEEGAN, PacGAN)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gankit.errors import ConfigError


@dataclass(frozen=True, eq=False)
class GaussianMixture2D:
    """Equal-weight mixture of isotropic 2D Gaussians with means ``centers`` (K, 2)."""

    centers: np.ndarray
    std: float

    def __post_init__(self) -> None:
        centers = np.asarray(self.centers, dtype=np.float64)
        if centers.ndim != 2 or centers.shape[1] != 2 or len(centers) == 0:
            raise ConfigError(f"GaussianMixture2D: centers must have shape (K, 2), got {centers.shape}")
        if not self.std > 0:
            raise ConfigError(f"GaussianMixture2D: std must be > 0, got {self.std}")
        object.__setattr__(self, "centers", centers)
        object.__setattr__(self, "std", float(self.std))

    @property
    def num_modes(self) -> int:
        return len(self.centers)

    def sample_with_modes(self, n: int, generator: torch.Generator | None = None
                          ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` float32 points (n, 2) and the int64 index of the mode each came from."""
        if n < 0:
            raise ConfigError(f"GaussianMixture2D: cannot draw {n} samples")
        modes = torch.randint(self.num_modes, (n,), generator=generator)
        means = torch.as_tensor(self.centers, dtype=torch.float32)[modes]
        noise = torch.randn(n, 2, generator=generator)
        return means + self.std * noise, modes

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` points (n, 2), each from a uniformly chosen mode."""
        return self.sample_with_modes(n, generator)[0]


def ring8(radius: float = 1.0, std: float = 0.01) -> GaussianMixture2D:
    """8 modes on a circle at angles 2*pi*k/8, k = 0..7 (no repeated mode)."""
    angles = 2.0 * np.pi * np.arange(8) / 8
    return GaussianMixture2D(radius * np.stack([np.cos(angles), np.sin(angles)], axis=1), std)


def grid25(spacing: float = 2.0, std: float = 0.05) -> GaussianMixture2D:
    """25 modes on the grid {-4, -2, 0, 2, 4}^2 (for the default spacing)."""
    axis = spacing * np.arange(-2, 3, dtype=np.float64)
    xs, ys = np.meshgrid(axis, axis, indexing="ij")
    return GaussianMixture2D(np.stack([xs.ravel(), ys.ravel()], axis=1), std)


MIXTURES = {"ring8": ring8, "grid25": grid25}
