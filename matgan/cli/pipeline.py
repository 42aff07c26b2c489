"""`matgan pipeline`: batch runs from TOML configs, training stages under torchrun with --gpus."""

from __future__ import annotations

import shlex

import click

from matgan.cli.common import MatganGroup


@click.group(cls=MatganGroup)
def pipeline() -> None:
    """Batch runs from TOML configs (see pipelines/): skip unchanged stages, resume killed ones."""


@pipeline.command("run")
@click.argument("file", type=click.Path())
@click.option("--dry-run", is_flag=True, help="print the plan and run nothing")
@click.option("--from", "from_stage", default=None, help="rerun from this stage on, even if unchanged")
@click.option("--gpus", type=int, default=1, show_default=True,
              help="processes per training stage (torchrun --nproc_per_node; on CPU: gloo processes)")
@click.option("--out", "-o", "out", type=click.Path(), default=None, help="run folder (default: the file's)")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="replace a value of the file's [vars] for this run (repeatable)")
def run(file, dry_run, from_stage, gpus, out, sets):
    """Run the stages of pipeline FILE in order; write <run>/report.md."""
    from matgan.pipeline import load_pipeline, plan, run_pipeline

    if gpus < 1:
        raise click.BadParameter("must be at least 1", param_hint="--gpus")
    overrides = {}
    for item in sets:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--set")
        overrides[name.strip()] = value
    spec = load_pipeline(file, out, overrides)
    if dry_run:
        click.echo(f"pipeline {spec.name}: run folder {spec.run}")
        for stage, action, reason in plan(spec, from_stage):
            click.echo(f"  {stage.name:<12} {action:<6} {reason}")
            for argv in stage.argvs(gpus, action == "resume"):
                click.echo(f"  {'':<12} $ {shlex.join(argv)}")
        return
    run_pipeline(spec, from_stage, gpus, echo=click.echo)
