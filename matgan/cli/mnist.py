"""`matgan mnist`: The textbook GAN variants on MNIST."""

from __future__ import annotations

import click

from matgan.cli.common import MatganGroup


@click.group(cls=MatganGroup)
def mnist() -> None:
    """The textbook GAN variants on MNIST (commands arrive with the MNIST issue)."""
