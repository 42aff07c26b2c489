"""matgan: generative adversarial networks for materials science and machine vibration."""

__version__ = "0.1.0"
