"""Typed changes: what a plan says to do, and what apply executes and render shows.

A change names one object by ``kind`` and ``key`` and carries the declared object
(``after``) and what exists (``before``, from the actual state), both in the spec's own
types, so each consumer needs nothing else to do its job.

Kinds, their keys and their before/after types:

| kind | key | before / after |
|---|---|---|
| organization | alias | OrganizationSpec |
| domain | domain name | DomainSpec |
| user / group / resource | name | UserSpec / GroupSpec / ResourceSpec |
| group_member | "group/member" | str (the member's name) |
| resource_delegate | "resource/delegate" | str (the delegate's name) |
| mailbox_permission | "mailbox/grantee" | MailboxPermissionSpec |
| access_control_rule | rule name | AccessControlRuleSpec |
| mobile_device_access_rule | rule name | MobileDeviceAccessRuleSpec |
| mobile_device_access_override | "user/device id" | MobileDeviceAccessOverrideSpec |
| impersonation_role | role name | ImpersonationRoleSpec |
| retention_policy | policy name | RetentionPolicySpec |
| inbound_dmarc | "inbound-dmarc" | bool |
| email_monitoring | "email-monitoring" | EmailMonitoringSpec |
| availability_configuration | domain name | AvailabilityConfigurationSpec |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["create", "update", "delete", "replace"]

KINDS = (
    "organization", "domain", "user", "group", "resource", "group_member", "resource_delegate",
    "mailbox_permission", "access_control_rule", "mobile_device_access_rule", "mobile_device_access_override",
    "impersonation_role", "retention_policy", "inbound_dmarc", "email_monitoring", "availability_configuration",
)


@dataclass(frozen=True)
class FieldChange:
    """One attribute of an update: its name, the value now and the value declared.

    Secret values never appear: a password change shows the secret's version ids.
    """

    name: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Change:
    action: Action
    kind: str
    key: str
    reason: str
    destructive: bool = False
    before: Any = None
    after: Any = None
    fields: tuple[FieldChange, ...] = ()
    # The WorkMail id of the existing object, when there is one.
    id: str | None = None

    @property
    def title(self) -> str:
        return f"{self.action} {self.kind.replace('_', ' ')} {self.key}"


@dataclass(frozen=True)
class ManualStep:
    """Something the plan can't do through WorkMail's API, said plainly (flow rules, for one)."""

    topic: str
    text: str


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    manual: list[ManualStep] = field(default_factory=list)
    organization_id: str | None = None

    @property
    def empty(self) -> bool:
        return not self.changes

    @property
    def destructive(self) -> list[Change]:
        return [c for c in self.changes if c.destructive]

    def counts(self) -> dict[str, int]:
        totals = {"create": 0, "update": 0, "delete": 0, "replace": 0}
        for change in self.changes:
            totals[change.action] += 1
        return totals
