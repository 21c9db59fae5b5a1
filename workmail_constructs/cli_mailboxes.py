"""``workmail-cdk mailboxes export``: every mailbox of an organization exported to S3, within
the service's limits, resumable, checked, and reported."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .cli_target import Target, only_organization, s3_api, stack_outputs, target_options, workmail_api

if TYPE_CHECKING:
    from concurrent.futures import Future

    from rich.console import Console
    from rich.progress import Progress as Bar
    from rich.progress import TaskID

    from .core.api import WorkMailApi
    from .core.exports.jobs import ExportJob
    from .core.exports.journal import Target as ExportTarget
    from .core.exports.scheduler import MailboxExport, Progress
    from .core.exports.verify import Verification

# Exit 2: the run ended but not every mailbox is exported and checked (as `plan --detailed-exitcode` uses 2).
INCOMPLETE_EXIT = 2
DEFAULT_PREFIX = "workmail-export/"
# The option that sets each StartMailboxExportJob member, for errors the service model finds.
OPTION_OF_MEMBER = {"OrganizationId": "--organization-id", "S3BucketName": "--bucket", "KmsKeyArn": "--kms-key",
                    "RoleArn": "--role", "S3Prefix": "--prefix"}


@click.group()
def mailboxes() -> None:
    """The mailboxes of an organization: export them to S3 before leaving WorkMail."""


@mailboxes.command("export")
@click.option("--organization-id", help="The organization whose mailboxes to export (default: the one Active "
                                        "organization of the account in the Region, if there is just one).")
@click.option("--all", "everything", is_flag=True, help="Export every enabled user's and resource's mailbox.")
@click.option("--entity", "entities", multiple=True, metavar="ID_OR_EMAIL",
              help="A mailbox to export, by entity id, email address or name (repeatable).")
@click.option("--target-stack", metavar="STACK", help="Take --bucket, --kms-key, --role and --prefix from the "
                                                      "outputs of the MailboxExportTarget deployed in STACK.")
@click.option("--bucket", help="The S3 bucket (in the organization's Region).")
@click.option("--kms-key", help="The ARN of the symmetric KMS key that encrypts the exports.")
@click.option("--role", help="The ARN of the role export.workmail.amazonaws.com assumes.")
@click.option("--prefix", help=f"The key prefix of the exports [default: {DEFAULT_PREFIX}].")
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The run's journal; rerun with the same one to resume "
                   "[default: mailbox-exports-ORGANIZATION_ID.jsonl].")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the report: PATH.md and PATH.json [default: the journal's name].")
@click.option("--concurrency", type=click.IntRange(1, 10), default=10, show_default=True,
              help="Jobs to keep running at once (WorkMail runs at most 10 per organization).")
@click.option("--max-attempts", type=click.IntRange(1, 10), default=3, show_default=True,
              help="Jobs to try per mailbox when one fails.")
@target_options(local_help="Export from the embedded emulator, with the state of `deploy --local`.")
def export(organization_id: str | None, everything: bool, entities: tuple[str, ...], target_stack: str | None,
           bucket: str | None, kms_key: str | None, role: str | None, prefix: str | None, journal_path: Path | None,
           report_path: Path | None, concurrency: int, max_attempts: int, target: Target) -> None:
    """Export mailboxes to S3 with StartMailboxExportJob, as many at once as allowed.

    Keeps at most --concurrency jobs running and starts the next as one ends; a mailbox
    exported in the last 24 hours is taken on, not exported again; throttling and server
    errors are retried. Every step is written to the journal first: after a crash or Ctrl-C,
    the same command picks up the running jobs and starts none twice. At the end, each
    finished export's archive is checked against its manifest, and a Markdown and JSON
    report lists every mailbox. Exit 0 when all are exported and checked, 2 when some are not.

    \b
    Example:
      workmail-cdk mailboxes export --organization-id m-0123... --all --target-stack CorpMail \\
        --profile admin --region eu-west-1
      workmail-cdk mailboxes export --local --all --target-stack WorkMailExample
    """
    from botocore.exceptions import BotoCoreError, ClientError
    from rich.console import Console

    from .core.errors import error_code
    from .core.exports.journal import Journal, JournalError
    from .core.exports.journal import Target as ExportTarget
    from .core.exports.mailboxes import SelectionError, list_mailboxes, select
    from .core.exports.scheduler import ExportAborted, ExportRun, Settings

    if everything == bool(entities):
        raise click.UsageError("choose --all or one or more --entity")
    if not target_stack and not (bucket and kms_key and role):
        raise click.UsageError("give --bucket, --kms-key and --role, or --target-stack")
    console = Console(stderr=True)
    began = time.monotonic()
    journal = None
    try:
        with workmail_api(target) as api:
            organization_id = organization_id or only_organization(api, "whose mailboxes to export")
            given = {"--bucket": bucket, "--kms-key": kms_key, "--role": role, "--prefix": prefix}
            if target_stack:
                given = {**_stack_target(target, api, target_stack),
                         **{option: value for option, value in given.items() if value}}
            export_target = ExportTarget(organization_id, str(given["--bucket"]), given["--prefix"] or DEFAULT_PREFIX,
                                         str(given["--kms-key"]), str(given["--role"]))
            _check_members(export_target)
            journal_path = journal_path or Path(f"mailbox-exports-{organization_id}.jsonl")
            report_path = report_path or journal_path.with_suffix("")
            found = list_mailboxes(api, organization_id)
            chosen = found if everything else select(found, entities)
            journal = Journal.open(journal_path, export_target)
            console.print(f"Exporting {len(chosen):,} mailboxes of {organization_id} to "
                          f"s3://{export_target.bucket}/{export_target.prefix} "
                          f"({concurrency} at a time); journal {journal_path}")
            checker = _Checker(api, target)
            with _bar(console) as bar, checker:
                task = bar.add_task("export", total=len(chosen), states="", eta="")
                run = ExportRun(api, journal, chosen, Settings(concurrency=concurrency, max_attempts=max_attempts),
                                on_progress=lambda p: _show(bar, task, p), on_completed=checker.submit)
                exports = run.run()
            verifications, note = checker.results(), checker.note
    except KeyboardInterrupt:
        console.print(f"Interrupted. Jobs already started keep running in WorkMail; run the same command again "
                      f"(journal {journal_path}) to pick them up without starting any twice.")
        raise SystemExit(130) from None
    except ClientError as exc:
        raise click.ClickException(f"{organization_id}: {error_code(exc)}: "
                                   f"{exc.response.get('Error', {}).get('Message', '')}") from None
    except (BotoCoreError, ExportAborted) as exc:
        raise click.ClickException(f"{organization_id}: {exc} (the journal {journal_path} keeps what was done)"
                                   ) from None
    except SelectionError as exc:
        raise click.BadParameter(str(exc), param_hint="--entity") from None
    except JournalError as exc:
        raise click.BadParameter(str(exc), param_hint="--journal") from None
    finally:
        if journal is not None:
            journal.close()
    ok = _write_report(export_target, exports, verifications, note, report_path, console, time.monotonic() - began)
    if not ok:
        raise SystemExit(INCOMPLETE_EXIT)


def _stack_target(target: Target, api: WorkMailApi, stack: str) -> dict[str, str | None]:
    from .core.exports.target_outputs import TargetOutputsError, read

    try:
        return {option: value for option, value in read(stack, stack_outputs(target, api, stack)).items()}
    except TargetOutputsError as exc:
        raise click.BadParameter(str(exc), param_hint="--target-stack") from None


def _check_members(export_target: ExportTarget) -> None:
    """The service model's limits on the target's members, named by the option that sets them."""
    from .core.service_model import check_request

    violations = check_request("StartMailboxExportJob", {
        "ClientToken": "0" * 32, "OrganizationId": export_target.organization_id, "EntityId": "placeholder",
        "RoleArn": export_target.role_arn, "KmsKeyArn": export_target.kms_key_arn,
        "S3BucketName": export_target.bucket, "S3Prefix": export_target.prefix,
    })
    for violation in violations:
        # The service's messages name members lower-first (s3Prefix).
        member = violation.path.split(".")[0]
        option = {name[0].lower() + name[1:]: hint for name, hint in OPTION_OF_MEMBER.items()}.get(member)
        if option is not None:
            raise click.BadParameter(violation.describe(), param_hint=option)


def _bar(console: Console) -> Bar:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("Exporting"), BarColumn(bar_width=20), MofNCompleteColumn(),
                    TextColumn("{task.fields[states]}"),
                    TimeElapsedColumn(), TextColumn("{task.fields[eta]}"), console=console,
                    transient=False)


def _show(bar: Bar, task: TaskID, progress: Progress) -> None:
    counts = progress.counts
    states = (f"{counts['running']} running, {counts['pending']} waiting, {counts['completed']} done, "
              f"{counts['failed']} failed")
    eta = f"~{_duration(progress.eta_seconds)} left" if progress.eta_seconds is not None else ""
    bar.update(task, completed=counts["completed"] + counts["failed"], states=states, eta=eta)
    for export in progress.failed:
        bar.console.print(f"[red]failed[/red] {export.mailbox.label} ({export.mailbox.entity_id}): {export.reason}")


def _duration(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


class _Checker:
    """Each completed export's archive checked on a few threads while the other jobs run, so
    the check adds little to the run's time; or, without an S3 endpoint, why none can be."""

    def __init__(self, api: WorkMailApi, target: Target) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.s3 = s3_api(target, api)
        self.note = "" if self.s3 is not None else (
            "The archives were not checked: with --endpoint-url, set AWS_ENDPOINT_URL_S3 to the S3 endpoint that "
            "holds the bucket.")
        # Two: enough to keep up with ten jobs, few enough not to slow the polling that starts the next ones.
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="export-check")
        self.pending: dict[str, Future[Verification]] = {}

    def submit(self, export: MailboxExport) -> None:
        if self.s3 is None or export.job is None:
            return
        self.pending[export.mailbox.entity_id] = self.pool.submit(self._check, self.s3, export.job)

    @staticmethod
    def _check(s3: WorkMailApi, job: ExportJob) -> Verification:
        from .core.exports.verify import s3_location, verify_export

        bucket, key = s3_location(job.s3_path or "", job.s3_bucket or "")
        return verify_export(s3, bucket, key)

    def results(self) -> dict[str, Verification]:
        return {entity: future.result() for entity, future in self.pending.items()}

    def __enter__(self) -> _Checker:
        return self

    def __exit__(self, *exc: object) -> None:
        # Interrupted: checks not yet begun are dropped; a rerun checks every completed export again.
        self.pool.shutdown(wait=exc[0] is None, cancel_futures=exc[0] is not None)


def _write_report(export_target: ExportTarget, exports: list[MailboxExport], verifications: dict[str, Verification],
                  note: str, report_path: Path, console: Console, seconds: float) -> bool:
    from .core.exports.report import as_json, as_markdown, rows, summary

    table = rows(exports, verifications)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    markdown, json_path = report_path.with_name(report_path.name + ".md"), report_path.with_name(report_path.name
                                                                                                + ".json")
    markdown.write_text(as_markdown(export_target, table, note), encoding="utf-8")
    json_path.write_text(as_json(export_target, table), encoding="utf-8")
    totals = summary(table)
    print_ = console.print
    for row in table:
        if row["status"] != "completed" or row["verification"] not in ("verified",):
            why = row["reason"] or row["verification_detail"] or row["verification"]
            print_(f"  {row['mailbox']}: {row['status']}, {row['verification']}" + (f": {why}" if why else ""))
    if note:
        print_(note)
    print_(" · ".join(f"{value} {name}" for name, value in totals.items()) + f" in {_duration(seconds)}")
    print_(f"Report: {markdown} and {json_path}")
    return totals["verified"] == totals["mailboxes"]
