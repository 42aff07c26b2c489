"""Options spelled the same in every command, and the one-line error handling."""

from __future__ import annotations

import sys

import click

from matgan.errors import MatganError


class InputError(click.ClickException):
    """A user-fixable problem: printed as one line, exit status 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


class MatganGroup(click.Group):
    """A click group that turns MatganError anywhere below it into one line and exit 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MatganError as exc:
            raise InputError(str(exc)) from None


def out_option(required: bool = False, help: str = "output folder (a new run folder for training)"):
    return click.option("--out", "-o", "out", type=click.Path(), required=required, help=help)


seed_option = click.option("--seed", type=int, default=0, show_default=True, help="seed of every random thing")
device_option = click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto", show_default=True,
    help="where to compute (auto: cuda > mps > cpu)")
steps_option = click.option("--steps", type=int, default=None, help="training steps (generator updates)")
batch_size_option = click.option("--batch-size", type=int, default=None, help="samples per step")
resume_option = click.option("--resume", is_flag=True, help="continue the run in --out from its last.pt")
overwrite_option = click.option("--overwrite", is_flag=True, help="replace existing outputs")
precision_option = click.option(
    "--precision", type=click.Choice(["fp32", "bf16", "fp16"]), default="fp32", show_default=True,
    help="mixed precision: bf16 or fp16 on CUDA, bf16 also on CPU")


def echo_json(obj) -> None:
    import json

    click.echo(json.dumps(obj, indent=None, default=float))
    sys.stdout.flush()
