"""The `matgan` command: one click group per domain, each a thin layer over library functions."""

from __future__ import annotations

import click

from matgan import __version__
from matgan.cli.common import MatganGroup
from matgan.cli.grains import grains
from matgan.cli.mnist import mnist
from matgan.cli.pipeline import pipeline
from matgan.cli.toy import toy
from matgan.cli.vibration import vibration


@click.group(cls=MatganGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="matgan")
def main() -> None:
    """GANs for materials science and machine vibration.

    \b
    grains     virtual micrographs, grain segmentation (CycleGAN), ASTM E112 grain size
    vibration  synthetic and real bearing spectra, InfoGAN with a calibrated peak control
    mnist      the textbook variants: gan, dcgan, cgan, infogan, aae, cyclegan
    pipeline   batch runs from TOML configs, multi-GPU through torchrun
    """


main.add_command(grains)
main.add_command(vibration)
main.add_command(mnist)
main.add_command(pipeline)
main.add_command(toy)
