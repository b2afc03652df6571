"""Mode-regularised GAN (Che et al. 2017): an encoder E, a reconstruction term on G(E(x)), the mode
regulariser -log D(G(E(x))) and a second discriminator D2 between G(E(x)) ("real") and G(z) ("fake").

G and E minimise  g_loss(D(G(z))) + recon ||x - G(E(x))||^2 + mode g_loss(D(G(E(x)))) + g_loss(D2(G(z))).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gankit.stabilizers.madgan import add_class_head


def build_encoder(D_like: nn.Module, z_dim: int) -> nn.Module:
    """An encoder x -> z from a fresh discriminator network whose head outputs z_dim values."""
    return add_class_head(D_like, z_dim)


def d2_loss(G: nn.Module, E: nn.Module, D2: nn.Module, loss, real: Tensor, z: Tensor) -> Tensor:
    """D2's loss: G(E(x)) is its real side, G(z) its fake side (the run's GAN loss)."""
    with torch.no_grad():
        rec = G(E(real))
        fake = G(z)
    return loss.d(D2(rec), D2(fake))


def g_terms(G: nn.Module, E: nn.Module, D: nn.Module, D2: nn.Module, loss, stab, real: Tensor,
            fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
    """The MRGAN terms added to G's loss (E gets its gradients from them), and their values."""
    rec = G(E(real))
    recon = (real - rec).pow(2).flatten(1).sum(1).mean()
    mode = loss.g(D(rec))
    diffusion = loss.g(D2(fake))
    total = stab.mrgan_recon * recon + stab.mrgan_mode * mode + diffusion
    return total, {"mrgan/recon": recon.detach(), "mrgan/mode": mode.detach(), "mrgan/diffusion": diffusion.detach()}
