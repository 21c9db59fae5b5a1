"""An existing organization as a spec that adopts it: what ``workmail-cdk import`` declares.

The spec is the full read's actual state in the spec's own types, so planning it against
the same organization finds nothing to do. What can't or shouldn't be declared is left
out and said so (``Omission``): WorkMail's own users and test domain, and what the API
can't read back (passwords, the KMS key) or doesn't offer at all (email flow rules, SMTP
gateways, journaling, the mobile device policy: console-only).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from .spec import DomainSpec, UserSpec, WorkMailSpec
from .state import ActualState

# WorkMail's default mailbox quota, 50 GB (Administrator Guide, "Editing user details"); a user
# with it needs no declared quota, and a quota not declared isn't read by a plan.
DEFAULT_MAILBOX_QUOTA_MB = 51_200
# Roles WorkMail gives its own users; they can't be declared (CreateUser refuses them).
WORKMAIL_OWN_ROLES = frozenset({"SYSTEM_USER", "RESOURCE"})

OmissionKind = Literal["not declarable", "not readable", "no API"]


@dataclass(frozen=True)
class Omission:
    """Something the organization has (or may have) that the imported app doesn't declare."""

    kind: OmissionKind
    what: str
    why: str


@dataclass
class Adopted:
    """An organization as a spec that adopts it, and what the spec leaves out."""

    spec: WorkMailSpec
    organization_id: str
    arn: str
    omissions: list[Omission] = field(default_factory=list)

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]


class AdoptionError(Exception):
    """The organization can't be imported (missing, or not Active); the message says why."""


# The console-only features, named as the Administrator Guide names them.
_CONSOLE_ONLY = (
    Omission("no API", "Email flow rules (inbound and outbound)",
             "WorkMail's API has no operations for them (Administrator Guide, \"Managing email flows\"); "
             "they stay as they are and are managed in the console"),
    Omission("no API", "SMTP gateways", "no API operations; managed in the console"),
    Omission("no API", "Journaling", "no API operations; managed in the console"),
    Omission("no API", "The organization's mobile device policy (password and encryption settings)",
             "no API operations; managed in the console. Mobile device access rules and overrides are declared"),
)


def adopted_spec(actual: ActualState) -> Adopted:
    """The spec of ``actual`` (a full read, quotas included) as an adopted organization."""
    organization = actual.organization
    if organization is None:
        raise AdoptionError("the organization does not exist in this Region (or was deleted)")
    if organization.state != "Active":
        raise AdoptionError(f"the organization is {organization.state}; only an Active organization can be read")
    omissions: list[Omission] = [
        Omission("not readable", "Users' passwords",
                 "WorkMail never reports a password: every user keeps the one it has, and the app declares none"),
        Omission("not readable", "The organization's KMS key",
                 "DescribeOrganization doesn't report it, and an organization's key can never change"),
    ]
    domains: list[DomainSpec] = []
    for domain in actual.domains.values():
        if domain.is_test_domain:
            omissions.append(Omission("not declarable", f"The test domain {domain.spec.name}",
                                      "every organization has it; it can't be registered or removed"))
            continue
        domains.append(dataclasses.replace(domain.spec))
    users: list[UserSpec] = []
    for user in actual.users.values():
        if user.role in WORKMAIL_OWN_ROLES:
            omissions.append(Omission("not declarable", f"The user {user.spec.name} ({user.role})",
                                      "a user WorkMail made for itself"))
            continue
        quota = user.spec.mailbox_quota_mb
        users.append(dataclasses.replace(
            user.spec, password=None, mailbox_quota_mb=None if quota == DEFAULT_MAILBOX_QUOTA_MB else quota,
            aliases=_sorted(user.spec.aliases),
        ))
    spec = WorkMailSpec(
        organization=dataclasses.replace(organization.spec, organization_id=organization.organization_id),
        domains=sorted(domains, key=lambda d: (not d.default, d.name)),
        users=sorted(users, key=lambda u: u.name.lower()),
        groups=sorted((dataclasses.replace(g.spec, members=_sorted(g.spec.members), aliases=_sorted(g.spec.aliases))
                       for g in actual.groups.values()), key=lambda g: g.name.lower()),
        resources=sorted((dataclasses.replace(r.spec, delegates=_sorted(r.spec.delegates),
                                              aliases=_sorted(r.spec.aliases))
                          for r in actual.resources.values()), key=lambda r: r.name.lower()),
        mailbox_permissions=sorted(actual.mailbox_permissions.values(),
                                   key=lambda p: (p.mailbox.lower(), p.grantee.lower())),
        access_control_rules=list(actual.access_control_rules.values()),
        retention_policy=actual.retention_policy.spec if actual.retention_policy is not None else None,
        mobile_device_access_rules=[rule.spec for rule in actual.mobile_device_access_rules.values()],
        mobile_device_access_overrides=list(actual.mobile_device_access_overrides.values()),
        impersonation_roles=[role.spec for role in actual.impersonation_roles.values()],
        inbound_dmarc_enforced=actual.inbound_dmarc_enforced,
        email_monitoring=actual.email_monitoring,
        availability_configurations=list(actual.availability_configurations.values()),
    )
    for configuration in spec.availability_configurations:
        if configuration.ews is not None:
            omissions.append(Omission(
                "not readable", f"The EWS password of the availability configuration {configuration.domain_name}",
                "WorkMail doesn't return it: the app names a Secrets Manager secret to hold it, read only when "
                "the configuration changes"))
    omissions.extend(_CONSOLE_ONLY)
    return Adopted(spec=spec, organization_id=organization.organization_id, arn=organization.arn,
                   omissions=omissions)


def _sorted(names: list[str]) -> list[str]:
    # The order the API lists things in isn't stable; an import written twice should read the same.
    return sorted(names, key=str.lower)
