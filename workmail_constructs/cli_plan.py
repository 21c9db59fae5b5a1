"""``workmail-cdk plan``: what deploying the app would change in the organization (the emulator's or AWS's)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click

from .cli_options import app_options
from .cli_target import Target, target_options, workmail_api
from .local.config import DEFAULT_ACCOUNT, DEFAULT_REGION

if TYPE_CHECKING:
    from .core.changes import Plan
    from .local.deploy.assembly import StackArtifact
    from .local.deploy.state import StackRecord, StateDirectory

Format = Literal["text", "markdown", "json"]
# terraform plan -detailed-exitcode: 0 no changes, 1 error, 2 changes.
CHANGES_EXIT = 2


@click.command()
@target_options(local_help="Compare with the embedded emulator's state of `deploy --local`.")
@app_options("plan", state=False)
@click.option("--refresh", is_flag=True,
              help="Read the whole organization, so objects changed or made outside the app show up (drift).")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="A terminal table, a pull-request comment, or a JSON document.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when there are none.")
def plan(target: Target, app: str | None, stack: str | None, refresh: bool, output_format: Format,
         detailed_exitcode: bool) -> None:
    """Synthesize the app and show the WorkMail changes a deploy would make.

    The declared state comes from the synthesized directory resource(s); the actual state
    is read through the WorkMail API: the embedded emulator's (--local), or that of an
    endpoint (AWS with --profile/--region or the usual credentials, or --endpoint-url).
    Without --refresh, only the objects the app declares (and those it declared at its last
    deploy) are read; with it, or when the last deploy isn't known, the whole organization.

    \b
    Example:
      workmail-cdk deploy --local
      workmail-cdk plan --local --detailed-exitcode     # 0: nothing to do
      workmail-cdk plan --local --refresh --format markdown > plan.md
      workmail-cdk plan --app "python imported/app.py" --profile admin --region eu-west-1
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from .core.errors import error_code
    from .core.plan import PlanError
    from .core.validate import SpecValidationError
    from .local.deploy.assembly import AssemblyError, app_command, synthesized_stack
    from .local.deploy.declared import DeclaredError, declared_directories, plan_directory
    from .local.deploy.state import StateDirectory

    state = StateDirectory(target.state_dir)
    directory = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="workmail-plan-") as scratch:
        try:
            command = app_command(app, directory)
            artifact = synthesized_stack(command, directory, Path(scratch) / "cdk.out", stack)
            if target.local:
                record = state.load(artifact.name) if target.state_dir.is_dir() else None
                deployed_artifact = _last_deployed(state, artifact.name) if record else None
            else:
                record = deployed_record(target, artifact.name, artifact.region)
                deployed_artifact = None
            directories = declared_directories(artifact, record, default_region=DEFAULT_REGION,
                                               default_account=DEFAULT_ACCOUNT, deployed_artifact=deployed_artifact)
        except (AssemblyError, DeclaredError) as exc:
            raise click.ClickException(str(exc)) from None
    if not directories:
        raise click.ClickException(f"the stack {artifact.name} declares no WorkMail organization")
    region = record.region if record else artifact.region
    try:
        # Without a local deploy there is nothing yet: an emulator in memory is that nothing.
        with workmail_api(target, region=region, missing_ok=True) as api:
            plans: list[Plan] = [plan_directory(api, declared, refresh=refresh) for declared in directories]
    except (SpecValidationError, PlanError) as exc:
        raise click.ClickException(f"{artifact.name}: {exc}") from None
    except ClientError as exc:
        raise click.ClickException(f"{artifact.name}: {error_code(exc)}: "
                                   f"{exc.response.get('Error', {}).get('Message', '')}") from None
    except BotoCoreError as exc:
        raise click.ClickException(f"{artifact.name}: {exc}") from None
    emit_plans(plans, output_format, detailed_exitcode)


def _last_deployed(state: StateDirectory, stack_name: str) -> StackArtifact | None:
    """The stack in the assembly the local deploy last deployed: the S3 spec its record names is there."""
    from .local.deploy.assembly import AssemblyError, read_stacks

    try:
        return next((s for s in read_stacks(state.assembly) if s.name == stack_name), None)
    except AssemblyError:
        return None


def deployed_record(target: Target, stack_name: str, stack_region: str | None) -> StackRecord | None:
    """The stack as CloudFormation has it deployed (None if it isn't), so its references
    evaluate and the read is scoped to what it last deployed.

    boto3 finds CloudFormation at AWS_ENDPOINT_URL_CLOUDFORMATION (or AWS_ENDPOINT_URL) by
    itself. --endpoint-url names WorkMail's endpoint only: without one of those variables,
    CloudFormation would be AWS's, not that endpoint's, so it isn't asked at all.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from .core.errors import error_code
    from .deployed_stack import DeployedStackError, read_deployed_stack

    if target.endpoint_url and not _endpoint_variable("CLOUDFORMATION"):
        click.echo(f"Note: the deployed state of the stack {stack_name} was not looked up: with --endpoint-url, "
                   "set AWS_ENDPOINT_URL_CLOUDFORMATION to that endpoint's CloudFormation to plan against it.",
                   err=True)
        return None
    session = target.session()
    # workmail_api's order, so that the stack is looked for where the organization is read.
    region = target.region or stack_region or session.region_name
    try:
        cloudformation = session.client("cloudformation", region_name=region)
        # A spec deployed as an S3 asset is read where the stack's CloudFormation is: AWS's S3, or
        # one named beside it; otherwise it stays unknown and the plan reads the whole organization.
        s3 = (session.client("s3", region_name=region)
              if not target.endpoint_url or _endpoint_variable("S3") else None)
        return read_deployed_stack(cloudformation, stack_name, s3=s3)
    except ClientError as exc:
        message = " ".join(str(exc.response.get("Error", {}).get("Message", "")).split())
        raise click.ClickException(f"{stack_name}: can't read the deployed stack from CloudFormation: "
                                   f"{error_code(exc)}: {message}") from None
    except BotoCoreError as exc:
        raise click.ClickException(f"{stack_name}: can't read the deployed stack from CloudFormation: "
                                   f"{' '.join(str(exc).split())}") from None
    except DeployedStackError as exc:
        raise click.ClickException(str(exc)) from None


def _endpoint_variable(service: str) -> bool:
    """Whether boto3 takes an endpoint for ``service`` (S3, CLOUDFORMATION) from the environment."""
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return False
    return bool(os.environ.get(f"AWS_ENDPOINT_URL_{service}") or os.environ.get("AWS_ENDPOINT_URL"))


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
