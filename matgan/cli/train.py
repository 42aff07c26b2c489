"""`matgan toy`: train any core variant on a toy 2-D mixture of Gaussians (devices, DDP, resume)."""

from __future__ import annotations

import click

from matgan.cli.common import MatganGroup


@click.group(cls=MatganGroup, name="toy")
def train() -> None:
    """Core smoke runs on a toy 2-D mixture of Gaussians."""
