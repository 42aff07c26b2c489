"""Batch runs from TOML files: stages of matgan commands, skipped when unchanged, resumed when killed.

A pipeline file::

    [pipeline]
    name = "grains"
    out = "runs/grains"              # the run folder, relative to the current directory

    [vars]                           # substituted as {name} in every string below
    steps = 2000

    [[stage]]
    name = "synth"
    command = "grains synth"         # a matgan command (run as `python -m matgan grains synth ...`)
    args = ["-n", "200"]             # positional arguments and flags, in order
    options = { seed = 0, out = "{stage_dir}/virtual.h5" }   # --seed 0 --out ...; true -> a flag
    inputs = []                      # files or folders the stage reads (their content is hashed)
    outputs = ["{stage_dir}/virtual.h5"]

    [[stage]]
    name = "train"
    command = "grains train"
    train = true                     # torchrun under --gpus N; --resume after a kill
    options = { out = "{stage_dir}/run", steps = "{steps}" }
    inputs = ["{run}/synth/virtual.h5"]
    outputs = ["{stage_dir}/run/last.pt"]

A stage may also give whole command lines: `command = "matgan grains synth -n 200 -o {out}/v.h5"`,
or several in `commands = [...]`; lines that do not start with `matgan` run as plain programs
(e.g. `cp`, `python benchmarks/x.py`); words with `*` are expanded as file globs when the stage
runs (no shell is involved). `needs = ["synth"]` makes a stage rerun whenever a stage it
needs ran again.

Placeholders: {run} (the run folder; {out} is the same), {stage_dir} (run/<stage name>),
{config_dir} (the TOML's folder), the [vars] and any other key of [pipeline]; the run folder (`out`)
may name the others, and a [vars] value may name {out} or another value (one level).
`matgan pipeline run --set name=value` replaces a [vars] value for one run (one config, several
variants). A stage is skipped when its record (`<stage_dir>/stage.json`) says
it completed with the same hash of commands, input contents and needed stages' runs, and its outputs
exist. Otherwise it runs in a subprocess with its log in `<stage_dir>/log.txt`; a training stage whose
run folder (its `--out`/`-o`) holds a `last.pt` from an unfinished attempt is continued with `--resume`.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matgan.errors import MatganError
from matgan.io import write_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class Stage:
    name: str
    commands: list[list[str]]  # each a matgan argument list (after "matgan") or, if external, a program's argv
    external: list[bool]
    inputs: list[Path]
    outputs: list[Path]
    needs: list[str]
    train: bool
    stage_dir: Path
    run_dir: Path | None = None  # the training run folder (its --out), for --resume
    env: dict[str, str] = field(default_factory=dict)

    def argvs(self, gpus: int, resume: bool) -> list[list[str]]:
        """The full command lines to execute, launcher included (globs such as `out/*_labels.tif` expanded)."""
        lines = []
        for words, external in zip(self.commands, self.external):
            words = [m for w in words for m in (sorted(glob.glob(w)) if glob.has_magic(w) and glob.glob(w) else [w])]
            if external:
                lines.append(words)
                continue
            launcher = [sys.executable, "-m", "matgan"]
            if self.train and gpus > 1:
                launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                            f"--nproc_per_node={gpus}", "-m", "matgan"]
            extra = ["--resume"] if resume and self.train else []
            lines.append(launcher + [w for w in words if not (extra and w == "--overwrite")] + extra)
        return lines

    def shown(self) -> str:
        return " && ".join(shlex.join((["matgan"] if not ext else []) + words)
                           for words, ext in zip(self.commands, self.external))


@dataclass
class Pipeline:
    name: str
    path: Path
    run: Path
    stages: list[Stage]


def _substitute(value: Any, variables: dict[str, str], where: str) -> Any:
    if isinstance(value, str):
        def repl(match: re.Match) -> str:
            key = match.group(1)
            if key not in variables:
                raise MatganError(f"{where}: unknown placeholder {{{key}}} (known: {', '.join(sorted(variables))})")
            return variables[key]

        return _PLACEHOLDER.sub(repl, value)
    if isinstance(value, list):
        return [_substitute(v, variables, where) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, variables, where) for k, v in value.items()}
    return value


def _options_to_args(options: dict[str, Any]) -> list[str]:
    args: list[str] = []
    for key, value in options.items():
        flag = ("-" if len(key) == 1 else "--") + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, list):
            for item in value:
                args += [flag, str(item)]
        else:
            args += [flag, str(value)]
    return args


def load_pipeline(path: str | os.PathLike, out: str | os.PathLike | None = None,
                  overrides: dict[str, str] | None = None) -> Pipeline:
    """Parse and check a pipeline TOML file; `out` overrides its run folder, `overrides` values of its [vars]."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MatganError(f"{path}: no such pipeline file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MatganError(f"{path}: not valid TOML ({exc})") from None
    head = data.get("pipeline", {})
    name = head.get("name", path.stem)
    variables = {k: str(v) for k, v in head.items() if k not in ("name", "out") and not isinstance(v, dict)}
    declared = {k: str(v) for k, v in data.get("vars", {}).items()}
    for key in overrides or {}:
        if key not in declared:
            raise MatganError(f"{path}: --set {key}: no such variable in [vars] "
                              f"(known: {', '.join(sorted(declared)) or 'none'})")
    variables.update(declared, **(overrides or {}))
    # the run folder may name variables too (out = "runs/loso_{left_out}": one folder per variant)
    run = Path(out or _substitute(head.get("out"), variables, f"{path}: [pipeline] out") or Path("runs") / name)
    variables.update(run=str(run), out=str(run), config_dir=str(path.parent.resolve()))
    # a [vars] value may name the run folder or another value, one level deep (all read before any is
    # replaced): pairs = "--paired {out}/data/virtual", and `--set pairs=` turns it off for one run
    variables.update({key: _substitute(variables[key], variables, f"{path}: [vars] {key}") for key in declared})
    raw_stages = data.get("stage", [])
    if not raw_stages:
        raise MatganError(f"{path}: no [[stage]] entries")
    stages: list[Stage] = []
    for i, raw in enumerate(raw_stages):
        stages.append(_parse_stage(raw, f"{path}: stage {i + 1}", run, variables, [s.name for s in stages]))
    return Pipeline(name=name, path=path, run=run, stages=stages)


MATGAN_GROUPS = ("grains", "vibration", "mnist", "pipeline", "toy")
STAGE_KEYS = {"name", "command", "commands", "args", "options", "inputs", "outputs", "needs", "train", "env"}


def _parse_stage(raw: dict[str, Any], where: str, run: Path, variables: dict[str, str], earlier: list[str]) -> Stage:
    unknown = set(raw) - STAGE_KEYS
    if unknown:
        known = ", ".join(sorted(STAGE_KEYS))
        raise MatganError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: {known})")
    if "name" not in raw or not ("command" in raw or "commands" in raw):
        raise MatganError(f"{where}: needs a name and a command")
    name = raw["name"]
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name in earlier:
        raise MatganError(f"{where}: stage name {name!r} is not a unique plain name")
    needs = list(raw.get("needs", []))
    unknown_needs = [n for n in needs if n not in earlier]
    if unknown_needs:
        raise MatganError(f"{where}: needs {', '.join(unknown_needs)}, which is not an earlier stage")
    stage_dir = run / name
    local = dict(variables, stage_dir=str(stage_dir))
    options = _substitute(raw.get("options", {}), local, where)
    args = [str(a) for a in _substitute(raw.get("args", []), local, where)] + _options_to_args(options)
    lines = raw["commands"] if "commands" in raw else [raw["command"]]
    commands, external = [], []
    for line in lines:
        words = shlex.split(_substitute(line, local, where)) if isinstance(line, str) else [
            str(w) for w in _substitute(line, local, where)]
        if not words:
            raise MatganError(f"{where}: empty command")
        if words[0] == "matgan":
            words = words[1:]
            is_matgan = True
        else:  # the short form `command = "grains synth"`, or a plain program such as cp
            is_matgan = words[0] in MATGAN_GROUPS
        commands.append(words + (args if "command" in raw and is_matgan else []))
        external.append(not is_matgan)
    train = bool(raw.get("train", False))
    run_dir = None
    if train:
        words = commands[0]
        for flag in ("--out", "-o"):
            if flag in words and words.index(flag) + 1 < len(words):
                run_dir = Path(words[words.index(flag) + 1])
    return Stage(name=name, commands=commands, external=external,
                 inputs=[Path(p) for p in _substitute(raw.get("inputs", []), local, where)],
                 outputs=[Path(p) for p in _substitute(raw.get("outputs", []), local, where)],
                 needs=needs, train=train, stage_dir=stage_dir, run_dir=run_dir,
                 env={k: str(v) for k, v in _substitute(raw.get("env", {}), local, where).items()})


def _hash_path(path: Path, digest) -> None:
    if path.is_file():
        digest.update(f"file:{path.name}:".encode())
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    elif path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(str(child.relative_to(path)).encode())
            _hash_path(child, digest)
    else:
        digest.update(f"missing:{path}".encode())


def stage_hash(stage: Stage) -> str:
    """Hash of what decides a stage's result: its command, arguments and the content of its inputs."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"commands": stage.commands, "env": stage.env}).encode())
    for path in stage.inputs:
        _hash_path(path, digest)
    for needed in stage.needs:  # a needed stage that ran again (new token) makes this one rerun
        digest.update(_record_at(stage.stage_dir.parent / needed).get("token", "never").encode())
    return digest.hexdigest()


def _record_at(stage_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((stage_dir / "stage.json").read_text())
    except (OSError, ValueError):
        return {}


def _record(stage: Stage) -> dict[str, Any]:
    return _record_at(stage.stage_dir)


def decide(stage: Stage, forced: bool = False) -> tuple[str, str]:
    """What to do with a stage now: ("skip" | "run" | "resume", why)."""
    if forced:
        return "run", "forced by --from"
    record = _record(stage)
    digest = stage_hash(stage)
    if record.get("completed") and record.get("hash") == digest and all(p.exists() for p in stage.outputs):
        return "skip", "unchanged since it completed"
    resumable = stage.train and stage.run_dir is not None and (stage.run_dir / "last.pt").exists()
    if resumable and record.get("hash") == digest and not record.get("completed"):
        return "resume", "an unfinished run with a checkpoint"
    if not record:
        return "run", "never run"
    if record.get("hash") != digest:
        return "run", "inputs or options changed"
    return "run", "unfinished" if not record.get("completed") else "outputs missing"


def plan(pipeline: Pipeline, from_stage: str | None = None) -> list[tuple[Stage, str, str]]:
    """(stage, action, reason) per stage as things stand now (a dry run)."""
    names = [s.name for s in pipeline.stages]
    if from_stage is not None and from_stage not in names:
        raise MatganError(f"--from {from_stage}: no such stage (stages: {', '.join(names)})")
    steps, forced, upstream_runs = [], False, False
    for stage in pipeline.stages:
        forced = forced or stage.name == from_stage
        action, reason = decide(stage, forced)
        if action == "skip" and upstream_runs:
            reason += "; reruns if an upstream stage changes its inputs"
        upstream_runs = upstream_runs or action != "skip"
        steps.append((stage, action, reason))
    return steps


def _last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                return json.loads(line)
            except ValueError:
                return {}
    return {}


def _headline(result: dict[str, Any], prefix: str = "") -> dict[str, float]:
    numbers: dict[str, float] = {}
    for key, value in result.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            numbers[prefix + key] = value
        elif isinstance(value, dict) and not prefix:
            numbers.update(_headline(value, f"{key}."))
    return numbers


def run_stage(stage: Stage, gpus: int, resume: bool) -> dict[str, Any]:
    """Run one stage in a subprocess, its output teed to `<stage_dir>/log.txt`; returns its record."""
    digest = stage_hash(stage)
    if not resume:  # the pipeline owns the stage folder: a fresh attempt starts from an empty one
        if stage.stage_dir.exists():
            shutil.rmtree(stage.stage_dir)
        for target in stage.outputs + ([stage.run_dir] if stage.run_dir else []):
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    stage.stage_dir.mkdir(parents=True, exist_ok=True)
    record = {"stage": stage.name, "hash": digest, "completed": False, "started": time.time()}
    write_text(stage.stage_dir / "stage.json", json.dumps(record, indent=2))
    log_path = stage.stage_dir / "log.txt"
    env = {**os.environ, **stage.env, "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    output: list[str] = []
    argvs = stage.argvs(gpus, resume)
    with open(log_path, "a", encoding="utf-8") as log:
        for argv in argvs:
            log.write(f"$ {shlex.join(argv)}\n")
            log.flush()
            try:
                process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                           text=True, bufsize=1)
            except OSError as exc:
                raise MatganError(f"stage {stage.name}: cannot start {argv[0]} ({exc.strerror})") from None
            assert process.stdout is not None
            for line in process.stdout:
                log.write(line)
                output.append(line)
            code = process.wait()
            if code != 0:
                tail = "".join(output).strip().splitlines()[-1:] or ["(no output)"]
                raise MatganError(f"stage {stage.name} failed (exit {code}): {tail[0][:300]}; log: {log_path}")
    seconds = time.perf_counter() - start
    missing = [str(p) for p in stage.outputs if not p.exists()]
    if missing:
        raise MatganError(f"stage {stage.name} finished but did not write {', '.join(missing)}; log: {log_path}")
    token = hashlib.sha256(f"{digest}{time.time_ns()}".encode()).hexdigest()[:16]
    record.update(completed=True, token=token, seconds=round(seconds, 2), commands=argvs,
                  result=_headline(_last_json("".join(output))), outputs=[str(p) for p in stage.outputs])
    write_text(stage.stage_dir / "stage.json", json.dumps(record, indent=2))
    return record


def write_report(pipeline: Pipeline, statuses: dict[str, str]) -> Path:
    """`<run>/report.md`: what each stage did, its headline numbers, its pictures."""
    lines = [f"# Pipeline `{pipeline.name}`", "", f"From `{pipeline.path}`, run folder `{pipeline.run}`.", "",
             "| stage | this run | seconds | outputs |", "| --- | --- | --- | --- |"]
    pictures, numbers = [], []
    for stage in pipeline.stages:
        record = _record(stage)
        outputs = ", ".join(f"`{os.path.relpath(p, pipeline.run)}`" for p in record.get("outputs", []))
        lines.append(f"| {stage.name} | {statuses.get(stage.name, 'not run')} | {record.get('seconds', '')} | "
                     f"{outputs} |")
        for key, value in record.get("result", {}).items():
            numbers.append(f"| {stage.name} | {key} | {value:.6g} |")
        search = [Path(p) for p in record.get("outputs", [])] + [stage.stage_dir]
        for item in search:
            found = [item] if item.suffix == ".png" else sorted(item.rglob("*.png"))[-3:] if item.is_dir() else []
            pictures += [p for p in found if p not in pictures]
    if numbers:
        lines += ["", "## Headline numbers", "", "| stage | figure | value |", "| --- | --- | --- |"] + numbers
    if pictures:
        lines += ["", "## Pictures", ""]
        for picture in pictures[:24]:
            rel = os.path.relpath(picture, pipeline.run)
            lines += [f"![{rel}]({rel})", ""]
    return write_text(pipeline.run / "report.md", "\n".join(lines) + "\n")


def run_pipeline(pipeline: Pipeline, from_stage: str | None = None, gpus: int = 1, echo=print) -> Path:
    """Run the stages in order, each decided just before it runs; returns the report's path."""
    plan(pipeline, from_stage)  # checks --from
    pipeline.run.mkdir(parents=True, exist_ok=True)
    statuses: dict[str, str] = {}
    forced = False
    for stage in pipeline.stages:
        forced = forced or stage.name == from_stage
        action, reason = decide(stage, forced)
        if action == "skip":
            statuses[stage.name] = "skipped (unchanged)"
            echo(f"[{stage.name}] skipped: {reason}")
            continue
        echo(f"[{stage.name}] {'resuming' if action == 'resume' else 'running'} ({reason}): "
             f"{stage.shown()}")
        record = run_stage(stage, gpus, resume=action == "resume")
        statuses[stage.name] = "resumed" if action == "resume" else "ran"
        echo(f"[{stage.name}] done in {record['seconds']} s")
    report = write_report(pipeline, statuses)
    echo(f"report: {report}")
    return report
