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


def d2_update(trainer, real: Tensor) -> dict[str, float]:
    """One update of D2: G(E(x)) is its real side, G(z) its fake side (the trainer's loss)."""
    G, E, D2 = trainer.models["G"], trainer.models["E"], trainer.models["D2"]
    with torch.no_grad():
        rec = G(E(real))
        fake = G(trainer.sample_z(real.shape[0]))
    loss = trainer.loss.d(D2(rec), D2(fake))
    trainer.optims["D2"].zero_grad(set_to_none=True)
    loss.backward()
    trainer.optims["D2"].step()
    return {"loss/d2": loss.item()}


def g_terms(trainer, real: Tensor, fake: Tensor) -> tuple[Tensor, dict[str, float]]:
    """The MRGAN terms added to G's loss (E gets its gradients from them), and their values."""
    st = trainer.cfg.stab
    G, E = trainer.models["G"], trainer.models["E"]
    rec = G(E(real))
    recon = (real - rec).pow(2).flatten(1).sum(1).mean()
    mode = trainer.loss.g(trainer.models["D"](rec))
    diffusion = trainer.loss.g(trainer.models["D2"](fake))
    total = st.mrgan_recon * recon + st.mrgan_mode * mode + diffusion
    return total, {"mrgan/recon": recon.item(), "mrgan/mode": mode.item(), "mrgan/diffusion": diffusion.item()}
