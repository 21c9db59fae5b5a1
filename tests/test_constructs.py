"""Template tests of the WorkMail constructs, synthesized in-process.

Four apps are synthesized once each and shared: a full organization using every
construct, a stack of several organizations (one shared provider, an adopted
organization, S3 specs with and without deploy-time references), an app that fails
validation, and the 10,000-user scale app; the footprint and diff tests synthesize small
stacks of their own.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk import assertions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager

import workmail_constructs
from bench.footprint import build_footprint_stack, count_resources
from bench.synth_scale import build_stack
from workmail_constructs import constructs as wc
from workmail_constructs.constructs import (
    ImpersonationRule,
    Organization,
    RetentionFolder,
)
from workmail_constructs.constructs.directory import SUMMARY_SECTIONS, References, _references_out
from workmail_constructs.constructs.providers import (
    DIRECTORY_ACTIONS,
    DOMAIN_ACTIONS,
    ORGANIZATION_ACTIONS,
    ORGANIZATION_SCOPED_ACTIONS,
    handler_code_directory,
)
from workmail_constructs.core.spec import DomainSpec, OrganizationSpec, WorkMailSpec
from workmail_constructs.core.spec_reading import from_data, resolve_references

MATCH = assertions.Match
CANARY = "Canary-" + secrets.token_urlsafe(16)


# Helpers ---------------------------------------------------------------------------


def flatten(value: Any) -> str:
    """A CloudFormation string value as text, each intrinsic shown as <Ref:X> or <GetAtt:X.Y>."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(flatten(p) for p in parts)
        if "Ref" in value:
            return f"<Ref:{value['Ref']}>"
        if "Fn::GetAtt" in value:
            return f"<GetAtt:{'.'.join(value['Fn::GetAtt'])}>"
        if "Fn::Sub" in value:
            return str(value["Fn::Sub"])
    raise AssertionError(f"unexpected value {value!r}")


def as_cloudformation_passes_it(value: Any) -> Any:
    """A property as the handler receives it: every scalar a string ("true", "42"), and
    each intrinsic shown as text (``flatten``), the way it resolves at deploy time."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref")):
            return flatten(value)
        return {k: as_cloudformation_passes_it(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_cloudformation_passes_it(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def only(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    found = resources_of(template, kind)
    assert len(found) == 1, f"{len(found)} {kind} resources"
    return next(iter(found.items()))


def statements_of(template: dict[str, Any], policy_prefix: str) -> list[dict[str, Any]]:
    """Statements of the IAM policies whose logical id starts with ``policy_prefix``."""
    statements = []
    for logical_id, policy in resources_of(template, "AWS::IAM::Policy").items():
        if logical_id.startswith(policy_prefix):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


# The handlers' role: its own policy (what creating an organization needs) and the policy
# of everything scoped to the stack's organizations.
ROLE_POLICY = "WorkMailConstructsHandlersRoleDefaultPolicy"
ACCESS_POLICY = "WorkMailConstructsHandlersOrganizationAccess"


def policy_statements(template: dict[str, Any], role_prefix: str) -> list[dict[str, Any]]:
    """Statements of every IAM policy attached to the roles whose logical id starts with ``role_prefix``."""
    statements = []
    for policy in resources_of(template, "AWS::IAM::Policy").values():
        roles = [r.get("Ref", "") for r in policy["Properties"].get("Roles", [])]
        if any(r.startswith(role_prefix) for r in roles):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def actions_of(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def resources_in(statement: dict[str, Any]) -> list[Any]:
    found = statement["Resource"]
    return found if isinstance(found, list) else [found]


@dataclass
class Synth:
    app: cdk.App
    stack: cdk.Stack
    template: dict[str, Any]
    outdir: Path
    orgs: dict[str, Organization]

    @property
    def assertions(self) -> assertions.Template:
        return assertions.Template.from_json(self.template)

    def logical_id(self, construct: cdk.CfnElement | Any) -> str:
        return self.stack.get_logical_id(construct.node.default_child if not isinstance(construct, cdk.CfnElement)
                                         else construct)


def synthesize(app: cdk.App, stack: cdk.Stack, outdir: Path, orgs: dict[str, Organization]) -> Synth:
    assembly = app.synth()
    return Synth(app, stack, assembly.get_stack_by_name(stack.stack_name).template, outdir, orgs)


# The full organization ---------------------------------------------------------------


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("full")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Mail")
    key = kms.Key(stack, "MailboxKey", enable_key_rotation=True)
    org = Organization(stack, "Org", alias="acme", kms_key=key)
    cdk.Tags.of(stack).add("team", "mail")
    cdk.Tags.of(org).add("cost-center", "42")
    zone = route53.HostedZone.from_hosted_zone_attributes(stack, "Zone", hosted_zone_id="Z0123456789ABC",
                                                          zone_name="acme.test")
    org.add_domain("acme.test", hosted_zone=zone, default=True)
    org.add_domain("acme-mail.test")

    # Secrets made without a literal value: generated by Secrets Manager, or existing ones.
    initial = secretsmanager.Secret(stack, "InitialPassword")
    secrets_key = kms.Key(stack, "SecretsKey", enable_key_rotation=True)
    encrypted = secretsmanager.Secret(stack, "EncryptedPassword", encryption_key=secrets_key)
    by_name = secretsmanager.Secret.from_secret_name_v2(stack, "ByName", "workmail/bob")
    ews = secretsmanager.Secret(stack, "EwsPassword")
    # A control: a secret whose value the app knows (CDK's Secret writes it into its own
    # resource); it must appear nowhere else.
    canary = secretsmanager.Secret(stack, "CanaryPassword", secret_string_value=cdk.SecretValue.unsafe_plain_text(
        CANARY))

    alice = org.add_user("alice", display_name="Alice", email="alice@acme.test", password=initial,
                         aliases=["a@acme-mail.test"], job_title="Admin")
    bob = org.add_user("bob", display_name="Bob", email="bob@acme.test", password=by_name,
                       password_json_key="password", password_version="11111111-2222-3333-4444-555555555555",
                       mailbox_quota_mb=2048)
    carol = org.add_user("carol-new", id="carol", display_name="Carol", email="carol@acme.test", password=encrypted)
    carol.add_alias("c@acme.test")
    org.add_user("dave", display_name="Dave", email="dave@acme.test", password=canary)
    eng = org.add_group("eng", email="eng@acme.test", members=[alice, "bob"])
    org.add_group("everyone", email="everyone@acme.test", members=[eng, carol], aliases=["all@acme.test"])
    org.add_group("hidden-team", hidden_from_global_address_list=True, members=[bob])
    room = org.add_resource("boardroom", type="ROOM", email="boardroom@acme.test", auto_accept_requests=False,
                            delegates=[carol])
    org.grant_mailbox_access(room, alice, ["FULL_ACCESS"])
    org.grant_mailbox_access("everyone", bob, ["SEND_AS"])
    role = org.add_impersonation_role("auditor", type="READ_ONLY", rules=[
        ImpersonationRule("r1", "ALLOW", target_users=[bob, carol]),
    ])
    org.add_access_control_rule("allow-all", effect="ALLOW", description="Default")
    org.add_access_control_rule("deny-imap", effect="DENY", description="No IMAP", actions=["IMAP"],
                                users=[bob], impersonation_roles=[role])
    org.set_retention_policy("standard", folders=[RetentionFolder("JUNK_EMAIL", "DELETE", 30)])
    org.add_mobile_device_access_rule("allow", effect="ALLOW")
    org.add_mobile_device_access_override(alice, "DEVICE1", effect="DENY", description="Lost")
    org.set_inbound_dmarc(True)
    org.add_availability_configuration("partner.example", ews_endpoint="https://ews.partner.example/EWS/Exchange.asmx",
                                       ews_username="svc", ews_password=ews)
    provider = lambda_.Function(stack, "Availability", runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler",
                                code=lambda_.Code.from_inline("def handler(event, context):\n    return {}\n"))
    org.add_availability_configuration("calendar.example", lambda_function=provider)

    admin = iam.Role(stack, "Admin", assumed_by=iam.AccountRootPrincipal())
    org.grant_manage_users(admin)
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    org.grant_read(reader)
    existing = Organization.from_organization_id(stack, "Existing", "m-" + "a" * 32)
    existing.grant_manage_groups(reader)
    return synthesize(app, stack, outdir, {"org": org})


def inline_spec(synth: Synth, logical_id: str) -> WorkMailSpec:
    """The directory's spec as the handler reads it: the structured Spec property with its
    references put in place (each shown as ``flatten`` shows its expression)."""
    properties = as_cloudformation_passes_it(synth.template["Resources"][logical_id]["Properties"])
    data = resolve_references(properties["Spec"], properties.get("References", {}))
    return from_data(WorkMailSpec, data, cloudformation=True)


def test_one_resource_of_each_kind_with_the_handler_contract(full: Synth) -> None:
    template = full.template
    assert len(resources_of(template, "Custom::WorkMailOrganization")) == 1
    assert len(resources_of(template, "Custom::WorkMailDirectory")) == 1
    assert len(resources_of(template, "Custom::WorkMailDomain")) == 2
    functions = {f["Properties"]["Handler"]: f["Properties"] for f in resources_of(template, "AWS::Lambda::Function")
                 .values() if f["Properties"].get("Handler", "").startswith("workmail_constructs.")}
    # One provider for every resource type: one entry module that routes by ResourceType.
    assert set(functions) == {f"workmail_constructs.handlers.provider.{e}" for e in ("on_event", "is_complete")}
    assert {f["Runtime"] for f in functions.values()} == {"python3.12"}
    # The largest of what the resource types need: a large directory's first apply.
    assert {(f["Timeout"], f["MemorySize"]) for f in functions.values()} == {(900, 1024)}
    # The handlers, the framework's three functions and the app's availability provider.
    assert len(resources_of(template, "AWS::Lambda::Function")) == 2 + 3 + 1
    # The provider framework waits for is_complete every 30 s, for at most 55 minutes.
    machines = resources_of(template, "AWS::StepFunctions::StateMachine")
    assert len(machines) == 1
    for machine in machines.values():
        definition = flatten(machine["Properties"]["DefinitionString"])
        assert '"IntervalSeconds":30' in definition and '"MaxAttempts":110' in definition
        assert machine["Properties"]["LoggingConfiguration"]["Level"] == "ALL"


def test_organization_resource_carries_the_organization_spec(full: Synth) -> None:
    logical_id, resource = only(full.template, "Custom::WorkMailOrganization")
    assert resource["DeletionPolicy"] == "Retain" and resource["UpdateReplacePolicy"] == "Retain"
    properties = resource["Properties"]
    assert properties["AllowReplacement"] == "false"
    # A structured object, the KMS key's ARN directly in it (small, always inline).
    assert properties["Spec"]["kms_key_arn"] == {"Fn::GetAtt": [full.logical_id(full.stack.node.find_child(
        "MailboxKey")), "Arn"]}
    spec = from_data(OrganizationSpec, as_cloudformation_passes_it(properties["Spec"]), cloudformation=True)
    key = full.stack.get_logical_id(full.stack.node.find_child("MailboxKey").node.default_child)
    assert spec.alias == "acme"
    assert spec.kms_key_arn == f"<GetAtt:{key}.Arn>"
    assert spec.removal_policy == "retain" and spec.organization_id is None
    # Tags.of reaches the organization, from the stack and from the organization itself.
    assert spec.tags == {"team": "mail", "cost-center": "42"}
    org = full.orgs["org"]
    assert full.stack.resolve(org.organization_arn) == {"Fn::GetAtt": [logical_id, "Arn"]}
    for attribute, name in ((org.organization_id, "OrganizationId"), (org.default_mail_domain, "DefaultMailDomain"),
                            (org.directory_id, "DirectoryId"), (org.web_url, "WebUrl")):
        assert full.stack.resolve(attribute) == {"Fn::GetAtt": [logical_id, name]}


def test_directory_resource_carries_the_whole_spec_inline(full: Synth) -> None:
    org_id, _ = only(full.template, "Custom::WorkMailOrganization")
    logical_id, resource = only(full.template, "Custom::WorkMailDirectory")
    properties = resource["Properties"]
    assert properties["OrganizationId"] == {"Fn::GetAtt": [org_id, "OrganizationId"]}
    assert properties["AllowDestructive"] == "false"
    assert "SpecLocation" not in properties and "SpecSummary" not in properties
    # A structured object, not a JSON string: cdk diff shows it field by field.
    assert isinstance(properties["Spec"], dict) and properties["Spec"]["version"] == 1
    # No deploy-time value inside the document: each is a named reference beside it.
    assert "Fn::" not in json.dumps(properties["Spec"]) and '"Ref"' not in json.dumps(properties["Spec"])
    key, function = (full.logical_id(full.stack.node.find_child(n)) for n in ("MailboxKey", "Availability"))
    assert properties["Spec"]["organization"]["kms_key_arn"] == f"$ref:{key}.Arn"
    assert properties["References"][f"{key}.Arn"] == {"Fn::GetAtt": [key, "Arn"]}
    assert properties["References"][f"{function}.Arn"] == {"Fn::GetAtt": [function, "Arn"]}
    spec = inline_spec(full, logical_id)
    assert spec.organization.tags == {"team": "mail", "cost-center": "42"}
    assert [d.name for d in spec.domains] == ["acme.test", "acme-mail.test"]
    users = {u.name: u for u in spec.users}
    assert set(users) == {"alice", "bob", "carol-new", "dave"}
    # The declaration's path is the logical id: a renamed user keeps its id, so its identity.
    assert users["carol-new"].logical_id == "Mail/Org/Users/carol"
    assert users["alice"].logical_id == "Mail/Org/Users/alice"
    assert users["alice"].aliases == ["a@acme-mail.test"] and users["carol-new"].aliases == ["c@acme.test"]
    assert users["bob"].mailbox_quota_mb == 2048
    groups = {g.name: g for g in spec.groups}
    assert groups["eng"].members == ["alice", "bob"]
    assert groups["everyone"].members == ["eng", "carol-new"] and groups["everyone"].aliases == ["all@acme.test"]
    assert not groups["hidden-team"].enabled and groups["hidden-team"].hidden_from_global_address_list
    room = spec.resources[0]
    assert room.delegates == ["carol-new"] and not room.booking_options.auto_accept_requests
    assert [(p.mailbox, p.grantee, p.permissions) for p in spec.mailbox_permissions] == [
        ("boardroom", "alice", ["FULL_ACCESS"]), ("everyone", "bob", ["SEND_AS"])]
    assert [r.name for r in spec.access_control_rules or []] == ["allow-all", "deny-imap"]
    assert spec.retention_policy is not None and spec.retention_policy.folders[0].period_days == 30
    assert [r.name for r in spec.mobile_device_access_rules or []] == ["allow"]
    assert spec.mobile_device_access_overrides[0].user == "alice"
    assert spec.impersonation_roles[0].rules[0].target_users == ["bob", "carol-new"]
    assert spec.inbound_dmarc_enforced is True
    configurations = {c.domain_name: c for c in spec.availability_configurations}
    assert configurations["partner.example"].ews is not None
    function = full.stack.get_logical_id(full.stack.node.find_child("Availability").node.default_child)
    assert configurations["calendar.example"].lambda_arn == f"<GetAtt:{function}.Arn>"


def test_passwords_are_secrets_manager_references(full: Synth) -> None:
    logical_id, resource = only(full.template, "Custom::WorkMailDirectory")
    users = {u.name: u for u in inline_spec(full, logical_id).users}
    initial = full.stack.get_logical_id(full.stack.node.find_child("InitialPassword").node.default_child)
    alice, bob = users["alice"].password, users["bob"].password
    assert alice is not None and alice.secret_id == f"<Ref:{initial}>"
    # The document names the secret; its ARN travels in References under the secret's logical id.
    document = {u["name"]: u for u in resource["Properties"]["Spec"]["users"]}
    assert document["alice"]["password"] == {"secret_id": f"$ref:{initial}"}
    assert resource["Properties"]["References"][initial] == {"Ref": initial}
    # A secret referenced by name is passed by name: known at synth time, fit for an S3 spec.
    assert bob is not None and (bob.secret_id, bob.json_key) == ("workmail/bob", "password")
    assert bob.version_id == "11111111-2222-3333-4444-555555555555"


def test_domains_get_route53_records_or_an_output(full: Synth) -> None:
    domains = {r["Properties"]["Spec"]["name"]: (k, r)
               for k, r in resources_of(full.template, "Custom::WorkMailDomain").items()}
    zoned_id, zoned = domains["acme.test"]
    assert zoned["Properties"]["Spec"] == {"name": "acme.test", "default": True, "hosted_zone_id": "Z0123456789ABC"}
    assert from_data(DomainSpec, as_cloudformation_passes_it(zoned["Properties"]["Spec"]),
                     cloudformation=True) == DomainSpec("acme.test", default=True, hosted_zone_id="Z0123456789ABC")
    assert zoned["DeletionPolicy"] == "Retain"
    records = [r["Properties"] for r in resources_of(full.template, "AWS::Route53::RecordSet").values()]
    assert sorted(r["Type"] for r in records) == ["CNAME"] * 4 + ["MX"] + ["TXT"] * 3
    assert {r["HostedZoneId"] for r in records} == {"Z0123456789ABC"}
    by_name = {flatten(r["Name"]): r for r in records}
    ownership = by_name[f"<GetAtt:{zoned_id}.OwnershipTxtName>"]
    assert flatten(ownership["ResourceRecords"][0]) == f'"<GetAtt:{zoned_id}.OwnershipTxtValue>"'
    mx = by_name[f"<GetAtt:{zoned_id}.MxName>"]
    assert flatten(mx["ResourceRecords"][0]) == f"<GetAtt:{zoned_id}.MxPriority> <GetAtt:{zoned_id}.MxValue>"
    for n in (1, 2, 3):
        dkim = by_name[f"<GetAtt:{zoned_id}.Dkim{n}Name>"]
        assert dkim["Type"] == "CNAME" and flatten(dkim["ResourceRecords"][0]) == f"<GetAtt:{zoned_id}.Dkim{n}Value>"
    for name in ("AutodiscoverName", "SpfName", "DmarcName"):
        assert f"<GetAtt:{zoned_id}.{name}>" in by_name
    external_id, _ = domains["acme-mail.test"]
    outputs = [flatten(o["Value"]) for o in full.template["Outputs"].values()]
    listing = next(o for o in outputs if f"<GetAtt:{external_id}.MxName>" in o)
    for record in ("OwnershipTxt", "Autodiscover", "Spf", "Dmarc", "Dkim1", "Dkim2", "Dkim3"):
        assert f"<GetAtt:{external_id}.{record}Name>" in listing
    # Users' addresses need their domains registered first.
    _, directory = only(full.template, "Custom::WorkMailDirectory")
    assert {zoned_id, external_id} <= set(directory["DependsOn"])


def test_domain_attributes_expose_the_record_values(full: Synth) -> None:
    domain = full.orgs["org"].domains[0]
    logical_id = full.stack.get_logical_id(domain.resource.node.default_child)
    assert full.stack.resolve(domain.mx_value) == {"Fn::GetAtt": [logical_id, "MxValue"]}
    assert full.stack.resolve(domain.dkim_records[2][1]) == {"Fn::GetAtt": [logical_id, "Dkim3Value"]}
    assert full.stack.resolve(domain.ownership_verification_status) == {
        "Fn::GetAtt": [logical_id, "OwnershipVerificationStatus"]}


def test_directory_and_domain_permissions_name_the_organization(full: Synth) -> None:
    org_id, _ = only(full.template, "Custom::WorkMailOrganization")
    arn = {"Fn::GetAtt": [org_id, "Arn"]}
    statements = statements_of(full.template, ACCESS_POLICY)
    workmail = [s for s in statements if any(a.startswith("workmail:") for a in actions_of(s))]
    # The directory's and the domains' actions, on this organization only.
    assert len(workmail) == 1
    assert sorted(actions_of(workmail[0])) == sorted(ORGANIZATION_SCOPED_ACTIONS)
    assert set(ORGANIZATION_SCOPED_ACTIONS) == set(DIRECTORY_ACTIONS) | set(DOMAIN_ACTIONS)
    assert resources_in(workmail[0]) == [arn]
    for statement in statements + statements_of(full.template, ROLE_POLICY):
        assert not any(a.endswith(":*") or a == "*" for a in actions_of(statement)), statement
    # Creating and deleting organizations is not scoped to this one: it is on the role's own policy.
    assert not any(a in ("workmail:CreateOrganization", "workmail:DeleteOrganization") for s in statements
                   for a in actions_of(s))
    # The resources that need these permissions wait for them; the organization, which they
    # name, does not (that would be a cycle).
    access = next(k for k in resources_of(full.template, "AWS::IAM::Policy") if k.startswith(ACCESS_POLICY))
    for kind in ("Custom::WorkMailDirectory", "Custom::WorkMailDomain"):
        assert all(access in r["DependsOn"] for r in resources_of(full.template, kind).values()), kind
    organization = only(full.template, "Custom::WorkMailOrganization")[1]
    assert access not in organization["DependsOn"]
    assert any(d.startswith(ROLE_POLICY) for d in organization["DependsOn"])
    for function in resources_of(full.template, "AWS::Lambda::Function").values():
        assert access not in function.get("DependsOn", [])


def test_organization_handler_needs_star_only_where_the_api_does(full: Synth) -> None:
    statements = statements_of(full.template, ROLE_POLICY)
    for statement in statements:
        actions = actions_of(statement)
        if any(a.startswith("workmail:") for a in actions):
            if resources_in(statement) == ["*"]:
                assert sorted(actions) == ["workmail:CreateOrganization", "workmail:ListOrganizations"]
            else:
                assert sorted(actions) == sorted(ORGANIZATION_ACTIONS)
                assert flatten(resources_in(statement)[0]).endswith(":organization/*")
    # WorkMail creates the organization's directory and SES rules as the caller, and uses its key.
    actions = {a for s in statements for a in actions_of(s)}
    assert {"ds:CreateIdentityPoolDirectory", "ds:DeleteDirectory", "ses:CreateReceiptRuleSet"} <= actions
    key = full.stack.get_logical_id(full.stack.node.find_child("MailboxKey").node.default_child)
    kms_statements = [s for s in statements if resources_in(s) == [{"Fn::GetAtt": [key, "Arn"]}]]
    assert {a for s in kms_statements for a in actions_of(s)} == {
        "kms:CreateGrant", "kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"}


def test_handlers_may_ask_only_their_own_stack_whether_it_rolls_back(full: Synth) -> None:
    statements = [s for s in policy_statements(full.template, "WorkMailConstructsHandlersRole")
                  if any(a.startswith("cloudformation:") for a in actions_of(s))]
    assert len(statements) == 1 and actions_of(statements[0]) == ["cloudformation:DescribeStacks"]
    assert resources_in(statements[0]) == [{"Ref": "AWS::StackId"}]


def test_directory_handler_reads_only_the_declared_secrets(full: Synth) -> None:
    statements = statements_of(full.template, ACCESS_POLICY)
    reads = [s for s in statements if "secretsmanager:GetSecretValue" in actions_of(s)]
    assert len(reads) == 1 and actions_of(reads[0]) == ["secretsmanager:GetSecretValue"]
    resources = [flatten(r) for r in resources_in(reads[0])]
    ids = {name: full.stack.get_logical_id(full.stack.node.find_child(name).node.default_child)
           for name in ("InitialPassword", "EncryptedPassword", "EwsPassword", "CanaryPassword")}
    assert sorted(resources) == sorted([
        *(f"<Ref:{i}>" for i in ids.values()),
        "arn:<Ref:AWS::Partition>:secretsmanager:<Ref:AWS::Region>:<Ref:AWS::AccountId>:secret:workmail/bob-??????",
    ])
    # The customer managed key of one secret lets the handler decrypt, only through Secrets
    # Manager (a key in the same stack says so in its key policy).
    key = full.stack.get_logical_id(full.stack.node.find_child("SecretsKey").node.default_child)
    role = full.stack.get_logical_id(full.orgs["org"]._handlers.role.node.default_child)
    key_statements = full.template["Resources"][key]["Properties"]["KeyPolicy"]["Statement"]
    decrypts = [s for s in key_statements if s["Principal"] == {"AWS": {"Fn::GetAtt": [role, "Arn"]}}]
    assert len(decrypts) == 1 and actions_of(decrypts[0]) == ["kms:Decrypt"]
    assert "kms:ViaService" in json.dumps(decrypts[0]["Condition"])
    assert not [s for s in statements if any(a.startswith("s3:") for a in actions_of(s))]
    assert not [s for s in statements_of(full.template, ROLE_POLICY) if "secretsmanager:GetSecretValue" in
                actions_of(s)]


def test_availability_provider_may_be_invoked_by_this_organization_only(full: Synth) -> None:
    org_id, _ = only(full.template, "Custom::WorkMailOrganization")
    function = full.stack.get_logical_id(full.stack.node.find_child("Availability").node.default_child)
    full.assertions.has_resource_properties("AWS::Lambda::Permission", {
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Fn::GetAtt": [function, "Arn"]},
        "Principal": {"Fn::Sub": "availability.workmail.${AWS::Region}.amazonaws.com"},
        "SourceAccount": {"Ref": "AWS::AccountId"},
        "SourceArn": {"Fn::GetAtt": [org_id, "Arn"]},
    })


def test_grant_helpers_and_references(full: Synth) -> None:
    org_id, _ = only(full.template, "Custom::WorkMailOrganization")
    admin = policy_statements(full.template, "Admin")
    assert len(admin) == 1 and resources_in(admin[0]) == [{"Fn::GetAtt": [org_id, "Arn"]}]
    assert {"workmail:CreateUser", "workmail:ResetPassword", "workmail:CreateAlias"} <= set(actions_of(admin[0]))
    reader = {flatten(resources_in(s)[0]): actions_of(s) for s in policy_statements(full.template, "Reader")}
    assert sorted(reader[f"<GetAtt:{org_id}.Arn>"]) == [
        "workmail:Describe*", "workmail:Get*", "workmail:List*", "workmail:Search*"]
    existing_arn = ("arn:<Ref:AWS::Partition>:workmail:<Ref:AWS::Region>:<Ref:AWS::AccountId>:organization/m-"
                    + "a" * 32)
    assert "workmail:AssociateMemberToGroup" in reader[existing_arn]
    reference = Organization.from_organization_attributes(
        full.stack, "ByArn", organization_id="m-" + "b" * 32,
        organization_arn="arn:aws:workmail:eu-west-1:111122223333:organization/m-" + "b" * 32)
    assert reference.organization_arn.startswith("arn:aws:workmail:eu-west-1:111122223333:")
    assert isinstance(reference, wc.IOrganization) and isinstance(full.orgs["org"], wc.IOrganization)


def test_the_spec_is_written_beside_the_templates(full: Synth) -> None:
    spec_file = full.outdir / "Mail.Org.workmail-spec.json"
    spec = WorkMailSpec.from_json(spec_file.read_text())
    assert [u.name for u in spec.users] == ["alice", "bob", "carol-new", "dave"]
    # Deploy-time values appear as their CloudFormation expressions, still as strings.
    assert spec.organization.kms_key_arn is not None and spec.organization.kms_key_arn.startswith('{"Fn::GetAtt"')
    manifest = json.loads((full.outdir / "manifest.json").read_text())
    artifact = manifest["artifacts"]["Mail"]
    metadata = json.dumps(artifact.get("metadata")) + (full.outdir / artifact["additionalMetadataFile"]).read_text()
    assert "Mail.Org.workmail-spec.json" in metadata


def test_no_secret_value_reaches_the_cloud_assembly(full: Synth) -> None:
    files = [path for path in full.outdir.rglob("*") if path.is_file()]
    assert len(files) > 5
    canary_id = full.stack.get_logical_id(full.stack.node.find_child("CanaryPassword").node.default_child)
    holders = []
    for path in files:
        text = path.read_text(errors="replace")
        if CANARY in text:
            holders.append(path)
        if path.name.endswith(".template.json"):
            template = json.loads(text)
            # Only the control secret's own resource holds a secret value.
            for logical_id, resource in template["Resources"].items():
                if CANARY in json.dumps(resource):
                    assert logical_id == canary_id
                    assert resource["Properties"]["SecretString"] == CANARY
            assert [k for k, r in template["Resources"].items() if "SecretString" in r.get("Properties", {})] == [
                canary_id]
        elif path.suffix == ".json":
            assert '"SecretString"' not in text, path
    assert sorted(holders) == [full.outdir / "Mail.template.json", full.outdir / "tree.json"]
    # The construct tree repeats each resource's properties: again only the control's.
    tree = json.loads((full.outdir / "tree.json").read_text())

    def paths_holding(node: dict[str, Any]) -> Iterator[str]:
        own = {k: v for k, v in node.items() if k != "children"}
        if CANARY in json.dumps(own):
            yield node["path"]
        for child in node.get("children", {}).values():
            yield from paths_holding(child)

    assert list(paths_holding(tree["tree"])) == ["Mail/CanaryPassword/Resource"]
    # In every spec, passwords are references and nothing else.
    for path in (p for p in files if p.name.endswith(".workmail-spec.json")):
        spec = json.loads(path.read_text())
        refs = [u["password"] for u in spec["users"] if "password" in u]
        refs += [c["ews"]["password"] for c in spec["availability_configurations"] if "ews" in c]
        assert len(refs) == 5 and all(set(ref) <= {"secret_id", "version_id", "json_key"} for ref in refs)


def test_plain_text_passwords_are_refused(full: Synth) -> None:
    app = cdk.App()
    org = Organization(cdk.Stack(app, "S"), "Org", alias="acme")
    canary = "Pl4in-Text-Canary!"
    with pytest.raises(TypeError, match="secretsmanager") as raised:
        org.add_user("dave", display_name="Dave", email="dave@acme.awsapps.com", password=canary)  # type: ignore[arg-type]
    assert canary not in str(raised.value)


def test_declaration_ids_are_unique_among_siblings(full: Synth) -> None:
    app = cdk.App()
    org = Organization(cdk.Stack(app, "S"), "Org", alias="acme")
    org.add_user("erin", display_name="Erin")
    with pytest.raises(ValueError, match="S/Org/Users/erin: there is already a declaration"):
        org.add_user("erin2", id="erin", display_name="Erin 2")
    group = org.add_group("g")
    group.add_member("erin")
    with pytest.raises(ValueError, match="S/Org/Groups/g/Members/erin"):
        group.add_member("erin")
    other = Organization(cdk.Stack(app, "T"), "Org", alias="other")
    with pytest.raises(ValueError, match="belongs to another organization"):
        other.add_group("g2", members=[org.users[0]])
    with pytest.raises(ValueError, match="exactly one provider"):
        org.add_availability_configuration("x.example")
    with pytest.raises(ValueError, match="RETAIN or DESTROY"):
        Organization(cdk.Stack(app, "U"), "Org", alias="x", removal_policy=cdk.RemovalPolicy.SNAPSHOT)


# Several organizations in one stack ------------------------------------------------------


@pytest.fixture(scope="module")
def several(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("several")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Several")
    first = Organization(stack, "First", alias="first-org", allow_replacement=True, allow_destructive_changes=True)
    first.add_domain("first.test", default=True)
    # Applied after the domain exists: it follows too.
    first.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
    # A small limit sends this directory's spec to S3.
    large = Organization(stack, "Large", alias="large-org", inline_spec_limit=2_000)
    large.add_domain("large.test")
    by_name = secretsmanager.Secret.from_secret_name_v2(stack, "Shared", "workmail/initial")
    for n in range(40):
        large.add_user(f"user{n:02d}", display_name=f"User {n}", email=f"user{n:02d}@large.test", password=by_name)
    adopted = Organization(stack, "Adopted", alias="legacy", organization_id="m-" + "c" * 32)
    adopted.add_user("frank", display_name="Frank", email="frank@legacy.awsapps.com")
    zone = route53.HostedZone.from_hosted_zone_attributes(stack, "Zone", hosted_zone_id="Z9", zone_name="legacy.test")
    adopted.add_domain("legacy.test", hosted_zone=zone, wait_for_verification=True)
    # A large spec with deploy-time values: a secret and a hosted zone made in the same stack.
    tokens = Organization(stack, "Tokens", alias="tokens-org", inline_spec_limit=2_000)
    own_zone = route53.PublicHostedZone(stack, "OwnZone", zone_name="tokens.test")
    tokens.add_domain("tokens.test", hosted_zone=own_zone, default=True)
    generated = secretsmanager.Secret(stack, "Generated")
    for n in range(30):
        tokens.add_user(f"user{n:02d}", display_name=f"User {n}", email=f"user{n:02d}@tokens.test", password=generated)
    return synthesize(app, stack, outdir, {"first": first, "large": large, "adopted": adopted, "tokens": tokens})


def test_organizations_share_one_provider(several: Synth) -> None:
    handlers = [f for f in resources_of(several.template, "AWS::Lambda::Function").values()
                if f["Properties"].get("Handler", "").startswith("workmail_constructs.")]
    assert len(handlers) == 2
    assert len(resources_of(several.template, "AWS::StepFunctions::StateMachine")) == 1
    tokens = {r["Properties"]["ServiceToken"]["Fn::GetAtt"][0] for kind in (
        "Custom::WorkMailOrganization", "Custom::WorkMailDomain", "Custom::WorkMailDirectory")
        for r in resources_of(several.template, kind).values()}
    assert len(tokens) == 1
    orgs = sorted(resources_of(several.template, "Custom::WorkMailOrganization"))
    statements = statements_of(several.template, ACCESS_POLICY)
    workmail = next(s for s in statements if "workmail:CreateUser" in actions_of(s))
    assert sorted(flatten(r) for r in resources_in(workmail)) == sorted(f"<GetAtt:{o}.Arn>" for o in orgs)


def test_removal_policy_and_switches(several: Synth) -> None:
    first = several.orgs["first"]
    org = several.template["Resources"][several.logical_id(first.resource)]
    assert org["DeletionPolicy"] == "Delete" and org["Properties"]["AllowReplacement"] == "true"
    assert org["Properties"]["Spec"]["removal_policy"] == "destroy"
    domain = several.template["Resources"][several.logical_id(first.domains[0].resource)]
    assert domain["DeletionPolicy"] == "Delete"
    directory = several.template["Resources"][several.logical_id(first.directory.resource)]
    assert directory["Properties"]["AllowDestructive"] == "true"


def test_adopted_organization_names_its_id(several: Synth) -> None:
    adopted = several.orgs["adopted"]
    properties = several.template["Resources"][several.logical_id(adopted.resource)]["Properties"]
    assert properties["Spec"]["organization_id"] == "m-" + "c" * 32
    warnings = assertions.Annotations.from_stack(several.stack).find_warning(
        "*", MATCH.string_like_regexp("waiting for verification in the same deployment"))
    assert len(warnings) == 1


def test_a_large_spec_goes_to_s3_with_its_hash(several: Synth) -> None:
    large = several.orgs["large"]
    assert large.directory.mode == "asset" and several.orgs["first"].directory.mode == "inline"
    properties = several.template["Resources"][several.logical_id(large.directory.resource)]["Properties"]
    assert "Spec" not in properties and "References" not in properties
    # A structured object, as the handler reads it too (the JSON string of older stacks also).
    location = {k: flatten(v) for k, v in properties["SpecLocation"].items()}
    assert set(location) == {"Bucket", "Key", "Sha256"}
    asset_file = several.outdir / f"asset.{location['Key'].removesuffix('.json')}.json"
    content = asset_file.read_bytes()
    assert hashlib.sha256(content).hexdigest() == location["Sha256"]
    assert WorkMailSpec.from_json(content.decode()) == large.to_spec()
    assert (several.outdir / "Several.Large.workmail-spec.json").read_bytes() == content
    # A short summary beside it, so a diff shows which kinds changed.
    summary = properties["SpecSummary"]
    assert set(summary) == set(SUMMARY_SECTIONS) and summary["users"]["Count"] == "40"
    assert summary["groups"] == {"Count": "0", "Digest": hashlib.sha256(b"null").hexdigest()[:16]}
    users = json.dumps(json.loads(content)["users"], separators=(",", ":"), ensure_ascii=False)
    assert summary["users"]["Digest"] == hashlib.sha256(users.encode()).hexdigest()[:16]
    # The handler may read the spec objects and nothing else of the bucket.
    statements = statements_of(several.template, ACCESS_POLICY)
    reads = [s for s in statements if "s3:GetObject" in actions_of(s)]
    assert len(reads) == 1 and actions_of(reads[0]) == ["s3:GetObject"]
    assert f"/{location['Key']}" in [flatten(r)[-len(location["Key"]) - 1:] for r in resources_in(reads[0])]


def test_deploy_time_values_travel_beside_an_s3_spec(several: Synth) -> None:
    tokens = several.orgs["tokens"]
    assert tokens.directory.mode == "asset"
    properties = several.template["Resources"][several.logical_id(tokens.directory.resource)]["Properties"]
    secret = several.logical_id(several.stack.node.find_child("Generated"))
    zone = several.logical_id(several.stack.node.find_child("OwnZone"))
    # One reference per value, however many users share it, named after its resource.
    assert properties["References"] == {secret: {"Ref": secret}, zone: {"Ref": zone}}
    location = {k: flatten(v) for k, v in properties["SpecLocation"].items()}
    content = (several.outdir / f"asset.{location['Key'].removesuffix('.json')}.json").read_bytes()
    assert hashlib.sha256(content).hexdigest() == location["Sha256"]
    assert b"Token[" not in content and b'"Ref"' not in content
    document = json.loads(content)
    assert {u["password"]["secret_id"] for u in document["users"]} == {f"$ref:{secret}"}
    assert document["domains"][0]["hosted_zone_id"] == f"$ref:{zone}"
    # The handler's reading: the references put in place give the declared spec back.
    values = {name: several.stack.resolve(value) for name, value in tokens.directory.rendered.references.items()}
    assert values == properties["References"]
    resolved = resolve_references(document, dict(tokens.directory.rendered.references))
    assert from_data(WorkMailSpec, resolved) == tokens.to_spec()
    # Beside the templates, each value shows as its CloudFormation expression.
    readable = WorkMailSpec.from_json((several.outdir / "Several.Tokens.workmail-spec.json").read_text())
    assert readable.domains[0].hosted_zone_id == json.dumps({"Ref": zone}, separators=(",", ":"))
    assert tokens.directory.problems == []


def test_a_declared_user_is_one_object_for_the_cyclic_collector() -> None:
    """Declaring can't pause the collector (the loop is the user's), and it walks every object
    of the process once enough new ones pile up; a user with aliases, in groups, stays one."""
    app = cdk.App()
    stack = cdk.Stack(app, "Objects")
    org = wc.Organization(stack, "Org", alias="objects")
    org.add_domain("objects.example")
    passwords = secretsmanager.Secret(stack, "Passwords")
    users = [org.add_user(f"u{n}", display_name=f"U {n}", email=f"u{n}@objects.example", password=passwords,
                          password_json_key="p") for n in range(2)]
    org.add_group("warm", members=users, aliases=["warm@objects.example"])
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        before = gc.get_count()[0]
        declared = []
        for n in range(1000):
            declared.append(org.add_user(
                f"user{n}", display_name=f"User {n}", email=f"user{n}@objects.example", department="d",
                aliases=[f"a{n}@objects.example", f"b{n}@objects.example"], password=passwords,
                password_json_key="p"))
        for g in range(100):
            org.add_group(f"group{g}", email=f"group{g}@objects.example", members=declared[g * 5:g * 5 + 5])
        # Objects the collector tracks, made and still alive: the users, the groups, and the
        # growth of a few lists.
        made = gc.get_count()[0] - before
    finally:
        if was_enabled:
            gc.enable()
    assert made <= 1100 * 1.05, made
    spec = org.to_spec()
    assert spec.users[2].aliases == ["a0@objects.example", "b0@objects.example"]
    assert spec.users[2].logical_id == "Objects/Org/Users/user0"
    assert spec.groups[1].members == [f"user{n}" for n in range(5)]
    assert declared[0].spec == spec.users[2] and declared[0].spec is not spec.users[2]


def test_every_deploy_time_value_in_a_document_becomes_a_reference(tmp_path: Path) -> None:
    """Whole values (one reference however often they appear), values inside longer strings
    (the whole string is the value), the same token both ways, and number tokens."""
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Refs")
    arn, other = cdk.Token.as_string(cdk.Fn.ref("Secret")), cdk.Token.as_string(cdk.Fn.ref("Zone"))
    count = cdk.Token.as_number(cdk.Fn.ref("Count"))
    data = {"a": arn, "b": [arn, f"x{arn}y", other], "c": f"arn:{other}:z", "d": count, "e": "plain"}
    references = References(stack)
    text = _references_out(json.dumps(data, separators=(",", ":")), references)
    document = json.loads(text)
    assert "Token[" not in text and document["e"] == "plain"
    assert document["a"] == document["b"][0] == "$ref:Secret" and document["b"][2] == "$ref:Zone"
    expressions = {f"$ref:{name}": e for name, e in references.expressions.items()}
    assert expressions[document["b"][1]] == {"Fn::Join": ["", ["x", {"Ref": "Secret"}, "y"]]}
    assert expressions[document["c"]] == {"Fn::Join": ["", ["arn:", {"Ref": "Zone"}, ":z"]]}
    assert expressions[document["d"]] == {"Ref": "Count"}
    assert len(references.values) == 5


# Validation at synth time -------------------------------------------------------------


def test_validation_errors_name_the_construct_path_and_field(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Broken")
    org = Organization(stack, "Org", alias="acme")
    org.add_domain("acme.test")
    alice = org.add_user("alice", display_name="Alice", email="alice@acme.test")
    alice.add_alias("alice@undeclared.test", id="Personal")
    team = org.add_group("team", email="team@acme.test", members=[alice])
    team.add_member("nobody")
    org.add_user("bob", display_name="Bob")
    org.add_access_control_rule("bad rule", effect="ALLOW", description="spaces are not allowed")
    # A literal that looks like a reference would be taken for one by the handler.
    org.add_user("dora", display_name="$ref:SomeSecret", email="dora@acme.test")
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    message = str(raised.value)
    assert "Broken/Org/Users/alice/Aliases/Personal (users[alice].aliases[0]): the domain undeclared.test" in message
    assert ("Broken/Org/Groups/team/Members/nobody (groups[team].members[1]): 'nobody' is not a declared user or "
            "group") in message
    assert "Broken/Org/Users/bob (users[bob].email): an enabled user needs a primary email address" in message
    assert "Broken/Org/AccessControlRules/bad rule (access_control_rules[bad rule].name)" in message
    assert ("Broken/Org/Users/dora (users[dora].display_name): a value of the form $ref:NAME is reserved for "
            "deploy-time references") in message


def test_deploy_time_values_are_not_validated_at_synth(full: Synth) -> None:
    # The KMS key ARN, secret ARNs and the Lambda ARN are tokens in the full app, which
    # synthesized: patterns are checked by the handler once the values exist.
    assert full.orgs["org"].directory.problems == []


# The handler asset ---------------------------------------------------------------------


def test_handler_asset_is_the_package_source_only(full: Synth) -> None:
    directory = handler_code_directory()
    files = sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())
    assert files and all(re.fullmatch(r"workmail_constructs/(__init__\.py|(core|handlers|hooks)/[\w/]+\.py)", f)
                         for f in files), files
    assert sum((directory / f).stat().st_size for f in files) <= 1_000_000
    for name in files:
        text = (directory / name).read_text()
        assert not re.search(r"^\s*(import aws_cdk|from aws_cdk|import constructs|from constructs)", text, re.M), name
    # The synthesized function code is exactly that directory.
    function = next(f for f in resources_of(full.template, "AWS::Lambda::Function").values()
                    if f["Properties"].get("Handler", "").startswith("workmail_constructs."))
    asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    staged = full.outdir / f"asset.{asset_hash}"
    assert sorted(str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file()) == files


def test_handlers_import_without_aws_cdk(full: Synth) -> None:
    code = ("import sys; sys.modules['aws_cdk'] = None; sys.modules['constructs'] = None; "
            "import workmail_constructs.handlers.provider, workmail_constructs.handlers.organization, "
            "workmail_constructs.handlers.domain, workmail_constructs.handlers.directory, "
            "workmail_constructs.handlers.email_monitoring; "
            "print(callable(workmail_constructs.handlers.provider.on_event))")
    result = subprocess.run([sys.executable, "-c", code], cwd=handler_code_directory(), capture_output=True,
                            text=True, env={"PYTHONPATH": str(handler_code_directory()), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_directory_actions_cover_what_the_core_calls() -> None:
    operations = set(botocore.session.get_session().get_service_model("workmail").operation_names)
    core = Path(workmail_constructs.__file__).parent / "core"
    called = {word for name in ("read.py", "apply.py") for word in re.findall(r"\b[A-Z][A-Za-z]+\b",
                                                                              (core / name).read_text())
              if word in operations}
    granted = {a.removeprefix("workmail:") for a in DIRECTORY_ACTIONS}
    # What the other two resources do (and the directory handler must not).
    elsewhere = {"CreateOrganization", "DeleteOrganization", "RegisterMailDomain", "DeregisterMailDomain",
                 "UpdateDefaultMailDomain"}
    assert called - elsewhere <= granted
    assert granted <= operations and {a.removeprefix("workmail:") for a in DOMAIN_ACTIONS} <= operations


def test_package_exports_load_lazily() -> None:
    code = ("import sys, workmail_constructs; assert 'aws_cdk' not in sys.modules; "
            "import workmail_constructs.core.spec; assert 'aws_cdk' not in sys.modules; "
            "workmail_constructs.Organization; assert 'aws_cdk' in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert sorted(workmail_constructs.__all__) == sorted(wc.__all__)


# Scale ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Synth, Path]]:
    outdir = tmp_path_factory.mktemp("scale")
    app = cdk.App(outdir=str(outdir))
    stack, org = build_stack(app, users=10_000, groups=2_000, aliases_per_user=2)
    yield synthesize(app, stack, outdir, {"org": org}), outdir / f"{stack.artifact_id}.template.json"


def test_ten_thousand_users_fit_cloudformation_limits(scale: tuple[Synth, Path]) -> None:
    synth, template_file = scale
    spec = synth.orgs["org"].to_spec()
    assert (len(spec.users), len(spec.groups), sum(len(u.aliases) for u in spec.users)) == (10_000, 2_000, 20_000)
    assert len(synth.template["Resources"]) <= 500
    assert template_file.stat().st_size <= 1_000_000
    assert synth.orgs["org"].directory.mode == "asset"
    assert synth.orgs["org"].directory.problems == []
    # The users' passwords are in one secret of the stack and the domain in a zone of the
    # stack: deploy-time values, which travel beside the S3 spec as two references.
    properties = only(synth.template, "Custom::WorkMailDirectory")[1]["Properties"]
    secret = synth.logical_id(synth.stack.node.find_child("InitialPasswords"))
    zone = synth.logical_id(synth.stack.node.find_child("Zone"))
    assert properties["References"] == {secret: {"Ref": secret}, zone: {"Ref": zone}}
    assert properties["SpecSummary"]["users"]["Count"] == "10000"
    assert properties["SpecSummary"]["groups"]["Count"] == "2000"


# Footprint ------------------------------------------------------------------------------


def test_footprint_of_a_small_stack(tmp_path: Path) -> None:
    """One provider for everything: at most one state machine, 6 functions, 35 resources
    (65, 15 and 3 with a provider per resource type)."""
    counts = {}
    for variant, logging in (("basic", False), ("logging", True)):
        app = cdk.App(outdir=str(tmp_path / variant))
        stack = build_footprint_stack(app, logging=logging)
        counts[variant] = count_resources(app.synth().get_stack_by_name(stack.stack_name).template)
    basic = counts["basic"]
    assert basic["AWS::StepFunctions::StateMachine"] <= 1
    assert basic["AWS::Lambda::Function"] <= 6
    assert sum(basic.values()) <= 35
    # Email event logging and audit log delivery add no provider, no function.
    logging = counts["logging"]
    assert logging["AWS::StepFunctions::StateMachine"] == 1
    assert logging["AWS::Lambda::Function"] == basic["AWS::Lambda::Function"]
    assert not [kind for kind in logging if "EmailMonitoring" in kind]


# cdk diff ------------------------------------------------------------------------------


def small_directory(outdir: Path, *, with_erin: bool) -> tuple[cdk.Stack, dict[str, Any]]:
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Diff")
    org = Organization(stack, "Org", alias="diff-org")
    zone = route53.PublicHostedZone(stack, "Zone", zone_name="diff.test")
    org.add_domain("diff.test", hosted_zone=zone, default=True)
    passwords = secretsmanager.Secret(stack, "Passwords")
    alice = org.add_user("alice", display_name="Alice", email="alice@diff.test", password=passwords)
    if with_erin:
        org.add_user("erin", display_name="Erin", email="erin@diff.test", job_title="Engineer", password=passwords,
                     password_json_key="erin")
    org.add_user("bob", display_name="Bob", email="bob@diff.test", password=passwords)
    org.add_group("team", email="team@diff.test", members=[alice, "bob"])
    template = app.synth().get_stack_by_name("Diff").template
    return stack, template


def differences(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(path, old, new) of what differs, lists of named objects matched by name, as a
    structural diff (cdk diff's) shows a property that is an object."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new)):
            found += differences(old.get(key), new.get(key), f"{path}.{key}" if path else key)
        return found
    if isinstance(old, list) and isinstance(new, list) and all(isinstance(i, dict) and "name" in i
                                                             for i in old + new):
        named_old, named_new = ({i["name"]: i for i in items} for items in (old, new))
        found = []
        for name in sorted(set(named_old) | set(named_new)):
            found += differences(named_old.get(name), named_new.get(name), f"{path}[{name}]")
        return found
    return [] if old == new else [(path, old, new)]


def test_diff_of_an_inline_spec_names_the_added_user_and_its_fields(tmp_path: Path) -> None:
    _, before = small_directory(tmp_path / "before", with_erin=False)
    stack, after = small_directory(tmp_path / "after", with_erin=True)
    (old_id, old), (new_id, new) = only(before, "Custom::WorkMailDirectory"), only(after, "Custom::WorkMailDirectory")
    assert old_id == new_id
    changed = differences(old["Properties"], new["Properties"])
    secret = stack.get_logical_id(stack.node.find_child("Passwords").node.default_child)
    # The added user is one object of its own, with its fields; nothing else changed, the
    # references (the secret, the zone) included.
    assert changed == [("Spec.users[erin]", None, {
        "name": "erin", "display_name": "Erin", "email": "erin@diff.test", "job_title": "Engineer",
        "password": {"secret_id": f"$ref:{secret}", "json_key": "erin"}, "logical_id": "Diff/Org/Users/erin",
    })]
    assert old["Properties"]["References"] == new["Properties"]["References"]
    # Every other resource of the stack is unchanged.
    assert {k: v for k, v in before["Resources"].items() if k != old_id} == {
        k: v for k, v in after["Resources"].items() if k != new_id}
