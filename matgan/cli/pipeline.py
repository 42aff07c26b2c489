"""`matgan pipeline`: Batch runs from TOML configs."""

from __future__ import annotations

import click

from matgan.cli.common import MatganGroup


@click.group(cls=MatganGroup)
def pipeline() -> None:
    """Batch runs from TOML configs (commands arrive with the pipelines issue)."""
