"""Validation of a declared spec before any API call.

A spec that WorkMail would refuse half-way through an apply leaves an organization
half-changed, so everything that can be known without calling the API is checked
first, and every problem is reported at once with the path of the object (by its
name) and the field: ``users[alice].email``, ``groups[eng].members[2]``.

Three sources of rules:

- **botocore's service model.** Each spec field is mapped, in one table
  (``MODEL_FIELDS``), to the API member its value is sent as; the value is checked
  against that member's shape with ``service_model.check``, so lengths, patterns,
  enums and bounds are read from the model, never retyped.
- **The Administrator Guide** (quotas, flow-rule patterns, booking delegates, ...),
  each rule citing the Guide section it comes from.
- **Consistency the API would refuse later**: references by name that must resolve,
  names and addresses that must be unique, addresses in domains the organization has.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import Any, Literal

from botocore.model import ListShape, Shape, StructureShape

from . import service_model
from .kinds.base import kind_word
from .kinds.domain import TEST_DOMAIN_SUFFIX
from .spec import (
    AccessControlRuleSpec,
    AvailabilityConfigurationSpec,
    BookingOptionsSpec,
    DomainSpec,
    EmailFlowRuleSpec,
    EmailMonitoringSpec,
    EwsProviderSpec,
    FolderConfigurationSpec,
    GroupSpec,
    ImpersonationRoleSpec,
    ImpersonationRuleSpec,
    MailboxPermissionSpec,
    MobileDeviceAccessOverrideSpec,
    MobileDeviceAccessRuleSpec,
    OrganizationSpec,
    ResourceSpec,
    RetentionPolicySpec,
    SpecError,
    UserSpec,
    WorkMailSpec,
)
from .spec_delta import UnchangedEntities
from .spec_reading import fields_typed, type_errors

WORKMAIL_DIRECTORY = "WorkMailDirectory"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where (object by name, then field) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SpecValidationError(SpecError):
    """A spec WorkMail would refuse; ``problems`` holds every problem found, ``path`` the first one's."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__("", f"{len(self.problems)} {noun} in the WorkMail spec:\n{lines}")
        self.path = self.problems[0].path if self.problems else ""


# The model's constraints ------------------------------------------------------

How = Literal["value", "each", "keys", "values", "count"]


@dataclass(frozen=True)
class Sent:
    """One spec field and the API member its value is sent as.

    ``member`` is a dotted path from the operation's input; lists on the way are
    entered (``Domains.HostedZoneId`` is the HostedZoneId of a Domains item). ``how``:

    - ``value``: the field's value is sent as the member as it is;
    - ``each``: each item of a list field is sent as the member in a call of its own;
    - ``keys`` / ``values``: each key / value of a dict field is sent as the member;
    - ``count``: the items become something else before they are sent (names become
      ids, spec objects become structures), so only their number is the model's
      concern: it is checked against the member's list bounds.
    """

    field: str
    operation: str
    member: str
    how: How = "value"


_USER_UPDATE_ATTRIBUTES = (
    ("initials", "Initials"), ("telephone", "Telephone"), ("street", "Street"), ("job_title", "JobTitle"),
    ("city", "City"), ("company", "Company"), ("zip_code", "ZipCode"), ("department", "Department"),
    ("country", "Country"), ("office", "Office"),
)

MODEL_FIELDS: dict[type, tuple[Sent, ...]] = {
    OrganizationSpec: (
        Sent("alias", "CreateOrganization", "Alias"),
        Sent("directory_id", "CreateOrganization", "DirectoryId"),
        Sent("kms_key_arn", "CreateOrganization", "KmsKeyArn"),
        Sent("enable_interoperability", "CreateOrganization", "EnableInteroperability"),
        Sent("organization_id", "DescribeOrganization", "OrganizationId"),
        Sent("tags", "TagResource", "Tags", "count"),
        Sent("tags", "TagResource", "Tags.Key", "keys"),
        Sent("tags", "TagResource", "Tags.Value", "values"),
    ),
    DomainSpec: (
        Sent("name", "RegisterMailDomain", "DomainName"),
        Sent("hosted_zone_id", "CreateOrganization", "Domains.HostedZoneId"),
    ),
    UserSpec: (
        Sent("name", "CreateUser", "Name"),
        Sent("display_name", "CreateUser", "DisplayName"),
        Sent("first_name", "CreateUser", "FirstName"),
        Sent("last_name", "CreateUser", "LastName"),
        Sent("role", "CreateUser", "Role"),
        Sent("hidden_from_global_address_list", "CreateUser", "HiddenFromGlobalAddressList"),
        Sent("identity_provider_user_id", "CreateUser", "IdentityProviderUserId"),
        *(Sent(field, "UpdateUser", member) for field, member in _USER_UPDATE_ATTRIBUTES),
        Sent("email", "RegisterToWorkMail", "Email"),
        Sent("aliases", "CreateAlias", "Alias", "each"),
        Sent("mailbox_quota_mb", "UpdateMailboxQuota", "MailboxQuota"),
    ),
    GroupSpec: (
        Sent("name", "CreateGroup", "Name"),
        Sent("hidden_from_global_address_list", "CreateGroup", "HiddenFromGlobalAddressList"),
        Sent("email", "RegisterToWorkMail", "Email"),
        Sent("aliases", "CreateAlias", "Alias", "each"),
    ),
    ResourceSpec: (
        Sent("name", "CreateResource", "Name"),
        Sent("type", "CreateResource", "Type"),
        Sent("description", "CreateResource", "Description"),
        Sent("hidden_from_global_address_list", "CreateResource", "HiddenFromGlobalAddressList"),
        Sent("email", "RegisterToWorkMail", "Email"),
        Sent("aliases", "CreateAlias", "Alias", "each"),
    ),
    BookingOptionsSpec: (
        Sent("auto_accept_requests", "UpdateResource", "BookingOptions.AutoAcceptRequests"),
        Sent("auto_decline_recurring_requests", "UpdateResource", "BookingOptions.AutoDeclineRecurringRequests"),
        Sent("auto_decline_conflicting_requests", "UpdateResource", "BookingOptions.AutoDeclineConflictingRequests"),
    ),
    MailboxPermissionSpec: (
        Sent("permissions", "PutMailboxPermissions", "PermissionValues"),
    ),
    AccessControlRuleSpec: (
        Sent("name", "PutAccessControlRule", "Name"),
        Sent("effect", "PutAccessControlRule", "Effect"),
        Sent("description", "PutAccessControlRule", "Description"),
        Sent("actions", "PutAccessControlRule", "Actions"),
        Sent("not_actions", "PutAccessControlRule", "NotActions"),
        Sent("ip_ranges", "PutAccessControlRule", "IpRanges"),
        Sent("not_ip_ranges", "PutAccessControlRule", "NotIpRanges"),
        Sent("users", "PutAccessControlRule", "UserIds", "count"),
        Sent("not_users", "PutAccessControlRule", "NotUserIds", "count"),
        Sent("impersonation_roles", "PutAccessControlRule", "ImpersonationRoleIds", "count"),
        Sent("not_impersonation_roles", "PutAccessControlRule", "NotImpersonationRoleIds", "count"),
    ),
    RetentionPolicySpec: (
        Sent("name", "PutRetentionPolicy", "Name"),
        Sent("description", "PutRetentionPolicy", "Description"),
        Sent("folders", "PutRetentionPolicy", "FolderConfigurations", "count"),
    ),
    FolderConfigurationSpec: (
        Sent("name", "PutRetentionPolicy", "FolderConfigurations.Name"),
        Sent("action", "PutRetentionPolicy", "FolderConfigurations.Action"),
        Sent("period_days", "PutRetentionPolicy", "FolderConfigurations.Period"),
    ),
    MobileDeviceAccessRuleSpec: (
        Sent("name", "CreateMobileDeviceAccessRule", "Name"),
        Sent("effect", "CreateMobileDeviceAccessRule", "Effect"),
        Sent("description", "CreateMobileDeviceAccessRule", "Description"),
        Sent("device_types", "CreateMobileDeviceAccessRule", "DeviceTypes"),
        Sent("not_device_types", "CreateMobileDeviceAccessRule", "NotDeviceTypes"),
        Sent("device_models", "CreateMobileDeviceAccessRule", "DeviceModels"),
        Sent("not_device_models", "CreateMobileDeviceAccessRule", "NotDeviceModels"),
        Sent("device_operating_systems", "CreateMobileDeviceAccessRule", "DeviceOperatingSystems"),
        Sent("not_device_operating_systems", "CreateMobileDeviceAccessRule", "NotDeviceOperatingSystems"),
        Sent("device_user_agents", "CreateMobileDeviceAccessRule", "DeviceUserAgents"),
        Sent("not_device_user_agents", "CreateMobileDeviceAccessRule", "NotDeviceUserAgents"),
    ),
    MobileDeviceAccessOverrideSpec: (
        Sent("device_id", "PutMobileDeviceAccessOverride", "DeviceId"),
        Sent("effect", "PutMobileDeviceAccessOverride", "Effect"),
        Sent("description", "PutMobileDeviceAccessOverride", "Description"),
    ),
    ImpersonationRoleSpec: (
        Sent("name", "CreateImpersonationRole", "Name"),
        Sent("type", "CreateImpersonationRole", "Type"),
        Sent("description", "CreateImpersonationRole", "Description"),
        Sent("rules", "CreateImpersonationRole", "Rules", "count"),
    ),
    ImpersonationRuleSpec: (
        Sent("rule_id", "CreateImpersonationRole", "Rules.ImpersonationRuleId"),
        Sent("effect", "CreateImpersonationRole", "Rules.Effect"),
        Sent("name", "CreateImpersonationRole", "Rules.Name"),
        Sent("description", "CreateImpersonationRole", "Rules.Description"),
        Sent("target_users", "CreateImpersonationRole", "Rules.TargetUsers", "count"),
        Sent("not_target_users", "CreateImpersonationRole", "Rules.NotTargetUsers", "count"),
    ),
    EmailMonitoringSpec: (
        Sent("log_group_arn", "PutEmailMonitoringConfiguration", "LogGroupArn"),
        Sent("role_arn", "PutEmailMonitoringConfiguration", "RoleArn"),
    ),
    AvailabilityConfigurationSpec: (
        Sent("domain_name", "CreateAvailabilityConfiguration", "DomainName"),
        Sent("lambda_arn", "CreateAvailabilityConfiguration", "LambdaProvider.LambdaArn"),
    ),
    EwsProviderSpec: (
        Sent("endpoint", "CreateAvailabilityConfiguration", "EwsProvider.EwsEndpoint"),
        Sent("username", "CreateAvailabilityConfiguration", "EwsProvider.EwsUsername"),
    ),
}

# Fields no API member receives as they are: references by name (checked to resolve
# instead), secrets (resolved in the handler, never seen here), the reconciler's own
# switches and identities, and flow rules (WorkMail has no API for them; checked by the Guide's
# rules below). Spec objects nested in a field are walked, so they are not listed.
NOT_SENT: dict[type, frozenset[str]] = {
    WorkMailSpec: frozenset({"version", "inbound_dmarc_enforced", "prune"}),
    OrganizationSpec: frozenset({"removal_policy"}),
    DomainSpec: frozenset({"default", "wait_for_verification"}),
    UserSpec: frozenset({"enabled", "password", "logical_id"}),
    GroupSpec: frozenset({"enabled", "members", "logical_id"}),
    ResourceSpec: frozenset({"enabled", "delegates", "logical_id"}),
    MailboxPermissionSpec: frozenset({"mailbox", "grantee"}),
    MobileDeviceAccessOverrideSpec: frozenset({"user"}),
    EwsProviderSpec: frozenset({"password"}),
    EmailFlowRuleSpec: frozenset({"name", "direction", "action", "senders", "recipients", "lambda_arn",
                                  "smtp_gateway"}),
}

# The attributes that name an object in a path: users[alice], mailbox_permissions[room/eng].
_LABELS: dict[type, tuple[str, ...]] = {
    DomainSpec: ("name",),
    UserSpec: ("name",),
    GroupSpec: ("name",),
    ResourceSpec: ("name",),
    MailboxPermissionSpec: ("mailbox", "grantee"),
    AccessControlRuleSpec: ("name",),
    FolderConfigurationSpec: ("name",),
    MobileDeviceAccessRuleSpec: ("name",),
    MobileDeviceAccessOverrideSpec: ("user", "device_id"),
    ImpersonationRoleSpec: ("name",),
    ImpersonationRuleSpec: ("rule_id",),
    AvailabilityConfigurationSpec: ("domain_name",),
    EmailFlowRuleSpec: ("name",),
}



def label(obj: Any, index: int) -> str:
    """The name an object goes by in a path; its position when it has no name."""
    parts = [getattr(obj, name) for name in _LABELS.get(type(obj), ())]
    if parts and all(isinstance(p, str) and p for p in parts):
        return "/".join(parts)
    return str(index)


@cache
def api_shape(operation: str, member: str) -> Shape:
    """The shape of a dotted member path of an operation's input, entering lists on the way."""
    first, *rest = member.split(".")
    shape = service_model.member_shape(operation, first)
    for name in rest:
        while isinstance(shape, ListShape):
            shape = shape.member
        assert isinstance(shape, StructureShape), f"{operation}.{member}: {shape.name} has no members"
        shape = shape.members[name]
    return shape


@cache
def is_required(operation: str, member: str) -> bool:
    """Whether the structure holding a dotted member path requires it."""
    parent, _, name = member.rpartition(".")
    if not parent:
        input_shape = service_model.operation(operation).input_shape
        assert isinstance(input_shape, StructureShape)
        return name in input_shape.required_members
    shape = api_shape(operation, parent)
    while isinstance(shape, ListShape):
        shape = shape.member
    assert isinstance(shape, StructureShape)
    return name in shape.required_members


@cache
def _output_list_max(operation: str, member: str) -> int:
    output = service_model.operation(operation).output_shape
    assert isinstance(output, StructureShape)
    return int(output.members[member].metadata["max"])


def _relative(path: str) -> str:
    """A violation's path inside the checked value, in the spec's notation: ``2.member`` → ``[1]``."""
    parts = path.split(".") if path else []
    out = ""
    i = 0
    while i < len(parts):
        part = parts[i]
        if part.isdigit() and i + 1 < len(parts) and parts[i + 1] == "member":
            out += f"[{int(part) - 1}]"
            i += 2
            continue
        out += f".{part}"
        i += 1
    return out


def _model_message(violation: service_model.Violation, sent: Sent) -> str:
    constraint = violation.constraint.removeprefix("Member ")
    where = f"(sent as {sent.operation}.{sent.member})"
    if violation.sensitive or violation.value is None or sent.how == "count":
        return f"{constraint} {where}"
    text = violation.value if isinstance(violation.value, str) else repr(violation.value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"value {text!r} {constraint} {where}"


@dataclass(frozen=True)
class _FieldCheck:
    sent: Sent
    shape: Shape
    required: bool
    ok: Callable[[Any], bool]


_CHECKS: dict[type, tuple[tuple[_FieldCheck, ...], tuple[str, ...]]] = {}


def _checks(cls: type) -> tuple[tuple[_FieldCheck, ...], tuple[str, ...]]:
    """What validation does with an object of ``cls``, worked out once: the model checks of its
    fields, and its fields that hold spec objects (one, or a list of them) to walk into."""
    known = _CHECKS.get(cls)
    if known is not None:
        return known
    checks = tuple(
        _FieldCheck(sent, api_shape(sent.operation, sent.member), is_required(sent.operation, sent.member),
                    service_model.valid(api_shape(sent.operation, sent.member)))
        for sent in MODEL_FIELDS.get(cls, ())
    )
    hints = typing.get_type_hints(cls)
    nested = tuple(f.name for f in dataclasses.fields(cls)
                   if any(dataclasses.is_dataclass(a) for a in _flatten(hints[f.name])))
    _CHECKS[cls] = (checks, nested)
    return checks, nested


def _flatten(annotation: Any) -> Iterator[Any]:
    yield annotation
    for argument in typing.get_args(annotation):
        yield from _flatten(argument)


def _passes(check: _FieldCheck, value: Any) -> bool:
    how = check.sent.how
    if how == "value":
        return check.ok(value)
    if how in ("each", "keys"):
        return all(map(check.ok, value))
    if how == "values":
        return all(map(check.ok, value.values()))
    # Placeholders stand in for items that exist only at apply time: the model sees the
    # right count and skips the (absent) items.
    return not service_model.check(check.shape, [None] * len(value))


class _WrongType(Exception):
    """A field of the spec does not hold its declared type."""


def _model_problems(obj: Any, path: Callable[[], str]) -> Iterator[Problem]:
    """The model's constraints on ``obj`` and every spec object nested in it. ``path`` makes the
    object's path, only when a problem needs it (most objects have none). Raises _WrongType
    for a field of the wrong type."""
    if not fields_typed(obj):
        raise _WrongType
    checks, nested = _checks(type(obj))
    for check in checks:
        value = getattr(obj, check.sent.field)
        # None and empty collections are not sent, nor is an empty text where the member is
        # optional: the applier omits them.
        if value is None or (isinstance(value, (list, dict)) and not value):
            continue
        if (value == "" and not check.required) or _passes(check, value):
            continue
        yield from _field_problems(check, value, f"{path()}.{check.sent.field}")
    for name in nested:
        value = getattr(obj, name)
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from _model_problems(item, partial(_item, path, name, item, i))
        elif value is not None:
            yield from _model_problems(value, partial(_child, path, name))


def _child(parent: Callable[[], str], name: str) -> str:
    prefix = parent()
    return f"{prefix}.{name}" if prefix else name


def _item(parent: Callable[[], str], name: str, item: Any, index: int) -> str:
    return f"{_child(parent, name)}[{label(item, index)}]"


def _field_problems(check: _FieldCheck, value: Any, field_path: str) -> Iterator[Problem]:
    """What is wrong with one field's value, in the service's words."""
    how = check.sent.how
    items: list[tuple[str, Any]]
    if how == "value":
        items = [(field_path, value)]
    elif how == "each":
        items = [(f"{field_path}[{i}]", item) for i, item in enumerate(value)]
    elif how == "keys":
        items = [(f"{field_path}[{key}]", key) for key in value]
    elif how == "values":
        items = [(f"{field_path}[{key}]", item) for key, item in value.items()]
    else:
        items = [(field_path, [None] * len(value))]
    for at, item in items:
        for violation in service_model.check(check.shape, item):
            yield Problem(at + _relative(violation.path), _model_message(violation, check.sent))


# The Guide's numbers ----------------------------------------------------------

# Email flow rules: sender patterns per rule and per organization, hard quotas
# (Administrator Guide, "Amazon WorkMail quotas").
MAX_SENDER_PATTERNS_PER_RULE = 250
MAX_SENDER_PATTERNS_PER_ORGANIZATION = 1000
# Actions per direction, in the Guide's order (Administrator Guide, "Managing email flows").
FLOW_ACTIONS = {
    "inbound": ("DROP", "BOUNCE", "MOVE_TO_JUNK", "DEFAULT", "BYPASS_SPAM_CHECK", "RUN_LAMBDA"),
    "outbound": ("DEFAULT", "DROP", "BOUNCE", "ROUTE_TO_SMTP_GATEWAY", "RUN_LAMBDA"),
}

_DNS_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# A flow-rule domain pattern: a host name of at least two labels.
_PATTERN_DOMAIN = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})+")


# The validator ----------------------------------------------------------------


def validate(
    spec: WorkMailSpec,
    *,
    existing_domains: Iterable[str] = (),
    existing_entities: Iterable[str] = (),
    directory_type: str = WORKMAIL_DIRECTORY,
    unchanged: UnchangedEntities | None = None,
) -> list[Problem]:
    """Every problem of ``spec``, in the order found; an empty list means it can be applied.

    ``existing_domains`` are mail domains the organization has without declaring them;
    ``existing_entities`` are names of users, groups or resources that exist without
    being declared, so references to them resolve. ``directory_type`` is the
    organization's directory (DescribeOrganization.DirectoryType). ``unchanged``: ``spec``
    is narrowed to an update's changes (``spec_delta``); the entities it leaves out are
    declared too, and checked against (names, addresses, logical ids, references).
    """
    # The rules below read the spec's fields as their declared types; a spec built in
    # Python with a wrong type (a dict for a UserSpec, a plain-text password) is refused
    # for that alone, before any rule could trip over it. The walk of the model's checks
    # visits every object anyway, so it checks their types on the way.
    try:
        if type(spec) is not WorkMailSpec:
            raise _WrongType
        model = list(_model_problems(spec, lambda: ""))
    except _WrongType:
        return [Problem(error.path, error.message) for error in type_errors(spec, WorkMailSpec)]
    return model + Validator(spec, existing_domains, existing_entities, directory_type, unchanged).run()


def check(
    spec: WorkMailSpec,
    *,
    existing_domains: Iterable[str] = (),
    existing_entities: Iterable[str] = (),
    directory_type: str = WORKMAIL_DIRECTORY,
    unchanged: UnchangedEntities | None = None,
) -> None:
    """Raise ``SpecValidationError`` listing every problem of ``spec``, if it has any."""
    problems = validate(spec, existing_domains=existing_domains, existing_entities=existing_entities,
                        directory_type=directory_type, unchanged=unchanged)
    if problems:
        raise SpecValidationError(problems)


Entity = UserSpec | GroupSpec | ResourceSpec
def _first_by_name(items: Iterable[Any], attr: str = "name") -> dict[str, Any]:
    index: dict[str, Any] = {}
    for item in items:
        key = getattr(item, attr)
        if isinstance(key, str):
            index.setdefault(key.lower(), item)
    return index


class Validator:
    """One validation: the spec, indexes of what it declares, and the problems found so far.

    The kinds' ``validate`` hooks (``core/kinds``) check their own objects through it.
    """

    def __init__(
        self, spec: WorkMailSpec, existing_domains: Iterable[str], existing_entities: Iterable[str],
        directory_type: str, unchanged: UnchangedEntities | None = None,
    ) -> None:
        self.spec = spec
        self.unchanged = unchanged
        self.problems: list[Problem] = []
        self.existing_domains = {d.lower() for d in existing_domains}
        self.existing_entities = {e.lower() for e in existing_entities}
        # A directory of the organization's own (DirectoryId) is never the WorkMail directory.
        self.workmail_directory = directory_type == WORKMAIL_DIRECTORY and not spec.organization.directory_id
        self.test_domain = f"{spec.organization.alias}{TEST_DOMAIN_SUFFIX}".lower()
        # Users, groups and resources share one namespace (case-insensitive), as in WorkMail.
        self.entities: dict[str, Entity] = {}
        for collection in ("users", "groups", "resources"):
            for entity in getattr(spec, collection):
                if isinstance(entity.name, str):
                    self.entities.setdefault(entity.name.lower(), entity)
        self.roles = _first_by_name(spec.impersonation_roles)
        # Names and addresses met so far, across users, groups and resources.
        self.names_seen: set[str] = set()
        self.addresses_seen: dict[str, Callable[[], str]] = {}

    def name_taken(self, key: str) -> bool:
        """Whether an entity met so far, or one left out of a narrowed spec, is called ``key`` (lower-cased)."""
        return key in self.names_seen or (self.unchanged is not None and self.unchanged.name_taken(key))

    def address_owner(self, key: str) -> Callable[[], str] | None:
        """The path of the entity met so far, or left out of a narrowed spec, that has the address ``key``."""
        taken = self.addresses_seen.get(key)
        if taken is None and self.unchanged is not None:
            owner = self.unchanged.address_owner(key)
            if owner is not None:
                return lambda: owner
        return taken

    def add(self, path: str | Callable[[], str], message: str) -> None:
        """Report a problem; ``path`` may be a function that makes it (paths are built only for problems)."""
        self.problems.append(Problem(path if isinstance(path, str) else path(), message))

    def run(self) -> list[Problem]:
        from .kinds import KINDS

        for kind in KINDS.values():
            kind.validate(self)
        self._email_flow_rules()
        return self.problems

    @staticmethod
    def path(collection: str, items: Sequence[Any], index: int) -> str:
        return f"{collection}[{label(items[index], index)}]"

    @classmethod
    def item_path(cls, collection: str, items: Sequence[Any], index: int, field: str) -> str:
        return f"{cls.path(collection, items, index)}.{field}"

    def duplicates(
        self, collection: str, items: Sequence[Any], key: Callable[[Any], Any], what: str, field: str = "name",
        taken: Iterable[Any] = (),
    ) -> None:
        """Report every item whose key an earlier item already has (``key`` lower-cases
        what WorkMail compares case-insensitively; None keys are not compared)."""
        seen: set[Any] = set(taken)
        for i, item in enumerate(items):
            value = key(item)
            if value is None:
                continue
            if value in seen:
                self.add(f"{self.path(collection, items, i)}.{field}", f"{what} is declared more than once")
            seen.add(value)

    def resolve(self, name: str, path: str | Callable[[], str], kinds: tuple[type, ...], what: str) -> Entity | None:
        """The declared entity ``name`` refers to, reporting a name that resolves to nothing
        or to the wrong kind; None also for an existing entity that is not declared."""
        if not isinstance(name, str):
            return None
        entity = self.entities.get(name.lower())
        if entity is None and self.unchanged is not None:
            entity = self.unchanged.entity(name.lower())
        if entity is None:
            if name.lower() not in self.existing_entities:
                self.add(path, f"{name!r} is not a declared {what}, nor an existing one")
            return None
        if not isinstance(entity, kinds):
            self.add(path, f"{name!r} is a {kind_word(entity)}; expected a {what}")
            return None
        return entity

    def limit(self, collection: str, operation: str, member: str, what: str) -> None:
        """Collections WorkMail can't hold more of than its list responses can return: the
        model's maxima are the only numbers the Guide and API give for these."""
        items = getattr(self.spec, collection) or []
        most = _output_list_max(operation, member)
        if len(items) > most:
            self.add(collection, f"at most {most} {what} per organization ({operation}.{member} holds at most "
                                 f"{most}); {len(items)} declared")

    def _email_flow_rules(self) -> None:
        rules = self.spec.email_flow_rules
        # Rule names are unique (Administrator Guide, "Creating email flow rules"), within each
        # direction's list.
        self.duplicates("email_flow_rules", rules, lambda r: (r.direction, str(r.name).lower()),
                         "this rule name in this direction")
        lambda_arn = service_model.service_model().shape_for("LambdaArn")
        total_senders = 0
        for ri, rule in enumerate(rules):
            path = self.path("email_flow_rules", rules, ri)
            allowed = FLOW_ACTIONS.get(rule.direction)
            if allowed is None:
                self.add(f"{path}.direction", f"must be one of {', '.join(FLOW_ACTIONS)}")
            elif rule.action not in allowed:
                self.add(f"{path}.action", f"{rule.action} is not a {rule.direction} action; one of "
                                           f"{', '.join(allowed)}")
            if rule.action == "RUN_LAMBDA":
                if not rule.lambda_arn:
                    self.add(f"{path}.lambda_arn",
                             "a RUN_LAMBDA rule needs a Lambda function ARN "
                             '(Administrator Guide, "Configuring AWS Lambda for Amazon WorkMail")')
                elif service_model.check(lambda_arn, rule.lambda_arn):
                    self.add(f"{path}.lambda_arn", f"{rule.lambda_arn!r} is not a Lambda function ARN")
            elif rule.lambda_arn is not None:
                self.add(f"{path}.lambda_arn", "only RUN_LAMBDA rules run a Lambda function")
            if rule.action == "ROUTE_TO_SMTP_GATEWAY":
                if not rule.smtp_gateway:
                    self.add(f"{path}.smtp_gateway", "a ROUTE_TO_SMTP_GATEWAY rule needs an SMTP gateway "
                                                     '(Administrator Guide, "Managing email flows")')
            elif rule.smtp_gateway is not None:
                self.add(f"{path}.smtp_gateway", "only ROUTE_TO_SMTP_GATEWAY rules use an SMTP gateway")
            for field in ("senders", "recipients"):
                patterns: list[str] = getattr(rule, field)
                if not patterns:
                    # One or more patterns each way (Administrator Guide, "Creating email flow rules").
                    self.add(f"{path}.{field}", f"a rule needs at least one {field[:-1]} pattern")
                for i, pattern in enumerate(patterns):
                    problem = _flow_pattern_problem(pattern)
                    if problem is not None:
                        self.add(f"{path}.{field}[{i}]", problem)
            if len(rule.senders) > MAX_SENDER_PATTERNS_PER_RULE:
                self.add(f"{path}.senders", f"at most {MAX_SENDER_PATTERNS_PER_RULE} sender patterns per rule "
                                            '(Administrator Guide, "Amazon WorkMail quotas"); '
                                            f"{len(rule.senders)} declared")
            total_senders += len(rule.senders)
        if total_senders > MAX_SENDER_PATTERNS_PER_ORGANIZATION:
            self.add("email_flow_rules", f"at most {MAX_SENDER_PATTERNS_PER_ORGANIZATION} sender patterns per "
                                         'organization (Administrator Guide, "Amazon WorkMail quotas"); '
                                         f"{total_senders} declared")


def _flow_pattern_problem(pattern: Any) -> str | None:
    """Why ``pattern`` is not a flow-rule pattern: an address, a domain, ``*.domain`` or ``*``
    (Administrator Guide, "Managing email flows"), or None when it is one."""
    if not isinstance(pattern, str):
        return "must be a string"
    if pattern == "*":
        return None
    if "+" in pattern:
        return (f"{pattern!r}: '+' is not valid in a pattern "
                '(Administrator Guide, "Managing email flows")')
    if "@" in pattern:
        if "*" not in pattern and not service_model.check(service_model.service_model().shape_for("EmailAddress"),
                                                          pattern):
            return None
        return f"{pattern!r} is not an email address"
    domain = pattern[2:] if pattern.startswith("*.") else pattern
    if "*" in domain:
        return (f"{pattern!r}: the wildcard can only lead a domain, as in *.example.com "
                '(Administrator Guide, "Managing email flows")')
    if not _PATTERN_DOMAIN.fullmatch(domain):
        return f"{pattern!r} is not an address, a domain, *.domain or *"
    return None
