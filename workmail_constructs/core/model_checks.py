"""The service model's constraints on each spec field.

Each spec field is mapped, in one table (``MODEL_FIELDS``), to the API member its value
is sent as; the value is checked against that member's shape with
``service_model.check``, so lengths, patterns, enums and bounds are read from botocore's
model, never retyped. ``model_problems`` walks a spec and reports every field the model
would refuse; ``validate`` runs it before the Guide's rules and the consistency checks.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, partial
from typing import Any, Literal

from botocore.model import ListShape, Shape, StructureShape

from . import service_model
from .problems import Problem
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
    UserSpec,
    WorkMailSpec,
)
from .spec_reading import compile_function, fields_typed, type_hints, well_typed

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
    WorkMailSpec: frozenset({"version", "inbound_dmarc_enforced", "prune", "flow_dispatcher_arn"}),
    OrganizationSpec: frozenset({"removal_policy"}),
    DomainSpec: frozenset({"default", "wait_for_verification"}),
    UserSpec: frozenset({"enabled", "password", "logical_id"}),
    GroupSpec: frozenset({"enabled", "members", "logical_id"}),
    ResourceSpec: frozenset({"enabled", "delegates", "logical_id"}),
    MailboxPermissionSpec: frozenset({"mailbox", "grantee"}),
    MobileDeviceAccessOverrideSpec: frozenset({"user"}),
    EwsProviderSpec: frozenset({"password"}),
    EmailFlowRuleSpec: frozenset({"name", "direction", "action", "senders", "recipients", "lambda_arn",
                                  "smtp_gateway", "synchronous", "fallback_action", "timeout_minutes"}),
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
def output_list_max(operation: str, member: str) -> int:
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
    hints = type_hints(cls)
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


def spec_clean(spec: Any) -> bool:
    """Whether ``spec`` is a WorkMailSpec whose every field holds its declared type and meets
    the model's constraints: the test nearly every spec passes, in one walk of code compiled
    for the spec's classes; ``model_problems`` walks again only to say what is wrong."""
    return type(spec) is WorkMailSpec and _clean(WorkMailSpec)(spec)


@cache
@typing.no_type_check
def _clean(cls: type) -> Callable[[Any], bool]:
    """``spec_clean`` for one spec class, written as Python source and compiled."""
    namespace: dict[str, Any] = {"C": cls}
    checks, _ = _checks(cls)
    lines = ["if type(o) is not C:", "    return False"]
    for i, (name, annotation) in enumerate(type_hints(cls).items()):
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        optional = origin in (typing.Union, types.UnionType) and type(None) in args
        if optional:
            annotation = next(a for a in args if a is not type(None))
        body = _type_lines(annotation, namespace, f"T{i}")
        for j, check in enumerate(c for c in checks if c.sent.field == name):
            body += _model_lines(check, annotation, namespace, f"M{i}_{j}")
        lines += [f"x = o.{name}", *(["if x is not None:"] if optional else ["if x is None:", "    return False"])]
        lines += [f"    {line}" for line in body or ["pass"]] if optional else body
    lines.append("return True")
    return compile_function(f"clean_{cls.__name__}", ["o"], lines, namespace)


def _text_literal(annotation: Any) -> bool:
    return typing.get_origin(annotation) is Literal and all(type(a) is str for a in typing.get_args(annotation))


@typing.no_type_check
def _type_lines(annotation: Any, namespace: dict[str, Any], name: str) -> list[str]:
    """Statements that return False unless ``x`` (not None) is of ``annotation``, deeply."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation in (str, int, bool) or _text_literal(annotation):
        return [f"if type(x) is not {'str' if _text_literal(annotation) else annotation.__name__}:", "    return False"]
    if dataclasses.is_dataclass(annotation):
        namespace[name] = _clean(annotation)
        return [f"if not {name}(x):", "    return False"]
    if origin is list and (args[0] is str or dataclasses.is_dataclass(args[0])):
        item = "type(y) is not str"
        if args[0] is not str:
            namespace[name] = _clean(args[0])
            item = f"not {name}(y)"
        return ["if type(x) is not list:", "    return False", "for y in x:", f"    if {item}:", "        return False"]
    namespace[name] = well_typed(annotation)
    return [f"if not {name}(x):", "    return False"]


@typing.no_type_check
def _model_lines(check: _FieldCheck, annotation: Any, namespace: dict[str, Any], name: str) -> list[str]:
    """Statements that return False when ``x`` (of its type, not None) breaks the model's
    constraint ``check``, with ``model_problems``'s exemptions: nothing empty is sent."""
    how = check.sent.how
    if check.shape.type_name == "string" and ((how == "value" and (annotation is str or _text_literal(annotation)))
                                              or (how == "each" and annotation == list[str])):
        shortest, longest, enum, match = service_model.string_constraints(check.shape)
        namespace[f"{name}E"], namespace[f"{name}P"] = enum, match
        item = "x" if how == "value" else "y"
        tests = [f"len({item}) >= {shortest}"] if shortest else []
        tests += [f"len({item}) <= {longest}"] if longest < 1 << 62 else []
        tests += [f"{item} in {name}E"] if enum else []
        tests += [f"{name}P({item}) is not None"] if match else []
        if not tests:
            return []
        test = " and ".join(tests)
        if how == "each":
            return ["for y in x:", f"    if not ({test}):", "        return False"]
        # An empty text passes a length check without a minimum: only the others need the exemption.
        exempt = "" if check.required or tests == [f"len(x) <= {longest}"] else 'x != "" and '
        return [f"if {exempt}not ({test}):", "    return False"]
    if how == "value" and check.shape.type_name == "boolean":
        return []  # the type check above is the whole of the model's
    if how == "value" and check.shape.type_name in ("integer", "long") and annotation is int:
        namespace[name] = check.ok
        return [f"if not {name}(x):", "    return False"]
    namespace[name] = partial(_passes, check)
    exempt = "" if check.required else ' and x != ""'
    return [f"if (not isinstance(x, (list, dict)) or x){exempt} and not {name}(x):", "    return False"]


class WrongType(Exception):
    """A field of the spec does not hold its declared type."""


def model_problems(obj: Any, path: Callable[[], str]) -> Iterator[Problem]:
    """The model's constraints on ``obj`` and every spec object nested in it. ``path`` makes the
    object's path, only when a problem needs it (most objects have none). Raises WrongType
    for a field of the wrong type."""
    if not fields_typed(obj):
        raise WrongType
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
                yield from model_problems(item, partial(_item, path, name, item, i))
        elif value is not None:
            yield from model_problems(value, partial(_child, path, name))


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
