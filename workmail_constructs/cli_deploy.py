"""``workmail-cdk deploy --local``: a CDK app deployed to the embedded emulator, with progress."""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .cli_options import app_options
from .local.config import DEFAULT_ACCOUNT, DEFAULT_REGION

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

    from .core.changes import ManualStep
    from .local.deploy.runner import Action, ExternalDns, Outcome
    from .local.deploy.summary import OrganizationSummary

_VERBS = {"create": "Creating", "update": "Updating", "delete": "Deleting", "replace": "Replacing",
          "retain": "Retaining"}
_MARKS = {"create": "[green]+[/]", "update": "[yellow]~[/]", "replace": "[yellow]±[/]", "delete": "[red]-[/]",
          "retain": "[blue]=[/]"}


@click.command()
@click.option("--local", "local", is_flag=True,
              help="Deploy to the embedded WorkMail emulator (the only target built in; AWS is `cdk deploy`).")
@app_options("deploy")
@click.option("--external-dns", type=click.Choice(["verified", "pending"]), default="verified", show_default=True,
              help="A domain whose DNS records the stack doesn't publish (no hosted zone): take its records as "
                   "published by whoever runs its DNS (verified), or leave it pending.")
def deploy(local: bool, app: str | None, state_dir: Path, stack: str | None, external_dns: ExternalDns) -> None:
    """Synthesize the app and deploy its stack to the embedded WorkMail emulator.

    The real custom-resource handlers run with CloudFormation-shaped events against the
    emulator, whose state is kept under --state; secrets made by the stack get generated
    values (kept in STATE/secrets.json, readable by you only). Lambda functions, roles,
    log groups and keys are not emulated and are listed as such. Deploying again applies
    only what changed.

    \b
    Example:
      workmail-cdk deploy --local                 # app.py through ./cdk.json
      workmail-cdk deploy --local --app "python3 app.py" --state /tmp/wm
    """
    if not local:
        raise click.UsageError("only the local deploy is built in: add --local (deploy to AWS with `cdk deploy`)")
    from rich.console import Console

    from .core.kinds.flow_rule import flow_rule_steps
    from .local.clients import workmail_api
    from .local.deploy.assembly import AssemblyError, app_command, synthesized_stack
    from .local.deploy.declared import declared_directories
    from .local.deploy.runner import DeployError, LocalDeploy
    from .local.deploy.state import StateDirectory
    from .local.deploy.summary import summarize
    from .local.server import EmulatorServer
    from .local.store import StateFileError

    console = Console(stderr=True)
    state = StateDirectory(state_dir)
    state.prepare()
    directory = Path.cwd()
    try:
        command = app_command(app, directory)
        # A fresh assembly each time: a stack removed from the app must not linger.
        shutil.rmtree(state.assembly, ignore_errors=True)
        with console.status(f"Synthesizing ({command})"):
            artifact = synthesized_stack(command, directory, state.assembly, stack)
    except AssemblyError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        server = EmulatorServer(state=state.emulator_state).start()
    except StateFileError as exc:
        raise click.ClickException(f"{state.emulator_state}: {exc}") from None
    os.chmod(state.emulator_state, 0o600)
    progress = RichProgress(console)
    log = _handler_log(state_dir / "deploy.log")
    try:
        deployer = LocalDeploy(artifact, state, server.endpoint_url, default_region=DEFAULT_REGION,
                               default_account=DEFAULT_ACCOUNT, progress=progress, external_dns=external_dns)
        started = time.monotonic()
        outcome = deployer.run()
        api = workmail_api(server.endpoint_url, deployer.record.region)
        summaries = [s for s in (summarize(api, organization) for organization in outcome.organizations) if s]
        # What the API can't do (email flow rules), as console steps with the deployed values.
        manual = [step for directory in declared_directories(artifact, deployer.record, default_region=DEFAULT_REGION,
                                                             default_account=DEFAULT_ACCOUNT)
                  for step in flow_rule_steps(directory.spec)]
    except DeployError as exc:
        raise click.ClickException(f"{artifact.name}: {exc} (the deploy stopped; what was done is kept in "
                                   f"{state_dir}; the handlers' log is {state_dir / 'deploy.log'})") from None
    finally:
        progress.close()
        server.stop()
        _restore(log)
    _report(Console(), artifact.name, outcome, summaries, time.monotonic() - started, manual)


def _handler_log(path: Path) -> tuple[logging.Handler, list[logging.Handler], int]:
    """The handlers' log goes to ``path`` (what a Lambda function would send to CloudWatch);
    the terminal shows the deploy's progress, and a failure's message says what went wrong."""
    root = logging.getLogger()
    kept = (root.handlers[:], root.level)
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    return handler, kept[0], kept[1]


def _restore(log: tuple[logging.Handler, list[logging.Handler], int]) -> None:
    handler, handlers, level = log
    handler.close()
    root = logging.getLogger()
    root.handlers = handlers
    root.setLevel(level)


_PAST = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted",
         "retain": "retained out of the stack"}


class RichProgress:
    """One line per resource as it is done, with a spinner for the one in progress."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._status: Status | None = None

    def starting(self, logical_id: str, resource_type: str, action: Action) -> None:
        self.close()
        self._status = self.console.status(f"{_VERBS[action]} {logical_id} [dim]{resource_type}[/]")
        self._status.start()

    def waiting(self, logical_id: str, seconds: float) -> None:
        if self._status is not None:
            self._status.update(f"Waiting for {logical_id} to complete ({seconds:.0f} s)")

    def finished(self, logical_id: str, resource_type: str, action: Action, seconds: float) -> None:
        self.close()
        from .local.deploy.resources import handling

        mark = _MARKS[action]
        if handling(resource_type) == "not emulated":
            self.console.print(f"[dim]{mark} {action:<7} {logical_id} {resource_type} (not emulated)[/]")
        else:
            self.console.print(f"{mark} {action:<7} {logical_id} [dim]{resource_type} ({seconds:.1f} s)[/]")

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def _report(console: Console, stack: str, outcome: Outcome, summaries: list[OrganizationSummary],
            seconds: float, manual: list[ManualStep]) -> None:
    from rich.table import Table

    if outcome.changes:
        counts: dict[str, int] = {}
        for _, _, action in outcome.changes:
            counts[action] = counts.get(action, 0) + 1
        done = ", ".join(f"{count} {_PAST[action]}" for action, count in counts.items())
        console.print(f"[bold]{stack}[/]: deployed locally in {seconds:.1f} s ({done}).")
    else:
        console.print(f"[bold]{stack}[/]: no changes.")
    if outcome.drift_corrected:
        console.print(f"Put back what was changed outside the app (drift) in {', '.join(outcome.drift_corrected)}.")
    if outcome.not_emulated:
        listed = ", ".join(f"{count} {kind}" for kind, count in sorted(outcome.not_emulated.items()))
        console.print(f"Not emulated ({sum(outcome.not_emulated.values())}): {listed}.")
    if outcome.outputs:
        # As `cdk deploy` prints them: Stack.OutputKey = value.
        console.print("[bold]Outputs:[/]")
        for output in outcome.outputs:
            console.print(f"{stack}.{output['OutputKey']} = {output['OutputValue']}", markup=False, soft_wrap=True)
    if manual:
        console.print("[bold]Manual steps[/] (WorkMail's API can't make these changes; make them yourself):")
        for step in manual:
            console.print(f"  * {step.topic}: {step.text}", markup=False)
    for summary in summaries:
        console.print(f"\n[bold]Organization {summary.alias}[/] ({summary.organization_id}, {summary.state})")
        domains = Table("Domain", "Ownership", "DKIM", "Default", title=None, box=None, pad_edge=False)
        for name, ownership, dkim, default in summary.domains:
            domains.add_row(name, ownership, dkim, "yes" if default else "")
        console.print(domains)
        if any(ownership != "VERIFIED" for _, ownership, _, _ in summary.domains):
            console.print("[dim]A domain verifies when its DNS records are published: in a hosted zone of the "
                          "stack, the local deploy does it; otherwise `workmail-cdk emulator verify-domain`.[/]")
        directory = Table("Directory", "Count", box=None, pad_edge=False)
        directory.add_row("users", f"{summary.users} ({summary.enabled_users} enabled)")
        directory.add_row("groups", str(summary.groups))
        directory.add_row("resources", str(summary.resources))
        for name, value in summary.policies:
            directory.add_row(name, value)
        console.print(directory)
