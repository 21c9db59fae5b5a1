"""Spec validation: every problem WorkMail would refuse, found before any API call, with a
path naming the object and the field."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.model import ListShape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workmail_constructs.core import spec as spec_module
from workmail_constructs.core.kinds.access_rule import access_actions
from workmail_constructs.core.model_checks import MODEL_FIELDS, NOT_SENT, api_shape, label
from workmail_constructs.core.problems import Problem
from workmail_constructs.core.spec import (
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
    SecretRef,
    UserSpec,
    WorkMailSpec,
)
from workmail_constructs.core.validate import SpecValidationError, check, validate
from workmail_constructs.local import Emulator
from workmail_constructs.local.errors import ServiceError

ACCOUNT = "111122223333"
MISSING_ORG = "m-" + "0" * 32


def valid_spec() -> WorkMailSpec:
    """A spec using every part of the document, all of it valid."""
    return WorkMailSpec(
        organization=OrganizationSpec(
            alias="acme",
            kms_key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            tags={"team": "mail", "cost-center": "42"},
        ),
        domains=[DomainSpec("acme.example", default=True, hosted_zone_id="Z0123456789ABC"), DomainSpec("acme.test")],
        users=[
            UserSpec(name="alice", display_name="Alice Liddell", email="alice@acme.example",
                     aliases=["a@acme.example", "Alice@acme.test"], first_name="Alice", last_name="Liddell",
                     job_title="Engineer", office="B2", mailbox_quota_mb=51200,
                     identity_provider_user_id="12345678-1234-1234-1234-123456789012",
                     password=SecretRef("arn:aws:secretsmanager:us-east-1:1:secret:pw", "v1")),
            UserSpec(name="bob", display_name="Bob", email="bob@acme.example", mailbox_quota_mb=1),
            # The organization's test domain is always there (Administrator Guide, "Amazon WorkMail concepts").
            UserSpec(name="carol", display_name="Carol", email="carol@acme.awsapps.com", role="REMOTE_USER"),
            UserSpec(name="dave", display_name="Dave", enabled=False),
            UserSpec(name="erin", display_name="Erin", enabled=False),
        ],
        groups=[
            GroupSpec("eng", email="eng@acme.example", members=["alice", "OPS"]),
            GroupSpec("ops", email="ops@acme.example", members=["bob"], aliases=["oncall@acme.example"]),
            GroupSpec("quiet", enabled=False, members=["dave", "eng"]),
        ],
        resources=[
            ResourceSpec("room", "ROOM", email="room@acme.example", description="Big room",
                         booking_options=BookingOptionsSpec(auto_accept_requests=False), delegates=["alice", "ops"]),
            ResourceSpec("projector", "EQUIPMENT", email="projector@acme.example"),
        ],
        mailbox_permissions=[
            MailboxPermissionSpec("room", "eng", ["SEND_AS"]),
            MailboxPermissionSpec("alice", "bob", ["FULL_ACCESS", "SEND_ON_BEHALF"]),
            MailboxPermissionSpec("eng", "alice", ["SEND_AS"]),
        ],
        access_control_rules=[
            AccessControlRuleSpec("DefaultAllowAll", "ALLOW", "Allow everyone"),
            AccessControlRuleSpec("deny-imap", "DENY", "No IMAP from outside", actions=["IMAP", "EWS"],
                                  not_ip_ranges=["10.0.0.0/8"], users=["alice"], impersonation_roles=["Audit"]),
        ],
        retention_policy=RetentionPolicySpec("keep", "Default retention", [
            FolderConfigurationSpec("DELETED_ITEMS", "PERMANENTLY_DELETE", 30),
            FolderConfigurationSpec("INBOX", "NONE"),
        ]),
        mobile_device_access_rules=[
            MobileDeviceAccessRuleSpec("block-unknown", "DENY", "Unknown devices", device_types=["android", "$NONE"],
                                       not_device_models=["Pixel"]),
        ],
        mobile_device_access_overrides=[MobileDeviceAccessOverrideSpec("alice", "ABC123", "ALLOW", "Her phone")],
        impersonation_roles=[
            ImpersonationRoleSpec("audit", "READ_ONLY", "Auditors", rules=[
                ImpersonationRuleSpec("r1", "ALLOW", name="everyone but bob", not_target_users=["bob"]),
                ImpersonationRuleSpec("r2", "DENY", name="not alice", target_users=["alice"]),
            ]),
        ],
        inbound_dmarc_enforced=True,
        email_monitoring=EmailMonitoringSpec(
            f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/workmail/acme:*",
            f"arn:aws:iam::{ACCOUNT}:role/WorkMailMonitoring",
        ),
        availability_configurations=[
            AvailabilityConfigurationSpec("partner.example", ews=EwsProviderSpec(
                "https://ews.partner.example/EWS/Exchange.asmx", "svc", SecretRef("ews"))),
            AvailabilityConfigurationSpec("other.example",
                                          lambda_arn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:availability"),
        ],
        email_flow_rules=[
            EmailFlowRuleSpec("block", "inbound", "DROP", senders=["spam.example", "*.spam.example", "x@bad.example"],
                              recipients=["*"]),
            EmailFlowRuleSpec("scan", "inbound", "RUN_LAMBDA", senders=["*"], recipients=["acme.example"],
                              lambda_arn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:scan"),
            EmailFlowRuleSpec("block", "outbound", "BOUNCE", senders=["alice@acme.example"], recipients=["*"]),
            EmailFlowRuleSpec("relay", "outbound", "ROUTE_TO_SMTP_GATEWAY", senders=["*"],
                              recipients=["partner.example"], smtp_gateway="gateway-1"),
        ],
    )


def problem_paths(spec: WorkMailSpec, **kwargs: Any) -> list[str]:
    return [p.path for p in validate(spec, **kwargs)]


def only(spec: WorkMailSpec, **kwargs: Any) -> Problem:
    problems = validate(spec, **kwargs)
    assert len(problems) == 1, problems
    return problems[0]


def user(spec: WorkMailSpec, name: str) -> UserSpec:
    return next(u for u in spec.users if u.name == name)


def group(spec: WorkMailSpec, name: str) -> GroupSpec:
    return next(g for g in spec.groups if g.name == name)


def test_valid_spec_has_no_problems() -> None:
    assert validate(valid_spec()) == []
    check(valid_spec())


def test_existing_organization_spec_with_nothing_declared_is_valid() -> None:
    assert validate(WorkMailSpec(organization=OrganizationSpec(alias="acme", organization_id="m-" + "a" * 32))) == []


# The mapping table -----------------------------------------------------------------


def spec_classes() -> Iterator[type]:
    """The public dataclasses of the spec module: what a spec document is made of."""
    for name, value in vars(spec_module).items():
        if (isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == spec_module.__name__
                and not name.startswith("_")):
            yield value


def _is_spec_object(annotation: Any) -> bool:
    """A spec object, or a list or optional of them."""
    return dataclasses.is_dataclass(annotation) or any(_is_spec_object(a) for a in typing.get_args(annotation))


def test_every_field_is_checked_against_the_model_or_said_not_to_be_sent() -> None:
    """A new spec field can't go unchecked: it is mapped to an API member, nested (and walked),
    or listed as not sent."""
    for cls in spec_classes():
        if cls is SecretRef:
            continue
        hints = typing.get_type_hints(cls)
        mapped = {sent.field for sent in MODEL_FIELDS.get(cls, ())}
        for f in dataclasses.fields(cls):
            nested = _is_spec_object(hints[f.name])
            assert f.name in mapped or f.name in NOT_SENT.get(cls, frozenset()) or nested, (cls.__name__, f.name)
            assert not (f.name in mapped and f.name in NOT_SENT.get(cls, frozenset())), (cls.__name__, f.name)


def test_every_row_names_a_member_of_the_right_kind() -> None:
    for cls, rows in MODEL_FIELDS.items():
        field_names = {f.name for f in dataclasses.fields(cls)}
        for sent in rows:
            assert sent.field in field_names, (cls.__name__, sent.field)
            shape = api_shape(sent.operation, sent.member)
            if sent.how == "count":
                assert isinstance(shape, ListShape), sent
            elif sent.how in ("each", "keys", "values"):
                assert shape.type_name in ("string", "integer", "boolean"), sent


def test_access_actions_come_from_the_model_documentation() -> None:
    assert access_actions() == ("ActiveSync", "AutoDiscover", "EWS", "IMAP", "SMTP", "WindowsOutlook", "WebMail")


# Rule family 1: the model's constraints --------------------------------------------

Mutation = Callable[[WorkMailSpec], None]


def set_attr(getter: Callable[[WorkMailSpec], Any], name: str, value: Any) -> Mutation:
    return lambda spec: setattr(getter(spec), name, value)


MODEL_CASES: list[tuple[str, Mutation, set[str], str]] = [
    ("user name pattern", set_attr(lambda s: user(s, "erin"), "name", "bad name"),
     {"users[bad name].name"}, "CreateUser.Name"),
    ("user name length", set_attr(lambda s: user(s, "erin"), "name", "d" * 65),
     {f"users[{'d' * 65}].name"}, "less than or equal to 64"),
    ("display name", set_attr(lambda s: user(s, "alice"), "display_name", "A" * 257),
     {"users[alice].display_name"}, "CreateUser.DisplayName"),
    ("update attribute", set_attr(lambda s: user(s, "alice"), "city", "C" * 257),
     {"users[alice].city"}, "UpdateUser.City"),
    ("role enum", set_attr(lambda s: user(s, "bob"), "role", "ADMIN"),
     {"users[bob].role"}, "enum value set"),
    ("identity provider id", set_attr(lambda s: user(s, "bob"), "identity_provider_user_id", "not-a-uuid"),
     {"users[bob].identity_provider_user_id"}, "CreateUser.IdentityProviderUserId"),
    ("email", set_attr(lambda s: user(s, "bob"), "email", "bob at acme.example"),
     {"users[bob].email"}, "RegisterToWorkMail.Email"),
    ("alias", set_attr(lambda s: user(s, "alice"), "aliases", ["a@acme.example", "no-at-sign"]),
     {"users[alice].aliases[1]"}, "CreateAlias.Alias"),
    ("quota minimum", set_attr(lambda s: user(s, "bob"), "mailbox_quota_mb", 0),
     {"users[bob].mailbox_quota_mb"}, "greater than or equal to 1"),
    ("organization alias", set_attr(lambda s: s.organization, "alias", "d-acme"),
     {"organization.alias", "users[carol].email"}, "CreateOrganization.Alias"),
    ("directory id", set_attr(lambda s: s.organization, "directory_id", "directory"),
     {"organization.directory_id"}, "CreateOrganization.DirectoryId"),
    ("kms key", set_attr(lambda s: s.organization, "kms_key_arn", "alias/mine"),
     {"organization.kms_key_arn"}, "CreateOrganization.KmsKeyArn"),
    ("organization id", set_attr(lambda s: s.organization, "organization_id", "m-123"),
     {"organization.organization_id"}, "OrganizationId"),
    ("tag key", set_attr(lambda s: s.organization, "tags", {"k" * 129: "v"}),
     {f"organization.tags[{'k' * 129}]"}, "TagResource.Tags.Key"),
    ("tag value", set_attr(lambda s: s.organization, "tags", {"team": "v" * 257}),
     {"organization.tags[team]"}, "TagResource.Tags.Value"),
    ("tag count", set_attr(lambda s: s.organization, "tags", {f"t{i}": "v" for i in range(51)}),
     {"organization.tags"}, "TagResource.Tags"),
    ("domain name", lambda s: s.domains.append(DomainSpec("a_b.example")),
     {"domains[a_b.example].name"}, "RegisterMailDomain.DomainName"),
    ("hosted zone", set_attr(lambda s: s.domains[0], "hosted_zone_id", "Z/1"),
     {"domains[acme.example].hosted_zone_id"}, "Domains.HostedZoneId"),
    ("group name", set_attr(lambda s: group(s, "quiet"), "name", "quiet\n"),
     {"groups[quiet\n].name"}, "CreateGroup.Name"),
    ("resource name", set_attr(lambda s: s.resources[1], "name", "projector-in-room-101"),
     {"resources[projector-in-room-101].name"}, "CreateResource.Name"),
    ("resource description", set_attr(lambda s: s.resources[0], "description", "D" * 65),
     {"resources[room].description"}, "CreateResource.Description"),
    ("permission value", set_attr(lambda s: s.mailbox_permissions[0], "permissions", ["SEND_AS", "READ"]),
     {"mailbox_permissions[room/eng].permissions[1]"}, "PutMailboxPermissions.PermissionValues"),
    ("access rule name", set_attr(lambda s: s.access_control_rules[1], "name", "deny imap"),  # type: ignore[index]
     {"access_control_rules[deny imap].name"}, "PutAccessControlRule.Name"),
    ("access rule description", set_attr(lambda s: s.access_control_rules[1], "description", ""),  # type: ignore[index]
     {"access_control_rules[deny-imap].description"}, "PutAccessControlRule.Description"),
    ("ip range", set_attr(lambda s: s.access_control_rules[1], "ip_ranges", ["10.0.0.0/33"]),  # type: ignore[index]
     {"access_control_rules[deny-imap].ip_ranges[0]"}, "PutAccessControlRule.IpRanges"),
    ("access rule user count", set_attr(lambda s: s.access_control_rules[1], "users",  # type: ignore[index]
                                        ["alice"] * 11), {"access_control_rules[deny-imap].users"}, "UserIds"),
    ("retention name", set_attr(lambda s: s.retention_policy, "name", "keep it"),
     {"retention_policy.name"}, "PutRetentionPolicy.Name"),
    ("retention period", set_attr(lambda s: s.retention_policy.folders[0], "period_days", 731),  # type: ignore[union-attr]
     {"retention_policy.folders[DELETED_ITEMS].period_days"}, "FolderConfigurations.Period"),
    ("device condition count", set_attr(lambda s: s.mobile_device_access_rules[0],  # type: ignore[index]
                                        "device_types", [f"t{i}" for i in range(11)]),
     {"mobile_device_access_rules[block-unknown].device_types"}, "DeviceTypes"),
    ("device condition value", set_attr(lambda s: s.mobile_device_access_rules[0],  # type: ignore[index]
                                        "not_device_models", ["Pixel", "x" * 257]),
     {"mobile_device_access_rules[block-unknown].not_device_models[1]"}, "NotDeviceModels"),
    ("device id", set_attr(lambda s: s.mobile_device_access_overrides[0], "device_id", "ABC-123"),
     {"mobile_device_access_overrides[alice/ABC-123].device_id"}, "PutMobileDeviceAccessOverride.DeviceId"),
    ("impersonation role description", set_attr(lambda s: s.impersonation_roles[0], "description", "<b>"),
     {"impersonation_roles[audit].description"}, "CreateImpersonationRole.Description"),
    ("impersonation rule id", set_attr(lambda s: s.impersonation_roles[0].rules[0], "rule_id", "rule one"),
     {"impersonation_roles[audit].rules[rule one].rule_id"}, "Rules.ImpersonationRuleId"),
    ("impersonation target count", set_attr(lambda s: s.impersonation_roles[0].rules[1], "target_users",
                                            ["alice"] * 11),
     {"impersonation_roles[audit].rules[r2].target_users"}, "Rules.TargetUsers"),
    ("impersonation rule count", set_attr(lambda s: s.impersonation_roles[0], "rules",
                                          [ImpersonationRuleSpec(f"r{i}", "ALLOW") for i in range(11)]),
     {"impersonation_roles[audit].rules"}, "CreateImpersonationRole.Rules"),
    ("log group", set_attr(lambda s: s.email_monitoring, "log_group_arn", "arn:aws:logs:us-east-1:1:log-group:x"),
     {"email_monitoring.log_group_arn"}, "LogGroupArn"),
    ("monitoring role", set_attr(lambda s: s.email_monitoring, "role_arn", "WorkMailMonitoring"),
     {"email_monitoring.role_arn"}, "RoleArn"),
    ("ews endpoint", set_attr(lambda s: s.availability_configurations[0].ews, "endpoint", "ftp://ews.example/"),
     {"availability_configurations[partner.example].ews.endpoint"}, "EwsProvider.EwsEndpoint"),
    ("lambda provider", set_attr(lambda s: s.availability_configurations[1], "lambda_arn", "my-function"),
     {"availability_configurations[other.example].lambda_arn"}, "LambdaProvider.LambdaArn"),
]


@pytest.mark.parametrize(("mutate", "paths", "words"), [c[1:] for c in MODEL_CASES], ids=[c[0] for c in MODEL_CASES])
def test_model_constraints(mutate: Mutation, paths: set[str], words: str) -> None:
    spec = valid_spec()
    mutate(spec)
    problems = validate(spec)
    assert {p.path for p in problems} == paths, problems
    assert words in problems[0].message, problems


def test_empty_optional_text_is_not_sent_but_empty_required_text_is() -> None:
    spec = valid_spec()
    spec.resources[0].description = ""
    spec.impersonation_roles[0].rules[0].name = ""
    user(spec, "alice").first_name = ""
    assert validate(spec) == []
    spec.access_control_rules[1].description = ""  # type: ignore[index]
    assert problem_paths(spec) == ["access_control_rules[deny-imap].description"]


def test_sensitive_values_are_not_echoed() -> None:
    spec = valid_spec()
    user(spec, "alice").display_name = "secret-ish " * 30
    (problem,) = validate(spec)
    assert "secret-ish" not in problem.message
    user(spec, "alice").display_name = "Alice"
    user(spec, "erin").name = "bad name"
    (problem,) = validate(spec)
    assert "'bad name'" in problem.message


# Rule family 2: the Guide's rules --------------------------------------------------


def test_mailbox_quota_maximum() -> None:
    spec = valid_spec()
    user(spec, "alice").mailbox_quota_mb = 51201
    problem = only(spec)
    assert problem.path == "users[alice].mailbox_quota_mb"
    assert "51200" in problem.message


def test_at_most_100_aliases() -> None:
    spec = valid_spec()
    spec.groups[1].aliases = [f"alias{i}@acme.example" for i in range(101)]
    assert problem_paths(spec) == ["groups[ops].aliases"]
    spec.groups[1].aliases = spec.groups[1].aliases[:100]
    assert validate(spec) == []


def test_at_most_1000_domains_counting_existing_ones() -> None:
    spec = valid_spec()
    spec.domains += [DomainSpec(f"d{i}.example") for i in range(998)]
    assert validate(spec) == []
    assert problem_paths(spec, existing_domains=["more.example", "acme.awsapps.com"]) == ["domains"]


def test_at_most_one_default_domain() -> None:
    spec = valid_spec()
    spec.domains[1].default = True
    problem = only(spec)
    assert problem.path == "domains[acme.test].default"
    assert "acme.example" in problem.message


def test_test_domain_cannot_be_registered() -> None:
    spec = valid_spec()
    spec.domains.append(DomainSpec("other.awsapps.com"))
    assert problem_paths(spec) == ["domains[other.awsapps.com].name"]


def test_user_name_length_outside_the_workmail_directory() -> None:
    spec = valid_spec()
    user(spec, "erin").name = "e" * 21
    assert validate(spec) == []
    assert problem_paths(spec, directory_type="SimpleAD") == [f"users[{'e' * 21}].name"]
    spec.organization.directory_id = "d-0123456789"
    assert problem_paths(spec) == [f"users[{'e' * 21}].name"], "an own directory is not the WorkMail directory"


def test_only_user_and_remote_user_roles_can_be_set() -> None:
    spec = valid_spec()
    user(spec, "bob").role = "SYSTEM_USER"  # type: ignore[assignment]
    problem = only(spec)
    assert problem.path == "users[bob].role"
    assert "REMOTE_USER" in problem.message


def test_guide_rules_agree_with_the_emulator() -> None:
    """The user-name length and the quota maximum, against the emulator's own checks."""
    emulator = Emulator()
    try:
        directory = emulator.control("create-directory", {"Alias": "simple", "Type": "SimpleAD"})["DirectoryId"]
        simple = emulator.call("CreateOrganization", {"Alias": "simple", "DirectoryId": directory})["OrganizationId"]
        native = emulator.call("CreateOrganization", {"Alias": "native"})["OrganizationId"]
        for length in (20, 21, 64):
            for org, directory_type in ((simple, "SimpleAD"), (native, "WorkMailDirectory")):
                name = "n" * length
                spec = WorkMailSpec(organization=OrganizationSpec(alias="x"),
                                    users=[UserSpec(name=name, display_name="N", enabled=False)])
                refused = bool(validate(spec, directory_type=directory_type))
                try:
                    created = emulator.call("CreateUser", {"OrganizationId": org, "Name": name, "DisplayName": "N"})
                    emulator.call("DeleteUser", {"OrganizationId": org, "UserId": created["UserId"]})
                    assert not refused, (length, directory_type)
                except ServiceError as exc:
                    assert refused and exc.code == "InvalidParameterException", (length, directory_type)
        emulator.call("RegisterMailDomain", {"OrganizationId": native, "DomainName": "native.example"})
        emulator.control("verify-domain", {"OrganizationId": native, "DomainName": "native.example"})
        user_id = emulator.call("CreateUser", {"OrganizationId": native, "Name": "q", "DisplayName": "Q"})["UserId"]
        emulator.call("RegisterToWorkMail", {"OrganizationId": native, "EntityId": user_id,
                                             "Email": "q@native.example"})
        for quota in (1, 51200, 51201):
            spec = WorkMailSpec(organization=OrganizationSpec(alias="native"),
                                domains=[DomainSpec("native.example")],
                                users=[UserSpec("q", "Q", email="q@native.example", mailbox_quota_mb=quota)])
            refused = bool(validate(spec))
            try:
                emulator.call("UpdateMailboxQuota", {"OrganizationId": native, "UserId": user_id,
                                                     "MailboxQuota": quota})
                assert not refused, quota
            except ServiceError as exc:
                assert refused and exc.code == "InvalidParameterException", quota
    finally:
        emulator.close()


# Rule family 3: references ---------------------------------------------------------


def test_group_members_must_resolve_to_users_or_groups() -> None:
    spec = valid_spec()
    group(spec, "eng").members += ["nobody", "room"]
    problems = validate(spec)
    assert [p.path for p in problems] == ["groups[eng].members[2]", "groups[eng].members[3]"]
    assert "not a declared user or group" in problems[0].message
    assert "is a resource" in problems[1].message


def test_existing_entities_resolve_case_insensitively() -> None:
    spec = valid_spec()
    group(spec, "eng").members.append("Legacy")
    spec.resources[0].delegates.append("legacy")
    assert problem_paths(spec, existing_entities=["LEGACY"]) == []


def test_resource_delegates_must_resolve() -> None:
    spec = valid_spec()
    spec.resources[0].delegates = ["alice", "projector", "ghost"]
    assert problem_paths(spec) == ["resources[room].delegates[1]", "resources[room].delegates[2]"]


def test_mailbox_permission_references() -> None:
    spec = valid_spec()
    spec.mailbox_permissions += [
        MailboxPermissionSpec("ghost", "alice", ["SEND_AS"]),
        MailboxPermissionSpec("alice", "projector", ["SEND_AS"]),
        MailboxPermissionSpec("ops", "alice", ["FULL_ACCESS"]),
        MailboxPermissionSpec("bob", "BOB", ["SEND_AS"]),
        MailboxPermissionSpec("dave", "quiet", ["SEND_AS"]),
    ]
    problems = validate(spec)
    assert [p.path for p in problems] == [
        "mailbox_permissions[ghost/alice].mailbox",
        "mailbox_permissions[alice/projector].grantee",
        "mailbox_permissions[ops/alice].permissions",
        "mailbox_permissions[bob/BOB].grantee",
        "mailbox_permissions[dave/quiet].mailbox",
        "mailbox_permissions[dave/quiet].grantee",
    ]
    assert "groups have no mailbox" in problems[2].message
    assert "own mailbox" in problems[3].message
    assert "disabled" in problems[4].message


def test_group_mailbox_full_access_agrees_with_the_emulator() -> None:
    emulator = Emulator()
    try:
        org = emulator.call("CreateOrganization", {"Alias": "grants"})["OrganizationId"]
        emulator.call("RegisterMailDomain", {"OrganizationId": org, "DomainName": "grants.example"})
        emulator.control("verify-domain", {"OrganizationId": org, "DomainName": "grants.example"})
        ids = {}
        for kind, name in (("User", "alice"), ("Group", "eng")):
            ids[name] = emulator.call(f"Create{kind}", {"OrganizationId": org, "Name": name, "DisplayName": name}
                                      if kind == "User" else {"OrganizationId": org, "Name": name})[f"{kind}Id"]
            emulator.call("RegisterToWorkMail", {"OrganizationId": org, "EntityId": ids[name],
                                                 "Email": f"{name}@grants.example"})
        spec = WorkMailSpec(organization=OrganizationSpec(alias="grants"), domains=[DomainSpec("grants.example")],
                            users=[UserSpec("alice", "alice", email="alice@grants.example")],
                            groups=[GroupSpec("eng", email="eng@grants.example")])
        for mailbox, grantee in (("eng", "alice"), ("alice", "eng")):
            spec.mailbox_permissions = [MailboxPermissionSpec(mailbox, grantee, ["FULL_ACCESS"])]
            refused = bool(validate(spec))
            try:
                emulator.call("PutMailboxPermissions", {"OrganizationId": org, "EntityId": ids[mailbox],
                                                        "GranteeId": ids[grantee], "PermissionValues": ["FULL_ACCESS"]})
                assert not refused
            except ServiceError as exc:
                assert refused and exc.code == "InvalidParameterException"
    finally:
        emulator.close()


def test_access_rule_references() -> None:
    spec = valid_spec()
    rule = spec.access_control_rules[1]  # type: ignore[index]
    rule.users = ["alice", "eng"]
    rule.not_users = ["ghost"]
    rule.not_impersonation_roles = ["nobody"]
    assert problem_paths(spec) == [
        "access_control_rules[deny-imap].users[1]",
        "access_control_rules[deny-imap].not_users[0]",
        "access_control_rules[deny-imap].not_impersonation_roles[0]",
    ]


def test_impersonation_and_override_references() -> None:
    spec = valid_spec()
    spec.impersonation_roles[0].rules[1].target_users = ["ops"]
    spec.mobile_device_access_overrides += [
        MobileDeviceAccessOverrideSpec("ghost", "X1", "DENY"),
        MobileDeviceAccessOverrideSpec("dave", "X2", "DENY"),
    ]
    problems = validate(spec)
    assert [p.path for p in problems] == [
        "mobile_device_access_overrides[ghost/X1].user",
        "mobile_device_access_overrides[dave/X2].user",
        "impersonation_roles[audit].rules[r2].target_users[0]",
    ]
    assert "disabled" in problems[1].message


def test_no_group_contains_itself() -> None:
    spec = valid_spec()
    group(spec, "ops").members.append("quiet")  # eng → ops → quiet → eng
    group(spec, "quiet").members.append("Quiet")
    problems = validate(spec)
    assert [p.path for p in problems] == [
        "groups[eng].members[1]", "groups[ops].members[1]", "groups[quiet].members[1]", "groups[quiet].members[2]",
    ]
    assert "eng → ops → quiet → eng" in problems[0].message
    assert "quiet → quiet" in problems[3].message


def test_deep_nesting_is_checked_without_recursion() -> None:
    spec = valid_spec()
    spec.groups += [GroupSpec(f"n{i}", enabled=False, members=[f"n{i + 1}"]) for i in range(3000)]
    spec.groups.append(GroupSpec("n3000", enabled=False))
    assert validate(spec) == []
    spec.groups[-1].members = ["n0"]
    problems = validate(spec)
    assert [p.path for p in problems] == [f"groups[n{i}].members[0]" for i in range(3001)]
    assert problems[0].message.endswith("n2999 → n3000 → n0)")
    assert problems[-1].message == "makes group n3000 contain itself"


# Rule family 4: uniqueness ---------------------------------------------------------


def test_names_are_unique_across_users_groups_and_resources() -> None:
    spec = valid_spec()
    spec.groups.append(GroupSpec("Alice", enabled=False))
    spec.resources.append(ResourceSpec("BOB", "ROOM", enabled=False))
    assert problem_paths(spec) == ["groups[Alice].name", "resources[BOB].name"]


def test_logical_ids_are_unique_within_a_kind() -> None:
    spec = valid_spec()
    user(spec, "alice").logical_id = "Org/Alice"
    user(spec, "bob").logical_id = "Org/Alice"
    group(spec, "eng").logical_id = "Org/Alice"
    assert problem_paths(spec) == ["users[bob].logical_id"]


def test_addresses_are_unique_across_entities() -> None:
    spec = valid_spec()
    group(spec, "ops").aliases.append("ALICE@acme.example")
    spec.resources[1].aliases = ["a@ACME.example", "projector@acme.example"]
    problems = validate(spec)
    assert [p.path for p in problems] == [
        "groups[ops].aliases[1]", "resources[projector].aliases[0]", "resources[projector].aliases[1]",
    ]
    assert "users[alice]" in problems[0].message


def test_domains_and_rule_names_are_unique() -> None:
    spec = valid_spec()
    spec.domains.append(DomainSpec("ACME.example"))
    spec.access_control_rules.append(AccessControlRuleSpec("Deny-IMAP", "ALLOW", "again"))  # type: ignore[union-attr]
    spec.mobile_device_access_rules.append(MobileDeviceAccessRuleSpec("block-unknown", "ALLOW"))  # type: ignore[union-attr]
    spec.mobile_device_access_overrides.append(MobileDeviceAccessOverrideSpec("ALICE", "abc123", "DENY"))
    spec.impersonation_roles.append(ImpersonationRoleSpec("AUDIT", "FULL_ACCESS"))
    spec.impersonation_roles[0].rules.append(ImpersonationRuleSpec("r1", "DENY", name="Not Alice"))
    spec.availability_configurations.append(AvailabilityConfigurationSpec(
        "Partner.example", lambda_arn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:other"))
    spec.email_flow_rules.append(EmailFlowRuleSpec("BLOCK", "inbound", "BOUNCE", ["a.example"], ["*"]))
    spec.retention_policy.folders.append(FolderConfigurationSpec("INBOX", "DELETE", 5))  # type: ignore[union-attr]
    assert sorted(problem_paths(spec)) == sorted([
        "domains[ACME.example].name",
        "access_control_rules[Deny-IMAP].name",
        "retention_policy.folders[INBOX].name",
        "mobile_device_access_rules[block-unknown].name",
        "mobile_device_access_overrides[ALICE/abc123].device_id",
        "impersonation_roles[AUDIT].name",
        "impersonation_roles[audit].rules[r1].rule_id",
        "impersonation_roles[audit].rules[r1].name",
        "availability_configurations[Partner.example].domain_name",
        "email_flow_rules[BLOCK].name",
    ])


# Rule family 5: addresses in the organization's domains ---------------------------


def test_addresses_must_be_in_declared_or_existing_domains() -> None:
    spec = valid_spec()
    user(spec, "bob").email = "bob@elsewhere.example"
    user(spec, "alice").aliases.append("alice@old.example")
    assert problem_paths(spec) == ["users[alice].aliases[2]", "users[bob].email"]
    assert problem_paths(spec, existing_domains=["Elsewhere.example", "old.example"]) == []


def test_journaling_address_is_reserved() -> None:
    spec = valid_spec()
    user(spec, "carol").email = "AmazonJournaling@acme.awsapps.com"
    assert problem_paths(spec) == ["users[carol].email"]


def test_enabled_entities_need_an_email_and_aliases_need_both() -> None:
    spec = valid_spec()
    user(spec, "bob").email = None
    user(spec, "bob").mailbox_quota_mb = None
    group(spec, "quiet").aliases = ["quiet@acme.example"]
    spec.resources[1].enabled = False
    user(spec, "dave").mailbox_quota_mb = 100
    problems = validate(spec)
    assert [p.path for p in problems] == [
        "users[bob].email",
        "users[dave].mailbox_quota_mb",
        "groups[quiet].aliases",
        "resources[projector].email",
    ]
    assert "needs a primary email" in problems[0].message
    assert "no mailbox" in problems[1].message
    assert "disabled resource has no email" in problems[3].message


# Rule family 6: other consistency --------------------------------------------------


def test_booking_without_auto_accept_needs_a_delegate() -> None:
    spec = valid_spec()
    spec.resources[0].delegates = []
    assert problem_paths(spec) == ["resources[room].booking_options.auto_accept_requests"]


def test_availability_configuration_needs_exactly_one_provider_for_a_foreign_domain() -> None:
    spec = valid_spec()
    spec.availability_configurations[1].ews = EwsProviderSpec("https://ews.other.example/ews", "svc", SecretRef("s"))
    spec.availability_configurations.append(AvailabilityConfigurationSpec("acme.test"))
    assert problem_paths(spec) == [
        "availability_configurations[other.example]",
        "availability_configurations[acme.test]",
        "availability_configurations[acme.test].domain_name",
    ]


def test_retention_delete_needs_a_period() -> None:
    spec = valid_spec()
    spec.retention_policy.folders.append(FolderConfigurationSpec("JUNK_EMAIL", "DELETE"))  # type: ignore[union-attr]
    assert problem_paths(spec) == ["retention_policy.folders[JUNK_EMAIL].period_days"]


def test_collection_limits_come_from_the_model() -> None:
    spec = valid_spec()
    spec.access_control_rules = [AccessControlRuleSpec(f"r{i}", "ALLOW", "rule") for i in range(11)]
    spec.mobile_device_access_rules = [MobileDeviceAccessRuleSpec(f"m{i}", "ALLOW") for i in range(11)]
    spec.impersonation_roles = [ImpersonationRoleSpec(f"i{i}", "READ_ONLY") for i in range(21)]
    problems = validate(spec)
    assert [p.path for p in problems] == ["access_control_rules", "mobile_device_access_rules", "impersonation_roles"]
    assert "at most 10 access control rules" in problems[0].message
    assert "at most 20 impersonation roles" in problems[2].message


def test_access_actions_and_none_values() -> None:
    spec = valid_spec()
    spec.access_control_rules[1].not_actions = ["Pop"]  # type: ignore[index]
    spec.mobile_device_access_rules[0].not_device_types = ["$NONE"]  # type: ignore[index]
    assert problem_paths(spec) == [
        "access_control_rules[deny-imap].not_actions[0]",
        "mobile_device_access_rules[block-unknown].not_device_types[0]",
    ]


def test_interoperability_needs_a_directory_and_aws_tags_are_reserved() -> None:
    spec = valid_spec()
    spec.organization.enable_interoperability = True
    spec.organization.tags["aws:owner"] = "me"
    assert problem_paths(spec) == ["organization.enable_interoperability", "organization.tags[aws:owner]"]


@pytest.mark.parametrize(
    ("rule", "paths"),
    [
        (EmailFlowRuleSpec("r", "inbound", "ROUTE_TO_SMTP_GATEWAY", ["*"], ["*"], smtp_gateway="g"),
         ["email_flow_rules[r].action"]),
        (EmailFlowRuleSpec("r", "outbound", "MOVE_TO_JUNK", ["*"], ["*"]), ["email_flow_rules[r].action"]),
        (EmailFlowRuleSpec("r", "outbound", "BYPASS_SPAM_CHECK", ["*"], ["*"]), ["email_flow_rules[r].action"]),
        (EmailFlowRuleSpec("r", "sideways", "DROP", ["*"], ["*"]), ["email_flow_rules[r].direction"]),  # type: ignore[arg-type]
        (EmailFlowRuleSpec("r", "inbound", "RUN_LAMBDA", ["*"], ["*"]), ["email_flow_rules[r].lambda_arn"]),
        (EmailFlowRuleSpec("r", "inbound", "RUN_LAMBDA", ["*"], ["*"], lambda_arn="fn"),
         ["email_flow_rules[r].lambda_arn"]),
        (EmailFlowRuleSpec("r", "inbound", "DROP", ["*"], ["*"], lambda_arn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:"
                                                                            "function:f"),
         ["email_flow_rules[r].lambda_arn"]),
        (EmailFlowRuleSpec("r", "outbound", "ROUTE_TO_SMTP_GATEWAY", ["*"], ["*"]),
         ["email_flow_rules[r].smtp_gateway"]),
        (EmailFlowRuleSpec("r", "outbound", "DROP", ["*"], ["*"], smtp_gateway="g"),
         ["email_flow_rules[r].smtp_gateway"]),
        (EmailFlowRuleSpec("r", "inbound", "DROP", [], []),
         ["email_flow_rules[r].senders", "email_flow_rules[r].recipients"]),
        (EmailFlowRuleSpec("r", "inbound", "DROP",
                           ["a+b@x.example", "x.*.example", "example.*", "*@x.example", "x@", "localhost",
                            "-a.example"],
                           ["*.example.com", "X.Example.COM", "user@sub.example.com", "*"]),
         [f"email_flow_rules[r].senders[{i}]" for i in range(7)]),
        (EmailFlowRuleSpec("r", "inbound", "DROP", [f"s{i}.example" for i in range(251)], ["*"]),
         ["email_flow_rules[r].senders"]),
    ],
)
def test_email_flow_rules(rule: EmailFlowRuleSpec, paths: list[str]) -> None:
    spec = valid_spec()
    spec.email_flow_rules = [rule]
    assert problem_paths(spec) == paths


def test_flow_rule_sender_patterns_per_organization() -> None:
    spec = valid_spec()
    spec.email_flow_rules = [
        EmailFlowRuleSpec(f"r{j}", "inbound", "DROP", [f"s{i}.r{j}.example" for i in range(250)], ["*"])
        for j in range(4)
    ]
    assert validate(spec) == []
    spec.email_flow_rules[0].senders.append("one-more.example")
    assert problem_paths(spec) == ["email_flow_rules[r0].senders", "email_flow_rules"]


def test_plus_sign_message_cites_the_guide() -> None:
    spec = valid_spec()
    spec.email_flow_rules[0].senders = ["a+b@x.example"]
    assert "'+' is not valid" in only(spec).message


# Every problem at once -------------------------------------------------------------


def test_every_problem_is_reported_at_once() -> None:
    spec = valid_spec()
    user(spec, "erin").name = "bad name"
    user(spec, "alice").mailbox_quota_mb = 60000
    group(spec, "eng").members.append("ghost")
    spec.groups.append(GroupSpec("BOB", enabled=False))
    user(spec, "bob").email = "bob@nowhere.example"
    spec.resources[0].delegates = []
    spec.email_flow_rules[0].senders.append("a+b@x.example")
    expected = [
        "users[bad name].name",
        "users[alice].mailbox_quota_mb",
        "users[bob].email",
        "groups[BOB].name",
        "groups[eng].members[2]",
        "resources[room].booking_options.auto_accept_requests",
        "email_flow_rules[block].senders[3]",
    ]
    problems = validate(spec)
    assert sorted(p.path for p in problems) == sorted(expected)
    with pytest.raises(SpecValidationError) as exc:
        check(spec)
    assert exc.value.problems == problems
    lines = str(exc.value).splitlines()
    assert lines[0] == f"{len(expected)} problems in the WorkMail spec:"
    assert lines[1:] == [str(p) for p in problems]


def test_check_passes_keyword_arguments_through() -> None:
    spec = valid_spec()
    user(spec, "bob").email = "bob@legacy.example"
    with pytest.raises(SpecValidationError):
        check(spec)
    check(spec, existing_domains=["legacy.example"])


# Property: validate and the emulator agree on the model's constraints -------------


@dataclass(frozen=True)
class Agreement:
    """A spec field, the request it is sent in, and where validate reports it."""

    member: str
    build: Callable[[Any], tuple[WorkMailSpec, str]]
    request: Callable[[Any], tuple[str, dict[str, Any]]]


def _user_spec(**fields: Any) -> tuple[WorkMailSpec, str, UserSpec]:
    u = UserSpec(**{"name": "u", "display_name": "U", "enabled": False, **fields})
    return WorkMailSpec(organization=OrganizationSpec(alias="acme"), users=[u]), f"users[{label(u, 0)}]", u


def _user_field(field: str) -> Callable[[Any], tuple[WorkMailSpec, str]]:
    def build(value: Any) -> tuple[WorkMailSpec, str]:
        spec, path, _ = _user_spec(**{field: value})
        return spec, f"{path}.{field}"
    return build


def _entity_address(field: str) -> Callable[[Any], tuple[WorkMailSpec, str]]:
    def build(value: Any) -> tuple[WorkMailSpec, str]:
        fields = {"email": value} if field == "email" else {"email": "u@acme.awsapps.com", "aliases": [value]}
        spec, path, _ = _user_spec(enabled=True, **fields)
        return spec, f"{path}.email" if field == "email" else f"{path}.aliases[0]"
    return build


def _group_name(value: Any) -> tuple[WorkMailSpec, str]:
    g = GroupSpec(name=value, enabled=False)
    return WorkMailSpec(organization=OrganizationSpec(alias="acme"), groups=[g]), f"groups[{label(g, 0)}].name"


def _resource_field(field: str) -> Callable[[Any], tuple[WorkMailSpec, str]]:
    def build(value: Any) -> tuple[WorkMailSpec, str]:
        r = ResourceSpec(**{"name": "room", "type": "ROOM", "enabled": False, field: value})
        spec = WorkMailSpec(organization=OrganizationSpec(alias="acme"), resources=[r])
        return spec, f"resources[{label(r, 0)}].{field}"
    return build


def _access_rule_field(field: str) -> Callable[[Any], tuple[WorkMailSpec, str]]:
    def build(value: Any) -> tuple[WorkMailSpec, str]:
        rule = AccessControlRuleSpec(**{"name": "r", "effect": "ALLOW", "description": "d", field: value})
        spec = WorkMailSpec(organization=OrganizationSpec(alias="acme"), access_control_rules=[rule])
        return spec, f"access_control_rules[{label(rule, 0)}].{field}"
    return build


def _role_field(field: str) -> Callable[[Any], tuple[WorkMailSpec, str]]:
    def build(value: Any) -> tuple[WorkMailSpec, str]:
        role = ImpersonationRoleSpec(**{"name": "role", "type": "READ_ONLY", field: value})
        spec = WorkMailSpec(organization=OrganizationSpec(alias="acme"), impersonation_roles=[role])
        return spec, f"impersonation_roles[{label(role, 0)}].{field}"
    return build


def _override_device(value: Any) -> tuple[WorkMailSpec, str]:
    o = MobileDeviceAccessOverrideSpec("u", value, "DENY")
    spec, _, _ = _user_spec(enabled=True, email="u@acme.awsapps.com")
    spec.mobile_device_access_overrides = [o]
    return spec, f"mobile_device_access_overrides[{label(o, 0)}].device_id"


def _domain_name(value: Any) -> tuple[WorkMailSpec, str]:
    d = DomainSpec(value)
    return WorkMailSpec(organization=OrganizationSpec(alias="acme"), domains=[d]), f"domains[{label(d, 0)}].name"


ORG = {"OrganizationId": MISSING_ORG}


def optional(member: str, value: str) -> dict[str, str]:
    """An optional member as the applier sends it: left out when empty."""
    return {member: value} if value else {}


AGREEMENTS = [
    Agreement("CreateUser.Name", _user_field("name"),
              lambda v: ("CreateUser", {**ORG, "Name": v, "DisplayName": "U"})),
    Agreement("CreateUser.DisplayName", _user_field("display_name"),
              lambda v: ("CreateUser", {**ORG, "Name": "u", "DisplayName": v})),
    Agreement("CreateUser.LastName", _user_field("last_name"),
              lambda v: ("CreateUser", {**ORG, "Name": "u", "DisplayName": "U", **optional("LastName", v)})),
    Agreement("UpdateUser.Telephone", _user_field("telephone"),
              lambda v: ("UpdateUser", {**ORG, "UserId": "u", **optional("Telephone", v)})),
    Agreement("RegisterToWorkMail.Email", _entity_address("email"),
              lambda v: ("RegisterToWorkMail", {**ORG, "EntityId": "u", "Email": v})),
    Agreement("CreateAlias.Alias", _entity_address("alias"),
              lambda v: ("CreateAlias", {**ORG, "EntityId": "entity-id-000", "Alias": v})),
    Agreement("CreateGroup.Name", _group_name, lambda v: ("CreateGroup", {**ORG, "Name": v})),
    Agreement("CreateResource.Name", _resource_field("name"),
              lambda v: ("CreateResource", {**ORG, "Name": v, "Type": "ROOM"})),
    Agreement("CreateResource.Description", _resource_field("description"),
              lambda v: ("CreateResource", {**ORG, "Name": "room", "Type": "ROOM", **optional("Description", v)})),
    Agreement("PutAccessControlRule.Name", _access_rule_field("name"),
              lambda v: ("PutAccessControlRule", {**ORG, "Name": v, "Effect": "ALLOW", "Description": "d"})),
    Agreement("PutAccessControlRule.Description", _access_rule_field("description"),
              lambda v: ("PutAccessControlRule", {**ORG, "Name": "r", "Effect": "ALLOW", "Description": v})),
    Agreement("CreateImpersonationRole.Name", _role_field("name"),
              lambda v: ("CreateImpersonationRole", {**ORG, "Name": v, "Type": "READ_ONLY", "Rules": []})),
    Agreement("CreateImpersonationRole.Description", _role_field("description"),
              lambda v: ("CreateImpersonationRole", {**ORG, "Name": "role", "Type": "READ_ONLY", "Rules": [],
                                                     **optional("Description", v)})),
    Agreement("PutMobileDeviceAccessOverride.DeviceId", _override_device,
              lambda v: ("PutMobileDeviceAccessOverride", {**ORG, "UserId": "u", "DeviceId": v, "Effect": "DENY"})),
    Agreement("RegisterMailDomain.DomainName", _domain_name,
              lambda v: ("RegisterMailDomain", {**ORG, "DomainName": v})),
]

# Text near the constraints: the characters the patterns care about, and lengths around the maxima.
TEXT = st.one_of(
    st.text(alphabet="abcXYZ019._-@%+ é<>\\\n\t/*:", max_size=70),
    st.text(max_size=30),
    st.emails(),
    st.from_regex(r"[a-zA-Z0-9._%+-]{1,66}(@[a-z0-9.-]{1,8}\.[a-z]{1,4})?", fullmatch=True),
    st.builds(lambda c, n, s: c * n + s, st.sampled_from("aZ9"), st.integers(0, 300), st.sampled_from(["", "@x.io"])),
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    instance = Emulator()
    yield instance
    instance.close()


def _model_problems_at(spec: WorkMailSpec, path: str, member: str) -> list[Problem]:
    return [p for p in validate(spec)
            if (p.path == path or p.path.startswith(path + "[")) and f"(sent as {member})" in p.message]


@pytest.mark.parametrize("agreement", AGREEMENTS, ids=[a.member for a in AGREEMENTS])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=TEXT)
def test_validate_and_the_emulator_agree_on_model_constraints(
    emulator: Emulator, agreement: Agreement, value: str
) -> None:
    """validate finds a model violation exactly when the emulator answers the corresponding
    call with ValidationException (its other errors, such as the unknown organization, come
    after validation and mean the value passed)."""
    spec, path = agreement.build(value)
    found = _model_problems_at(spec, path, agreement.member)
    operation, params = agreement.request(value)
    try:
        emulator.call(operation, params)
        refused = False
    except ServiceError as exc:
        refused = exc.code == "ValidationException"
    assert bool(found) == refused, (value, found)
