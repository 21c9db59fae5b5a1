"""Decommissioning an organization: the plan, the checks that must pass first, and the run.

Deleting an organization deletes every mailbox and all mail for good, and mail keeps
arriving until the domains' MX records move. So the plan says, before anything happens:
how old each mailbox's newest completed export is; whether each domain's MX and
autodiscover records still point at WorkMail (resolved with ``dns_records``, as
``dns check`` does); which users, groups and resources would go; and the order of the
steps. It refuses, naming the reason and the flag that skips it, when a mailbox has no
completed export newer than the threshold, when MX still points at WorkMail (or can't be
checked), or when the confirmation doesn't name the organization's alias.

The deletion is a core plan run by the core's apply, with its destructive guard: the
users, groups and resources go first (the spec that declares none of them, pruning), then
the organization itself, with its domains and directory.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .core.adoption import adopted_spec
from .core.api import WorkMailApi
from .core.apply import ApplyResult, ProgressEvent, apply
from .core.changes import Plan
from .core.exports.jobs import LISTING_WINDOW, ExportJob, latest_completed_by_entity, list_jobs
from .core.exports.mailboxes import Mailbox, list_mailboxes
from .core.kinds.organization import plan_removal
from .core.plan import plan
from .core.read import read_full
from .core.spec import SecretRef
from .core.state import ActualState
from .dns_records import DnsUnavailable, RecordCheck, check_records
from .dns_records import resolver as dns_resolver

Check = Literal["exports", "mx", "confirmation"]
# The flag that skips each check, named for what it skips.
OVERRIDES: dict[Check, str] = {
    "exports": "--skip-export-check",
    "mx": "--skip-mx-check",
    "confirmation": "--skip-confirmation",
}


@dataclass(frozen=True)
class MailboxExportAge:
    mailbox: Mailbox
    job: ExportJob | None
    age: datetime.timedelta | None
    fresh: bool


@dataclass(frozen=True)
class DomainRouting:
    """Where a domain's mail and mail clients go: WorkMail's MX and autodiscover records, checked."""

    domain: str
    records: tuple[RecordCheck, ...]
    error: str | None = None

    @property
    def mx_at_workmail(self) -> bool:
        return any(r.type == "MX" and r.status == "present" for r in self.records)

    @property
    def autodiscover_at_workmail(self) -> bool:
        return any(r.type == "CNAME" and r.name.lower().startswith("autodiscover.") and r.status == "present"
                   for r in self.records)


@dataclass(frozen=True)
class Refusal:
    check: Check
    reason: str

    @property
    def override(self) -> str:
        return OVERRIDES[self.check]


@dataclass
class DecommissionPlan:
    organization_id: str
    alias: str
    max_export_age: datetime.timedelta
    exports: list[MailboxExportAge]
    domains: list[DomainRouting]
    deletion: Plan
    actual: ActualState
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def steps(self) -> list[str]:
        users, groups, resources = (sum(c.kind == kind for c in self.deletion.changes)
                                    for kind in ("user", "group", "resource"))
        others = sum(c.kind not in ("user", "group", "resource", "organization") for c in self.deletion.changes)
        return [
            f"Check that every mailbox has a completed export started in the last {_hours(self.max_export_age)}",
            "Check that no domain's MX record points at WorkMail",
            f"Delete {_count(users, 'user')} and {_count(resources, 'resource')} with their mailboxes, and "
            f"{_count(groups, 'group')}" + (f" (and {_count(others, 'other setting')})" if others else ""),
            f"Delete the organization {self.alias} ({self.organization_id}) with its domains and directory",
        ]


def build_plan(
    api: WorkMailApi,
    organization_id: str,
    *,
    max_export_age: datetime.timedelta,
    nameserver: str | None,
    now: datetime.datetime | None = None,
) -> DecommissionPlan:
    """Everything the decision needs, read now; refusals for the checks that fail (none skipped here)."""
    if max_export_age > LISTING_WINDOW:
        raise ValueError(f"the export age can be at most {_hours(LISTING_WINDOW)}: WorkMail lists the export jobs "
                         "of the last seven days only")
    now = now or datetime.datetime.now(datetime.UTC)
    actual = read_full(api, organization_id, quotas=set())
    adopted = adopted_spec(actual)
    exports = export_ages(api, organization_id, max_export_age, now)
    domains = domain_routing(api, organization_id, nameserver)
    declared = dataclasses.replace(
        adopted.spec,
        organization=dataclasses.replace(adopted.spec.organization, removal_policy="destroy"),
        users=[], groups=[], resources=[], mailbox_permissions=[], mobile_device_access_overrides=[],
        impersonation_roles=[], access_control_rules=None, mobile_device_access_rules=None,
        availability_configurations=adopted.spec.availability_configurations, prune=True,
    )
    deletion = plan(declared, actual)
    plan_removal(declared, actual, deletion)
    found = DecommissionPlan(organization_id, adopted.spec.organization.alias, max_export_age, exports, domains,
                             deletion, actual)
    found.refusals = checks(found)
    return found


def export_ages(api: WorkMailApi, organization_id: str, max_age: datetime.timedelta,
                now: datetime.datetime) -> list[MailboxExportAge]:
    """Each mailbox's newest completed export and its age, from when it started: the export
    reads the mailbox as it runs, so mail older than its start is in it."""
    latest = latest_completed_by_entity(list_jobs(api, organization_id))
    ages = []
    for mailbox in list_mailboxes(api, organization_id):
        job = latest.get(mailbox.entity_id)
        age = now - job.start_time if job and job.start_time else None
        ages.append(MailboxExportAge(mailbox, job, age, age is not None and age <= max_age))
    return ages


def domain_routing(api: WorkMailApi, organization_id: str, nameserver: str | None) -> list[DomainRouting]:
    """The MX and autodiscover records of each domain but WorkMail's own test domain."""
    routed = []
    using = dns_resolver(nameserver)
    for domain in api.paginate("ListMailDomains", "MailDomains", OrganizationId=organization_id):
        name = domain["DomainName"]
        details = api.call("GetMailDomain", OrganizationId=organization_id, DomainName=name)
        if details.get("IsTestDomain"):
            continue
        wanted = [r for r in details.get("Records") or [] if _routes_mail(r)]
        try:
            routed.append(DomainRouting(name, tuple(check_records(wanted, using))))
        except DnsUnavailable as exc:
            routed.append(DomainRouting(name, (), str(exc)))
    return routed


def _routes_mail(record: dict[str, Any]) -> bool:
    kind = str(record.get("Type", "")).upper()
    return kind == "MX" or (kind == "CNAME" and str(record.get("Hostname", "")).lower().startswith("autodiscover."))


def checks(found: DecommissionPlan) -> list[Refusal]:
    """What keeps the plan from running (the confirmation is checked when it is given)."""
    refusals = []
    stale = [e for e in found.exports if not e.fresh]
    if stale:
        names = ", ".join(e.mailbox.label for e in stale[:10]) + (f" and {len(stale) - 10} more" if len(stale) > 10
                                                                    else "")
        refusals.append(Refusal("exports", f"{len(stale)} of {len(found.exports)} mailboxes have no completed export "
                                           f"started in the last {_hours(found.max_export_age)}: {names}"))
    for domain in found.domains:
        if domain.error:
            refusals.append(Refusal("mx", f"the MX record of {domain.domain} could not be checked: {domain.error}"))
        elif domain.mx_at_workmail:
            refusals.append(Refusal("mx", f"the MX record of {domain.domain} still points at WorkMail: mail for it "
                                          "would be lost"))
    return refusals


def confirmation_refusal(found: DecommissionPlan, confirm: str | None) -> Refusal | None:
    if confirm == found.alias:
        return None
    given = "no --confirm was given" if confirm is None else f"--confirm {confirm!r} is not its alias"
    return Refusal("confirmation", f"type the organization's alias to confirm: {given} (it is {found.alias!r})")


def _count(number: int, what: str) -> str:
    return f"{number} {what}{'' if number == 1 else 's'}"


def _hours(span: datetime.timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} hours"


def carry_out(api: WorkMailApi, found: DecommissionPlan,
              on_progress: Callable[[ProgressEvent], None] | None = None) -> ApplyResult:
    """Run the deletion through the core's apply: its destructive guard is lifted here only,
    after the checks passed or were skipped by name and the alias was confirmed."""

    def no_secrets(ref: SecretRef) -> str:
        raise ValueError(f"a decommission sets no passwords (asked for {ref})")

    return apply(found.deletion, api, resolve_secret=no_secrets, allow_destructive=True, on_progress=on_progress)
