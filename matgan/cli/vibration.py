"""`matgan vibration`: Vibration spectra: synthesis, CWRU data, InfoGAN generation."""

from __future__ import annotations

import click

from matgan.cli.common import MatganGroup


@click.group(cls=MatganGroup)
def vibration() -> None:
    """Vibration spectra: synthesis, CWRU data, InfoGAN generation (commands arrive with the vibration issue)."""
