"""The ``workmail-cdk`` command."""

from __future__ import annotations

import json
import math
import os
import signal
import sys
from typing import Any

import click

from .local.config import DEFAULT_ACCOUNT, DEFAULT_REGION, Faults, Settings, Timing
from .local.control import EmulatorCommandError, EmulatorControl
from .local.store import StateFileError

DEFAULT_ENDPOINT = "http://127.0.0.1:8089"
# Set to show the traceback of an unexpected error instead of its one-line summary.
DEBUG_ENV = "WORKMAIL_CDK_DEBUG"


def main() -> None:
    """The ``workmail-cdk`` entry point: every error is one line on stderr and a non-zero exit."""
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"Error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        summary = " ".join(str(exc).split()) or type(exc).__name__
        click.echo(f"Error: {summary} ({type(exc).__name__}; set {DEBUG_ENV}=1 for the traceback)", err=True)
        sys.exit(1)


class FiniteFloat(click.FloatRange):
    """A float option within a range that also refuses nan and inf, which every comparison lets through."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


@click.group()
@click.version_option(package_name="workmail-constructs")
def cli() -> None:
    """Manage Amazon WorkMail as code with the AWS CDK."""


@cli.group()
def emulator() -> None:
    """The local WorkMail emulator: WorkMail's API on loopback, for tests and offline work."""


@emulator.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (keep it on loopback).")
@click.option("--allow-remote", is_flag=True,
              help="Allow a --host that is not loopback. The control API has no authentication and writes files.")
@click.option("--idle-timeout", type=FiniteFloat(0, min_open=True), default=60.0, show_default=True,
              help="Seconds a connection may stay idle, between requests or within one.")
@click.option("--port", default=8089, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free).")
@click.option("--state", type=click.Path(dir_okay=False), help="SQLite file to keep state in; in memory without it.")
@click.option("--region", default=DEFAULT_REGION, show_default=True, help="Region used when a request names none.")
@click.option("--account", default=DEFAULT_ACCOUNT, show_default=True, help="AWS account id in ARNs.")
@click.option("--org-creation-seconds", type=FiniteFloat(0), default=0.0, show_default=True,
              help="How long a new organization takes to become Active (half Requested, half Creating).")
@click.option("--domain-verification-seconds", type=FiniteFloat(0), default=None,
              help="Verify new domains after this long; without it, only the verify-domain command verifies.")
@click.option("--export-seconds", type=FiniteFloat(0), default=0.0, show_default=True,
              help="How long a mailbox export job runs.")
@click.option("--throttle-rate", type=FiniteFloat(0, 1), default=0.0, show_default=True,
              help="Fraction of calls answered with ThrottlingException.")
@click.option("--error-rate", type=FiniteFloat(0, 1), default=0.0, show_default=True,
              help="Fraction of calls answered with a 500 InternalFailure.")
@click.option("--latency-ms", type=FiniteFloat(0, 60_000), default=0.0, show_default=True,
              help="Delay added to every call.")
@click.option("--verbose", is_flag=True, help="Log every request.")
def serve(
    host: str, allow_remote: bool, idle_timeout: float, port: int, state: str | None, region: str, account: str,
    org_creation_seconds: float,
    domain_verification_seconds: float | None, export_seconds: float, throttle_rate: float, error_rate: float,
    latency_ms: float, verbose: bool,
) -> None:
    """Run the emulator in the foreground and print its endpoint URL."""
    from .local.http_request import Limits
    from .local.server import EmulatorServer, is_loopback

    try:
        settings = Settings(
            region=region,
            account=account,
            timing=Timing(
                org_requested=org_creation_seconds / 2, org_creating=org_creation_seconds / 2,
                domain_verification=domain_verification_seconds, export_job=export_seconds,
            ),
            faults=Faults(throttle_rate=throttle_rate, error_rate=error_rate, latency_ms=latency_ms),
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if not host.strip():
        raise click.BadParameter("the address is empty; give one such as 127.0.0.1", param_hint="--host")
    if not is_loopback(host):
        if not allow_remote:
            raise click.BadParameter(
                f"{host} is not a loopback address; the control API has no authentication and writes files, "
                "so listening elsewhere needs --allow-remote", param_hint="--host",
            )
        click.echo(f"Warning: listening on {host}: anyone who can reach it can change the emulator's state "
                   "and write files through its control API.", err=True)
    try:
        server = EmulatorServer(host, port, state, settings, verbose=verbose, limits=Limits(idle_timeout=idle_timeout),
                                allow_remote=allow_remote)
    except StateFileError as exc:
        raise click.BadParameter(str(exc), param_hint="--state") from None
    except OSError as exc:
        raise click.ClickException(f"can't listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(server.endpoint_url)
    where = f"state in {state}" if state else "state in memory"
    click.echo(f"WorkMail emulator listening ({where}); press Ctrl+C to stop.", err=True)
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


def _interrupt(*_: object) -> None:
    # SIGTERM stops the server the way Ctrl+C does, closing the state file cleanly.
    raise KeyboardInterrupt


def _control(endpoint: str) -> EmulatorControl:
    try:
        return EmulatorControl(endpoint)
    except EmulatorCommandError as exc:
        raise click.BadParameter(exc.message, param_hint="--endpoint") from None


def _print(result: dict[str, Any]) -> None:
    click.echo(json.dumps(result, indent=2, sort_keys=True))


endpoint_option = click.option(
    "--endpoint", default=DEFAULT_ENDPOINT, show_default=True, envvar="WORKMAIL_EMULATOR_ENDPOINT",
    help="URL of a running emulator.",
)


def _run(action: Any) -> None:
    try:
        _print(action())
    except EmulatorCommandError as exc:
        raise click.ClickException(str(exc)) from None


@emulator.command("verify-domain")
@endpoint_option
@click.argument("organization_id")
@click.argument("domain_name")
@click.option("--status", type=click.Choice(["VERIFIED", "FAILED", "PENDING"]), default="VERIFIED", show_default=True)
def verify_domain(endpoint: str, organization_id: str, domain_name: str, status: str) -> None:
    """Act as if a domain's DNS records were published (or failed to verify)."""
    _run(lambda: _control(endpoint).verify_domain(organization_id, domain_name, status))


@emulator.command()
@endpoint_option
@click.option("--reset", is_flag=True, help="Set the counters back to zero.")
def calls(endpoint: str, reset: bool) -> None:
    """Show how many calls each operation received."""
    control = _control(endpoint)
    _run(control.reset_call_counts if reset else control.call_counts)


@emulator.command()
@endpoint_option
@click.option("--throttle-rate", type=FiniteFloat(0, 1))
@click.option("--error-rate", type=FiniteFloat(0, 1))
@click.option("--latency-ms", type=FiniteFloat(0, 60_000))
@click.option("--operation", "operations", multiple=True, help="Limit faults to these operations (repeatable).")
def faults(
    endpoint: str, throttle_rate: float | None, error_rate: float | None, latency_ms: float | None,
    operations: tuple[str, ...],
) -> None:
    """Show or change injected faults on a running emulator."""
    changes: dict[str, Any] = {
        k: v for k, v in
        {"throttle_rate": throttle_rate, "error_rate": error_rate, "latency_ms": latency_ms}.items()
        if v is not None
    }
    if operations:
        changes["operations"] = list(operations)
    _run(lambda: _control(endpoint).set_faults(**changes))


@emulator.command()
@click.option("--endpoint", default=None, help="Run against a running emulator instead of starting one.")
def demo(endpoint: str | None) -> None:
    """Start an emulator and walk through WorkMail's main operations with boto3."""
    from .local.demo import run_demo

    run_demo(endpoint, click.echo)


def _register_commands() -> None:
    from .cli_decommission import decommission
    from .cli_deploy import deploy
    from .cli_diff import diff
    from .cli_dns import dns
    from .cli_flow import flow
    from .cli_import import import_organization
    from .cli_mailboxes import mailboxes
    from .cli_plan import plan

    cli.add_command(deploy)
    cli.add_command(plan)
    cli.add_command(diff)
    cli.add_command(dns)
    cli.add_command(import_organization)
    cli.add_command(flow)
    cli.add_command(mailboxes)
    cli.add_command(decommission)


_register_commands()

if __name__ == "__main__":
    main()
