"""The actual state of a WorkMail organization, as read through the API.

It uses the spec's own types for what it read back, so planning compares like with
like; the WorkMail ids and states the spec doesn't carry sit beside them. References
(group members, delegates, grantees, rule users) are names, as in the spec, translated
from ids by the reader. Secrets can't be read back: ``password`` fields are None.

A read may be scoped: ``read_sections`` says which sections were read in full, and the
entity maps then hold only the entities the read looked at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .spec import (
    AccessControlRuleSpec,
    AvailabilityConfigurationSpec,
    DomainSpec,
    EmailMonitoringSpec,
    GroupSpec,
    ImpersonationRoleSpec,
    MailboxPermissionSpec,
    MobileDeviceAccessOverrideSpec,
    MobileDeviceAccessRuleSpec,
    OrganizationSpec,
    ResourceSpec,
    RetentionPolicySpec,
    UserSpec,
)

# Sections of the actual state a read can cover.
SECTIONS = (
    "domains", "users", "groups", "resources", "mailbox_permissions", "access_control_rules",
    "retention_policy", "mobile_device_access_rules", "mobile_device_access_overrides",
    "impersonation_roles", "inbound_dmarc", "email_monitoring", "availability_configurations",
)


@dataclass
class ActualOrganization:
    organization_id: str
    arn: str
    state: str
    default_mail_domain: str | None
    directory_type: str | None
    spec: OrganizationSpec


@dataclass
class ActualDomain:
    spec: DomainSpec
    ownership_verification_status: str
    dkim_verification_status: str
    is_test_domain: bool
    records: list[dict[str, str]] = field(default_factory=list)


@dataclass
class ActualUser:
    id: str
    state: str  # ENABLED | DISABLED | DELETED
    spec: UserSpec
    # Read-only roles the spec can't declare (SYSTEM_USER, RESOURCE) are kept here.
    role: str = "USER"


@dataclass
class ActualGroup:
    id: str
    state: str
    spec: GroupSpec


@dataclass
class ActualResource:
    id: str
    state: str
    spec: ResourceSpec


R = TypeVar("R", MobileDeviceAccessRuleSpec, ImpersonationRoleSpec)


@dataclass
class ActualRule(Generic[R]):
    """A rule or role WorkMail identifies by a generated id (mobile rules, impersonation roles)."""

    id: str
    spec: R


@dataclass
class ActualRetentionPolicy:
    id: str
    spec: RetentionPolicySpec


@dataclass
class ActualState:
    organization: ActualOrganization | None = None
    read_sections: set[str] = field(default_factory=set)
    # Keyed by lower-cased name (WorkMail names are case-insensitive) or domain name.
    domains: dict[str, ActualDomain] = field(default_factory=dict)
    users: dict[str, ActualUser] = field(default_factory=dict)
    groups: dict[str, ActualGroup] = field(default_factory=dict)
    resources: dict[str, ActualResource] = field(default_factory=dict)
    # Keyed by (mailbox name, grantee name), lower-cased.
    mailbox_permissions: dict[tuple[str, str], MailboxPermissionSpec] = field(default_factory=dict)
    access_control_rules: dict[str, AccessControlRuleSpec] = field(default_factory=dict)
    retention_policy: ActualRetentionPolicy | None = None
    mobile_device_access_rules: dict[str, ActualRule[MobileDeviceAccessRuleSpec]] = field(default_factory=dict)
    # Keyed by (user name lower-cased, device id lower-cased).
    mobile_device_access_overrides: dict[tuple[str, str], MobileDeviceAccessOverrideSpec] = field(
        default_factory=dict
    )
    impersonation_roles: dict[str, ActualRule[ImpersonationRoleSpec]] = field(default_factory=dict)
    inbound_dmarc_enforced: bool | None = None
    email_monitoring: EmailMonitoringSpec | None = None
    availability_configurations: dict[str, AvailabilityConfigurationSpec] = field(default_factory=dict)

    def entity_id(self, name: str) -> str | None:
        """The id of a live user, group or resource with this name."""
        key = name.lower()
        for table in (self.users, self.groups, self.resources):
            found = table.get(key)
            if found is not None and found.state != "DELETED":
                return found.id
        return None
