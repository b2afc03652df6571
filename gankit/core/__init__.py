"""The bottom layer: the training loop, phases, hooks, checkpoints and the data spec.

Nothing here knows about generators, discriminators or latent codes: a model family (gankit.families)
hands the loop named modules, optimizers and phases.
"""
