"""Named starting configurations. A preset is a set of dotted overrides on the defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gankit.config import Config
from gankit.errors import ConfigError
from gankit.families.registry import apply_overrides, new_config


@dataclass(frozen=True)
class Preset:
    description: str
    overrides: dict[str, Any] = field(default_factory=dict)


_MOG = {"model.arch": "mlp", "model.z_dim": 16, "model.g_width": 128, "model.d_width": 128, "model.depth": 2,
        "model.d_norm": "none", "train.batch_size": 256, "train.g_lr": 1e-3, "train.d_lr": 1e-3,
        "log.sample_every": 1000, "log.ckpt_every": 1000, "log.n_grid": 2500}

# the "gankit-best" recipe of `gankit bench mog` (gankit/bench/mog.py)
MOG_BEST = {"train.steps": 30000, "stab.pack": 2, "train.n_critic": 2, "stab.lr_decay": "linear", "stab.ema": 0.99,
            "stab.ema_start": 24000, "model.z_dim": 2, "train.batch_size": 256}

_SR = {"model.family": "srgan", "data.name": "sr-crops", "data.resolution": 96, "data.n_samples": 2000,
       "model.n_blocks": 4, "model.g_width": 32, "train.g_lr": 1e-4, "train.d_lr": 1e-4, "train.beta1": 0.9,
       "train.beta2": 0.999, "train.batch_size": 16, "train.steps": 2000}
_LIKELIHOOD = {"train.g_lr": 1e-3, "train.beta1": 0.9, "train.beta2": 0.999, "train.steps": 3000}

_CYCLEGAN = {"model.family": "cyclegan", "train.loss": "lsgan", "train.steps": 3000, "train.batch_size": 16}

# SeqGAN's synthetic benchmark (Yu et al. 2017): oracle data, G emb/hidden 32, Adam 0.01, the paper's 120 MLE epochs
# of 156 batches for the baselines; seqgan-oracle overrides them with the recipe tested on CPU (docs/seqgan.md)
_SEQ = {"model.family": "seqgan", "data.name": "oracle", "train.batch_size": 64, "train.g_lr": 0.01,
        "train.d_lr": 1e-4, "train.beta1": 0.9, "train.beta2": 0.999, "model.pretrain_steps": 18720,
        "model.nll_every": 780, "stab.monitor": False, "log.sample_every": 1000, "log.ckpt_every": 1000}

# text -> image (Reed et al. 2016) on captioned Fashion-MNIST, CPU-sized: widths 32, 2000 steps of batch 64
_T2I = {"model.family": "text2image", "data.name": "fashion-captions", "model.g_width": 32, "model.d_width": 32,
        "train.steps": 2000, "train.batch_size": 64}
# SEGAN's CPU preset: 8 kHz mixtures of `gankit build-speech-data`, 0.5 s chunks, G and D at 1/4 of the paper's
# widths (4 ... 256 channels), all 11 layers and kernels of 31; LSGAN + 100 L1, Adam 2e-4 (0.5, 0.999), 12,000 steps
# of batch 16 (~19 epochs; docs/speech.md, results in docs/results/speech.md)
_SPEECH = {"model.family": "segan", "data.name": "speech", "data.resolution": 4096, "model.g_width": 4,
           "model.d_width": 4, "train.loss": "lsgan", "train.g_lr": 2e-4, "train.d_lr": 2e-4, "train.beta1": 0.5,
           "train.beta2": 0.999, "train.batch_size": 16, "train.steps": 12000, "stab.monitor": False,
           "log.sample_every": 200, "log.ckpt_every": 1000}

PRESETS: dict[str, Preset] = {
    "dcgan-fashion": Preset("DCGAN (Radford et al. 2016), non-saturating loss, Adam 2e-4/0.5, Fashion-MNIST 28x28 — the default"),
    "gan-mlp-fashion": Preset(
        "MLP GAN (Goodfellow et al. 2014) with the non-saturating loss on Fashion-MNIST",
        {"model.arch": "mlp", "model.g_width": 512, "model.d_width": 512, "model.depth": 2, "model.d_norm": "none",
         "train.steps": 3000}),
    "wgan-fashion": Preset(
        "WGAN with weight clipping 0.01, RMSprop 5e-5, 5 critic steps (Arjovsky et al. 2017)",
        {"train.loss": "wgan", "train.g_opt": "rmsprop", "train.d_opt": "rmsprop", "train.g_lr": 5e-5,
         "train.d_lr": 5e-5, "train.n_critic": 5, "train.clip": 0.01}),
    "wgan-gp-fashion": Preset(
        "WGAN-GP, lambda 10, Adam 1e-4 (0, 0.9), 5 critic steps, layer norm in D (Gulrajani et al. 2017)",
        {"train.loss": "wgan-gp", "model.d_norm": "layer", "train.g_lr": 1e-4, "train.d_lr": 1e-4, "train.beta1": 0.0,
         "train.beta2": 0.9, "train.n_critic": 5, "train.gp_lambda": 10.0}),
    "lsgan-fashion": Preset(
        "LSGAN with a=0, b=1, c=1 (Mao et al. 2017)",
        {"train.loss": "lsgan", "train.lsgan_a": 0.0, "train.lsgan_b": 1.0, "train.lsgan_c": 1.0}),
    "hinge-fashion": Preset("Hinge loss (Lim & Ye 2017; Miyato et al. 2018)", {"train.loss": "hinge"}),
    "dragan-fashion": Preset(
        "DRAGAN, lambda 10, no batch norm in D (Kodali et al. 2017)",
        {"train.loss": "dragan", "model.d_norm": "layer", "train.g_lr": 1e-4, "train.d_lr": 1e-4, "train.beta2": 0.9,
         "train.gp_lambda": 10.0}),
    "cgan-fashion": Preset(
        "Conditional GAN (Mirza & Osindero 2014) on DCGAN: one-hot label joined to z and as input planes of D",
        {"model.cond": "cgan"}),
    "projection-fashion": Preset(
        "Projection discriminator (Miyato & Koyama 2018) on DCGAN, conditional batch norm in G, hinge loss",
        {"model.cond": "projection", "model.cond_bn": True, "train.loss": "hinge"}),
    "acgan-fashion": Preset(
        "AC-GAN (Odena et al. 2017) on DCGAN: auxiliary classifier head on D, weight 1",
        {"model.cond": "acgan", "train.acgan_weight": 1.0}),
    "gan-ring8": Preset(
        "MLP GAN on the ring of 8 Gaussians (radius 1, std 0.01)",
        {**_MOG, "data.name": "ring8", "train.steps": 5000}),
    "gan-grid25": Preset(
        "MLP GAN on the 5x5 grid of 25 Gaussians (std 0.05)",
        {**_MOG, "data.name": "grid25", "train.steps": 10000}),
    "best-ring8": Preset(
        "gankit's MoG recipe (docs/results/mog.md) on ring-8: PacGAN2, 2 D steps, linear lr decay, EMA of G",
        {**_MOG, **MOG_BEST, "data.name": "ring8"}),
    "best-grid25": Preset(
        "gankit's MoG recipe (docs/results/mog.md) on grid-25: PacGAN2, 2 D steps, linear lr decay, EMA of G",
        {**_MOG, **MOG_BEST, "data.name": "grid25"}),
    "pix2pix-edges": Preset(
        "pix2pix (Isola et al. 2017) edges -> Fashion-MNIST item: U-Net G, PatchGAN D with 7 px patches (the "
        "paper's 70/256 scaled to 28 px), cGAN + 100 L1",
        {"model.family": "pix2pix", "data.name": "fashion-edges", "train.steps": 2000, "train.batch_size": 64}),
    "pix2pixhd-edges": Preset(
        "pix2pixHD (Wang et al. 2018) on the pix2pix-edges pairs: global generator at 14 px + local enhancer, 3 "
        "PatchGANs on a 28/14/7 px pyramid, LSGAN + 10 feature matching, no L1",
        {"model.family": "pix2pix", "data.name": "fashion-edges", "model.g_arch": "global+local", "model.g_width": 32,
         "model.num_d": 3, "model.lambda_fm": 10.0, "model.objective": "cgan", "train.loss": "lsgan",
         "train.steps": 2000, "train.batch_size": 64}),
    "pix2pix-colorize": Preset(
        "pix2pix grayscale -> colour on 64x64 crops of a folder of photos (--data.root)",
        {"model.family": "pix2pix", "data.name": "colorize", "data.resolution": 64, "data.n_samples": 4000,
         "train.steps": 3000, "train.batch_size": 16}),
    "cyclegan-edges": Preset(
        "CycleGAN (Zhu et al. 2017) edges <-> Fashion-MNIST item on unpaired data (the fashion-edges pairs shuffled; "
        "pix2pix-edges is the upper bound): ResNet G with 3 blocks, PatchGAN D, LSGAN, cycle 10, identity 0.5",
        {**_CYCLEGAN, "data.name": "fashion-edges-unpaired"}),
    "cyclegan-sneaker-boot": Preset(
        "CycleGAN sneaker <-> ankle boot (Fashion-MNIST classes 7 and 9, unpaired), the settings of cyclegan-edges",
        {**_CYCLEGAN, "data.name": "fashion-sneaker-boot"}),
    "stargan-fashion": Preset(
        "StarGAN (Choi et al. 2018) across the 10 Fashion-MNIST classes: one ResNet G(x, target class) with 3 "
        "blocks, D with real/fake and class heads, WGAN-GP 10, 5 D steps, Adam 1e-4 (0.5, 0.999), cls 1, rec 10",
        {"model.family": "stargan", "data.name": "fashion-mnist", "train.loss": "wgan-gp", "train.gp_lambda": 10.0,
         "train.n_critic": 5, "train.g_lr": 1e-4, "train.d_lr": 1e-4, "train.beta1": 0.5, "train.beta2": 0.999,
         "train.steps": 3000, "train.batch_size": 16}),
    "srresnet-photos": Preset(
        "SRResNet (Ledig et al. 2017) 4x super-resolution, pixel MSE, on 96x96 HR crops (24x24 LR, bicubic) of a "
        "folder of photos (--data.root); CPU-sized: 4 residual blocks of 32 channels, Adam 1e-4 (0.9, 0.999)",
        {**_SR, "model.objective": "mse"}),
    "srgan-photos": Preset(
        "SRGAN 4x: SRResNet G + the paper's D, content (pixel MSE; --model.content=dfeat|vgg) + 1e-3 adversarial; "
        "CPU-sized as srresnet-photos (start G from an SRResNet run with --model.g_init=RUN, as the paper does)",
        {**_SR, "model.objective": "srgan", "model.d_width": 32, "model.d_dense": 256}),
    "completion-fashion": Preset(
        "Image completion (Iizuka et al. 2017) on Fashion-MNIST at 32x32: dilated encoder-decoder C (width 16), "
        "global + local D, holes 8-16 px; phases: 1000 steps MSE, 200 D only, then joint (alpha 4e-4)",
        {"model.family": "completion", "data.name": "fashion-mnist", "data.resolution": 32, "train.steps": 3000,
         "train.batch_size": 32, "train.g_lr": 2e-4, "train.d_lr": 2e-4}),
    "completion-photos": Preset(
        "Image completion on 64x64 crops of a folder of photos (--data.root, sr-crops' HR crops), the settings of "
        "completion-fashion",
        {"model.family": "completion", "data.name": "sr-crops", "data.resolution": 64, "data.n_samples": 4000,
         "train.steps": 3000, "train.batch_size": 16, "train.g_lr": 2e-4, "train.d_lr": 2e-4}),
    "vae-fashion": Preset(
        "VAE (Kingma & Welling 2014) on 8-bit Fashion-MNIST: conv encoder/decoder, 32-d Gaussian latent, "
        "discretised logistic likelihood, Adam 1e-3 (0.9, 0.999); eval NLL by IWAE k=50 (--metrics nll)",
        {"model.family": "vae", **_LIKELIHOOD}),
    "pixelcnn-fashion": Preset(
        "Gated PixelCNN (van den Oord et al. 2016) on 8-bit Fashion-MNIST: 7x7 mask-A block + 5 gated 3x3 blocks "
        "of 32 channels, 256-way softmax, Adam 1e-3 (0.9, 0.999)",
        {"model.family": "pixelcnn", "model.width": 32, "model.blocks": 5, **_LIKELIHOOD}),
    "vaegan-fashion": Preset(
        "VAE-GAN (Larsen et al. 2016) on Fashion-MNIST: reconstruction in D's features, KL, GAN on reconstructions "
        "and prior samples, gamma 1e-2 (the decoder's weight on the feature reconstruction), Adam 3e-4 (0.5, 0.999)",
        {"model.family": "vaegan", "train.g_lr": 3e-4, "train.d_lr": 3e-4, "train.steps": 3000}),
    "seqgan-oracle": Preset(
        "SeqGAN on the oracle LSTM (--data.root=seqgan_oracle.npz), the recipe tested in docs/results/seqgan.md: 40 "
        "MLE epochs, D at a quarter of the paper's filters pretrained for 2,000 batches, 50 adversarial steps with "
        "16 roll-outs and 15 D updates each; NLL-oracle logged (the paper's budget: docs/seqgan.md)",
        {**_SEQ, "model.pretrain_steps": 6240, "model.d_pretrain_steps": 2000, "model.d_filter_scale": 0.25,
         "model.nll_every": 1560, "train.steps": 6240 + 2000 + 50}),
    "mle-oracle": Preset("The MLE baseline on the oracle: the G of seqgan-oracle trained by maximum likelihood only",
                         {**_SEQ, "model.mode": "mle", "train.steps": 18720 + 200 * 156}),
    "ss-oracle": Preset("Scheduled sampling (Bengio et al. 2015) after the MLE epochs, up to 25% own tokens",
                        {**_SEQ, "model.mode": "ss", "train.steps": 18720 + 200 * 156}),
    "pg-bleu-oracle": Preset("PG-BLEU: SeqGAN's policy gradient with BLEU-3 against the training set as the reward",
                             {**_SEQ, "model.mode": "pg-bleu", "train.steps": 18720 + 200}),
    "seqgan-poems": Preset(
        "SeqGAN on Chinese five-character quatrains (--data.root=the unpacked npm chinese-poetry package): "
        "character LSTM (emb/hidden 64), 20 MLE epochs, D at half the paper's filters, 100 adversarial steps",
        {**_SEQ, "data.name": "poems", "model.emb": 64, "model.hidden": 64, "model.pretrain_steps": 4800,
         "model.nll_every": 0, "model.d_filter_scale": 0.5, "model.d_pretrain_steps": 500, "model.d_steps": 5,
         "train.steps": 4800 + 500 + 100}),
    "text2image-fashion": Preset(
        "GAN-INT-CLS (Reed et al. 2016) on Fashion-MNIST with captions of class, brightness and size: word GRU "
        "encoder trained through D, DCGAN G(z, text) and D(x, text), matching-aware D, interpolated embeddings",
        {**_T2I, "model.cls": True, "model.int": True}),
    "text2image-plain-fashion": Preset(
        "Plain text conditioning for comparison with text2image-fashion: the same nets and captions, no wrong-text "
        "term in D (no GAN-CLS) and no interpolated embeddings (no GAN-INT)",
        {**_T2I, "model.cls": False, "model.int": False}),
    "segan-speech": Preset(
        "SEGAN (Pascual et al. 2017) speech enhancement on the Asterisk mixtures (--data.root, `gankit "
        "build-speech-data`): 11-layer 1-D encoder-decoder G with skips and z, D on (noisy, x) pairs with virtual "
        "batch norm, LSGAN + 100 L1; CPU-sized: 8 kHz, 0.5 s chunks, 1/4 of the paper's widths; "
        "--model.init_from=AN_L1_SPEECH_RUN --train.steps=6000 starts it from the L1-only G (docs/speech.md)",
        _SPEECH),
    "l1-speech": Preset("The L1-only generator of segan-speech (no D): SEGAN's ablation",
                        {**_SPEECH, "model.adversarial": False}),
}

DEFAULT_PRESET = "dcgan-fashion"


def preset_config(name: str = DEFAULT_PRESET) -> Config:
    """A fresh Config with the preset's overrides applied."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset '{name}'; valid presets: {', '.join(PRESETS)}")
    over = PRESETS[name].overrides
    return apply_overrides(new_config(over.get("model.family", "gan"), preset=name), over)
