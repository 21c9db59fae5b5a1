"""Synthesis tests for the logging constructs: email event logging and audit log delivery.

One app holds every kind of construct (synthesized once per module), for organizations
the stack does not manage; email event logging of an ``Organization`` of the stack (part
of its directory spec) has its own app; the validation tests build their own small
stacks and never synthesize.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from constructs import IConstruct

from workmail_constructs.constructs import Organization
from workmail_constructs.constructs.logging import (
    AUDIT_LOG_TYPES,
    AuditLogDelivery,
    AuditLogType,
    EmailEventLogging,
    audit_log_deployer_statements,
)
from workmail_constructs.constructs.providers import EMAIL_MONITORING_ACTIONS

ACCOUNT = "111122223333"
REGION = "us-east-1"
ORG_ID = "m-0123456789abcdef0123456789abcdef"
ORG_ARN = f"arn:aws:workmail:{REGION}:{ACCOUNT}:organization/{ORG_ID}"
ORG2_ID = "m-fedcba9876543210fedcba9876543210"
ORG2_ARN = f"arn:aws:workmail:{REGION}:{ACCOUNT}:organization/{ORG2_ID}"
CUSTOM_GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:workmail-monitoring:*"
CUSTOM_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/workmail-monitoring-role"
IMPORTED_STREAM_ARN = f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/audit"
# The Guide's example policies (Administrator Guide, "Enabling email event logging").
FIXTURES = Path(__file__).parent / "fixtures" / "guide_policies"
NAME = re.compile(r"^[\w-]{1,60}$")
# The policy of the WorkMail provider's role that holds what is scoped to organizations.
ACCESS_POLICY = "WorkMailConstructsHandlersOrganizationAccess"


@dataclass(frozen=True)
class StandInOrganization:
    organization_id: str
    organization_arn: str
    alias: str | None = None


ORG = StandInOrganization(ORG_ID, ORG_ARN, alias="acme")
ORG2 = StandInOrganization(ORG2_ID, ORG2_ARN)


def new_stack(tmp_path: Path, name: str = "Logging") -> cdk.Stack:
    app = cdk.App(outdir=str(tmp_path))
    return cdk.Stack(app, name, env=cdk.Environment(account=ACCOUNT, region=REGION))


def cfn_element(construct: IConstruct) -> cdk.CfnElement:
    """The construct itself if it is a CloudFormation element, else its default child."""
    if isinstance(construct, cdk.CfnElement):
        return construct
    child = construct.node.default_child
    assert isinstance(child, cdk.CfnElement), construct.node.path
    return child


@dataclass
class Synth:
    stack: cdk.Stack
    template: Template
    json: dict[str, Any]
    deliveries: dict[str, AuditLogDelivery]
    events: EmailEventLogging
    custom_events: EmailEventLogging

    def logical_id(self, construct: IConstruct) -> str:
        return self.stack.get_logical_id(cfn_element(construct))

    def resource(self, construct: IConstruct) -> dict[str, Any]:
        resource: dict[str, Any] = self.json["Resources"][self.logical_id(construct)]
        return resource

    def of_type(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.json["Resources"].items() if v["Type"] == type_}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    stack = new_stack(tmp_path_factory.mktemp("logging"))
    events = EmailEventLogging(stack, "EmailEvents", organization=ORG)
    custom_events = EmailEventLogging(
        stack,
        "CustomEmailEvents",
        organization=ORG2,
        log_group=logs.LogGroup.from_log_group_arn(stack, "CustomGroup", CUSTOM_GROUP_ARN),
        role=iam.Role.from_role_arn(stack, "CustomRole", CUSTOM_ROLE_ARN),
    )

    audit_group = logs.LogGroup(
        stack, "AuditGroup", log_group_name="/aws/vendedlogs/workmail/acme", retention=logs.RetentionDays.ONE_YEAR
    )
    key = kms.Key(stack, "AuditKey")
    bucket = s3.Bucket(stack, "AuditBucket", encryption_key=key)
    stream_bucket = s3.Bucket(stack, "StreamBucket")
    stream = firehose.DeliveryStream(stack, "AuditStream", destination=firehose.S3Bucket(stream_bucket))
    deliveries = {
        "access_cwl": AuditLogDelivery.to_log_group(
            stack,
            "AccessControlToLogs",
            organization=ORG,
            log_type=AuditLogType.ACCESS_CONTROL_LOGS,
            log_group=audit_group,
            output_format="json",
        ),
        "auth_cwl": AuditLogDelivery(
            stack, "AuthenticationToLogs", organization=ORG, log_type="AUTHENTICATION_LOGS", destination=audit_group
        ),
        "access_s3": AuditLogDelivery.to_bucket(
            stack,
            "AccessControlToBucket",
            organization=ORG,
            log_type="ACCESS_CONTROL_LOGS",
            bucket=bucket,
            record_fields=["event_timestamp", "request_id", "access_granted"],
        ),
        "mailbox_fh": AuditLogDelivery.to_firehose(
            stack,
            "MailboxAccessToFirehose",
            organization=ORG,
            log_type=AuditLogType.WORKMAIL_MAILBOX_ACCESS_LOGS,
            delivery_stream=stream,
        ),
        "pat_fh_imported": AuditLogDelivery.to_firehose(
            stack,
            "TokensToImportedFirehose",
            organization=ORG,
            log_type=AuditLogType.WORKMAIL_PERSONAL_ACCESS_TOKEN_LOGS,
            delivery_stream=firehose.DeliveryStream.from_delivery_stream_arn(stack, "Imported", IMPORTED_STREAM_ARN),
        ),
        "availability_s3_imported": AuditLogDelivery.to_bucket(
            stack,
            "AvailabilityToImportedBucket",
            organization=ORG2,
            log_type="WORKMAIL_AVAILABILITY_PROVIDER_LOGS",
            bucket=s3.Bucket.from_bucket_name(stack, "ImportedBucket", "audit-archive"),
        ),
    }
    template = Template.from_stack(stack)
    return Synth(stack, template, dict(template.to_json()), deliveries, events, custom_events)


def flatten(value: Any) -> str:
    """A CloudFormation string expression as text, references written as <Ref X> / <X.Attr>."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(flatten(part) for part in parts)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    if isinstance(value, dict) and "Ref" in value:
        return f"<Ref {value['Ref']}>"
    raise AssertionError(f"unexpected expression {value!r}")


def statements_of_policy(synth: Synth, logical_prefix: str) -> list[dict[str, Any]]:
    policies = {k: v for k, v in synth.of_type("AWS::IAM::Policy").items() if k.startswith(logical_prefix)}
    assert len(policies) == 1, policies.keys()
    statements: list[dict[str, Any]] = next(iter(policies.values()))["Properties"]["PolicyDocument"]["Statement"]
    return statements


# ---------------------------------------------------------------------------------------
# Email event logging
# ---------------------------------------------------------------------------------------


def test_default_log_group_is_the_consoles(synth: Synth) -> None:
    group = synth.resource(synth.events.log_group)
    assert group["Properties"] == {"LogGroupName": "/aws/workmail/emailevents/acme", "RetentionInDays": 30}
    assert group["DeletionPolicy"] == "Retain"


def test_role_trusts_workmail_events_as_the_guide_says(synth: Synth) -> None:
    role = synth.resource(synth.events.role)
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    fixture = json.loads((FIXTURES / "trust_events_workmail.json").read_text())["Statement"][0]
    assert statement == fixture


def test_confused_deputy_conditions_are_an_opt_in(tmp_path: Path) -> None:
    stack = new_stack(tmp_path)
    logging = EmailEventLogging(stack, "Events", organization=ORG, confused_deputy_conditions=True)
    role = logging.role.node.default_child
    assert isinstance(role, iam.CfnRole)
    (statement,) = stack.resolve(role.assume_role_policy_document)["Statement"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": ORG_ARN},
    }


def test_role_may_write_to_the_log_group_only(synth: Synth) -> None:
    fixture = json.loads((FIXTURES / "role_policy_email_events.json").read_text())["Statement"][0]
    role_id = synth.logical_id(synth.events.role)
    policies = [p for p in synth.of_type("AWS::IAM::Policy").values() if p["Properties"]["Roles"] == [{"Ref": role_id}]]
    assert len(policies) == 1
    (statement,) = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == sorted(fixture["Action"])
    group_id = synth.logical_id(synth.events.log_group)
    # The log group's Arn attribute ends in ":*", covering its streams like the fixture's prefix wildcard.
    assert statement["Resource"] == {"Fn::GetAtt": [group_id, "Arn"]}


def test_provider_puts_the_configuration_of_an_organization_managed_elsewhere(synth: Synth) -> None:
    resource = synth.resource(synth.events.configuration)
    # The stack's one WorkMail provider, not an AwsCustomResource of its own.
    assert resource["Type"] == "Custom::WorkMailEmailMonitoring"
    assert resource["Properties"]["ServiceToken"]["Fn::GetAtt"][0].startswith("WorkMailConstructsHandlersProvider")
    role_id = synth.logical_id(synth.events.role)
    group_id = synth.logical_id(synth.events.log_group)
    properties = {k: v for k, v in resource["Properties"].items() if k != "ServiceToken"}
    assert properties == {
        "OrganizationId": ORG_ID,
        "LogGroupArn": {"Fn::GetAtt": [group_id, "Arn"]},
        "RoleArn": {"Fn::GetAtt": [role_id, "Arn"]},
    }
    assert not synth.of_type("Custom::WorkMailEmailMonitoringConfiguration")
    assert not [k for k in synth.json["Resources"] if k.startswith("AWS679f53fac002430cb0da5b7982bd2287")]
    # WorkMail is told to use the role only once the role and its permissions exist, and the
    # handler only once it may hand the role over.
    role_policy_id = synth.logical_id(synth.events.role.node.find_child("DefaultPolicy"))
    assert role_policy_id in resource["DependsOn"]
    assert any(d.startswith(ACCESS_POLICY) for d in resource["DependsOn"])


def test_provider_permissions_are_scoped(synth: Synth) -> None:
    statements = statements_of_policy(synth, ACCESS_POLICY)
    role_id = synth.logical_id(synth.events.role)
    monitoring = [s for s in statements if "workmail:PutEmailMonitoringConfiguration" in s["Action"]]
    # Only the configuration's actions, on the two organizations only.
    assert monitoring == [{"Action": sorted(EMAIL_MONITORING_ACTIONS), "Effect": "Allow",
                           "Resource": [ORG_ARN, ORG2_ARN]}]
    assert [s for s in statements if s["Action"] == "iam:PassRole"] == [{
        "Action": "iam:PassRole",
        "Condition": {"StringEquals": {"iam:PassedToService": "events.workmail.amazonaws.com"}},
        "Effect": "Allow",
        "Resource": [{"Fn::GetAtt": [role_id, "Arn"]}, CUSTOM_ROLE_ARN],
    }]


def test_given_log_group_and_role_are_used(synth: Synth) -> None:
    resource = synth.resource(synth.custom_events.configuration)
    assert {k: v for k, v in resource["Properties"].items() if k != "ServiceToken"} == {
        "OrganizationId": ORG2_ID,
        "RoleArn": CUSTOM_ROLE_ARN,
        "LogGroupArn": CUSTOM_GROUP_ARN,
    }
    # The given role gets the permissions it needs on the given group; no log group is created for it.
    role_policies = [
        p
        for p in synth.of_type("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == ["workmail-monitoring-role"]
    ]
    assert len(role_policies) == 1
    (policy_id,) = [k for k, v in synth.json["Resources"].items() if v is role_policies[0]]
    assert policy_id in resource["DependsOn"]
    (statement,) = role_policies[0]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == CUSTOM_GROUP_ARN
    names = [g["Properties"].get("LogGroupName") for g in synth.of_type("AWS::Logs::LogGroup").values()]
    assert "workmail-monitoring" not in names


def test_an_organization_of_the_stack_declares_email_monitoring_in_its_directory(tmp_path: Path) -> None:
    stack = new_stack(tmp_path)
    org = Organization(stack, "Org", alias="acme")
    org.add_user("alice", display_name="Alice", email="alice@acme.awsapps.com")
    events = EmailEventLogging(stack, "Events", organization=org)
    assert events.configuration is org.directory.resource
    with pytest.raises(ValueError, match="Logging/Again: Logging/Org already has email event logging, declared by "
                                         "Logging/Events"):
        EmailEventLogging(stack, "Again", organization=org)
    template = Template.from_stack(stack).to_json()
    resources = template["Resources"]
    assert not [r for r in resources.values() if "EmailMonitoring" in r["Type"]]
    directory_id = stack.get_logical_id(cfn_element(org.directory.resource))
    properties = resources[directory_id]["Properties"]
    group_id = stack.get_logical_id(cfn_element(events.log_group))
    role_id = stack.get_logical_id(cfn_element(events.role))
    # The ARNs are deploy-time values: named references beside the spec, not inside it.
    assert properties["Spec"]["email_monitoring"] == {"log_group_arn": f"$ref:{group_id}.Arn",
                                                      "role_arn": f"$ref:{role_id}.Arn"}
    assert properties["References"] == {f"{group_id}.Arn": {"Fn::GetAtt": [group_id, "Arn"]},
                                        f"{role_id}.Arn": {"Fn::GetAtt": [role_id, "Arn"]}}
    role_policy_id = stack.get_logical_id(cfn_element(events.role.node.find_child("DefaultPolicy")))
    assert role_policy_id in resources[directory_id]["DependsOn"]
    access = [s for k, p in resources.items() if k.startswith(ACCESS_POLICY)
              for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert [s["Resource"] for s in access if s["Action"] == "iam:PassRole"] == [{"Fn::GetAtt": [role_id, "Arn"]}]
    # An organization of another stack has no directory here: the configuration gets its own resource.
    other = cdk.Stack(stack.node.scope, "Other", env=cdk.Environment(account=ACCOUNT, region=REGION))
    elsewhere = EmailEventLogging(other, "Events", organization=org)
    assert cfn_element(elsewhere.configuration).cfn_resource_type == "Custom::WorkMailEmailMonitoring"


def test_log_group_name_falls_back_to_the_organization_id(tmp_path: Path) -> None:
    stack = new_stack(tmp_path)
    without_alias = cfn_element(EmailEventLogging(stack, "Events", organization=ORG2).log_group)
    assert isinstance(without_alias, logs.CfnLogGroup)
    assert without_alias.log_group_name == f"/aws/workmail/emailevents/{ORG2_ID}"
    given_alias = cfn_element(EmailEventLogging(stack, "Named", organization=ORG2, alias="beta").log_group)
    assert isinstance(given_alias, logs.CfnLogGroup)
    assert given_alias.log_group_name == "/aws/workmail/emailevents/beta"


def test_email_event_logging_refuses_contradictions(tmp_path: Path) -> None:
    stack = new_stack(tmp_path)
    given = logs.LogGroup.from_log_group_name(stack, "Given", "mine")
    with pytest.raises(ValueError, match=r"Logging/Retention: retention and log_group_name apply only"):
        EmailEventLogging(stack, "Retention", organization=ORG, log_group=given, retention=logs.RetentionDays.ONE_WEEK)
    other_region = logs.LogGroup.from_log_group_arn(stack, "Far", f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:far:*")
    with pytest.raises(ValueError, match=r"Logging/FarAway: the log group is in eu-west-1 but the stack deploys"):
        EmailEventLogging(stack, "FarAway", organization=ORG, log_group=other_region)
    far_org = StandInOrganization(ORG_ID, ORG_ARN.replace(REGION, "us-west-2"))
    with pytest.raises(ValueError, match=r"Logging/FarOrg: the organization is in us-west-2"):
        EmailEventLogging(stack, "FarOrg", organization=far_org)
    with pytest.raises(ValueError, match=r"Logging/BadName: log group name 'has space'"):
        EmailEventLogging(stack, "BadName", organization=ORG, log_group_name="has space")


# ---------------------------------------------------------------------------------------
# Audit log delivery
# ---------------------------------------------------------------------------------------


def test_each_log_type_has_its_delivery_source(synth: Synth) -> None:
    sources = synth.of_type("AWS::Logs::DeliverySource")
    by_type = {(s["Properties"]["ResourceArn"], s["Properties"]["LogType"]) for s in sources.values()}
    assert by_type == {
        (ORG_ARN, "ACCESS_CONTROL_LOGS"),
        (ORG_ARN, "AUTHENTICATION_LOGS"),
        (ORG_ARN, "WORKMAIL_MAILBOX_ACCESS_LOGS"),
        (ORG_ARN, "WORKMAIL_PERSONAL_ACCESS_TOKEN_LOGS"),
        (ORG2_ARN, "WORKMAIL_AVAILABILITY_PROVIDER_LOGS"),
    }
    # Two deliveries of the organization's access control logs share one source.
    assert len(sources) == 5
    assert synth.deliveries["access_cwl"].delivery_source is synth.deliveries["access_s3"].delivery_source


def test_names_are_valid_and_unique(synth: Synth) -> None:
    names = [
        r["Properties"]["Name"]
        for t in ("AWS::Logs::DeliverySource", "AWS::Logs::DeliveryDestination")
        for r in synth.of_type(t).values()
    ]
    assert all(NAME.match(name) for name in names), names
    assert len(names) == len(set(names))


@pytest.mark.parametrize("key", ["access_cwl", "auth_cwl", "access_s3", "mailbox_fh", "pat_fh_imported"])
def test_delivery_joins_its_source_and_destination(synth: Synth, key: str) -> None:
    built = synth.deliveries[key]
    delivery = synth.resource(built.delivery)
    source_id = synth.logical_id(built.delivery_source)
    destination_id = synth.logical_id(built.delivery_destination)
    assert delivery["Properties"]["DeliverySourceName"] == synth.resource(built.delivery_source)["Properties"]["Name"]
    assert delivery["Properties"]["DeliveryDestinationArn"] == {"Fn::GetAtt": [destination_id, "Arn"]}
    # Created after both, deleted before both (Administrator Guide, "Enabling audit logging"):
    # the source only by its name, so explicitly.
    assert source_id in delivery["DependsOn"]


def test_log_group_destination_and_shared_resource_policy(synth: Synth) -> None:
    access, auth = synth.deliveries["access_cwl"], synth.deliveries["auth_cwl"]
    group_id = synth.logical_id(access.destination)
    destination = synth.resource(access.delivery_destination)
    assert destination["Properties"]["DeliveryDestinationType"] == "CWL"
    assert destination["Properties"]["DestinationResourceArn"] == {"Fn::GetAtt": [group_id, "Arn"]}
    assert destination["Properties"]["OutputFormat"] == "json"

    policies = synth.of_type("AWS::Logs::ResourcePolicy")
    assert len(policies) == 1, "one CloudWatch Logs resource policy per stack, not one per delivery"
    ((policy_id, policy),) = policies.items()
    assert destination["DependsOn"] == [policy_id]
    assert synth.resource(auth.delivery_destination)["DependsOn"] == [policy_id]
    document = json.loads(flatten(policy["Properties"]["PolicyDocument"]))
    statements = document["Statement"]
    assert len(statements) == 2
    for built, statement in zip((access, auth), statements, strict=True):
        assert statement["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
        assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
        assert (
            statement["Resource"]
            == f"arn:<Ref AWS::Partition>:logs:{REGION}:{ACCOUNT}:log-group:<Ref {group_id}>:log-stream:*"
        )
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": f"<{synth.logical_id(built.delivery_source)}.Arn>"},
        }


def test_bucket_destination_policy_and_key(synth: Synth) -> None:
    built = synth.deliveries["access_s3"]
    bucket = built.destination
    assert isinstance(bucket, s3.Bucket)
    bucket_id = synth.logical_id(bucket)
    destination = synth.resource(built.delivery_destination)
    assert destination["Properties"]["DeliveryDestinationType"] == "S3"
    assert destination["Properties"]["DestinationResourceArn"] == {"Fn::GetAtt": [bucket_id, "Arn"]}
    assert synth.resource(built.delivery)["Properties"]["RecordFields"] == [
        "event_timestamp",
        "request_id",
        "access_granted",
    ]

    assert bucket.policy is not None and bucket.encryption_key is not None
    policy_id = synth.logical_id(bucket.policy)
    key_id = synth.logical_id(bucket.encryption_key)
    assert set(destination["DependsOn"]) == {policy_id, key_id}

    source = f"<{synth.logical_id(built.delivery_source)}.Arn>"
    statements = synth.json["Resources"][policy_id]["Properties"]["PolicyDocument"]["Statement"]
    acl, write = (s for s in statements if s.get("Principal") == {"Service": "delivery.logs.amazonaws.com"})
    assert acl["Action"] == ["s3:GetBucketAcl", "s3:ListBucket"]
    assert acl["Resource"] == {"Fn::GetAtt": [bucket_id, "Arn"]}
    assert acl["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert flatten(acl["Condition"]["ArnLike"]["aws:SourceArn"]) == source
    assert write["Action"] == "s3:PutObject"
    assert flatten(write["Resource"]) == f"<{bucket_id}.Arn>/AWSLogs/{ACCOUNT}/*"
    assert write["Condition"]["StringEquals"] == {
        "s3:x-amz-acl": "bucket-owner-full-control",
        "aws:SourceAccount": ACCOUNT,
    }
    assert flatten(write["Condition"]["ArnLike"]["aws:SourceArn"]) == source

    key_statements = synth.json["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
    (for_delivery,) = [s for s in key_statements if s.get("Principal") == {"Service": "delivery.logs.amazonaws.com"}]
    assert sorted(for_delivery["Action"]) == sorted(
        ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
    )
    assert for_delivery["Resource"] == "*"
    assert for_delivery["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert flatten(for_delivery["Condition"]["ArnLike"]["aws:SourceArn"]) == (
        f"arn:<Ref AWS::Partition>:logs:{REGION}:{ACCOUNT}:delivery-source:*"
    )


def test_firehose_destination_is_tagged_for_log_delivery(synth: Synth) -> None:
    built = synth.deliveries["mailbox_fh"]
    stream = built.destination
    assert isinstance(stream, firehose.DeliveryStream)
    stream_id = synth.logical_id(stream)
    destination = synth.resource(built.delivery_destination)
    assert destination["Properties"]["DeliveryDestinationType"] == "FH"
    assert destination["Properties"]["DestinationResourceArn"] == {"Fn::GetAtt": [stream_id, "Arn"]}
    assert {"Key": "LogDeliveryEnabled", "Value": "true"} in synth.json["Resources"][stream_id]["Properties"]["Tags"]
    # Only the stream: its role and log group are not log delivery targets.
    tagged = [
        k
        for k, v in synth.json["Resources"].items()
        if {"Key": "LogDeliveryEnabled", "Value": "true"} in v.get("Properties", {}).get("Tags", [])
    ]
    assert tagged == [stream_id]


def test_imported_destinations_get_warnings(synth: Synth) -> None:
    annotations = Annotations.from_stack(synth.stack)
    annotations.has_warning(
        "/Logging/TokensToImportedFirehose", Match.string_like_regexp("needs the tag LogDeliveryEnabled=true")
    )
    annotations.has_warning(
        "/Logging/AvailabilityToImportedBucket",
        Match.string_like_regexp("AWSLogDeliveryAclCheck and AWSLogDeliveryWrite"),
    )
    imported = synth.resource(synth.deliveries["availability_s3_imported"].delivery_destination)
    assert imported["Properties"]["DestinationResourceArn"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::audit-archive"]]
    }
    assert "DependsOn" not in imported


def test_organization_known_only_by_token_gets_its_own_source(tmp_path: Path) -> None:
    stack = new_stack(tmp_path)
    arn = cdk.CfnParameter(stack, "OrgArn").value_as_string
    org = StandInOrganization(cdk.CfnParameter(stack, "OrgId").value_as_string, arn)
    group = logs.LogGroup(stack, "Group")
    built = AuditLogDelivery(stack, "Audit", organization=org, log_type="AUTHENTICATION_LOGS", destination=group)
    assert built.delivery_source.node.scope is built
    assert stack.resolve(built.delivery_source.resource_arn) == {"Ref": "OrgArn"}


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (
            {"log_type": "MAILBOX_LOGS"},
            r"Logging/Bad: 'MAILBOX_LOGS' is not a WorkMail audit log type; expected one of",
        ),
        ({"output_format": "xml"}, r"Logging/Bad: output_format 'xml' must be one of json, plain"),
        ({"field_delimiter": "||||||"}, r"Logging/Bad: field_delimiter must be at most 5 characters"),
        ({"record_fields": ["x" * 65]}, r"Logging/Bad: record field 'x+' must be 1-64 characters"),
        ({"record_fields": ["f"] * 129}, r"Logging/Bad: at most 128 record_fields"),
    ],
)
def test_audit_log_delivery_validation_names_the_path(tmp_path: Path, options: dict[str, Any], error: str) -> None:
    stack = new_stack(tmp_path)
    group = logs.LogGroup(stack, "Group")
    arguments: dict[str, Any] = {"organization": ORG, "log_type": "ACCESS_CONTROL_LOGS", "destination": group}
    with pytest.raises(ValueError, match=error):
        AuditLogDelivery(stack, "Bad", **(arguments | options))


def test_destination_must_be_a_log_group_bucket_or_stream(tmp_path: Path) -> None:
    stack = new_stack(tmp_path)
    topic_like = iam.Role(stack, "NotADestination", assumed_by=iam.AccountRootPrincipal())
    with pytest.raises(TypeError, match=r"Logging/Bad: destination must be a CloudWatch Logs log group"):
        AuditLogDelivery(stack, "Bad", organization=ORG, log_type="ACCESS_CONTROL_LOGS", destination=topic_like)  # type: ignore[arg-type]


def test_bucket_with_aws_managed_kms_key_is_refused(tmp_path: Path) -> None:
    stack = new_stack(tmp_path)
    bucket = s3.Bucket(stack, "Managed", encryption=s3.BucketEncryption.KMS_MANAGED)
    with pytest.raises(ValueError, match=r"Logging/Bad: the bucket is encrypted with the AWS managed KMS key"):
        AuditLogDelivery.to_bucket(stack, "Bad", organization=ORG, log_type="ACCESS_CONTROL_LOGS", bucket=bucket)
    # SSE-S3 needs nothing more (Administrator Guide, "Enabling audit logging").
    plain = s3.Bucket(stack, "Plain", encryption=s3.BucketEncryption.S3_MANAGED)
    AuditLogDelivery.to_bucket(stack, "Good", organization=ORG, log_type="ACCESS_CONTROL_LOGS", bucket=plain)


def test_every_audit_log_type_is_accepted(tmp_path: Path) -> None:
    assert {t.value for t in AuditLogType} == AUDIT_LOG_TYPES
    assert len(AUDIT_LOG_TYPES) == 5
    stack = new_stack(tmp_path)
    group = logs.LogGroup(stack, "Group")
    for log_type in sorted(AUDIT_LOG_TYPES):
        AuditLogDelivery(stack, log_type, organization=ORG, log_type=log_type, destination=group)


def test_deployer_statements_include_the_workmail_permission(tmp_path: Path) -> None:
    stack = new_stack(tmp_path)
    statements = [stack.resolve(s.to_statement_json()) for s in audit_log_deployer_statements(ORG)]
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["AllowLogDeliveryForWorkMail"]["Action"] == "workmail:AllowVendedLogDeliveryForResource"
    assert by_sid["AllowLogDeliveryForWorkMail"]["Resource"] == ORG_ARN
    assert "logs:CreateDelivery" in by_sid["ReadWriteAccessForLogDeliveryActions"]["Action"]
    assert by_sid["AllowUpdatesToResourcePolicyFH"]["Action"] == "firehose:TagDeliveryStream"


# ---------------------------------------------------------------------------------------
# cdk-nag
# ---------------------------------------------------------------------------------------


def test_cdk_nag_finds_nothing_unacknowledged_in_what_the_library_creates(synth: Synth) -> None:
    """The library's acknowledgments cover what it creates for logging (the email event
    roles and their policies, given log groups included, the deliveries, the provider);
    the buckets, key and stream of this app are the app's own business."""
    from cdk_nag import AwsSolutionsChecks

    apps_own = ("AuditBucket", "AuditKey", "StreamBucket", "AuditStream", "AuditGroup")
    report = AwsSolutionsChecks().validate_scope(synth.stack)
    findings = [f"{v.rule_name} {r.construct_path}" for v in report.violations for r in v.violating_resources
                if r.construct_path.split("/")[1] not in apps_own]
    assert findings == []


# cfn-lint
# ---------------------------------------------------------------------------------------


def test_template_passes_cfn_lint(synth: Synth) -> None:
    api = pytest.importorskip("cfnlint.api")
    matches = api.lint(json.dumps(synth.json), regions=[REGION])
    problems = [
        f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})"
        for m in matches
        # CDK gives every Lambda function and state machine a DependsOn on its role as well as a
        # GetAtt of it (so the role's policy exists first).
        if not (m.rule.id == "W3005" and synth.json["Resources"][m.path[1]]["Type"] in (
            "AWS::Lambda::Function", "AWS::StepFunctions::StateMachine"))
    ]
    assert problems == []
