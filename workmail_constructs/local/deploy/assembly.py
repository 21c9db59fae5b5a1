"""Synthesizing a CDK app and reading its cloud assembly, as the ``cdk`` CLI does.

The app runs as a command of its own (``cdk.json``'s ``app``, or ``--app``), with the
variables the ``cdk`` CLI sets: ``CDK_OUTDIR`` for where to write the assembly and
``CDK_CONTEXT_JSON`` for ``cdk.json``'s context. Nothing here needs the ``cdk`` CLI or AWS.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class AssemblyError(Exception):
    """The app can't be synthesized or its assembly read; the message says what to fix."""


@dataclass(frozen=True)
class StackArtifact:
    """One stack of a cloud assembly."""

    name: str
    template: dict[str, Any]
    # Files the stack's assets publish: (bucket name as written, with ${AWS::...}; key; local path).
    file_assets: tuple[tuple[str, str, Path], ...]
    region: str | None
    account: str | None


def app_command(app: str | None, directory: Path) -> str:
    """The command that runs the app: ``--app``, else ``cdk.json``'s ``app``."""
    if app:
        return app
    config = directory / "cdk.json"
    if not config.is_file():
        raise AssemblyError(f"no --app and no cdk.json in {directory}; pass --app 'python3 app.py'")
    try:
        command = json.loads(config.read_text()).get("app")
    except (OSError, ValueError) as exc:
        raise AssemblyError(f"{config} can't be read: {exc}") from None
    if not isinstance(command, str) or not command.strip():
        raise AssemblyError(f"{config} has no \"app\" command; pass --app 'python3 app.py'")
    return command


def synthesize(command: str, directory: Path, outdir: Path) -> Path:
    """Run the app to write its cloud assembly into ``outdir``; the assembly's directory."""
    context: dict[str, Any] = {}
    config = directory / "cdk.json"
    if config.is_file():
        try:
            context = dict(json.loads(config.read_text()).get("context") or {})
        except (OSError, ValueError) as exc:
            raise AssemblyError(f"{config} can't be read: {exc}") from None
    outdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(context)}
    # "python3 app.py" means this interpreter's virtual environment when the CLI runs from one.
    argv = shlex.split(command)
    if argv and argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    try:
        result = subprocess.run(argv, cwd=directory, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise AssemblyError(f"the app command {command!r} can't be run: {exc}") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {result.returncode}"
        raise AssemblyError(f"the app failed to synthesize ({command}): {reason}")
    if not (outdir / "manifest.json").is_file():
        raise AssemblyError(f"the app ({command}) wrote no cloud assembly; does it call app.synth()?")
    return outdir


def read_stacks(assembly: Path) -> list[StackArtifact]:
    """The stacks of a cloud assembly, in the manifest's order."""
    try:
        manifest = json.loads((assembly / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise AssemblyError(f"{assembly}/manifest.json can't be read: {exc}") from None
    artifacts: dict[str, Any] = manifest.get("artifacts") or {}
    stacks = []
    for name, artifact in artifacts.items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact.get("properties") or {}
        template = json.loads((assembly / properties["templateFile"]).read_text())
        account, region = _environment(str(artifact.get("environment") or ""))
        stacks.append(StackArtifact(
            name=str(properties.get("stackName") or name), template=template,
            file_assets=_file_assets(assembly, artifacts, artifact), region=region, account=account,
        ))
    return stacks


def pick_stack(stacks: list[StackArtifact], name: str | None) -> StackArtifact:
    if not stacks:
        raise AssemblyError("the app has no stacks")
    if name is None:
        if len(stacks) > 1:
            raise AssemblyError(f"the app has {len(stacks)} stacks; choose one with --stack "
                                f"({', '.join(s.name for s in stacks)})")
        return stacks[0]
    for stack in stacks:
        if stack.name == name:
            return stack
    raise AssemblyError(f"the app has no stack {name!r}; it has {', '.join(s.name for s in stacks)}")


def _environment(value: str) -> tuple[str | None, str | None]:
    # aws://ACCOUNT/REGION, where an environment-agnostic stack says unknown-account/unknown-region.
    parts = value.removeprefix("aws://").split("/")
    account = parts[0] if parts and parts[0] and not parts[0].startswith("unknown") else None
    region = parts[1] if len(parts) > 1 and parts[1] and not parts[1].startswith("unknown") else None
    return account, region


def _file_assets(assembly: Path, artifacts: dict[str, Any], stack: dict[str, Any]) -> tuple[
        tuple[str, str, Path], ...]:
    found = []
    for dependency in stack.get("dependencies") or []:
        artifact = artifacts.get(dependency) or {}
        if artifact.get("type") != "cdk:asset-manifest":
            continue
        manifest = json.loads((assembly / artifact["properties"]["file"]).read_text())
        for asset in (manifest.get("files") or {}).values():
            source = asset.get("source") or {}
            if source.get("packaging", "file") != "file" or not source.get("path"):
                continue  # directories are zipped Lambda code, which a local deploy doesn't run
            for destination in (asset.get("destinations") or {}).values():
                found.append((str(destination["bucketName"]), str(destination["objectKey"]),
                              assembly / str(source["path"])))
    return tuple(found)


def synthesized_stack(command: str, directory: Path, outdir: Path, stack: str | None) -> StackArtifact:
    """Run the app into ``outdir`` and pick ``stack`` (or its only stack) from the assembly."""
    return pick_stack(read_stacks(synthesize(command, directory, outdir)), stack)
