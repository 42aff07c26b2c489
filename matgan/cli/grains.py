"""`matgan grains`: Grain structures: synthesis, segmentation, measurement."""

from __future__ import annotations

import click

from matgan.cli.common import MatganGroup


@click.group(cls=MatganGroup)
def grains() -> None:
    """Grain structures: synthesis, segmentation, measurement (commands arrive with the grains issues)."""
