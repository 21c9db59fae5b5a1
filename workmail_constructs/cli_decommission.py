"""``workmail-cdk decommission``: the plan for deleting an organization, its checks, and with
``--apply --confirm ALIAS``, the deletion."""

from __future__ import annotations

import datetime
import json
import sys
from typing import TYPE_CHECKING, Any

import click

from .cli_target import Target, only_organization, target_options, workmail_api

if TYPE_CHECKING:
    from .decommission import DecommissionPlan, Refusal

# As `plan --detailed-exitcode`: 2 means the plan can't be carried out as it stands.
REFUSED_EXIT = 2
# Names shown per group in text and Markdown; JSON has them all.
SHOWN = 20


@click.command("decommission")
@click.option("--organization-id", help="The organization to delete (default: the one Active organization of the "
                                        "account in the Region, if there is just one).")
@target_options(local_help="Decommission the embedded emulator's organization, with the state of `deploy --local`.")
@click.option("--max-export-age", type=click.FloatRange(0, 168, min_open=True), default=24.0, show_default=True,
              metavar="HOURS", help="How recently each mailbox's completed export must have started (at most 168: "
                                    "WorkMail lists a week of export jobs).")
@click.option("--nameserver", help="Ask only this name server for the MX and autodiscover records, HOST[:PORT] "
                                   "(default: the system's resolver).")
@click.option("--apply", "carry_out", is_flag=True, help="Carry the plan out (needs --confirm ALIAS).")
@click.option("--confirm", metavar="ALIAS", help="The organization's alias, typed to confirm the deletion.")
@click.option("--skip-export-check", is_flag=True, help="Delete even if mailboxes lack a fresh completed export.")
@click.option("--skip-mx-check", is_flag=True, help="Delete even if MX still points at WorkMail (or can't be "
                                                    "resolved).")
@click.option("--skip-confirmation", is_flag=True, help="Apply without --confirm (for automation that has checked "
                                                        "the organization otherwise).")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True)
def decommission(organization_id: str | None, target: Target, max_export_age: float, nameserver: str | None,
                 carry_out: bool, confirm: str | None, skip_export_check: bool, skip_mx_check: bool,
                 skip_confirmation: bool, output_format: str) -> None:
    """Plan the deletion of an organization, and with --apply --confirm ALIAS, delete it.

    The plan shows each mailbox's newest completed export and its age, whether each domain's
    MX and autodiscover records still point at WorkMail, the users, groups and resources
    that would go, and the steps in order. It refuses, naming why, when a mailbox has no
    completed export started within --max-export-age hours, when MX still points at WorkMail,
    or when --confirm is not the organization's alias; each refusal has its own --skip-...
    flag. Without --apply, nothing changes: exit 0 when it could be applied, 2 when a check
    refuses. With --apply, a refusal changes nothing and exits 1.

    \b
    Example:
      workmail-cdk decommission --organization-id m-0123... --profile admin --region eu-west-1
      workmail-cdk decommission --organization-id m-0123... --profile admin --region eu-west-1 \\
        --apply --confirm corp
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from .core.adoption import AdoptionError
    from .core.errors import error_code
    from .decommission import build_plan, confirmation_refusal
    from .dns_records import resolver

    try:
        resolver(nameserver)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--nameserver") from None
    skipped = {"exports": skip_export_check, "mx": skip_mx_check, "confirmation": skip_confirmation}
    if (confirm or skip_confirmation) and not carry_out:
        raise click.UsageError("--confirm and --skip-confirmation go with --apply")
    try:
        with workmail_api(target) as api:
            organization_id = organization_id or only_organization(api, "to decommission")
            found = build_plan(api, organization_id, max_export_age=datetime.timedelta(hours=max_export_age),
                               nameserver=nameserver)
            refusals = list(found.refusals)
            if carry_out and (refusal := confirmation_refusal(found, confirm)) is not None:
                refusals.append(refusal)
            blocking = [r for r in refusals if not skipped[r.check]]
            click.echo(_render(found, refusals, skipped, output_format), nl=output_format != "text")
            if blocking:
                if carry_out:
                    raise click.ClickException("refusing to decommission; nothing was deleted:\n" + "\n".join(
                        f"  - {r.reason} (skip with {r.override})" for r in blocking))
                sys.exit(REFUSED_EXIT)
            if carry_out:
                _carry_out(api, found)
    except ClientError as exc:
        raise click.ClickException(f"{organization_id}: {error_code(exc)}: "
                                   f"{exc.response.get('Error', {}).get('Message', '')}") from None
    except (BotoCoreError, AdoptionError) as exc:
        raise click.ClickException(f"{organization_id}: {exc}") from None


def _carry_out(api: Any, found: DecommissionPlan) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .core.apply import ProgressEvent
    from .decommission import carry_out

    console = Console(stderr=True)
    with Progress(TextColumn("Deleting"), BarColumn(bar_width=20), MofNCompleteColumn(),
                  TextColumn("{task.fields[now]}"), console=console) as bar:
        task = bar.add_task("delete", total=len(found.deletion.changes), now="")

        def show(event: ProgressEvent) -> None:
            bar.update(task, completed=event.completed, now=f"{event.status} {event.change.title}")
            if event.status == "failed":
                bar.console.print(f"[red]failed[/red] {event.change.title}: {event.message}")

        result = carry_out(api, found, on_progress=show)
    if not result.ok:
        problems = [f"  - {c.title}: {why}" for c, why in (*result.failed, *result.skipped)]
        raise click.ClickException(f"{len(result.done)} of {len(found.deletion.changes)} steps done; run the same "
                                   "command again to continue:\n" + "\n".join(problems))
    click.echo(f"Decommissioned {found.alias} ({found.organization_id}): {len(result.done)} changes, the "
               "organization last.", err=True)


def _render(found: DecommissionPlan, refusals: list[Refusal], skipped: dict[str, bool], output_format: str) -> str:
    if output_format == "json":
        return json.dumps(_data(found, refusals, skipped), indent=2)
    return _markdown(found, refusals, skipped) if output_format == "markdown" else _text(found, refusals, skipped)


def _data(found: DecommissionPlan, refusals: list[Refusal], skipped: dict[str, bool]) -> dict[str, Any]:
    from .core.render import plan_to_data

    return {
        "organization_id": found.organization_id,
        "alias": found.alias,
        "max_export_age_hours": found.max_export_age.total_seconds() / 3600,
        "exports": [{"mailbox": e.mailbox.label, "entity_id": e.mailbox.entity_id, "fresh": e.fresh,
                     "job_id": e.job.job_id if e.job else None,
                     "age_hours": round(e.age.total_seconds() / 3600, 2) if e.age is not None else None}
                    for e in found.exports],
        "domains": [{"domain": d.domain, "mx_at_workmail": d.mx_at_workmail,
                     "autodiscover_at_workmail": d.autodiscover_at_workmail, "error": d.error,
                     "records": [{"type": r.type, "name": r.name, "expected": r.expected, "status": r.status,
                                  "found": list(r.found)} for r in d.records]} for d in found.domains],
        "steps": found.steps,
        "deletion": plan_to_data(found.deletion),
        "refusals": [{"check": r.check, "reason": r.reason, "override": r.override, "skipped": skipped[r.check]}
                     for r in refusals],
    }


def _lines(found: DecommissionPlan, refusals: list[Refusal], skipped: dict[str, bool],
           bullet: str) -> dict[str, list[str]]:
    """The plan's sections as lines, shared by text and Markdown."""
    fresh = [e for e in found.exports if e.fresh]
    stale = [e for e in found.exports if not e.fresh]
    oldest = max((e.age for e in fresh if e.age is not None), default=None)
    exports = [f"{len(fresh)} of {len(found.exports)} mailboxes have a completed export started in the last "
               f"{found.max_export_age.total_seconds() / 3600:g} hours"
               + (f" (the oldest of them {_age(oldest)} ago)" if oldest is not None else "")]
    for export in stale[:SHOWN]:
        when = (f"newest completed export started {_age(export.age)} ago (job {export.job.job_id})"
                if export.job and export.age is not None else "no completed export in the last 7 days")
        exports.append(f"{bullet}{export.mailbox.label}: {when}")
    if len(stale) > SHOWN:
        exports.append(f"{bullet}and {len(stale) - SHOWN} more (--format json lists them all)")
    routing = []
    for domain in found.domains:
        if domain.error:
            routing.append(f"{bullet}{domain.domain}: could not be checked: {domain.error}")
            continue
        mx = "MX still points at WorkMail" if domain.mx_at_workmail else "MX no longer points at WorkMail"
        auto = ("autodiscover still points at WorkMail (mail clients will keep trying it)"
                if domain.autodiscover_at_workmail else "autodiscover no longer points at WorkMail")
        routing.append(f"{bullet}{domain.domain}: {mx}; {auto}")
    going = []
    for kind, title in (("user", "Users"), ("group", "Groups"), ("resource", "Resources")):
        names = sorted(c.key for c in found.deletion.changes if c.kind == kind)
        shown = ", ".join(names[:SHOWN]) + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")
        going.append(f"{bullet}{title} ({len(names)}): {shown or 'none'}")
    others = [f"{c.kind.replace('_', ' ')} {c.key}" for c in found.deletion.changes
              if c.kind not in ("user", "group", "resource", "organization")]
    if others:
        going.append(f"{bullet}Settings that go with them ({len(others)}): {', '.join(others[:SHOWN])}"
                     + (f" and {len(others) - SHOWN} more" if len(others) > SHOWN else ""))
    steps = [f"{n}. {step}" for n, step in enumerate(found.steps, 1)]
    refused = [f"{bullet}{'skipped: ' if skipped[r.check] else ''}{r.reason} ({r.override})" for r in refusals]
    return {"exports": exports, "routing": routing or [f"{bullet}no domains but the test domain"],
            "going": going, "steps": steps, "refusals": refused or [f"{bullet}none: the plan can be applied"]}


def _text(found: DecommissionPlan, refusals: list[Refusal], skipped: dict[str, bool]) -> str:
    sections = _lines(found, refusals, skipped, "  - ")
    out = [f"Decommission plan for {found.alias} ({found.organization_id})", "", "Exports:",
           *[line if line.startswith("  ") else f"  {line}" for line in sections["exports"]], "",
           "Mail routing:", *sections["routing"], "", "What goes:", *sections["going"], "",
           "Steps:", *[f"  {s}" for s in sections["steps"]], "", "Refusals:", *sections["refusals"]]
    return "\n".join(out) + "\n"


def _markdown(found: DecommissionPlan, refusals: list[Refusal], skipped: dict[str, bool]) -> str:
    sections = _lines(found, refusals, skipped, "- ")
    out = [f"## Decommission plan for `{found.alias}` ({found.organization_id})", "", "### Exports", "",
           *sections["exports"], "", "### Mail routing", "", *sections["routing"], "", "### What goes", "",
           *sections["going"], "", "### Steps", "", *sections["steps"], "", "### Refusals", "",
           *sections["refusals"]]
    return "\n".join(out)


def _age(span: datetime.timedelta | None) -> str:
    if span is None:
        return "?"
    hours = span.total_seconds() / 3600
    if hours < 1:
        return f"{span.total_seconds() / 60:.0f} minutes"
    return f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.1f} days"
