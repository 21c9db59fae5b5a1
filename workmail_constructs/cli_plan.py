"""``workmail-cdk plan --local``: what deploying the app would change in the emulator's organization."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click

from .cli_options import app_options
from .local.config import DEFAULT_ACCOUNT, DEFAULT_REGION

if TYPE_CHECKING:
    from .core.changes import Plan

Format = Literal["text", "markdown", "json"]
# terraform plan -detailed-exitcode: 0 no changes, 1 error, 2 changes.
CHANGES_EXIT = 2


@click.command()
@click.option("--local", "local", is_flag=True,
              help="Compare with the embedded emulator's state of `deploy --local` (the only target built in yet).")
@app_options("plan")
@click.option("--refresh", is_flag=True,
              help="Read the whole organization, so objects changed or made outside the app show up (drift).")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="A terminal table, a pull-request comment, or a JSON document.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when there are none.")
def plan(local: bool, app: str | None, state_dir: Path, stack: str | None, refresh: bool, output_format: Format,
         detailed_exitcode: bool) -> None:
    """Synthesize the app and show the WorkMail changes a deploy would make.

    The declared state comes from the synthesized directory resource(s); the actual state
    is read through the WorkMail API. Without --refresh, only the objects the app declares
    (and those it declared at its last deploy) are read; with it, the whole organization.

    \b
    Example:
      workmail-cdk deploy --local
      workmail-cdk plan --local --detailed-exitcode     # 0: nothing to do
      workmail-cdk plan --local --refresh --format markdown > plan.md
    """
    if not local:
        raise click.UsageError("only the local plan is built in yet: add --local")
    from .core.plan import PlanError
    from .core.validate import SpecValidationError
    from .local.clients import workmail_api
    from .local.deploy.assembly import AssemblyError, app_command, pick_stack, read_stacks, synthesize
    from .local.deploy.declared import DeclaredError, declared_directories, plan_directory
    from .local.deploy.state import StateDirectory
    from .local.server import EmulatorServer

    state = StateDirectory(state_dir)
    directory = Path.cwd()
    outdir = state_dir / "plan.out"
    try:
        command = app_command(app, directory)
        shutil.rmtree(outdir, ignore_errors=True)
        artifact = pick_stack(read_stacks(synthesize(command, directory, outdir)), stack)
        record = state.load(artifact.name) if state_dir.is_dir() else None
        directories = declared_directories(artifact, record, default_region=DEFAULT_REGION,
                                           default_account=DEFAULT_ACCOUNT)
    except (AssemblyError, DeclaredError) as exc:
        raise click.ClickException(str(exc)) from None
    if not directories:
        raise click.ClickException(f"the stack {artifact.name} declares no WorkMail organization")
    # Without a local deploy there is nothing yet: an emulator in memory is that nothing.
    emulator_state = state.emulator_state if state.emulator_state.is_file() else None
    server = EmulatorServer(state=emulator_state).start()
    try:
        region = record.region if record else artifact.region or DEFAULT_REGION
        api = workmail_api(server.endpoint_url, region)
        plans: list[Plan] = [plan_directory(api, declared, refresh=refresh) for declared in directories]
    except (SpecValidationError, PlanError) as exc:
        raise click.ClickException(f"{artifact.name}: {exc}") from None
    finally:
        server.stop()
    emit_plans(plans, output_format, detailed_exitcode)


def emit_plans(plans: list[Plan], output_format: Format, detailed_exitcode: bool) -> None:
    """Print each plan in ``output_format``; with ``detailed_exitcode``, exit 2 if any has changes."""
    from .core.render import render_json, render_markdown, render_text

    for one in plans:
        if output_format == "json":
            click.echo(render_json(one))
        elif output_format == "markdown":
            click.echo(render_markdown(one))
        else:
            click.echo(render_text(one, stream=sys.stdout), nl=False)
    if detailed_exitcode and any(not one.empty for one in plans):
        sys.exit(CHANGES_EXIT)
