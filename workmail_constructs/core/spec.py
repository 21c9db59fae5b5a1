"""The declared state of a WorkMail organization: a typed, versioned document.

Constructs produce it at synth time; handlers, the CLI and the local deploy consume it.
It is plain data: dataclasses with a JSON round trip (``to_json``/``from_json``; reading
is ``spec_reading.from_data``) and a JSON Schema (``spec_schema.json_schema``) for
editors. JSON member names are the field names.

Objects refer to each other by name (a group's members, a resource's delegates, a
permission's grantee), never by WorkMail id, so a spec can be written before anything
exists. No secret is ever part of a spec: passwords are Secrets Manager references.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal

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
    # A RUN_LAMBDA rule: synchronous (before delivery; its answer decides), the action taken
    # when the function fails or leaves a recipient out, and how long WorkMail retries it
    # (Administrator Guide, "Configuring synchronous Run Lambda rules").
    synchronous: bool = False
    fallback_action: FlowAction | None = None
    timeout_minutes: int | None = None


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
    # The flow rules dispatcher deployed with the rules (a synchronous Run Lambda function);
    # with one, the console needs only the two rules that send every message to it.
    flow_dispatcher_arn: str | None = None
    # Delete users, groups and resources that exist but were never declared.
    prune: bool = False

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(to_data(self), indent=indent, sort_keys=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> WorkMailSpec:
        # The reader builds these classes, so it imports this module, not the other way.
        from .spec_reading import from_data, parse_json

        return from_data(cls, parse_json(text))




# Serialization ------------------------------------------------------------------


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
