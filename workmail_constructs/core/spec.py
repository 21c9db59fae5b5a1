"""The declared state of a WorkMail organization: a typed, versioned document.

Constructs produce it at synth time; handlers, the CLI and the local deploy consume it.
It is plain data: dataclasses with a JSON round trip (``to_json``/``from_json``) and a
JSON Schema (``json_schema``) for editors. JSON member names are the field names.

Objects refer to each other by name (a group's members, a resource's delegates, a
permission's grantee), never by WorkMail id, so a spec can be written before anything
exists. No secret is ever part of a spec: passwords are Secrets Manager references.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

SPEC_VERSION = 1

UserRole = Literal["USER", "REMOTE_USER"]
ResourceType = Literal["ROOM", "EQUIPMENT"]
Effect = Literal["ALLOW", "DENY"]
RemovalPolicy = Literal["retain", "destroy"]
MailboxPermission = Literal["FULL_ACCESS", "SEND_AS", "SEND_ON_BEHALF"]
FolderName = Literal["INBOX", "DELETED_ITEMS", "SENT_ITEMS", "DRAFTS", "JUNK_EMAIL"]
RetentionAction = Literal["NONE", "DELETE", "PERMANENTLY_DELETE"]
ImpersonationRoleType = Literal["FULL_ACCESS", "READ_ONLY"]
FlowDirection = Literal["inbound", "outbound"]
# Inbound and outbound actions in the Guide's order, which is also their precedence
# (Administrator Guide, "Managing email flows").
FlowAction = Literal["DROP", "BOUNCE", "MOVE_TO_JUNK", "DEFAULT", "BYPASS_SPAM_CHECK", "ROUTE_TO_SMTP_GATEWAY",
                     "RUN_LAMBDA"]


# The free-text user attributes UpdateUser sets, each sent as the API member of the same
# name in PascalCase (first_name → FirstName): see ``api_member``.
USER_TEXT_ATTRIBUTES = (
    "display_name", "first_name", "last_name", "initials", "telephone", "street", "job_title", "city", "company",
    "zip_code", "department", "country", "office",
)


def api_member(field_name: str) -> str:
    """The WorkMail API member a spec field is sent as: ``first_name`` → ``FirstName``."""
    return "".join(part.capitalize() for part in field_name.split("_"))


class SpecError(ValueError):
    """A spec document that can't be read: names the path of the offending field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class SecretRef:
    """A value kept in AWS Secrets Manager, resolved only inside the handler.

    ``version_id`` pins a version: changing it is what tells the reconciler to set the
    password again (passwords can't be read back, so there is nothing else to compare).
    """

    secret_id: str
    version_id: str | None = None
    json_key: str | None = None


@dataclass
class OrganizationSpec:
    alias: str
    directory_id: str | None = None
    kms_key_arn: str | None = None
    enable_interoperability: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    # Organizations hold mail: kept when the stack is deleted unless the user says otherwise.
    removal_policy: RemovalPolicy = "retain"
    # Adopt an existing organization into management instead of creating one.
    organization_id: str | None = None


def create_organization_request(spec: OrganizationSpec) -> dict[str, Any]:
    """CreateOrganization's parameters for ``spec``, without the ClientToken."""
    params: dict[str, Any] = {"Alias": spec.alias}
    if spec.directory_id:
        params["DirectoryId"] = spec.directory_id
    if spec.kms_key_arn:
        params["KmsKeyArn"] = spec.kms_key_arn
    if spec.enable_interoperability:
        params["EnableInteroperability"] = True
    return params


@dataclass
class DomainSpec:
    name: str
    default: bool = False
    hosted_zone_id: str | None = None
    # Whether the reconciler waits for the domain's ownership verification.
    wait_for_verification: bool = False


@dataclass
class UserSpec:
    name: str
    display_name: str
    email: str | None = None
    enabled: bool = True
    role: UserRole = "USER"
    first_name: str | None = None
    last_name: str | None = None
    initials: str | None = None
    telephone: str | None = None
    street: str | None = None
    job_title: str | None = None
    city: str | None = None
    company: str | None = None
    zip_code: str | None = None
    department: str | None = None
    country: str | None = None
    office: str | None = None
    hidden_from_global_address_list: bool = False
    identity_provider_user_id: str | None = None
    aliases: list[str] = field(default_factory=list)
    mailbox_quota_mb: int | None = None
    password: SecretRef | None = None
    # A stable identity across renames (the construct path): WorkMail can't rename a
    # user, so a new name under the same logical id is planned as a replacement.
    logical_id: str | None = None


@dataclass
class GroupSpec:
    name: str
    email: str | None = None
    enabled: bool = True
    hidden_from_global_address_list: bool = False
    # Names of users or groups.
    members: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    logical_id: str | None = None


@dataclass
class BookingOptionsSpec:
    auto_accept_requests: bool = True
    auto_decline_recurring_requests: bool = False
    auto_decline_conflicting_requests: bool = True


@dataclass
class ResourceSpec:
    name: str
    type: ResourceType
    email: str | None = None
    enabled: bool = True
    description: str | None = None
    hidden_from_global_address_list: bool = False
    booking_options: BookingOptionsSpec = field(default_factory=BookingOptionsSpec)
    # Names of users or groups.
    delegates: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    # Resources can be renamed in place (UpdateResource.Name), so a new name is an update.
    logical_id: str | None = None


@dataclass
class MailboxPermissionSpec:
    # Name of the user or resource whose mailbox it is, and of the user or group granted access.
    mailbox: str
    grantee: str
    permissions: list[MailboxPermission] = field(default_factory=list)


@dataclass
class AccessControlRuleSpec:
    name: str
    effect: Effect
    # Required by PutAccessControlRule, whose pattern needs at least one character.
    description: str
    actions: list[str] = field(default_factory=list)
    not_actions: list[str] = field(default_factory=list)
    ip_ranges: list[str] = field(default_factory=list)
    not_ip_ranges: list[str] = field(default_factory=list)
    # User names and impersonation role names.
    users: list[str] = field(default_factory=list)
    not_users: list[str] = field(default_factory=list)
    impersonation_roles: list[str] = field(default_factory=list)
    not_impersonation_roles: list[str] = field(default_factory=list)


@dataclass
class FolderConfigurationSpec:
    name: FolderName
    action: RetentionAction
    period_days: int | None = None


@dataclass
class RetentionPolicySpec:
    name: str
    description: str | None = None
    folders: list[FolderConfigurationSpec] = field(default_factory=list)


@dataclass
class MobileDeviceAccessRuleSpec:
    name: str
    effect: Effect
    description: str | None = None
    device_types: list[str] = field(default_factory=list)
    not_device_types: list[str] = field(default_factory=list)
    device_models: list[str] = field(default_factory=list)
    not_device_models: list[str] = field(default_factory=list)
    device_operating_systems: list[str] = field(default_factory=list)
    not_device_operating_systems: list[str] = field(default_factory=list)
    device_user_agents: list[str] = field(default_factory=list)
    not_device_user_agents: list[str] = field(default_factory=list)


@dataclass
class MobileDeviceAccessOverrideSpec:
    user: str
    device_id: str
    effect: Effect
    description: str | None = None


@dataclass
class ImpersonationRuleSpec:
    rule_id: str
    effect: Effect
    name: str | None = None
    description: str | None = None
    # User names.
    target_users: list[str] = field(default_factory=list)
    not_target_users: list[str] = field(default_factory=list)


@dataclass
class ImpersonationRoleSpec:
    name: str
    type: ImpersonationRoleType
    description: str | None = None
    rules: list[ImpersonationRuleSpec] = field(default_factory=list)


@dataclass
class EmailMonitoringSpec:
    log_group_arn: str
    role_arn: str | None = None


@dataclass
class EwsProviderSpec:
    endpoint: str
    username: str
    password: SecretRef


@dataclass
class AvailabilityConfigurationSpec:
    domain_name: str
    ews: EwsProviderSpec | None = None
    lambda_arn: str | None = None


@dataclass
class EmailFlowRuleSpec:
    """An inbound or outbound email flow rule as the Guide defines it (Administrator Guide, "Managing email flows").

    WorkMail has no API for flow rules: a later part of the project evaluates them in a
    dispatcher Lambda; the reconciler only validates them.
    """

    name: str
    direction: FlowDirection
    action: FlowAction
    senders: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    lambda_arn: str | None = None
    smtp_gateway: str | None = None


@dataclass
class WorkMailSpec:
    organization: OrganizationSpec
    version: int = SPEC_VERSION
    domains: list[DomainSpec] = field(default_factory=list)
    users: list[UserSpec] = field(default_factory=list)
    groups: list[GroupSpec] = field(default_factory=list)
    resources: list[ResourceSpec] = field(default_factory=list)
    mailbox_permissions: list[MailboxPermissionSpec] = field(default_factory=list)
    access_control_rules: list[AccessControlRuleSpec] | None = None
    retention_policy: RetentionPolicySpec | None = None
    mobile_device_access_rules: list[MobileDeviceAccessRuleSpec] | None = None
    mobile_device_access_overrides: list[MobileDeviceAccessOverrideSpec] = field(default_factory=list)
    impersonation_roles: list[ImpersonationRoleSpec] = field(default_factory=list)
    inbound_dmarc_enforced: bool | None = None
    email_monitoring: EmailMonitoringSpec | None = None
    availability_configurations: list[AvailabilityConfigurationSpec] = field(default_factory=list)
    email_flow_rules: list[EmailFlowRuleSpec] = field(default_factory=list)
    # Delete users, groups and resources that exist but were never declared.
    prune: bool = False

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(to_data(self), indent=indent, sort_keys=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> WorkMailSpec:
        return from_data(cls, parse_json(text))


# Serialization ------------------------------------------------------------------

T = TypeVar("T")


def to_data(value: Any) -> Any:
    """A spec object as JSON-ready data: optional fields that are unset are left out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is None:
                continue
            data[f.name] = to_data(item)
        return data
    if isinstance(value, list):
        return [to_data(v) for v in value]
    if isinstance(value, dict):
        return {k: to_data(v) for k, v in value.items()}
    return value


def parse_json(text: str | bytes) -> Any:
    """A spec document's JSON, or a SpecError saying why it can't be read."""
    try:
        return json.loads(text)
    except RecursionError:
        # No spec nests more than a few levels; this is a hostile or broken document.
        raise SpecError("", "nested too deeply to be a spec document") from None
    except ValueError as exc:
        raise SpecError("", f"not valid JSON: {exc}") from None


def from_data(cls: type[T], data: Any, path: str = "", *, cloudformation: bool = False,
              references: Mapping[str, Any] | None = None) -> T:
    """Build ``cls`` from JSON data, with an error naming the path of anything wrong.

    ``cloudformation``: the data came as custom-resource properties, in which CloudFormation
    turns every number and boolean into a string; they are read back as the declared types.
    ``references``: the values of the document's ``$ref:NAME`` placeholders.
    """
    token = _REFERENCES.set(references)
    try:
        result: T = _reader(cls, cloudformation)(data)
    except _Unreadable:
        # The fast reader only tells that something is wrong; this one says what, and where.
        data = resolve_references(data, references or {}, path)
        result = _convert(cls, data, path, cloudformation)
    finally:
        _REFERENCES.reset(token)
    if isinstance(result, WorkMailSpec) and result.version != SPEC_VERSION:
        raise SpecError("version", f"unsupported spec version {result.version}; this library reads {SPEC_VERSION}")
    return result


# The references of the document ``from_data`` is reading (see resolve_references).
_REFERENCES: ContextVar[Mapping[str, Any] | None] = ContextVar("spec_references", default=None)


class _Unreadable(Exception):
    """Data the fast reader can't read as its annotation."""


@cache
@typing.no_type_check
def _reader(annotation: Any, cfn: bool) -> Callable[[Any], Any]:
    """``_convert`` compiled once per annotation for data that is right (every deploy reads whole
    specs of thousands of objects): a closure per type, no paths built; any doubt raises
    ``_Unreadable`` and ``_convert`` reads again to say what is wrong."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        inner = _reader(next(a for a in get_args(annotation) if a is not type(None)), cfn)
        return lambda data: None if data is None else inner(data)
    if origin is Literal:
        allowed = {str(a).lower(): a for a in get_args(annotation)} if cfn else {}
        values = get_args(annotation)

        def literal(data: Any) -> Any:
            for value in values:
                if data == value and type(data) is type(value):
                    return value
            if isinstance(data, str) and data.lower() in allowed:
                return allowed[data.lower()]
            raise _Unreadable

        return literal
    if origin is list:
        item = _reader(get_args(annotation)[0], cfn)

        def items(data: Any) -> Any:
            if type(data) is not list:
                raise _Unreadable
            return [item(value) for value in data]

        return items
    if origin is dict:
        value_reader = _reader(get_args(annotation)[1], cfn)

        def mapping(data: Any) -> Any:
            if type(data) is not dict:
                raise _Unreadable
            return {str(k): value_reader(v) for k, v in data.items()}

        return mapping
    if dataclasses.is_dataclass(annotation):
        fields = [(f.name, _reader(f.annotation, cfn), f.required) for f in _fields_of(annotation)]
        names = frozenset(f[0] for f in fields)

        def instance(data: Any) -> Any:
            if type(data) is not dict or not names.issuperset(data):
                raise _Unreadable
            values = {}
            for name, read, required in fields:
                if name in data:
                    values[name] = read(data[name])
                elif required:
                    raise _Unreadable
            return annotation(**values)

        return instance
    if annotation is bool:
        def boolean(data: Any) -> Any:
            if type(data) is bool:
                return data
            if cfn and data in ("true", "false"):
                return data == "true"
            raise _Unreadable

        return boolean
    if annotation is int:
        def integer(data: Any) -> Any:
            if type(data) is int:
                return data
            if cfn and isinstance(data, str) and _INTEGER.fullmatch(data):
                return int(data)
            raise _Unreadable

        return integer
    if annotation is str:
        def text(data: Any) -> Any:
            if type(data) is not str:
                raise _Unreadable
            if data.startswith("$ref:"):
                value = (_REFERENCES.get() or {}).get(data[5:])
                if not isinstance(value, str):
                    raise _Unreadable
                return value
            return data

        return text
    raise TypeError(f"unsupported annotation {annotation!r}")


@typing.no_type_check
def _convert(annotation: Any, data: Any, path: str, cfn: bool = False) -> Any:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        if data is None:
            return None
        return _convert(options[0], data, path, cfn)
    if origin is Literal:
        allowed = get_args(annotation)
        if cfn and isinstance(data, str) and data not in allowed:
            data = next((a for a in allowed if str(a).lower() == data.lower()), data)
        if data not in allowed:
            raise SpecError(path, f"must be one of {', '.join(repr(a) for a in allowed)}, not {data!r}")
        return data
    if origin is list:
        if not isinstance(data, list):
            raise SpecError(path, f"must be a list, not {type(data).__name__}")
        (item,) = get_args(annotation)
        return [_convert(item, v, f"{path}[{i}]", cfn) for i, v in enumerate(data)]
    if origin is dict:
        if not isinstance(data, dict):
            raise SpecError(path, f"must be an object, not {type(data).__name__}")
        _, item = get_args(annotation)
        return {str(k): _convert(item, v, f"{path}.{k}", cfn) for k, v in data.items()}
    if dataclasses.is_dataclass(annotation):
        if not isinstance(data, dict):
            raise SpecError(path, f"must be an object, not {type(data).__name__}")
        fields = _fields_of(annotation)
        unknown = sorted(set(data) - {f.name for f in fields})
        if unknown:
            known = ", ".join(sorted(f.name for f in fields))
            raise SpecError(_at(path, unknown[0]), f"unknown field; expected one of {known}")
        values = {}
        for f in fields:
            if f.name in data:
                values[f.name] = _convert(f.annotation, data[f.name], _at(path, f.name), cfn)
            elif f.required:
                raise SpecError(_at(path, f.name), "is required")
        return annotation(**values)
    if annotation is bool:
        if cfn and data in ("true", "false"):
            return data == "true"
        if not isinstance(data, bool):
            raise SpecError(path, f"must be true or false, not {data!r}")
        return data
    if annotation is int:
        if cfn and isinstance(data, str) and _INTEGER.fullmatch(data):
            return int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            raise SpecError(path, f"must be a whole number, not {data!r}")
        return data
    if annotation is str:
        if not isinstance(data, str):
            raise SpecError(path, f"must be a string, not {data!r}")
        return data
    raise TypeError(f"unsupported annotation {annotation!r} at {path}")


_INTEGER = re.compile(r"-?[0-9]{1,18}")


# Deploy-time references ----------------------------------------------------------
# A value known only at deploy time (the ARN of a secret or a log group made in the same
# stack) can't be part of a spec document that travels as an S3 asset, and shouldn't be
# anyway: it would make the whole document change when one value does. The document holds
# ``$ref:NAME`` where such a value goes; the value travels beside it, in the custom
# resource's ``References`` property, and the handler puts it in place before reading.
_REFERENCE = re.compile(r"\$ref:([A-Za-z0-9_.-]{1,128})")


def reference(name: str) -> str:
    """The placeholder a spec document holds for the deploy-time value named ``name``."""
    if not _REFERENCE.fullmatch(f"$ref:{name}"):
        raise ValueError(f"a reference name is 1-128 letters, digits, '_', '.' or '-', not {name!r}")
    return f"$ref:{name}"


def resolve_references(data: Any, references: Mapping[str, Any], path: str = "") -> Any:
    """``data`` with every ``$ref:NAME`` string replaced by ``references[NAME]``."""
    if isinstance(data, str):
        match = _REFERENCE.fullmatch(data)
        if match is None:
            return data
        value = references.get(match.group(1))
        if not isinstance(value, str):
            raise SpecError(path, f"refers to {data}, which the References property doesn't hold as a string")
        return value
    if isinstance(data, list):
        return [resolve_references(v, references, f"{path}[{i}]") for i, v in enumerate(data)]
    if isinstance(data, dict):
        return {k: resolve_references(v, references, _at(path, str(k))) for k, v in data.items()}
    return data


@dataclass(frozen=True)
class _Field:
    name: str
    annotation: Any
    required: bool


@cache
def _fields_of(cls: Any) -> tuple[_Field, ...]:
    """A spec class's fields with their resolved types, worked out once per class: resolving
    type hints is most of the cost of reading a large spec when done once per object."""
    hints = get_type_hints(cls)
    return tuple(
        _Field(f.name, hints[f.name], f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        for f in dataclasses.fields(cls)
    )


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def type_errors(value: Any, annotation: Any) -> list[SpecError]:
    """Every field of a spec built in Python whose value is not of its declared type.

    ``from_data`` checks a JSON document as it reads it; a spec built from the dataclasses
    directly is only as right as its caller made it (a dict inside ``users``, a password
    given as plain text instead of a SecretRef). Messages name the type, never the value,
    which may be a secret.
    """
    if _well_typed(annotation)(value):
        return []
    return list(_type_errors(annotation, value, ""))


def fields_typed(value: Any) -> bool:
    """Whether the fields of a spec object hold their declared types, one level deep: nested
    spec objects are only checked to be of their class (for a walk that visits them anyway,
    such as validation's)."""
    cls: Any = type(value)
    checks = _SHALLOW.get(cls)
    if checks is None:
        checks = _SHALLOW[cls] = [(f.name, _well_typed(f.annotation, shallow=True)) for f in _fields_of(cls)]
    return all(ok(getattr(value, name)) for name, ok in checks)


_SHALLOW: dict[Any, list[tuple[str, Callable[[Any], bool]]]] = {}


@cache
@typing.no_type_check
def _well_typed(annotation: Any, shallow: bool = False) -> Callable[[Any], bool]:
    """A fast test that ``_type_errors`` would find nothing, compiled once per annotation."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        inner = _well_typed(options[0], shallow)
        return lambda value: value is None or inner(value)
    if origin is Literal:
        kinds = {type(a) for a in get_args(annotation)}
        return lambda value: type(value) in kinds
    if origin is list:
        item = _well_typed(get_args(annotation)[0], shallow)
        return lambda value: type(value) is list and all(map(item, value))
    if origin is dict:
        key, item = (_well_typed(a) for a in get_args(annotation))
        return lambda value: type(value) is dict and all(key(k) and item(v) for k, v in value.items())
    if dataclasses.is_dataclass(annotation) and shallow:
        return lambda value: type(value) is annotation
    if dataclasses.is_dataclass(annotation):
        fields = [(f.name, _well_typed(f.annotation)) for f in _fields_of(annotation)]

        def instance(value: Any) -> bool:
            return type(value) is annotation and all(ok(getattr(value, name)) for name, ok in fields)

        return instance
    if annotation in (bool, int, str):
        return lambda value: type(value) is annotation
    return lambda value: False


@typing.no_type_check
def _type_errors(annotation: Any, value: Any, path: str) -> Iterator[SpecError]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in get_args(annotation):
            return
        options = [a for a in get_args(annotation) if a is not type(None)]
        yield from _type_errors(options[0], value, path)
        return
    if origin is Literal:
        # Only the type: which values are allowed is validation's to say, from the service model.
        kinds = {type(a) for a in get_args(annotation)}
        if type(value) not in kinds:
            yield SpecError(path, f"must be a {' or '.join(sorted(k.__name__ for k in kinds))}, "
                                  f"not {_type_name(value)}")
        return
    if origin in (list, dict):
        expected = "a list" if origin is list else "a dict"
        if not isinstance(value, origin):
            yield SpecError(path, f"must be {expected}, not {_type_name(value)}")
            return
        if origin is list:
            for i, item in enumerate(value):
                yield from _type_errors(get_args(annotation)[0], item, f"{path}[{i}]")
        else:
            key_type, item_type = get_args(annotation)
            for key, item in value.items():
                yield from _type_errors(key_type, key, f"{path} key")
                yield from _type_errors(item_type, item, f"{path}.{key}")
        return
    if dataclasses.is_dataclass(annotation):
        if type(value) is not annotation:
            yield SpecError(path, f"must be a {annotation.__name__}, not {_type_name(value)}")
            return
        for f in _fields_of(annotation):
            yield from _type_errors(f.annotation, getattr(value, f.name), _at(path, f.name))
        return
    if annotation is bool and not isinstance(value, bool):
        yield SpecError(path, f"must be true or false, not {_type_name(value)}")
    elif annotation is int and (isinstance(value, bool) or not isinstance(value, int)):
        yield SpecError(path, f"must be a whole number, not {_type_name(value)}")
    elif annotation is str and not isinstance(value, str):
        yield SpecError(path, f"must be a string, not {_type_name(value)}")


def _type_name(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, (bool, int, float, str, list, dict, tuple)):
        return type(value).__name__
    return f"a {type(value).__name__}"


# JSON Schema --------------------------------------------------------------------


def json_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of the spec document, for editors and CI checks."""
    definitions: dict[str, Any] = {}
    root = _schema(WorkMailSpec, definitions)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://workmail-constructs/spec/v{SPEC_VERSION}.json",
        "title": "WorkMail declared state",
        **root,
        "$defs": definitions,
    }


@typing.no_type_check
def _schema(annotation: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        return {"anyOf": [_schema(options[0], definitions), {"type": "null"}]}
    if origin is Literal:
        return {"enum": list(get_args(annotation))}
    if origin is list:
        return {"type": "array", "items": _schema(get_args(annotation)[0], definitions)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema(get_args(annotation)[1], definitions)}
    if dataclasses.is_dataclass(annotation):
        name = annotation.__name__
        if name not in definitions:
            definitions[name] = {}
            fields = _fields_of(annotation)
            properties = {f.name: _schema(f.annotation, definitions) for f in fields}
            required = [f.name for f in fields if f.required]
            definition: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
            if annotation.__doc__ and not annotation.__doc__.startswith(f"{name}("):
                definition["description"] = " ".join(annotation.__doc__.split())
            if required:
                definition["required"] = required
            if annotation is WorkMailSpec:
                properties["version"] = {"const": SPEC_VERSION}
            definitions[name] = definition
        if annotation is WorkMailSpec:
            return {"$ref": f"#/$defs/{name}"}
        return {"$ref": f"#/$defs/{name}"}
    return {bool: {"type": "boolean"}, int: {"type": "integer"}, str: {"type": "string"}}[annotation]
