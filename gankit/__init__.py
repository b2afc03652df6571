"""gankit: generative adversarial networks in one clean codebase."""

__version__ = "0.1.0"
