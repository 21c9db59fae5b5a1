"""Every error the service model documents for a WorkMail operation is reachable in the emulator.

``TRIGGERED`` maps (operation, error code) to a scenario: a function of the shared ``World``
that returns the request that must fail with that code. The rows every operation shares come
from the model (OrganizationNotFoundException with an id nobody has, OrganizationStateException
with an organization that is not Active, EntityNotFoundException and EntityStateException with
a missing and a deleted entity, ...); the others are written by hand. ``UNREACHABLE`` lists the
documented errors the emulator can't produce, each with its reason (docs/emulator.md, "Documented
errors the emulator does not return"). The completeness test fails when the model documents a
pair that is in neither table, so a botocore upgrade that documents a new error shows up here.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

from tests.conftest import REGION, error_code, make_client, unique
from workmail_constructs.core import service_model
from workmail_constructs.local import EmulatorControl

MODEL = service_model.service_model()
DOCUMENTED: frozenset[tuple[str, str]] = frozenset(
    (operation, error.name)
    for operation in MODEL.operation_names
    for error in MODEL.operation_model(operation).error_shapes
)

# Well-formed identifiers nothing has.
MISSING_ORG = "m-" + "0" * 32
MISSING_ID = "12345678-1234-1234-1234-123456789012"
MISSING_RESOURCE = "r-" + "0" * 32
MISSING_JOB = "00000000-0000-0000-0000-000000000000"
MISSING_NAME = "missing-id"

GOOD_PASSWORD = "Corr3ct-Horse!"
ACCOUNT = "123456789012"
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EXPORT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/WorkMailMailboxExport"
LAMBDA = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:availability"
INSTANCE_ARN = "arn:aws:sso:::instance/ssoins-1234567890abcdef"
OTHER_INSTANCE_ARN = "arn:aws:sso:::instance/ssoins-fedcba0987654321"
MISSING_APPLICATION = f"arn:aws:sso::{ACCOUNT}:application/ssoins-1234567890abcdef/apl-0000000000000000"
EXTERNAL_DOMAIN = "availability.example.com"
JOURNALING_NAME = "amazonjournaling"

# Organizations that must not count against the quota of us-east-1 live in Regions of their own.
PENDING_REGION = "eu-central-1"
QUOTA_REGION = "ap-southeast-2"
OTHER_REGION = "eu-west-1"
# Long enough that no other test's clock moves make the pending organization Active.
NEVER = 1e9


@dataclass(frozen=True)
class Call:
    """A request made with another client than the World's (another Region)."""

    params: dict[str, Any]
    client: Any


Request = dict[str, Any] | Call
Scenario = Callable[["World"], Request]


@dataclass
class World:
    """One organization with one of everything, plus organizations in the states the errors need."""

    url: str
    client: Any
    control: EmulatorControl
    org: str = ""
    alias: str = ""
    domain: str = ""
    pending_domain: str = ""
    user: str = ""
    user_email: str = ""
    other: str = ""
    other_email: str = ""
    disabled: str = ""
    deleted_user: str = ""
    group: str = ""
    group_name: str = ""
    deleted_group: str = ""
    resource: str = ""
    deleted_resource: str = ""
    role: str = ""
    job: str = ""
    bucket: str = ""
    pending_org: str = ""
    pending_client: Any = None
    read_only_org: str = ""
    interop_org: str = ""
    unavailable_org: str = ""
    unauthenticated_org: str = ""
    cleanups: list[Callable[[], Any]] = field(default_factory=list)
    _full_of_aliases: str = ""

    def new_org(self, client: Any = None, **params: Any) -> str:
        """An Active organization, deleted when the module ends."""
        client = client or self.client
        org_id = str(client.create_organization(Alias=params.pop("Alias", unique("err")), **params)["OrganizationId"])
        self.cleanups.append(lambda: client.delete_organization(
            OrganizationId=org_id, DeleteDirectory=True, ForceDelete=True))
        return org_id

    def new_user(self, org: str = "", email: bool = True) -> tuple[str, str]:
        org = org or self.org
        name = unique("u")
        user_id = str(self.client.create_user(
            OrganizationId=org, Name=name, DisplayName=name, Password=GOOD_PASSWORD)["UserId"])
        address = f"{name}@{self.domain}"
        if email:
            self.client.register_to_work_mail(OrganizationId=org, EntityId=user_id, Email=address)
        return user_id, address

    def on_directory(self, kind: str, **params: Any) -> str:
        alias = unique("dir")
        directory = self.control.command("create-directory", Alias=alias, Type=kind)["DirectoryId"]
        return self.new_org(Alias=alias, DirectoryId=directory, **params)

    def directory_of(self, org: str) -> str:
        return str(self.client.describe_organization(OrganizationId=org)["DirectoryId"])

    def arn(self, org: str, region: str = REGION) -> str:
        return f"arn:aws:workmail:{region}:{ACCOUNT}:organization/{org}"

    def full_of_aliases(self) -> str:
        """An enabled user with the most aliases an entity can have (100)."""
        if not self._full_of_aliases:
            user_id, _ = self.new_user()
            for number in range(100):
                self.client.create_alias(OrganizationId=self.org, EntityId=user_id,
                                         Alias=f"alias{number}-{user_id[:8]}@{self.domain}")
            self._full_of_aliases = user_id
        return self._full_of_aliases


@pytest.fixture(scope="module")
def world(emulator_url: str) -> Iterator[World]:
    client = make_client(emulator_url)
    w = World(url=emulator_url, client=client, control=EmulatorControl(emulator_url))
    try:
        _build(w)
        yield w
    finally:
        for cleanup in reversed(w.cleanups):
            # Already gone, or never made it that far.
            with contextlib.suppress(ClientError):
                cleanup()


def _build(w: World) -> None:
    c = w.client
    w.alias = unique("errors")
    w.org = w.new_org(Alias=w.alias)
    w.domain = f"{unique('d')}.example.com"
    c.register_mail_domain(OrganizationId=w.org, DomainName=w.domain)
    w.control.verify_domain(w.org, w.domain)
    w.pending_domain = f"{unique('p')}.example.com"
    c.register_mail_domain(OrganizationId=w.org, DomainName=w.pending_domain)
    w.user, w.user_email = w.new_user()
    w.other, w.other_email = w.new_user()
    w.disabled, _ = w.new_user(email=False)
    w.deleted_user, _ = w.new_user(email=False)
    c.delete_user(OrganizationId=w.org, UserId=w.deleted_user)
    w.group_name = unique("grp")
    w.group = c.create_group(OrganizationId=w.org, Name=w.group_name)["GroupId"]
    c.register_to_work_mail(OrganizationId=w.org, EntityId=w.group, Email=f"{w.group_name}@{w.domain}")
    w.deleted_group = c.create_group(OrganizationId=w.org, Name=unique("grp"))["GroupId"]
    c.delete_group(OrganizationId=w.org, GroupId=w.deleted_group)
    room = unique("room")
    w.resource = c.create_resource(OrganizationId=w.org, Name=room, Type="ROOM")["ResourceId"]
    c.register_to_work_mail(OrganizationId=w.org, EntityId=w.resource, Email=f"{room}@{w.domain}")
    w.deleted_resource = c.create_resource(OrganizationId=w.org, Name=unique("room"), Type="ROOM")["ResourceId"]
    c.delete_resource(OrganizationId=w.org, ResourceId=w.deleted_resource)
    w.role = c.create_impersonation_role(OrganizationId=w.org, Name=unique("role"), Type="READ_ONLY",
                                         Rules=[])["ImpersonationRoleId"]
    w.bucket = unique("errors-")
    w.control.command("create-s3-bucket", Bucket=w.bucket)
    w.job = _export(w, w.other)
    # An organization that stays Requested, in a Region of its own.
    w.pending_client = make_client(w.url, region=PENDING_REGION)
    w.control.set_timing(org_requested=NEVER)
    try:
        w.pending_org = w.pending_client.create_organization(Alias=unique("pending"))["OrganizationId"]
    finally:
        w.control.set_timing(org_requested=0)
    w.read_only_org = w.on_directory("ADConnector")
    w.interop_org = w.on_directory("ADConnector", EnableInteroperability=True)
    w.unavailable_org = w.on_directory("SimpleAD")
    w.control.command("set-directory-status", DirectoryId=w.directory_of(w.unavailable_org), Status="Unavailable")
    w.unauthenticated_org = w.on_directory("SimpleAD")
    w.control.command("set-directory-status", DirectoryId=w.directory_of(w.unauthenticated_org),
                      Status="AuthenticationFailed")


def _export(w: World, entity: str, org: str = "") -> str:
    return str(w.client.start_mailbox_export_job(
        OrganizationId=org or w.org, EntityId=entity, RoleArn=EXPORT_ROLE, KmsKeyArn=KMS_KEY,
        S3BucketName=w.bucket, S3Prefix="exports/")["JobId"])


# A valid request of every operation that takes an OrganizationId, in the World's organization.
# The generic rows change one member of it (the organization, or the entity it names).
BASE: dict[str, Callable[[World], dict[str, Any]]] = {
    "AssociateDelegateToResource": lambda w: {"ResourceId": w.resource, "EntityId": w.user},
    "AssociateMemberToGroup": lambda w: {"GroupId": w.group, "MemberId": w.user},
    "AssumeImpersonationRole": lambda w: {"ImpersonationRoleId": w.role},
    "CancelMailboxExportJob": lambda w: {"JobId": w.job},
    "CreateAlias": lambda w: {"EntityId": w.user, "Alias": f"{unique('a')}@{w.domain}"},
    "CreateAvailabilityConfiguration": lambda w: {"DomainName": unique("x") + ".example.com",
                                                  "LambdaProvider": {"LambdaArn": LAMBDA}},
    "CreateGroup": lambda w: {"Name": unique("g")},
    "CreateImpersonationRole": lambda w: {"Name": unique("role"), "Type": "READ_ONLY", "Rules": []},
    "CreateMobileDeviceAccessRule": lambda w: {"Name": "rule", "Effect": "ALLOW"},
    "CreateResource": lambda w: {"Name": unique("res"), "Type": "ROOM"},
    "CreateUser": lambda w: {"Name": unique("u"), "DisplayName": "U", "Password": GOOD_PASSWORD},
    "DeleteAccessControlRule": lambda w: {"Name": MISSING_NAME},
    "DeleteAlias": lambda w: {"EntityId": w.user, "Alias": f"nobody@{w.domain}"},
    "DeleteAvailabilityConfiguration": lambda w: {"DomainName": EXTERNAL_DOMAIN},
    "DeleteEmailMonitoringConfiguration": lambda w: {},
    "DeleteGroup": lambda w: {"GroupId": w.group},
    "DeleteIdentityProviderConfiguration": lambda w: {},
    "DeleteImpersonationRole": lambda w: {"ImpersonationRoleId": MISSING_NAME},
    "DeleteMailboxPermissions": lambda w: {"EntityId": w.user, "GranteeId": w.other},
    "DeleteMobileDeviceAccessOverride": lambda w: {"UserId": w.user, "DeviceId": "device1"},
    "DeleteMobileDeviceAccessRule": lambda w: {"MobileDeviceAccessRuleId": MISSING_NAME},
    "DeleteOrganization": lambda w: {"DeleteDirectory": False},
    "DeletePersonalAccessToken": lambda w: {"PersonalAccessTokenId": MISSING_NAME},
    "DeleteResource": lambda w: {"ResourceId": w.resource},
    "DeleteRetentionPolicy": lambda w: {"Id": MISSING_NAME},
    "DeleteUser": lambda w: {"UserId": w.user},
    "DeregisterFromWorkMail": lambda w: {"EntityId": w.user},
    "DeregisterMailDomain": lambda w: {"DomainName": w.domain},
    "DescribeEmailMonitoringConfiguration": lambda w: {},
    "DescribeEntity": lambda w: {"Email": w.user_email},
    "DescribeGroup": lambda w: {"GroupId": w.group},
    "DescribeIdentityProviderConfiguration": lambda w: {},
    "DescribeInboundDmarcSettings": lambda w: {},
    "DescribeMailboxExportJob": lambda w: {"JobId": w.job},
    "DescribeOrganization": lambda w: {},
    "DescribeResource": lambda w: {"ResourceId": w.resource},
    "DescribeUser": lambda w: {"UserId": w.user},
    "DisassociateDelegateFromResource": lambda w: {"ResourceId": w.resource, "EntityId": w.user},
    "DisassociateMemberFromGroup": lambda w: {"GroupId": w.group, "MemberId": w.user},
    "GetAccessControlEffect": lambda w: {"IpAddress": "192.0.2.1", "Action": "IMAP", "UserId": w.user},
    "GetDefaultRetentionPolicy": lambda w: {},
    "GetImpersonationRole": lambda w: {"ImpersonationRoleId": w.role},
    "GetImpersonationRoleEffect": lambda w: {"ImpersonationRoleId": w.role, "TargetUser": w.user},
    "GetMailDomain": lambda w: {"DomainName": w.domain},
    "GetMailboxDetails": lambda w: {"UserId": w.user},
    "GetMobileDeviceAccessEffect": lambda w: {},
    "GetMobileDeviceAccessOverride": lambda w: {"UserId": w.user, "DeviceId": "device1"},
    "GetPersonalAccessTokenMetadata": lambda w: {"PersonalAccessTokenId": MISSING_NAME},
    "ListAccessControlRules": lambda w: {},
    "ListAliases": lambda w: {"EntityId": w.user},
    "ListAvailabilityConfigurations": lambda w: {},
    "ListGroupMembers": lambda w: {"GroupId": w.group},
    "ListGroups": lambda w: {},
    "ListGroupsForEntity": lambda w: {"EntityId": w.user},
    "ListImpersonationRoles": lambda w: {},
    "ListMailDomains": lambda w: {},
    "ListMailboxExportJobs": lambda w: {},
    "ListMailboxPermissions": lambda w: {"EntityId": w.user},
    "ListMobileDeviceAccessOverrides": lambda w: {"UserId": w.user},
    "ListMobileDeviceAccessRules": lambda w: {},
    "ListPersonalAccessTokens": lambda w: {"UserId": w.user},
    "ListResourceDelegates": lambda w: {"ResourceId": w.resource},
    "ListResources": lambda w: {},
    "ListUsers": lambda w: {},
    "PutAccessControlRule": lambda w: {"Name": "rule", "Effect": "ALLOW", "Description": "A rule"},
    "PutEmailMonitoringConfiguration": lambda w: {
        "LogGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:workmail-events:*"},
    "PutIdentityProviderConfiguration": lambda w: _identity_provider(MISSING_APPLICATION),
    "PutInboundDmarcSettings": lambda w: {"Enforced": True},
    "PutMailboxPermissions": lambda w: {"EntityId": w.user, "GranteeId": w.other, "PermissionValues": ["SEND_AS"]},
    "PutMobileDeviceAccessOverride": lambda w: {"UserId": w.user, "DeviceId": "device1", "Effect": "ALLOW"},
    "PutRetentionPolicy": lambda w: {"Name": "policy", "FolderConfigurations": [{"Name": "INBOX", "Action": "NONE"}]},
    "RegisterMailDomain": lambda w: {"DomainName": f"{unique('r')}.example.com"},
    "RegisterToWorkMail": lambda w: {"EntityId": w.disabled, "Email": f"{unique('x')}@{w.domain}"},
    "ResetPassword": lambda w: {"UserId": w.user, "Password": GOOD_PASSWORD},
    "StartMailboxExportJob": lambda w: {"EntityId": w.user, "RoleArn": EXPORT_ROLE, "KmsKeyArn": KMS_KEY,
                                        "S3BucketName": w.bucket, "S3Prefix": "exports/"},
    "TestAvailabilityConfiguration": lambda w: {"DomainName": EXTERNAL_DOMAIN},
    "UpdateAvailabilityConfiguration": lambda w: {"DomainName": EXTERNAL_DOMAIN,
                                                  "LambdaProvider": {"LambdaArn": LAMBDA}},
    "UpdateDefaultMailDomain": lambda w: {"DomainName": w.domain},
    "UpdateGroup": lambda w: {"GroupId": w.group},
    "UpdateImpersonationRole": lambda w: {"ImpersonationRoleId": w.role, "Name": "role", "Type": "READ_ONLY",
                                          "Rules": []},
    "UpdateMailboxQuota": lambda w: {"UserId": w.user, "MailboxQuota": 100},
    "UpdateMobileDeviceAccessRule": lambda w: {"MobileDeviceAccessRuleId": MISSING_NAME, "Name": "rule",
                                               "Effect": "ALLOW"},
    "UpdatePrimaryEmailAddress": lambda w: {"EntityId": w.user, "Email": w.user_email},
    "UpdateResource": lambda w: {"ResourceId": w.resource},
    "UpdateUser": lambda w: {"UserId": w.user},
}


def _identity_provider(application: str, instance: str = INSTANCE_ARN) -> dict[str, Any]:
    return {
        "AuthenticationMode": "IDENTITY_PROVIDER_AND_DIRECTORY",
        "IdentityCenterConfiguration": {"InstanceArn": instance, "ApplicationArn": application},
        "PersonalAccessTokenConfiguration": {"Status": "INACTIVE"},
    }


# What the emulator can't produce, and why (docs/emulator.md says the same) -------------------

NO_RESTRICTION = (
    "the request has no member whose value can break a restriction other than the model's "
    "constraints, which the service answers with ValidationException"
)
UNREACHABLE: dict[tuple[str, str], str] = {
    **{(operation, "InvalidParameterException"): NO_RESTRICTION for operation in (
        "AssumeImpersonationRole", "CreateAlias", "CreateGroup", "CreateResource",
        "DeleteEmailMonitoringConfiguration", "DeleteGroup", "DeleteIdentityCenterApplication",
        "DeleteIdentityProviderConfiguration", "DeleteImpersonationRole", "DeleteMailboxPermissions",
        "DeleteMobileDeviceAccessOverride", "DeleteMobileDeviceAccessRule", "DeletePersonalAccessToken",
        "DeleteResource", "DeleteRetentionPolicy", "DeleteUser", "DeregisterFromWorkMail",
        "DescribeEmailMonitoringConfiguration", "DescribeEntity", "DescribeGroup",
        "DescribeIdentityProviderConfiguration", "DescribeMailboxExportJob", "DescribeOrganization",
        "DescribeResource", "DescribeUser", "DisassociateMemberFromGroup", "GetDefaultRetentionPolicy",
        "GetImpersonationRole", "GetImpersonationRoleEffect", "GetMailDomain", "GetMailboxDetails",
        "GetMobileDeviceAccessEffect", "GetMobileDeviceAccessOverride", "GetPersonalAccessTokenMetadata",
        "ListMobileDeviceAccessRules", "PutMobileDeviceAccessOverride", "RegisterToWorkMail",
        "ResetPassword", "UpdateDefaultMailDomain", "UpdateGroup",
    )},
    ("ListGroups", "EntityNotFoundException"): "the request names no user, group or resource",
    **{("UpdateResource", code): "UpdateResource takes no email address, so none can be in use, in an "
       "unknown domain or in an unverified one"
       for code in ("EmailAddressInUseException", "MailDomainNotFoundException", "MailDomainStateException")},
    ("RegisterToWorkMail", "UnsupportedOperationException"): (
        "needs a resource synchronized from Microsoft Exchange into an organization in interoperability "
        "mode; the emulator's stand-in directories hold no users, groups or resources of their own"
    ),
    ("DeregisterMailDomain", "InvalidCustomSesConfigurationException"): (
        "needs customized Amazon SES receipt rules for the domain; the emulator doesn't model SES"
    ),
    ("PutEmailMonitoringConfiguration", "ResourceNotFoundException"): (
        "needs CloudWatch Logs and IAM to tell that the log group or the role doesn't exist; the "
        "emulator doesn't model them"
    ),
    ("CreateAvailabilityConfiguration", "LimitExceededException"): (
        "neither the Guide nor the API documents a quota of availability configurations"
    ),
    ("PutRetentionPolicy", "LimitExceededException"): (
        "an organization has one retention policy, which a put without an Id replaces; no quota is documented"
    ),
    ("UpdateImpersonationRole", "LimitExceededException"): (
        "an update adds no role, and the rules of a role are bounded by the model (ValidationException)"
    ),
}


# Generic rows -----------------------------------------------------------------------

# The member naming the entity an operation is about, first match wins; its kind decides
# which missing or deleted entity stands in.
ENTITY_MEMBERS = {
    "UserId": "user", "GroupId": "group", "ResourceId": "resource", "EntityId": "user", "MemberId": "user",
    "GranteeId": "user", "TargetUser": "user",
}
# Resource reads are unsupported only where resources live in Exchange (interoperability mode);
# every other UnsupportedOperationException is a write to a read-only (AD Connector) directory.
RESOURCE_READS = ("DescribeResource", "ListResources", "ListResourceDelegates")


def _entity_member(operation: str) -> tuple[str, str] | None:
    members = MODEL.operation_model(operation).input_shape.members
    return next(((name, kind) for name, kind in ENTITY_MEMBERS.items() if name in members), None)


def _missing(kind: str) -> str:
    return MISSING_RESOURCE if kind == "resource" else MISSING_ID


def _deleted(w: World, kind: str) -> str:
    return {"user": w.deleted_user, "group": w.deleted_group, "resource": w.deleted_resource}[kind]


def _in_org(operation: str, org: Callable[[World], str]) -> Scenario:
    return lambda w: {**BASE[operation](w), "OrganizationId": org(w)}


def _with(operation: str, member: str, value: Callable[[World], Any]) -> Scenario:
    return lambda w: {**BASE[operation](w), "OrganizationId": w.org, member: value(w)}


def _generic_rows() -> dict[tuple[str, str], Scenario]:
    rows: dict[tuple[str, str], Scenario] = {}

    def add(operation: str, code: str, scenario: Scenario) -> None:
        if (operation, code) in DOCUMENTED and (operation, code) not in UNREACHABLE:
            rows[(operation, code)] = scenario

    for operation in MODEL.operation_names:
        members = MODEL.operation_model(operation).input_shape.members
        if "OrganizationId" not in members:
            continue
        add(operation, "OrganizationNotFoundException", _in_org(operation, lambda w: MISSING_ORG))
        add(operation, "OrganizationStateException",
            lambda w, op=operation: Call({**BASE[op](w), "OrganizationId": w.pending_org}, w.pending_client))
        entity = _entity_member(operation)
        if entity is not None:
            member, kind = entity
            add(operation, "EntityNotFoundException", _with(operation, member, lambda w, k=kind: _missing(k)))
            add(operation, "EntityStateException", _with(operation, member, lambda w, k=kind: _deleted(w, k)))
        if "NextToken" in members:
            add(operation, "InvalidParameterException", _with(operation, "NextToken", lambda w: "not-a-token"))
        unsupported_in = (lambda w: w.interop_org) if operation in RESOURCE_READS else (lambda w: w.read_only_org)
        add(operation, "UnsupportedOperationException", _in_org(operation, unsupported_in))
        add(operation, "DirectoryUnavailableException", _in_org(operation, lambda w: w.unavailable_org))
        add(operation, "DirectoryServiceAuthenticationFailedException",
            _in_org(operation, lambda w: w.unauthenticated_org))
    rows[("ListOrganizations", "InvalidParameterException")] = lambda w: {"NextToken": "not-a-token"}
    return rows


# Rows written by hand ------------------------------------------------------------------


def _in(w: World, **params: Any) -> dict[str, Any]:
    return {"OrganizationId": w.org, **params}


def _fill(limit: int, count: Callable[[], int], add: Callable[[int], Any]) -> None:
    """Add items until there are ``limit``."""
    for number in range(count(), limit):
        add(number)


def _too_many_aliases(w: World) -> Request:
    return _in(w, EntityId=w.full_of_aliases(), Alias=f"{unique('extra')}@{w.domain}")


def _primary_cannot_become_alias(w: World) -> Request:
    return _in(w, EntityId=w.full_of_aliases(), Email=f"{unique('primary')}@{w.domain}")


def _directory_in_use(w: World) -> Request:
    alias = unique("inuse")
    directory = w.control.command("create-directory", Alias=alias, Type="SimpleAD")["DirectoryId"]
    w.new_org(Alias=alias, DirectoryId=directory)
    return {"Alias": alias, "DirectoryId": directory}


def _directory_in_another_region(w: World) -> Request:
    alias = unique("far")
    directory = w.control.command("create-directory", Alias=alias, Type="SimpleAD",
                                  Region=OTHER_REGION)["DirectoryId"]
    return {"Alias": alias, "DirectoryId": directory}


def _too_many_organizations(w: World) -> Request:
    client = make_client(w.url, region=QUOTA_REGION)
    live = [o for page in client.get_paginator("list_organizations").paginate()
            for o in page["OrganizationSummaries"] if o["State"] != "Deleted"]
    _fill(100, lambda: len(live), lambda _: w.new_org(client))
    return Call({"Alias": unique("over")}, client)


def _organization_with_enabled_user(w: World) -> Request:
    org = w.new_org()
    alias = w.client.describe_organization(OrganizationId=org)["Alias"]
    user = w.client.create_user(OrganizationId=org, Name="enabled", DisplayName="E",
                                Password=GOOD_PASSWORD)["UserId"]
    w.client.register_to_work_mail(OrganizationId=org, EntityId=user, Email=f"enabled@{alias.lower()}.awsapps.com")
    return {"OrganizationId": org, "DeleteDirectory": False}


def _application(w: World, **params: Any) -> str:
    return str(w.client.create_identity_center_application(
        Name=unique("workmail-"), InstanceArn=INSTANCE_ARN, **params)["ApplicationArn"])


def _application_in_use(w: World) -> Request:
    application = _application(w)
    org = w.new_org()
    w.client.put_identity_provider_configuration(OrganizationId=org, **_identity_provider(application))
    return {"ApplicationArn": application}


def _reused_client_token(w: World) -> Request:
    token = unique("token-")
    _application(w, ClientToken=token)
    return {"Name": unique("other-"), "InstanceArn": INSTANCE_ARN, "ClientToken": token}


def _last_delegate(w: World) -> Request:
    resource = w.client.create_resource(OrganizationId=w.org, Name=unique("room"), Type="ROOM")["ResourceId"]
    w.client.associate_delegate_to_resource(OrganizationId=w.org, ResourceId=resource, EntityId=w.user)
    w.client.update_resource(OrganizationId=w.org, ResourceId=resource,
                             BookingOptions={"AutoAcceptRequests": False})
    return _in(w, ResourceId=resource, EntityId=w.user)


def _too_many_roles(w: World) -> Request:
    org = w.new_org()
    _fill(20, lambda: 0, lambda n: w.client.create_impersonation_role(
        OrganizationId=org, Name=f"role{n}", Type="READ_ONLY", Rules=[]))
    return {"OrganizationId": org, "Name": "one-too-many", "Type": "READ_ONLY", "Rules": []}


def _too_many_mobile_rules(w: World) -> Request:
    org = w.new_org()
    rules = lambda: len(w.client.list_mobile_device_access_rules(OrganizationId=org)["Rules"])  # noqa: E731
    _fill(10, rules, lambda n: w.client.create_mobile_device_access_rule(
        OrganizationId=org, Name=f"rule{n}", Effect="ALLOW"))
    return {"OrganizationId": org, "Name": "one-too-many", "Effect": "DENY"}


def _too_many_access_rules(w: World) -> Request:
    org = w.new_org()
    rules = lambda: len(w.client.list_access_control_rules(OrganizationId=org)["Rules"])  # noqa: E731
    _fill(10, rules, lambda n: w.client.put_access_control_rule(
        OrganizationId=org, Name=f"rule{n}", Effect="ALLOW", Description="d"))
    return {"OrganizationId": org, "Name": "one-too-many", "Effect": "DENY", "Description": "d"}


def _too_many_domains(w: World) -> Request:
    org = w.new_org()
    _fill(1000, lambda: 0, lambda n: w.client.register_mail_domain(
        OrganizationId=org, DomainName=f"d{n}.{org}.example.com"))
    return {"OrganizationId": org, "DomainName": f"one-too-many.{org}.example.com"}


def _too_many_tags(w: World) -> Request:
    org = w.new_org()
    w.client.tag_resource(ResourceARN=w.arn(org), Tags=[{"Key": f"k{n}", "Value": "v"} for n in range(50)])
    return {"ResourceARN": w.arn(org), "Tags": [{"Key": "one-too-many", "Value": "v"}]}


def _exported_twice(w: World) -> Request:
    user, _ = w.new_user()
    _export(w, user)
    return {**BASE["StartMailboxExportJob"](w), "OrganizationId": w.org, "EntityId": user}


def _availability(w: World) -> str:
    domain = f"{unique('cal')}.example.com"
    w.client.create_availability_configuration(OrganizationId=w.org, DomainName=domain,
                                               LambdaProvider={"LambdaArn": LAMBDA})
    return domain


def _both_providers(domain: str) -> dict[str, Any]:
    return {
        "DomainName": domain, "LambdaProvider": {"LambdaArn": LAMBDA},
        "EwsProvider": {"EwsEndpoint": "https://ews.example.com/EWS/Exchange.asmx", "EwsUsername": "svc",
                        "EwsPassword": "Secret-1"},
    }


def _mobile_rule(w: World) -> str:
    return str(w.client.create_mobile_device_access_rule(
        OrganizationId=w.org, Name=unique("rule"), Effect="ALLOW")["MobileDeviceAccessRuleId"])


def _rules(*targets: str, same_id: bool = False) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [{"ImpersonationRuleId": "rule-1", "Effect": "ALLOW", "TargetUsers": list(targets)}]
    if same_id:
        rules.append({"ImpersonationRuleId": "rule-1", "Effect": "DENY"})
    return rules


def _role(w: World, rules: list[dict[str, Any]], role: str = "") -> dict[str, Any]:
    params = _in(w, Name=unique("role"), Type="READ_ONLY", Rules=rules)
    return {**params, "ImpersonationRoleId": role} if role else params


SPECIFIC: dict[tuple[str, str], Scenario] = {
    # Users, groups and resources
    ("AssociateDelegateToResource", "InvalidParameterException"):
        lambda w: _in(w, ResourceId=w.resource, EntityId=w.resource),
    ("AssociateMemberToGroup", "InvalidParameterException"): lambda w: _in(w, GroupId=w.group, MemberId=w.group),
    ("CreateAlias", "EmailAddressInUseException"): lambda w: _in(w, EntityId=w.user, Alias=w.other_email),
    ("CreateAlias", "LimitExceededException"): _too_many_aliases,
    ("CreateAlias", "MailDomainNotFoundException"):
        lambda w: _in(w, EntityId=w.user, Alias=f"{unique('a')}@nowhere.example.com"),
    ("CreateAlias", "MailDomainStateException"):
        lambda w: _in(w, EntityId=w.user, Alias=f"{unique('a')}@{w.pending_domain}"),
    ("CreateGroup", "NameAvailabilityException"): lambda w: _in(w, Name=w.group_name),
    ("CreateGroup", "ReservedNameException"): lambda w: _in(w, Name=JOURNALING_NAME),
    ("CreateResource", "NameAvailabilityException"): lambda w: _in(w, Name=w.group_name, Type="ROOM"),
    ("CreateResource", "ReservedNameException"): lambda w: _in(w, Name=JOURNALING_NAME, Type="ROOM"),
    ("CreateUser", "InvalidParameterException"): lambda w: {**_in(w, **BASE["CreateUser"](w)), "Role": "SYSTEM_USER"},
    ("CreateUser", "InvalidPasswordException"): lambda w: {**_in(w, **BASE["CreateUser"](w)), "Password": "short"},
    ("CreateUser", "NameAvailabilityException"): lambda w: _in(w, Name=w.group_name, DisplayName="G"),
    ("CreateUser", "ReservedNameException"): lambda w: _in(w, Name=JOURNALING_NAME, DisplayName="J"),
    ("DeleteAlias", "InvalidParameterException"): lambda w: _in(w, EntityId=w.user, Alias=w.user_email),
    ("DeleteGroup", "EntityStateException"): lambda w: _in(w, GroupId=w.group),
    ("DeleteResource", "EntityStateException"): lambda w: _in(w, ResourceId=w.resource),
    ("DeleteUser", "EntityStateException"): lambda w: _in(w, UserId=w.user),
    ("DescribeEntity", "EntityNotFoundException"): lambda w: _in(w, Email=f"nobody@{w.domain}"),
    ("DisassociateDelegateFromResource", "InvalidParameterException"): _last_delegate,
    ("ListGroups", "InvalidParameterException"):
        lambda w: _in(w, Filters={"NamePrefix": "g", "State": "ENABLED"}),
    ("ListResources", "InvalidParameterException"):
        lambda w: _in(w, Filters={"NamePrefix": "r", "PrimaryEmailPrefix": "r"}),
    ("ListUsers", "InvalidParameterException"):
        lambda w: _in(w, Filters={"UsernamePrefix": "u", "DisplayNamePrefix": "U"}),
    ("RegisterToWorkMail", "EmailAddressInUseException"): lambda w: _in(w, EntityId=w.disabled, Email=w.user_email),
    ("RegisterToWorkMail", "EntityAlreadyRegisteredException"):
        lambda w: _in(w, EntityId=w.user, Email=f"{unique('x')}@{w.domain}"),
    ("RegisterToWorkMail", "MailDomainNotFoundException"):
        lambda w: _in(w, EntityId=w.disabled, Email="x@nowhere.example.com"),
    ("RegisterToWorkMail", "MailDomainStateException"):
        lambda w: _in(w, EntityId=w.disabled, Email=f"x@{w.pending_domain}"),
    ("ResetPassword", "InvalidPasswordException"): lambda w: _in(w, UserId=w.user, Password="short"),
    ("UpdateMailboxQuota", "InvalidParameterException"): lambda w: _in(w, UserId=w.user, MailboxQuota=51201),
    ("UpdatePrimaryEmailAddress", "EmailAddressInUseException"):
        lambda w: _in(w, EntityId=w.user, Email=w.other_email),
    ("UpdatePrimaryEmailAddress", "InvalidParameterException"): _primary_cannot_become_alias,
    ("UpdatePrimaryEmailAddress", "MailDomainNotFoundException"):
        lambda w: _in(w, EntityId=w.user, Email="x@nowhere.example.com"),
    ("UpdatePrimaryEmailAddress", "MailDomainStateException"):
        lambda w: _in(w, EntityId=w.user, Email=f"x@{w.pending_domain}"),
    ("UpdateResource", "InvalidConfigurationException"):
        lambda w: _in(w, ResourceId=w.resource, BookingOptions={"AutoAcceptRequests": False}),
    ("UpdateResource", "InvalidParameterException"): lambda w: _in(w, ResourceId=w.resource, Name=JOURNALING_NAME),
    ("UpdateResource", "NameAvailabilityException"): lambda w: _in(w, ResourceId=w.resource, Name=w.group_name),
    ("UpdateUser", "InvalidParameterException"): lambda w: _in(w, UserId=w.user, Role="SYSTEM_USER"),
    # Organizations
    ("CreateOrganization", "DirectoryInUseException"): _directory_in_use,
    ("CreateOrganization", "DirectoryUnavailableException"): _directory_in_another_region,
    ("CreateOrganization", "InvalidParameterException"):
        lambda w: {"Alias": unique("interop"), "EnableInteroperability": True},
    ("CreateOrganization", "LimitExceededException"): _too_many_organizations,
    ("CreateOrganization", "NameAvailabilityException"): lambda w: {"Alias": w.alias},
    ("DeleteOrganization", "InvalidParameterException"): _organization_with_enabled_user,
    # Domains
    ("DeregisterMailDomain", "InvalidParameterException"):
        lambda w: _in(w, DomainName=f"{w.alias.lower()}.awsapps.com"),
    ("DeregisterMailDomain", "MailDomainInUseException"): lambda w: _in(w, DomainName=w.domain),
    ("GetMailDomain", "MailDomainNotFoundException"): lambda w: _in(w, DomainName="nowhere.example.com"),
    ("RegisterMailDomain", "InvalidParameterException"): lambda w: _in(w, DomainName="someone.awsapps.com"),
    ("RegisterMailDomain", "LimitExceededException"): _too_many_domains,
    ("RegisterMailDomain", "MailDomainInUseException"): lambda w: _in(w, DomainName=w.domain),
    ("UpdateDefaultMailDomain", "MailDomainNotFoundException"): lambda w: _in(w, DomainName="nowhere.example.com"),
    ("UpdateDefaultMailDomain", "MailDomainStateException"): lambda w: _in(w, DomainName=w.pending_domain),
    # Access control, mobile devices, impersonation
    ("AssumeImpersonationRole", "ResourceNotFoundException"): lambda w: _in(w, ImpersonationRoleId=MISSING_NAME),
    ("CreateImpersonationRole", "EntityNotFoundException"): lambda w: _role(w, _rules(MISSING_ID)),
    ("CreateImpersonationRole", "EntityStateException"): lambda w: _role(w, _rules(w.deleted_user)),
    ("CreateImpersonationRole", "InvalidParameterException"): lambda w: _role(w, _rules(w.user, same_id=True)),
    ("CreateImpersonationRole", "LimitExceededException"): _too_many_roles,
    ("CreateMobileDeviceAccessRule", "InvalidParameterException"):
        lambda w: _in(w, Name="none", Effect="DENY", NotDeviceTypes=["$NONE"]),
    ("CreateMobileDeviceAccessRule", "LimitExceededException"): _too_many_mobile_rules,
    ("GetAccessControlEffect", "InvalidParameterException"):
        lambda w: _in(w, IpAddress="192.0.2.1", Action="IMAP", ImpersonationRoleId=w.role),
    ("GetAccessControlEffect", "ResourceNotFoundException"):
        lambda w: _in(w, IpAddress="192.0.2.1", Action="EWS", ImpersonationRoleId=MISSING_NAME),
    ("GetImpersonationRole", "ResourceNotFoundException"): lambda w: _in(w, ImpersonationRoleId=MISSING_NAME),
    ("GetImpersonationRoleEffect", "ResourceNotFoundException"):
        lambda w: _in(w, ImpersonationRoleId=MISSING_NAME, TargetUser=w.user),
    ("GetMobileDeviceAccessOverride", "ResourceNotFoundException"):
        lambda w: _in(w, UserId=w.user, DeviceId="nodevice"),
    ("PutAccessControlRule", "EntityNotFoundException"):
        lambda w: {**_in(w, **BASE["PutAccessControlRule"](w)), "UserIds": [MISSING_ID]},
    ("PutAccessControlRule", "InvalidParameterException"):
        lambda w: {**_in(w, **BASE["PutAccessControlRule"](w)), "Actions": ["Telnet"]},
    ("PutAccessControlRule", "LimitExceededException"): _too_many_access_rules,
    ("PutAccessControlRule", "ResourceNotFoundException"):
        lambda w: {**_in(w, **BASE["PutAccessControlRule"](w)), "ImpersonationRoleIds": [MISSING_NAME]},
    ("UpdateImpersonationRole", "EntityNotFoundException"): lambda w: _role(w, _rules(MISSING_ID), w.role),
    ("UpdateImpersonationRole", "EntityStateException"): lambda w: _role(w, _rules(w.deleted_user), w.role),
    ("UpdateImpersonationRole", "InvalidParameterException"):
        lambda w: _role(w, _rules(w.user, same_id=True), w.role),
    ("UpdateImpersonationRole", "ResourceNotFoundException"): lambda w: _role(w, [], MISSING_NAME),
    ("UpdateMobileDeviceAccessRule", "EntityNotFoundException"):
        lambda w: _in(w, **BASE["UpdateMobileDeviceAccessRule"](w)),
    ("UpdateMobileDeviceAccessRule", "InvalidParameterException"):
        lambda w: _in(w, MobileDeviceAccessRuleId=_mobile_rule(w), Name="none", Effect="DENY",
                      NotDeviceModels=["$NONE"]),
    # Mailboxes
    ("CancelMailboxExportJob", "EntityNotFoundException"): lambda w: _in(w, JobId=MISSING_JOB),
    ("CancelMailboxExportJob", "InvalidParameterException"): lambda w: _in(w, JobId=w.job),
    ("DescribeMailboxExportJob", "EntityNotFoundException"): lambda w: _in(w, JobId=MISSING_JOB),
    ("PutMailboxPermissions", "InvalidParameterException"):
        lambda w: _in(w, EntityId=w.user, GranteeId=w.user, PermissionValues=["SEND_AS"]),
    ("StartMailboxExportJob", "InvalidParameterException"):
        lambda w: {**_in(w, **BASE["StartMailboxExportJob"](w)), "KmsKeyArn": KMS_KEY.replace(REGION, OTHER_REGION)},
    ("StartMailboxExportJob", "LimitExceededException"): _exported_twice,
    # Settings
    ("CreateAvailabilityConfiguration", "InvalidParameterException"):
        lambda w: _in(w, **_both_providers(f"{unique('cal')}.example.com")),
    ("CreateAvailabilityConfiguration", "NameAvailabilityException"):
        lambda w: _in(w, DomainName=_availability(w), LambdaProvider={"LambdaArn": LAMBDA}),
    ("CreateIdentityCenterApplication", "InvalidParameterException"): _reused_client_token,
    ("DeleteIdentityCenterApplication", "OrganizationStateException"): _application_in_use,
    ("DescribeEmailMonitoringConfiguration", "ResourceNotFoundException"): lambda w: _in(w),
    ("DescribeIdentityProviderConfiguration", "ResourceNotFoundException"): lambda w: _in(w),
    ("GetDefaultRetentionPolicy", "EntityNotFoundException"): lambda w: _in(w),
    ("GetPersonalAccessTokenMetadata", "ResourceNotFoundException"):
        lambda w: _in(w, PersonalAccessTokenId=MISSING_NAME),
    ("ListTagsForResource", "ResourceNotFoundException"): lambda w: {"ResourceARN": w.arn(MISSING_ORG)},
    ("PutEmailMonitoringConfiguration", "InvalidParameterException"): lambda w: _in(
        w, LogGroupArn=f"arn:aws:logs:{OTHER_REGION}:{ACCOUNT}:log-group:workmail-events:*"),
    ("PutIdentityProviderConfiguration", "InvalidParameterException"):
        lambda w: _in(w, **_identity_provider(_application(w), instance=OTHER_INSTANCE_ARN)),
    ("PutIdentityProviderConfiguration", "ResourceNotFoundException"):
        lambda w: _in(w, **_identity_provider(MISSING_APPLICATION)),
    ("PutRetentionPolicy", "InvalidParameterException"):
        lambda w: {**_in(w, **BASE["PutRetentionPolicy"](w)), "Id": MISSING_NAME},
    ("TagResource", "InvalidParameterException"):
        lambda w: {"ResourceARN": w.arn(w.org), "Tags": [{"Key": "aws:reserved", "Value": "v"}]},
    ("TagResource", "OrganizationStateException"): lambda w: Call(
        {"ResourceARN": w.arn(w.pending_org, PENDING_REGION), "Tags": [{"Key": "k", "Value": "v"}]},
        w.pending_client),
    ("TagResource", "ResourceNotFoundException"):
        lambda w: {"ResourceARN": w.arn(MISSING_ORG), "Tags": [{"Key": "k", "Value": "v"}]},
    ("TagResource", "TooManyTagsException"): _too_many_tags,
    ("TestAvailabilityConfiguration", "InvalidParameterException"): lambda w: _in(w),
    ("TestAvailabilityConfiguration", "ResourceNotFoundException"): lambda w: _in(w, DomainName=EXTERNAL_DOMAIN),
    ("UntagResource", "ResourceNotFoundException"): lambda w: {"ResourceARN": w.arn(MISSING_ORG), "TagKeys": ["k"]},
    ("UpdateAvailabilityConfiguration", "InvalidParameterException"):
        lambda w: _in(w, **_both_providers(_availability(w))),
    ("UpdateAvailabilityConfiguration", "ResourceNotFoundException"):
        lambda w: _in(w, **BASE["UpdateAvailabilityConfiguration"](w)),
}

TRIGGERED: dict[tuple[str, str], Scenario] = {**_generic_rows(), **SPECIFIC}


# Tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("operation", "code"), sorted(TRIGGERED), ids=[f"{o}-{c}" for o, c in sorted(TRIGGERED)])
def test_documented_error_is_returned(world: World, operation: str, code: str) -> None:
    request = TRIGGERED[(operation, code)](world)
    client, params = (request.client, request.params) if isinstance(request, Call) else (world.client, request)
    with pytest.raises(ClientError) as exc:
        getattr(client, xform_name(operation))(**params)
    assert error_code(exc) == code, exc.value.response["Error"]
    # Callers see the service's wording, never where the emulator found the rule.
    assert not re.search(r"\bseed\b|\bL\d{3,}", exc.value.response["Error"]["Message"])


def test_every_documented_error_is_accounted_for() -> None:
    unaccounted = sorted(DOCUMENTED - TRIGGERED.keys() - UNREACHABLE.keys())
    assert not unaccounted, "documented errors with no scenario and no reason:\n" + "\n".join(map(str, unaccounted))
    assert not TRIGGERED.keys() & UNREACHABLE.keys()
    undocumented = sorted((TRIGGERED.keys() | UNREACHABLE.keys()) - DOCUMENTED)
    assert not undocumented, f"rows for errors the model doesn't document: {undocumented}"
    assert all(reason.strip() for reason in UNREACHABLE.values())


def test_the_documentation_lists_what_is_unreachable() -> None:
    text = (Path(__file__).parent.parent / "docs" / "emulator.md").read_text(encoding="utf-8")
    heading = "## Documented errors the emulator does not return"
    assert heading in text
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    missing = sorted({f"{o} {c}" for o, c in UNREACHABLE if o not in section or c not in section})
    assert not missing, f"docs/emulator.md does not list: {missing}"
