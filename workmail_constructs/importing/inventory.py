"""The inventory of an imported organization in Markdown: counts first, then every object."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..core.adoption import Adopted
from ..core.state import ActualState


def inventory(adopted: Adopted, actual: ActualState, *, imported_on: str) -> str:
    """``INVENTORY.md``: what the organization has, as read on ``imported_on``, and what the
    imported app leaves out."""
    spec = adopted.spec
    org = spec.organization
    lines = [
        f"# WorkMail organization {org.alias}",
        "",
        f"`{adopted.organization_id}` in {adopted.region} (account {adopted.account}), read by "
        f"`workmail-cdk import` on {imported_on}.",
        "",
        "| Section | Count |",
        "|---|---:|",
        *(f"| {title} | {count:,} |" for title, count in (
            ("Domains", len(spec.domains)),
            ("Users", len(spec.users)),
            ("Groups", len(spec.groups)),
            ("Resources", len(spec.resources)),
            ("Aliases", sum(len(u.aliases) for u in spec.users) + sum(len(g.aliases) for g in spec.groups)
             + sum(len(r.aliases) for r in spec.resources)),
            ("Group memberships", sum(len(g.members) for g in spec.groups)),
            ("Resource delegates", sum(len(r.delegates) for r in spec.resources)),
            ("Mailbox permissions", len(spec.mailbox_permissions)),
            ("Access control rules", len(spec.access_control_rules or [])),
            ("Mobile device access rules", len(spec.mobile_device_access_rules or [])),
            ("Mobile device access overrides", len(spec.mobile_device_access_overrides)),
            ("Impersonation roles", len(spec.impersonation_roles)),
            ("Availability configurations", len(spec.availability_configurations)),
        )),
    ]
    lines += _table("Domains", ("Domain", "Default", "Ownership", "DKIM"), [
        (d.spec.name + (" (test domain)" if d.is_test_domain else ""), _yes(d.spec.default),
         d.ownership_verification_status, d.dkim_verification_status)
        for d in sorted(actual.domains.values(), key=lambda d: d.spec.name)
    ])
    states = {key: user.state for key, user in actual.users.items()}
    lines += _table("Users", ("Name", "Display name", "Email", "State", "Aliases", "Quota (MB)"), [
        (u.name, u.display_name, u.email or "", states.get(u.name.lower(), ""), ", ".join(u.aliases),
         # A disabled user has no mailbox, so no quota.
         "" if states.get(u.name.lower()) != "ENABLED" else str(u.mailbox_quota_mb or "default"))
        for u in spec.users
    ])
    lines += _table("Groups", ("Name", "Email", "Members", "Aliases"), [
        (g.name, g.email or "", ", ".join(sorted(g.members, key=str.lower)), ", ".join(g.aliases))
        for g in spec.groups
    ])
    lines += _table("Resources", ("Name", "Type", "Email", "Delegates", "Auto-accepts"), [
        (r.name, r.type, r.email or "", ", ".join(r.delegates), _yes(r.booking_options.auto_accept_requests))
        for r in spec.resources
    ])
    lines += _table("Mailbox permissions", ("Mailbox", "Grantee", "Permissions"), [
        (p.mailbox, p.grantee, ", ".join(p.permissions)) for p in spec.mailbox_permissions
    ])
    lines += _table("Access control rules", ("Name", "Effect", "Description"), [
        (r.name, r.effect, r.description) for r in spec.access_control_rules or []
    ])
    lines += _table("Mobile device access rules", ("Name", "Effect", "Description"), [
        (r.name, r.effect, r.description or "") for r in spec.mobile_device_access_rules or []
    ])
    lines += _table("Mobile device access overrides", ("User", "Device", "Effect"), [
        (o.user, o.device_id, o.effect) for o in spec.mobile_device_access_overrides
    ])
    lines += _table("Impersonation roles", ("Name", "Type", "Rules"), [
        (r.name, r.type, str(len(r.rules))) for r in spec.impersonation_roles
    ])
    settings = []
    if spec.retention_policy is not None:
        folders = ", ".join(f"{f.name} {f.action}" + (f" after {f.period_days} days" if f.period_days else "")
                            for f in spec.retention_policy.folders)
        settings.append(("Retention policy", f"{spec.retention_policy.name}: {folders or 'no folders'}"))
    if spec.inbound_dmarc_enforced is not None:
        settings.append(("Inbound DMARC", "enforced" if spec.inbound_dmarc_enforced else "not enforced"))
    settings.append(("Email event logging", spec.email_monitoring.log_group_arn if spec.email_monitoring else "off"))
    for configuration in spec.availability_configurations:
        provider = (f"EWS {configuration.ews.endpoint}" if configuration.ews is not None
                    else f"Lambda {configuration.lambda_arn}")
        settings.append((f"Availability of {configuration.domain_name}", provider))
    lines += _table("Settings", ("Setting", "Value"), settings)
    lines += _table("Not declared in the app", ("What", "Why"), [(o.what, o.why) for o in adopted.omissions])
    return "\n".join(lines) + "\n"


def _table(title: str, header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    rows = list(rows)
    if not rows:
        return []
    return ["", f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(_cell(value) for value in row) + " |" for row in rows)]


def _cell(value: str) -> str:
    # A pipe would end the cell and a newline the row.
    return " ".join(value.replace("|", "\\|").split())


def _yes(value: bool) -> str:
    return "yes" if value else "no"
