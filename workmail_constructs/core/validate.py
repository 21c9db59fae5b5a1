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
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from botocore.model import ListShape, Shape, StructureShape

from . import service_model
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
    type_errors,
)

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

# Collections WorkMail can't hold more of than its list responses can return: the
# model's maxima are the only numbers the Guide and API give for these.
_COLLECTION_LIMITS = (
    ("access_control_rules", "ListAccessControlRules", "Rules", "access control rules"),
    ("mobile_device_access_rules", "ListMobileDeviceAccessRules", "Rules", "mobile device access rules"),
    ("impersonation_roles", "ListImpersonationRoles", "Roles", "impersonation roles"),
)


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


@cache
def access_actions() -> tuple[str, ...]:
    """The protocols an access control rule can name, as the model's documentation lists them.

    The model types Actions as any letters; the valid values are written only in the
    member's documentation, so they are read from there rather than retyped.
    """
    doc = service_model.member_shape("PutAccessControlRule", "Actions").documentation
    return tuple(re.findall(r"<code>([A-Za-z]+)</code>", doc))


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


def _model_problems(obj: Any, path: str) -> Iterator[Problem]:
    """The model's constraints on ``obj`` and every spec object nested in it."""
    for sent in MODEL_FIELDS.get(type(obj), ()):
        value = getattr(obj, sent.field)
        # None and empty collections are not sent, nor is an empty text where the member is
        # optional: the applier omits them.
        if value is None or (isinstance(value, (list, dict)) and not value):
            continue
        if value == "" and not is_required(sent.operation, sent.member):
            continue
        shape = api_shape(sent.operation, sent.member)
        field_path = f"{path}.{sent.field}"
        checks: list[tuple[str, Any]]
        if sent.how == "value":
            checks = [(field_path, value)]
        elif sent.how == "each":
            checks = [(f"{field_path}[{i}]", item) for i, item in enumerate(value)]
        elif sent.how == "keys":
            checks = [(f"{field_path}[{key}]", key) for key in value]
        elif sent.how == "values":
            checks = [(f"{field_path}[{key}]", item) for key, item in value.items()]
        else:
            # Placeholders stand in for items that exist only at apply time: the model
            # sees the right count and skips the (absent) items.
            checks = [(field_path, [None] * len(value))]
        for at, item in checks:
            for violation in service_model.check(shape, item):
                yield Problem(at + _relative(violation.path), _model_message(violation, sent))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from _model_problems(value, f"{path}.{f.name}" if path else f.name)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if dataclasses.is_dataclass(item):
                    yield from _model_problems(item, f"{path + '.' if path else ''}{f.name}[{label(item, i)}]")


# The Guide's numbers ----------------------------------------------------------

# Mailbox quota in MB: 1 to 51,200 (Administrator Guide, "Editing user details"); the model gives
# only the minimum.
MAX_MAILBOX_QUOTA_MB = 51200
# At most 100 aliases per user, a hard quota (Administrator Guide, "Amazon WorkMail quotas");
# WorkMail applies it to every entity.
MAX_ALIASES = 100
# At most 1,000 domains per organization, a hard quota (Administrator Guide, "Amazon WorkMail quotas").
MAX_DOMAINS = 1000
# "WorkMail directory user names have a maximum length of 64. All others have a maximum
# length of 20." (CreateUser.Name documentation in the service model)
MAX_USER_NAME_OTHER_DIRECTORIES = 20
# Roles a caller can give; RESOURCE and SYSTEM_USER are WorkMail's own (emulator's CreateUser).
SETTABLE_ROLES = ("USER", "REMOTE_USER")
# The free test domain every organization gets (Administrator Guide, "Amazon WorkMail concepts").
TEST_DOMAIN_SUFFIX = ".awsapps.com"
# The journaling sender address is reserved: no mailbox can take it
# (Administrator Guide, "Using email journaling with Amazon WorkMail").
JOURNALING_LOCAL_PART = "amazonjournaling"
# Email flow rules: sender patterns per rule and per organization, hard quotas
# (Administrator Guide, "Amazon WorkMail quotas").
MAX_SENDER_PATTERNS_PER_RULE = 250
MAX_SENDER_PATTERNS_PER_ORGANIZATION = 1000
# Actions per direction, in the Guide's order (Administrator Guide, "Managing email flows").
FLOW_ACTIONS = {
    "inbound": ("DROP", "BOUNCE", "MOVE_TO_JUNK", "DEFAULT", "BYPASS_SPAM_CHECK", "RUN_LAMBDA"),
    "outbound": ("DEFAULT", "DROP", "BOUNCE", "ROUTE_TO_SMTP_GATEWAY", "RUN_LAMBDA"),
}
# "$NONE" matches a device that reports nothing, in positive conditions only; a negated
# condition never matches a missing value, so there it means nothing (Administrator Guide,
# "Managing mobile device access rules").
MOBILE_NONE_VALUE = "$NONE"
_NEGATED_DEVICE_CONDITIONS = (
    "not_device_types", "not_device_models", "not_device_operating_systems", "not_device_user_agents",
)

# Group cycles whose whole chain of groups a problem spells out.
MAX_CYCLES_SHOWN = 20

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
) -> list[Problem]:
    """Every problem of ``spec``, in the order found; an empty list means it can be applied.

    ``existing_domains`` are mail domains the organization has without declaring them;
    ``existing_entities`` are names of users, groups or resources that exist without
    being declared, so references to them resolve. ``directory_type`` is the
    organization's directory (DescribeOrganization.DirectoryType).
    """
    # The rules below read the spec's fields as their declared types; a spec built in
    # Python with a wrong type (a dict for a UserSpec, a plain-text password) is refused
    # for that alone, before any rule could trip over it.
    wrong_types = [Problem(error.path, error.message) for error in type_errors(spec, WorkMailSpec)]
    if wrong_types:
        return wrong_types
    return _Validator(spec, existing_domains, existing_entities, directory_type).run()


def check(
    spec: WorkMailSpec,
    *,
    existing_domains: Iterable[str] = (),
    existing_entities: Iterable[str] = (),
    directory_type: str = WORKMAIL_DIRECTORY,
) -> None:
    """Raise ``SpecValidationError`` listing every problem of ``spec``, if it has any."""
    problems = validate(spec, existing_domains=existing_domains, existing_entities=existing_entities,
                        directory_type=directory_type)
    if problems:
        raise SpecValidationError(problems)


Entity = UserSpec | GroupSpec | ResourceSpec
_KIND_WORDS = {UserSpec: "user", GroupSpec: "group", ResourceSpec: "resource"}


def _kind(entity: Entity) -> str:
    return _KIND_WORDS[type(entity)]


def _first_by_name(items: Iterable[Any], attr: str = "name") -> dict[str, Any]:
    index: dict[str, Any] = {}
    for item in items:
        key = getattr(item, attr)
        if isinstance(key, str):
            index.setdefault(key.lower(), item)
    return index


class _Validator:
    def __init__(
        self, spec: WorkMailSpec, existing_domains: Iterable[str], existing_entities: Iterable[str],
        directory_type: str,
    ) -> None:
        self.spec = spec
        self.problems: list[Problem] = []
        self.existing_domains = {d.lower() for d in existing_domains}
        self.existing_entities = {e.lower() for e in existing_entities}
        # A directory of the organization's own (DirectoryId) is never the WorkMail directory.
        self.workmail_directory = directory_type == WORKMAIL_DIRECTORY and not spec.organization.directory_id
        self.test_domain = f"{spec.organization.alias}{TEST_DOMAIN_SUFFIX}".lower()
        # Users, groups and resources share one namespace (case-insensitive), as in WorkMail.
        self.entities: dict[str, Entity] = {}
        for _, entity in self._all_entities():
            if isinstance(entity.name, str):
                self.entities.setdefault(entity.name.lower(), entity)
        self.roles = _first_by_name(spec.impersonation_roles)

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def run(self) -> list[Problem]:
        self.problems.extend(_model_problems(self.spec, ""))
        self._collection_limits()
        self._organization()
        self._domains()
        self._entities()
        self._groups()
        self._resources()
        self._mailbox_permissions()
        self._access_control_rules()
        self._retention_policy()
        self._mobile_device_access()
        self._impersonation_roles()
        self._availability_configurations()
        self._email_flow_rules()
        return self.problems

    # Helpers ----------------------------------------------------------------

    def _all_entities(self) -> Iterator[tuple[str, Entity]]:
        """Every user, group and resource with its path."""
        for collection in ("users", "groups", "resources"):
            items: list[Entity] = getattr(self.spec, collection)
            for i, entity in enumerate(items):
                yield self._path(collection, items, i), entity

    @staticmethod
    def _path(collection: str, items: Sequence[Any], index: int) -> str:
        return f"{collection}[{label(items[index], index)}]"

    def _duplicates(
        self, collection: str, items: Sequence[Any], key: Callable[[Any], Any], what: str, field: str = "name"
    ) -> None:
        """Report every item whose key an earlier item already has (``key`` lower-cases
        what WorkMail compares case-insensitively; None keys are not compared)."""
        seen: set[Any] = set()
        for i, item in enumerate(items):
            value = key(item)
            if value is None:
                continue
            if value in seen:
                self.add(f"{self._path(collection, items, i)}.{field}", f"{what} is declared more than once")
            seen.add(value)

    def _resolve(self, name: str, path: str, kinds: tuple[type, ...], what: str) -> Entity | None:
        """The declared entity ``name`` refers to, reporting a name that resolves to nothing
        or to the wrong kind; None also for an existing entity that is not declared."""
        if not isinstance(name, str):
            return None
        entity = self.entities.get(name.lower())
        if entity is None:
            if name.lower() not in self.existing_entities:
                self.add(path, f"{name!r} is not a declared {what}, nor an existing one")
            return None
        if not isinstance(entity, kinds):
            self.add(path, f"{name!r} is a {_kind(entity)}; expected a {what}")
            return None
        return entity

    # Sections ---------------------------------------------------------------

    def _collection_limits(self) -> None:
        for collection, operation, member, what in _COLLECTION_LIMITS:
            items = getattr(self.spec, collection) or []
            limit = _output_list_max(operation, member)
            if len(items) > limit:
                self.add(collection, f"at most {limit} {what} per organization ({operation}.{member} holds at most "
                                     f"{limit}); {len(items)} declared")

    def _organization(self) -> None:
        org = self.spec.organization
        if org.enable_interoperability and not org.directory_id:
            # Interoperability works through an AD Connector directory, which the organization
            # must be created with (CreateOrganization.EnableInteroperability documentation).
            self.add("organization.enable_interoperability", "needs directory_id (an AD Connector directory)")
        for key in org.tags:
            if isinstance(key, str) and key.lower().startswith("aws:"):
                # The aws: prefix is reserved for AWS's own tags.
                self.add(f"organization.tags[{key}]", "tag keys can't start with 'aws:'")

    def _domains(self) -> None:
        domains = self.spec.domains
        self._duplicates("domains", domains, lambda d: d.name.lower(), "this domain")
        for i, domain in enumerate(domains):
            if domain.name.lower().endswith(TEST_DOMAIN_SUFFIX):
                # <alias>.awsapps.com is WorkMail's own test domain (Administrator Guide,
                # "Amazon WorkMail concepts"); it can't be registered.
                self.add(f"{self._path('domains', domains, i)}.name",
                         f"domains ending in {TEST_DOMAIN_SUFFIX} are WorkMail test domains and can't be registered")
        defaults = [i for i, d in enumerate(domains) if d.default]
        for i in defaults[1:]:
            self.add(f"{self._path('domains', domains, i)}.default",
                     f"only one domain can be the default; {domains[defaults[0]].name} already is")
        names = {d.name.lower() for d in domains} | self.existing_domains
        names = {n for n in names if not n.endswith(TEST_DOMAIN_SUFFIX)}
        if len(names) > MAX_DOMAINS:
            # A hard quota (Administrator Guide, "Amazon WorkMail quotas"); the test domain does not count.
            self.add("domains", f"at most {MAX_DOMAINS} domains per organization; {len(names)} declared or existing")

    def _entities(self) -> None:
        allowed_domains = {d.name.lower() for d in self.spec.domains} | self.existing_domains | {self.test_domain}
        reserved = f"{JOURNALING_LOCAL_PART}@{self.test_domain}"
        names: set[str] = set()
        addresses: dict[str, str] = {}
        for path, entity in self._all_entities():
            if isinstance(entity.name, str):
                if entity.name.lower() in names:
                    # One namespace for users, groups and resources (the emulator's `names` index).
                    self.add(f"{path}.name", f"the name {entity.name!r} is already used by another user, group "
                                             "or resource (names are case-insensitive)")
                names.add(entity.name.lower())
            self._entity_addresses(entity, path, allowed_domains, reserved, addresses)
            if isinstance(entity, UserSpec):
                self._user(entity, path)
        for collection in ("users", "groups", "resources"):
            # The planner follows a logical id across renames, so one id can name one entity only.
            self._duplicates(collection, getattr(self.spec, collection), lambda e: e.logical_id,
                             "this logical id", field="logical_id")

    def _entity_addresses(
        self, entity: Entity, path: str, allowed_domains: set[str], reserved: str, addresses: dict[str, str]
    ) -> None:
        if entity.enabled and entity.email is None:
            # Enabling is RegisterToWorkMail, whose Email is required.
            self.add(f"{path}.email", f"an enabled {_kind(entity)} needs a primary email address")
        if not entity.enabled and entity.email is not None:
            # Disabling (DeregisterFromWorkMail) takes a mailbox's addresses away.
            self.add(f"{path}.email", f"a disabled {_kind(entity)} has no email address; enable it or remove email")
        if entity.aliases and (entity.email is None or not entity.enabled):
            # CreateAlias needs an enabled entity, which has a primary address.
            self.add(f"{path}.aliases", "aliases need an enabled entity with a primary email address")
        if len(entity.aliases) > MAX_ALIASES:
            self.add(f"{path}.aliases", f"at most {MAX_ALIASES} aliases; {len(entity.aliases)} declared")
        owned = [(f"{path}.email", entity.email)] if entity.email is not None else []
        owned += [(f"{path}.aliases[{i}]", alias) for i, alias in enumerate(entity.aliases)]
        for at, address in owned:
            if not isinstance(address, str) or "@" not in address:
                continue  # the model's EmailAddress check has reported it
            key = address.lower()
            if key in addresses:
                self.add(at, f"{address} is already used by {addresses[key]} (an address belongs to one entity)")
            else:
                addresses[key] = path
            if key == reserved:
                self.add(at, f"{address} is reserved for journaling")
            domain = key.rpartition("@")[2]
            if domain not in allowed_domains:
                self.add(at, f"the domain {domain} is not a declared or existing domain of the organization")

    def _user(self, user: UserSpec, path: str) -> None:
        if user.role in service_model.enum_values("UserRole") and user.role not in SETTABLE_ROLES:
            self.add(f"{path}.role", f"{user.role} is WorkMail's own role; set {' or '.join(SETTABLE_ROLES)}")
        if (not self.workmail_directory and isinstance(user.name, str)
                and len(user.name) > MAX_USER_NAME_OTHER_DIRECTORIES):
            self.add(f"{path}.name", f"user names are at most {MAX_USER_NAME_OTHER_DIRECTORIES} characters outside "
                                     f"the WorkMail directory; {len(user.name)} given")
        quota = user.mailbox_quota_mb
        if isinstance(quota, int) and not isinstance(quota, bool):
            if quota > MAX_MAILBOX_QUOTA_MB:
                self.add(f"{path}.mailbox_quota_mb", f"the mailbox quota is 1 to {MAX_MAILBOX_QUOTA_MB} MB; "
                                                     f"{quota} given")
            if not user.enabled:
                # UpdateMailboxQuota works on a user's mailbox, which only an enabled user has.
                self.add(f"{path}.mailbox_quota_mb", "a disabled user has no mailbox to set a quota on")

    def _groups(self) -> None:
        groups = self.spec.groups
        for gi, group in enumerate(groups):
            path = self._path("groups", groups, gi)
            for i, member in enumerate(group.members):
                self._resolve(member, f"{path}.members[{i}]", (UserSpec, GroupSpec), "user or group")
        self._group_cycles()

    def _group_cycles(self) -> None:
        """No group may contain itself, directly or through nested groups: the emulator's
        AssociateMemberToGroup refuses it, and permissions pass through nesting
        (Administrator Guide, "Working with mailbox permissions").

        A member group closes a cycle exactly when it is in the same strongly connected
        component as the group, which costs one pass over the groups however many there are.
        """
        by_name: dict[str, GroupSpec] = _first_by_name(self.spec.groups)
        graph = {
            key: [m.lower() for m in group.members if isinstance(m, str) and m.lower() in by_name]
            for key, group in by_name.items()
        }
        component = _components(graph)
        shown = 0
        for gi, group in enumerate(self.spec.groups):
            if not isinstance(group.name, str) or by_name.get(group.name.lower()) is not group:
                continue
            key = group.name.lower()
            for i, member in enumerate(group.members):
                target = member.lower() if isinstance(member, str) else ""
                if target not in by_name or component[target] != component[key]:
                    continue
                message = f"makes group {group.name} contain itself"
                if shown < MAX_CYCLES_SHOWN:
                    # Each chain costs a search; the first few show where the loops are.
                    shown += 1
                    message += f" ({' → '.join([group.name, *_chain(target, key, by_name, graph)])})"
                self.add(f"{self._path('groups', self.spec.groups, gi)}.members[{i}]", message)

    def _resources(self) -> None:
        resources = self.spec.resources
        for ri, resource in enumerate(resources):
            path = self._path("resources", resources, ri)
            for i, delegate in enumerate(resource.delegates):
                self._resolve(delegate, f"{path}.delegates[{i}]", (UserSpec, GroupSpec), "user or group")
            if not resource.booking_options.auto_accept_requests and not resource.delegates:
                # Requests not accepted automatically need a delegate to answer them
                # (Administrator Guide, "Editing resource details").
                self.add(f"{path}.booking_options.auto_accept_requests",
                         "a resource that does not accept requests automatically needs at least one delegate")

    def _mailbox_permissions(self) -> None:
        grants = self.spec.mailbox_permissions
        self._duplicates("mailbox_permissions", grants,
                         lambda g: (str(g.mailbox).lower(), str(g.grantee).lower()),
                         "this mailbox and grantee pair", field="grantee")
        for i, grant in enumerate(grants):
            path = self._path("mailbox_permissions", grants, i)
            owner = self._resolve(grant.mailbox, f"{path}.mailbox", (UserSpec, ResourceSpec, GroupSpec),
                                  "user, resource or group")
            grantee = self._resolve(grant.grantee, f"{path}.grantee", (UserSpec, GroupSpec), "user or group")
            if isinstance(grant.mailbox, str) and isinstance(grant.grantee, str) \
                    and grant.mailbox.lower() == grant.grantee.lower():
                # Permissions change others' access to a mailbox, never the owner's
                # (Administrator Guide, "Managing mailbox permissions for users").
                self.add(f"{path}.grantee", "an entity can't be granted permissions on its own mailbox")
            if isinstance(owner, GroupSpec) and "FULL_ACCESS" in grant.permissions:
                # Groups have no mailbox to access (Administrator Guide, "Managing mailbox permissions for groups").
                self.add(f"{path}.permissions", f"FULL_ACCESS can't be granted on group {owner.name}: "
                                                "groups have no mailbox")
            for entity, field in ((owner, "mailbox"), (grantee, "grantee")):
                if entity is not None and not entity.enabled:
                    # PutMailboxPermissions needs both ends enabled.
                    self.add(f"{path}.{field}", f"{entity.name} is disabled; permissions need an enabled "
                                                f"{_kind(entity)}")

    def _access_control_rules(self) -> None:
        rules = self.spec.access_control_rules or []
        self._duplicates("access_control_rules", rules, lambda r: str(r.name).lower(), "this rule name")
        actions = access_actions()
        for ri, rule in enumerate(rules):
            path = self._path("access_control_rules", rules, ri)
            for field in ("actions", "not_actions"):
                for i, action in enumerate(getattr(rule, field)):
                    if actions and isinstance(action, str) and action not in actions:
                        self.add(f"{path}.{field}[{i}]",
                                 f"{action!r} is not an access protocol; one of {', '.join(actions)}")
            for field in ("users", "not_users"):
                for i, name in enumerate(getattr(rule, field)):
                    self._resolve(name, f"{path}.{field}[{i}]", (UserSpec,), "user")
            for field in ("impersonation_roles", "not_impersonation_roles"):
                for i, name in enumerate(getattr(rule, field)):
                    if isinstance(name, str) and name.lower() not in self.roles:
                        self.add(f"{path}.{field}[{i}]", f"{name!r} is not a declared impersonation role")

    def _retention_policy(self) -> None:
        policy = self.spec.retention_policy
        if policy is None:
            return
        folders = policy.folders
        self._duplicates("retention_policy.folders", folders, lambda f: f.name, "a configuration for this folder")
        for i, folder in enumerate(folders):
            if folder.action in ("DELETE", "PERMANENTLY_DELETE") and folder.period_days is None:
                # The console asks for the days to keep mail for every action
                # (Administrator Guide, "Setting mailbox retention policies").
                self.add(f"{self._path('retention_policy.folders', folders, i)}.period_days",
                         f"the action {folder.action} needs period_days")

    def _mobile_device_access(self) -> None:
        rules = self.spec.mobile_device_access_rules or []
        self._duplicates("mobile_device_access_rules", rules, lambda r: str(r.name).lower(), "this rule name")
        for ri, rule in enumerate(rules):
            for field in _NEGATED_DEVICE_CONDITIONS:
                for i, value in enumerate(getattr(rule, field)):
                    if value == MOBILE_NONE_VALUE:
                        self.add(f"{self._path('mobile_device_access_rules', rules, ri)}.{field}[{i}]",
                                 f"{MOBILE_NONE_VALUE} can be used only in positive conditions "
                                 '(Administrator Guide, "Managing mobile device access rules")')
        overrides = self.spec.mobile_device_access_overrides
        # DeviceId is case-insensitive (PutMobileDeviceAccessOverride documentation).
        self._duplicates("mobile_device_access_overrides", overrides,
                         lambda o: (str(o.user).lower(), str(o.device_id).lower()),
                         "an override for this user and device", field="device_id")
        for i, override in enumerate(overrides):
            path = self._path("mobile_device_access_overrides", overrides, i)
            user = self._resolve(override.user, f"{path}.user", (UserSpec,), "user")
            if user is not None and not user.enabled:
                self.add(f"{path}.user", f"{user.name} is disabled; overrides need an enabled user")

    def _impersonation_roles(self) -> None:
        roles = self.spec.impersonation_roles
        # Role names are unique (Administrator Guide, "Managing impersonation roles").
        self._duplicates("impersonation_roles", roles, lambda r: str(r.name).lower(), "this role name")
        for ri, role in enumerate(roles):
            path = f"{self._path('impersonation_roles', roles, ri)}.rules"
            self._duplicates(path, role.rules, lambda r: r.rule_id, "this rule id", field="rule_id")
            # Rule names are unique within a role (Administrator Guide, "Managing impersonation roles").
            self._duplicates(path, role.rules, lambda r: r.name.lower() if isinstance(r.name, str) else None,
                             "this rule name")
            for rj, rule in enumerate(role.rules):
                for field in ("target_users", "not_target_users"):
                    for i, name in enumerate(getattr(rule, field)):
                        self._resolve(name, f"{self._path(path, role.rules, rj)}.{field}[{i}]", (UserSpec,), "user")

    def _availability_configurations(self) -> None:
        configurations = self.spec.availability_configurations
        self._duplicates("availability_configurations", configurations, lambda c: str(c.domain_name).lower(),
                         "an availability configuration for this domain", field="domain_name")
        own = {d.name.lower() for d in self.spec.domains} | self.existing_domains | {self.test_domain}
        for i, configuration in enumerate(configurations):
            path = self._path("availability_configurations", configurations, i)
            if (configuration.ews is None) == (configuration.lambda_arn is None):
                self.add(path, "give exactly one provider: ews or lambda_arn")
            if isinstance(configuration.domain_name, str) and configuration.domain_name.lower() in own:
                # Availability settings query other systems (Administrator Guide, "Configure
                # availability settings on Amazon WorkMail"); WorkMail answers for its own domains
                # from its own calendars.
                self.add(f"{path}.domain_name", "is a mail domain of this organization; availability "
                                                "configurations are for domains served by other systems")

    def _email_flow_rules(self) -> None:
        rules = self.spec.email_flow_rules
        # Rule names are unique (Administrator Guide, "Creating email flow rules"), within each
        # direction's list.
        self._duplicates("email_flow_rules", rules, lambda r: (r.direction, str(r.name).lower()),
                         "this rule name in this direction")
        lambda_arn = service_model.service_model().shape_for("LambdaArn")
        total_senders = 0
        for ri, rule in enumerate(rules):
            path = self._path("email_flow_rules", rules, ri)
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


def _components(graph: dict[str, list[str]]) -> dict[str, int]:
    """The strongly connected component of each node (Kosaraju's algorithm, without
    recursion: nesting can be deeper than Python's stack)."""
    finished: list[str] = []
    seen: set[str] = set()
    for root in graph:
        if root in seen:
            continue
        seen.add(root)
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(graph[root]))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if child not in seen:
                    seen.add(child)
                    stack.append((child, iter(graph[child])))
                    break
            else:
                stack.pop()
                finished.append(node)
    parents: dict[str, list[str]] = {node: [] for node in graph}
    for node, members in graph.items():
        for member in members:
            parents[member].append(node)
    component: dict[str, int] = {}
    for number, root in enumerate(reversed(finished)):
        if root in component:
            continue
        component[root] = number
        pending = [root]
        while pending:
            for parent in parents[pending.pop()]:
                if parent not in component:
                    component[parent] = number
                    pending.append(parent)
    return component


def _chain(start: str, target: str, by_name: dict[str, GroupSpec], graph: dict[str, list[str]]) -> list[str]:
    """The group names on a shortest nesting path from ``start`` to ``target`` (both included)."""
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        if current == target:
            break
        for child in graph[current]:
            if child not in previous:
                previous[child] = current
                queue.append(child)
    names: list[str] = []
    node: str | None = target
    while node is not None:
        names.append(by_name[node].name)
        node = previous[node]
    return names[::-1]


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
