"""``workmail-cdk diff BASE HEAD``: the WorkMail changes between two cloud assemblies, offline."""

from __future__ import annotations

from pathlib import Path

import click

from .cli_plan import Format, emit_plans
from .local.config import DEFAULT_ACCOUNT, DEFAULT_REGION


@click.command()
@click.argument("base", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("head", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--stack", help="The stack to compare, when the assemblies have more than one.")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="A terminal table, a pull-request comment, or a JSON document.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when there are none.")
def diff(base: Path, head: Path, stack: str | None, output_format: Format, detailed_exitcode: bool) -> None:
    """Show what deploying the HEAD assembly over the BASE one changes in WorkMail.

    BASE and HEAD are synthesized cloud assemblies (`cdk synth -o DIR`, or a `cdk.out`),
    for example of the main branch and of a pull request. Nothing is read from AWS and no
    credentials are needed: the base's declared state is set up in an emulator in memory
    and the head's is planned against it, with the planner `plan` uses. Inline and S3-asset
    specs alike. Deploy-time values (ARNs of secrets, keys) compare equal on both sides
    unless the templates differ.

    \b
    Example:
      git worktree add ../main main && (cd ../main && cdk synth -o /tmp/base)
      cdk synth -o /tmp/head
      workmail-cdk diff /tmp/base /tmp/head --format markdown > comment.md
    """
    from .core.plan import PlanError
    from .core.validate import SpecValidationError
    from .local.deploy.assembly import AssemblyError
    from .local.deploy.declared import DeclaredError
    from .local.deploy.offline_diff import DiffError, diff_assemblies

    try:
        plans = diff_assemblies(base, head, stack, default_region=DEFAULT_REGION, default_account=DEFAULT_ACCOUNT)
    except (AssemblyError, DeclaredError, DiffError, SpecValidationError, PlanError) as exc:
        raise click.ClickException(str(exc)) from None
    emit_plans(plans, output_format, detailed_exitcode)
