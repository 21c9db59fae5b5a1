"""``workmail-cdk import``: an existing organization read whole and written out as a CDK app."""

from __future__ import annotations

import datetime
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .cli_target import Target, only_organization, target_options, workmail_api

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID



@click.command("import")
@click.option("--organization-id", help="The organization to import (m- and 32 hex digits; default: the one "
                                        "Active organization of the account in the Region, if there is just one).")
@target_options(local_help="Read the embedded emulator's organization, with the state of `deploy --local`.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write the app into (made if missing; its files must not exist yet).")
def import_organization(organization_id: str | None, target: Target, out: Path) -> None:
    """Read a whole organization and write a CDK app that declares it, adopted.

    It writes app.py, cdk.json and workmail_stack.py (an Organization with organization_id=
    and a declaration of every domain, user, group, resource, alias, permission and policy),
    spec.json (the declared state) and INVENTORY.md (everything found, and what the app leaves
    out and why). Passwords are never read: users keep theirs. The read costs what a full
    drift read costs. Planning the app against the same organization shows no changes.

    \b
    Example:
      workmail-cdk import --organization-id m-0123... --profile admin --region eu-west-1 --out corp
      workmail-cdk import --local --out imported        # the local deploy's organization
      workmail-cdk plan --app "python3 corp/app.py" --profile admin --region eu-west-1 --detailed-exitcode
    """
    from botocore.exceptions import BotoCoreError, ClientError
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .core.adoption import AdoptionError, adopted_spec
    from .core.errors import error_code
    from .core.read import read_full
    from .importing.app_files import OutputExists, app_files, stack_name, write_app

    console = Console(stderr=True)
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    columns = (TextColumn("Reading {task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("requests"), TimeElapsedColumn())
    try:
        with workmail_api(target) as api, Progress(*columns, console=console, transient=True) as bar:
            organization_id = organization_id or only_organization(api, "to import")
            reporter = _BarProgress(bar, bar.add_task(organization_id, total=None))
            # Every user's quota is read: the inventory reports them, and the app declares those not at the default.
            actual = read_full(api, organization_id, quotas=None, progress=reporter)
        adopted = adopted_spec(actual)
        written = write_app(app_files(adopted, actual, imported_on=today), out)
    except ClientError as exc:
        raise click.ClickException(f"{organization_id or 'ListOrganizations'}: {error_code(exc)}: "
                                   f"{exc.response.get('Error', {}).get('Message', '')}") from None
    except BotoCoreError as exc:
        raise click.ClickException(f"{organization_id or 'ListOrganizations'}: {exc}") from None
    except AdoptionError as exc:
        raise click.ClickException(f"{organization_id}: {exc}") from None
    except OutputExists as exc:
        raise click.BadParameter(str(exc), param_hint="--out") from None
    spec = adopted.spec
    counts = ", ".join(_count(n, what) for n, what in (
        (len(spec.domains), "domain"), (len(spec.users), "user"), (len(spec.groups), "group"),
        (len(spec.resources), "resource"), (len(spec.mailbox_permissions), "mailbox permission")))
    click.echo(f"Imported {spec.organization.alias} ({organization_id}): {counts}. Stack {stack_name(adopted)}:",
               err=True)
    for path in written:
        click.echo(str(path))
    click.echo(f"Next: workmail-cdk plan --app \"python3 {out / 'app.py'}\" --detailed-exitcode, with the same "
               "--local, --endpoint-url, --profile or --region (no changes expected).", err=True)


def _count(number: int, what: str) -> str:
    return f"{number:,} {what}{'' if number == 1 else 's'}"


class _BarProgress:
    """A read's progress on a rich bar (its total grows as each round of the read starts)."""

    def __init__(self, bar: Progress, task: TaskID) -> None:
        self.bar = bar
        self.task = task
        self.total = 0
        self.lock = threading.Lock()

    def planned(self, requests: int) -> None:
        with self.lock:
            self.total += requests
            self.bar.update(self.task, total=self.total)

    def finished(self) -> None:
        self.bar.advance(self.task)
