"""Typed changes: what a plan says to do, and what apply executes and render shows.

A change names one object by a typed *address* (its kind and the fields that identify it:
a user by name, a group member by group and member, a mailbox permission by mailbox and
grantee) and carries the declared object (``after``) and what exists (``before``, from
the actual state), both in the spec's own types. ``Change`` is generic in both, so the
kind module that made a change reads it back with the types it put in, and nothing has
to check them at run time or split a key apart.

Kinds, their addresses and their before/after types (see ``core/kinds``):

| kind | address | before / after |
|---|---|---|
| organization | OrganizationAddress(alias) | OrganizationSpec |
| domain | NamedAddress("domain", name) | DomainSpec |
| user / group / resource | EntityAddress(kind, name) | UserSpec / GroupSpec / ResourceSpec |
| group_member / resource_delegate | LinkAddress(kind, owner, member) | str (the member's name) |
| mailbox_permission | PermissionAddress(mailbox, grantee) | MailboxPermissionSpec |
| access_control_rule, mobile_device_access_rule, | NamedAddress(kind, name) | the rule's spec |
| impersonation_role, retention_policy | | |
| mobile_device_access_override | OverrideAddress(user, device_id) | MobileDeviceAccessOverrideSpec |
| availability_configuration | NamedAddress(kind, domain name) | AvailabilityConfigurationSpec |
| inbound_dmarc / email_monitoring | SettingAddress(kind) | bool / EmailMonitoringSpec |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

Action = Literal["create", "update", "delete", "replace"]

KindName = Literal[
    "organization", "domain", "user", "group", "resource", "group_member", "resource_delegate",
    "mailbox_permission", "access_control_rule", "mobile_device_access_rule", "mobile_device_access_override",
    "impersonation_role", "retention_policy", "inbound_dmarc", "email_monitoring", "availability_configuration",
]
EntityKind = Literal["user", "group", "resource"]
LinkKind = Literal["group_member", "resource_delegate"]
NamedKind = Literal[
    "domain", "access_control_rule", "mobile_device_access_rule", "impersonation_role", "retention_policy",
    "availability_configuration",
]
SettingKind = Literal["inbound_dmarc", "email_monitoring"]


@dataclass(frozen=True)
class OrganizationAddress:
    alias: str
    kind: Literal["organization"] = "organization"

    @property
    def key(self) -> str:
        return self.alias


@dataclass(frozen=True)
class EntityAddress:
    kind: EntityKind
    name: str

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class LinkAddress:
    """A group's member or a resource's delegate."""

    kind: LinkKind
    owner: str
    member: str

    @property
    def key(self) -> str:
        return f"{self.owner}/{self.member}"


@dataclass(frozen=True)
class PermissionAddress:
    mailbox: str
    grantee: str
    kind: Literal["mailbox_permission"] = "mailbox_permission"

    @property
    def key(self) -> str:
        return f"{self.mailbox}/{self.grantee}"


@dataclass(frozen=True)
class OverrideAddress:
    user: str
    device_id: str
    kind: Literal["mobile_device_access_override"] = "mobile_device_access_override"

    @property
    def key(self) -> str:
        return f"{self.user}/{self.device_id}"


@dataclass(frozen=True)
class NamedAddress:
    """An object its kind identifies by one name: a domain, a rule, a role, a policy."""

    kind: NamedKind
    name: str

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class SettingAddress:
    """One of the organization's settings, of which there is one."""

    kind: SettingKind

    @property
    def key(self) -> str:
        return self.kind.replace("_", "-")


Address = OrganizationAddress | EntityAddress | LinkAddress | PermissionAddress | OverrideAddress | NamedAddress | \
    SettingAddress
A = TypeVar("A", bound=Address)
S = TypeVar("S")


@dataclass(frozen=True)
class FieldChange:
    """One attribute of an update: its name, the value now and the value declared.

    Secret values never appear: a password change shows the secret's version ids.
    """

    name: str
    old: Any
    new: Any


class ChangeFailed(Exception):
    """A change can't be completed, said in terms of the spec.

    ``blocks_dependents`` is False when the object itself exists and is usable, so what
    depends on it can go on (a domain registered but not yet verified to be the default).
    ``code`` carries the service error code behind it, if any.
    """

    def __init__(self, message: str, *, field: str | None = None, blocks_dependents: bool = True,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.blocks_dependents = blocks_dependents
        self.code = code


@dataclass(frozen=True)
class Change(Generic[A, S]):
    action: Action
    address: A
    reason: str
    destructive: bool = False
    before: S | None = None
    after: S | None = None
    fields: tuple[FieldChange, ...] = ()
    # The WorkMail id of the existing object, when there is one.
    id: str | None = None

    @property
    def kind(self) -> KindName:
        return self.address.kind

    @property
    def key(self) -> str:
        return self.address.key

    @property
    def title(self) -> str:
        return f"{self.action} {self.kind.replace('_', ' ')} {self.key}"

    @property
    def declared(self) -> S:
        """What is declared (``after``); every change but a delete has it."""
        if self.after is None:
            raise ChangeFailed(f"the plan's {self.title} declares nothing to {self.action}")
        return self.after

    @property
    def existing(self) -> S:
        """What exists (``before``); a delete, an update and a replace have it."""
        if self.before is None:
            raise ChangeFailed(f"the plan's {self.title} holds nothing that exists to {self.action}")
        return self.before

    def field_names(self) -> set[str]:
        return {f.name for f in self.fields}


AnyChange = Change[Any, Any]


@dataclass(frozen=True)
class ManualStep:
    """Something the plan can't do through WorkMail's API, said plainly (flow rules, for one)."""

    topic: str
    text: str


@dataclass
class Plan:
    changes: list[AnyChange] = field(default_factory=list)
    manual: list[ManualStep] = field(default_factory=list)
    organization_id: str | None = None

    @property
    def empty(self) -> bool:
        return not self.changes

    @property
    def destructive(self) -> list[AnyChange]:
        return [c for c in self.changes if c.destructive]

    def counts(self) -> dict[str, int]:
        totals = {"create": 0, "update": 0, "delete": 0, "replace": 0}
        for change in self.changes:
            totals[change.action] += 1
        return totals
