"""Where a command finds the WorkMail organization it reads: the embedded emulator with the
state of ``deploy --local``, or a WorkMail endpoint (AWS itself, through the usual credential
chain or a named profile, or an emulator someone runs)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .local.config import DEFAULT_REGION

if TYPE_CHECKING:
    import boto3

    from .core.api import WorkMailApi

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Target:
    """``--local`` or ``--endpoint-url``/``--profile``/``--region``, as given."""

    local: bool
    state_dir: Path
    endpoint_url: str | None
    profile: str | None
    region: str | None

    def check(self) -> None:
        if self.local and (self.endpoint_url or self.profile):
            raise click.UsageError("choose --local or --endpoint-url/--profile, not both")

    def session(self) -> boto3.session.Session:
        """The boto3 session of a remote target (``--profile``, ``--region``, the usual chain)."""
        import boto3
        from botocore.exceptions import ProfileNotFound

        try:
            return boto3.session.Session(profile_name=self.profile, region_name=self.region)
        except ProfileNotFound as exc:
            raise click.BadParameter(str(exc), param_hint="--profile") from None


def target_options(*, local_help: str) -> Callable[[F], F]:
    """``--local``, ``--state``, ``--endpoint-url``, ``--profile`` and ``--region``, given to
    the command as one ``target``."""

    def decorate(command: F) -> F:
        # wraps: the options declared below this decorator (click keeps them on the function) carry over.
        @functools.wraps(command)
        def with_target(*args: Any, local: bool, state_dir: Path, endpoint_url: str | None, profile: str | None,
                        region: str | None, **kwargs: Any) -> Any:
            target = Target(local, state_dir, endpoint_url, profile, region)
            target.check()
            return command(*args, target=target, **kwargs)

        decorated: Any = with_target
        for option in reversed((
            click.option("--local", "local", is_flag=True, help=local_help),
            click.option("--state", "state_dir", default=".workmail", show_default=True,
                         type=click.Path(file_okay=False, path_type=Path),
                         help="With --local: the directory of the local deploy's state."),
            click.option("--endpoint-url", help="A WorkMail endpoint to call instead of AWS's (an emulator you run)."),
            click.option("--profile", help="The AWS profile to use (default: the usual credential chain)."),
            click.option("--region", help="The organization's Region (default: the profile's or environment's)."),
        )):
            decorated = option(decorated)
        return decorated  # type: ignore[no-any-return]

    return decorate


@contextmanager
def workmail_api(target: Target, *, region: str | None = None, missing_ok: bool = False) -> Iterator[WorkMailApi]:
    """A client of the target's WorkMail; for ``--local``, an emulator started on the state of
    ``deploy --local`` for as long as the block runs (with ``missing_ok``, an empty one when
    nothing was deployed yet). ``region`` (the stack's, say) is used when --region isn't given."""
    from .core.api import WorkMailApi

    if not target.local:
        session = target.session()
        # A Region the stack pins (env=) is where its organization is; the profile's is a default.
        chosen = target.region or region or session.region_name
        if not chosen:
            raise click.BadParameter("no Region: give --region, or set one in the profile or AWS_REGION",
                                     param_hint="--region")
        yield WorkMailApi.create(endpoint_url=target.endpoint_url, region=chosen, session=session)
        return
    from .local.clients import workmail_api as local_api
    from .local.server import EmulatorServer

    emulator_state = target.state_dir / "emulator.sqlite"
    if not emulator_state.is_file() and not missing_ok:
        raise click.ClickException(f"no local deploy in {target.state_dir} (run `workmail-cdk deploy --local` first)")
    server = EmulatorServer(state=emulator_state if emulator_state.is_file() else None).start()
    try:
        yield local_api(server.endpoint_url, target.region or region or DEFAULT_REGION)
    finally:
        server.stop()


def _beside(target: Target, workmail: WorkMailApi, service: str, **options: Any) -> Any | None:
    """A client of ``service`` beside ``workmail``: the emulator's for --local; with
    --endpoint-url, the one at the standard AWS_ENDPOINT_URL_<SERVICE> variable, or None when it
    isn't set (no other service is at a WorkMail endpoint); otherwise the profile's, in the same
    Region."""
    import os

    region = workmail.client.meta.region_name
    if target.local:
        from .local.clients import client, service_endpoint

        return client(service, service_endpoint(workmail.client.meta.endpoint_url, service), region, **options)
    if target.endpoint_url and not os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}"):
        return None
    return target.session().client(service, region_name=region, **options)  # type: ignore[call-overload]


def s3_api(target: Target, workmail: WorkMailApi) -> WorkMailApi | None:
    """S3 beside ``workmail`` (see ``_beside``), with the wrapper's retries."""
    from botocore.config import Config

    from .core.api import WorkMailApi

    # The wrapper retries; botocore's own retries would multiply with them.
    s3 = _beside(target, workmail, "s3", config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    return WorkMailApi(s3, service="s3") if s3 is not None else None


def only_organization(api: WorkMailApi, purpose: str) -> str:
    """The id of the one Active organization of the account in the Region (for a command whose
    --organization-id was left out); with none or several, an error listing them."""
    active = [o for o in api.list_all("ListOrganizations", "OrganizationSummaries") if o.get("State") == "Active"]
    if len(active) == 1:
        return str(active[0]["OrganizationId"])
    found = ", ".join(f"{o.get('Alias')} ({o['OrganizationId']})" for o in active) or "none"
    raise click.BadParameter(f"name the organization {purpose}; the Active organizations here: {found}",
                             param_hint="--organization-id")


def stack_outputs(target: Target, workmail: WorkMailApi, stack: str) -> list[dict[str, Any]]:
    """The outputs of a deployed stack (DescribeStacks): the local deploy's, from the emulator's
    CloudFormation, for --local; otherwise CloudFormation's in the same Region (with
    --endpoint-url, at AWS_ENDPOINT_URL_CLOUDFORMATION, which must then be set)."""
    from botocore.exceptions import ClientError

    cloudformation = _beside(target, workmail, "cloudformation")
    if cloudformation is None:
        raise click.BadParameter("with --endpoint-url, set AWS_ENDPOINT_URL_CLOUDFORMATION to read a stack's "
                                 "outputs, or give the values themselves", param_hint="--target-stack")
    try:
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        raise click.BadParameter(f"{stack}: {exc.response.get('Error', {}).get('Message', '')}",
                                 param_hint="--target-stack") from None
    return list(stacks[0].get("Outputs") or []) if stacks else []
