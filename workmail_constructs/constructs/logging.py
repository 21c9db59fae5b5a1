"""Logging for a WorkMail organization: email event logging and audit log delivery.

Two kinds of monitoring exist (Administrator Guide, "Logging and monitoring in Amazon WorkMail"):

* **Email event logs** go to CloudWatch Logs only. WorkMail has an API for
  them (``PutEmailMonitoringConfiguration``) but CloudFormation has no resource, so
  :class:`EmailEventLogging` declares the configuration in its organization's directory
  spec, which the stack's WorkMail provider reconciles (for an organization managed
  elsewhere, a ``Custom::WorkMailEmailMonitoring`` resource of the same provider).
* **Audit logs** go to CloudWatch Logs, S3 or Firehose (Administrator Guide, "Enabling
  audit logging") through CloudWatch Logs vended delivery, which CloudFormation models
  natively, so :class:`AuditLogDelivery` uses ``AWS::Logs::DeliverySource`` /
  ``DeliveryDestination`` / ``Delivery`` and needs no custom resource.

Citations name sections of the Amazon WorkMail Administrator Guide.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Sequence
from typing import Protocol, TypeAlias, cast

from aws_cdk import Annotations, Aws, CustomResource, RemovalPolicy, Stack, Tags, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct, IDependable

from .nag import acknowledge, nag_form
from .organization import Organization
from .providers import (
    EMAIL_MONITORING_ACTIONS,
    EMAIL_MONITORING_RESOURCE_TYPE,
    WORKMAIL_EVENTS_SERVICE,
    WorkMailHandlers,
)

__all__ = [
    "AUDIT_LOG_TYPES",
    "DEFAULT_EMAIL_EVENTS_RETENTION",
    "EMAIL_EVENTS_LOG_GROUP_PREFIX",
    "LOG_DELIVERY_SERVICE",
    "OUTPUT_FORMATS",
    "WORKMAIL_EVENTS_SERVICE",
    "AuditLogDelivery",
    "AuditLogDestination",
    "AuditLogType",
    "EmailEventLogging",
    "OrganizationRef",
    "audit_log_deployer_statements",
]


class OrganizationRef(Protocol):
    """What the logging constructs need from an organization (both are usually tokens)."""

    @property
    def organization_id(self) -> str: ...

    @property
    def organization_arn(self) -> str: ...


# WORKMAIL_EVENTS_SERVICE, the service principal WorkMail uses to write email events: the
# service-linked role trusts it (Administrator Guide, "Using service-linked roles for Amazon
# WorkMail") and so must a custom role, as the Guide's trust policy shows (Administrator
# Guide, "Enabling email event logging").
# The principal of CloudWatch Logs vended delivery in every destination policy
# (Administrator Guide, "Enabling audit logging").
LOG_DELIVERY_SERVICE = "delivery.logs.amazonaws.com"
# What the console's "default settings" create: log group /aws/workmail/emailevents/<alias>
# kept 30 days (Administrator Guide, "Enabling email event logging").
EMAIL_EVENTS_LOG_GROUP_PREFIX = "/aws/workmail/emailevents/"
DEFAULT_EMAIL_EVENTS_RETENTION = logs.RetentionDays.ONE_MONTH

# botocore's LogGroupArn pattern for PutEmailMonitoringConfiguration: it must end in ":*".
_LOG_GROUP_ARN = re.compile(r"^arn:aws:logs:[a-z\-0-9]*:[0-9]{12}:log-group:([\.\-_/#A-Za-z0-9]+):\*$")
_LOG_GROUP_NAME = re.compile(r"^[\.\-_/#A-Za-z0-9]{1,512}$")


class AuditLogType(enum.StrEnum):
    """The WorkMail audit log types (``logType`` of a delivery source).

    The Guide describes the audit events and their fields (Administrator Guide, "Monitoring
    Amazon WorkMail audit logs"); the ``logType`` strings come from botocore's
    PutDeliverySource documentation, and the fifth kind, personal access token logs, from
    the current edition of that section.
    """

    ACCESS_CONTROL_LOGS = "ACCESS_CONTROL_LOGS"
    AUTHENTICATION_LOGS = "AUTHENTICATION_LOGS"
    WORKMAIL_AVAILABILITY_PROVIDER_LOGS = "WORKMAIL_AVAILABILITY_PROVIDER_LOGS"
    WORKMAIL_MAILBOX_ACCESS_LOGS = "WORKMAIL_MAILBOX_ACCESS_LOGS"
    WORKMAIL_PERSONAL_ACCESS_TOKEN_LOGS = "WORKMAIL_PERSONAL_ACCESS_TOKEN_LOGS"


AUDIT_LOG_TYPES: frozenset[str] = frozenset(t.value for t in AuditLogType)
# PutDeliveryDestination.outputFormat (the CloudWatch Logs service model in botocore).
OUTPUT_FORMATS: tuple[str, ...] = ("json", "plain", "w3c", "raw", "parquet")

AuditLogDestination: TypeAlias = logs.ILogGroup | s3.IBucket | firehose.IDeliveryStream


def _concrete(value: str | None) -> bool:
    return value is not None and not Token.is_unresolved(value)


# ---------------------------------------------------------------------------------------
# Email event logging
# ---------------------------------------------------------------------------------------


class EmailEventLogging(Construct):
    """Turns on email event logging for an organization (Administrator Guide, "Enabling email event logging").

    By default it does what the console's "default settings" do, with a role of
    its own instead of the account-wide service-linked role: a log group
    ``/aws/workmail/emailevents/<alias>`` kept 30 days, a role WorkMail assumes to write to
    it, then ``PutEmailMonitoringConfiguration``. Deleting the construct calls
    ``DeleteEmailMonitoringConfiguration``; the log group follows
    ``removal_policy`` (retained by default, since it holds the organization's mail history).

    The configuration is set by the stack's one WorkMail provider. For an ``Organization``
    of the same stack it is part of the organization's directory spec (``email_monitoring``,
    the log group and role ARNs as references), and ``configuration`` is the directory
    resource; deleting the whole stack then leaves it like the rest of a retained
    organization's settings. For an organization managed elsewhere (a reference, or an
    ``Organization`` of another stack) ``configuration`` is a
    ``Custom::WorkMailEmailMonitoring`` resource of its own, which deletes the configuration
    when it is deleted.

    The alias in the default log group name is ``alias`` if given, else the organization's
    ``alias`` attribute if it has one, else the organization id.

    The role's trust policy is the Guide's: no conditions. ``confused_deputy_conditions=True``
    adds ``aws:SourceAccount`` and ``aws:SourceArn`` (the organization ARN). The Guide asks
    for those keys on the *log delivery* resource policies, not on this role,
    and does not say WorkMail sends them when it assumes it; if it didn't, events would
    silently stop being written. So they are an opt-in until checked in a real account.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        organization: OrganizationRef,
        log_group: logs.ILogGroup | None = None,
        retention: logs.RetentionDays = DEFAULT_EMAIL_EVENTS_RETENTION,
        role: iam.IRole | None = None,
        alias: str | None = None,
        log_group_name: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        confused_deputy_conditions: bool = False,
    ) -> None:
        super().__init__(scope, id)
        path = self.node.path
        stack = Stack.of(self)
        self.organization = organization

        if log_group is not None:
            if retention != DEFAULT_EMAIL_EVENTS_RETENTION or log_group_name is not None:
                raise ValueError(
                    f"{path}: retention and log_group_name apply only to the log group this construct "
                    "creates; set them on the log group you passed instead"
                )
            self.log_group: logs.ILogGroup = log_group
        else:
            name = log_group_name or EMAIL_EVENTS_LOG_GROUP_PREFIX + _alias_of(organization, alias)
            if _concrete(name) and not _LOG_GROUP_NAME.match(name):
                raise ValueError(
                    f"{path}: log group name {name!r} must be 1-512 characters of letters, digits and . - _ / #"
                )
            self.log_group = logs.LogGroup(
                self, "LogGroup", log_group_name=name, retention=retention, removal_policy=removal_policy
            )

        arn = self.log_group.log_group_arn
        if _concrete(arn) and not _LOG_GROUP_ARN.match(arn):
            raise ValueError(
                f"{path}: WorkMail needs a log group ARN ending in ':*' (got {arn!r}); "
                "use LogGroup.from_log_group_arn, which adds it"
            )
        # The log group must be in the organization's Region (Administrator Guide, "Enabling
        # email event logging"); the custom resource calls WorkMail in the stack's Region, so
        # that must be the organization's Region too.
        for what, region, why in (
            ("log group", self.log_group.env.region, "WorkMail writes only to a log group in its own Region"),
            ("organization", _arn_region(organization), "the configuration is set in the stack's Region"),
        ):
            if _concrete(region) and _concrete(stack.region) and region != stack.region:
                raise ValueError(f"{path}: the {what} is in {region} but the stack deploys to {stack.region}; {why}")

        if role is None:
            conditions: dict[str, object] | None = None
            if confused_deputy_conditions:
                # Both keys in one statement must name the same account (Administrator Guide,
                # "Enabling email event logging"), which they do: the organization lives in the
                # stack's account.
                conditions = {
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": organization.organization_arn},
                }
            role = iam.Role(
                self,
                # The construct id keeps "workmail" in the generated role name where it fits; users
                # of AmazonWorkMailFullAccess may pass only roles named *workmail* (Administrator Guide,
                # "Enabling email event logging" and "Amazon WorkMail identity-based policy examples").
                "workmail-events-role",
                assumed_by=iam.ServicePrincipal(WORKMAIL_EVENTS_SERVICE, conditions=conditions),
                description="Lets Amazon WorkMail write email event logs to CloudWatch Logs",
            )
        self.role: iam.IRole = role
        # The minimum the Guide asks of a custom role (Administrator Guide, "Enabling email event logging").
        # The log group ARN ends in ":*", which covers its streams as the Guide's prefix wildcard does.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[arn])
        )
        finding = nag_form(stack, arn)
        if "*" in finding:
            # A log group given by name or ARN: its ARN is written out, ":*" included.
            holders = [self.role] if isinstance(self.role, iam.Role) else [
                c for c in self.role.node.children if isinstance(c, iam.Policy)]
            for holder in holders:
                acknowledge(holder, f"AwsSolutions-IAM5[Resource::{finding}]", (
                    "WorkMail writes email events to log streams it creates in this log group; the ':*' that "
                    "PutEmailMonitoringConfiguration requires after the log group's ARN covers those streams and "
                    'nothing else (Administrator Guide, "Enabling email event logging").'))

        handlers = WorkMailHandlers.of(self)
        managed = isinstance(organization, Organization) and Stack.of(organization).node.path == stack.node.path
        if managed:
            assert isinstance(organization, Organization)
            self.configuration: CustomResource = organization._declare_email_monitoring(
                self, log_group_arn=arn, role=self.role)
        else:
            # Handing the role to WorkMail needs PassRole on exactly that role, restricted to the
            # events service as in AmazonWorkMailFullAccess (Administrator Guide, "Amazon WorkMail
            # identity-based policy examples").
            handlers.allow_pass_role(self.role)
            handlers.allow_organization(organization.organization_arn, EMAIL_MONITORING_ACTIONS)
            self.configuration = CustomResource(
                self, "Configuration", service_token=handlers.service_token,
                resource_type=EMAIL_MONITORING_RESOURCE_TYPE,
                properties={"OrganizationId": organization.organization_id, "LogGroupArn": arn,
                            "RoleArn": self.role.role_arn},
            )
            handlers.depend_on_permissions(self.configuration)
        # The role's permissions must exist before WorkMail is told to use it. (The role itself
        # is already referenced; depending on it again would only add a redundant DependsOn.)
        for child in self.role.node.children:
            if isinstance(child, iam.Policy):
                self.configuration.node.add_dependency(child)

    @property
    def log_group_arn(self) -> str:
        return self.log_group.log_group_arn


def _alias_of(organization: OrganizationRef, alias: str | None) -> str:
    if alias is not None:
        return alias
    found = getattr(organization, "alias", None)
    return found if isinstance(found, str) and found else organization.organization_id


def _arn_region(organization: OrganizationRef) -> str | None:
    arn = organization.organization_arn
    if not _concrete(arn):
        return None
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 else None


# ---------------------------------------------------------------------------------------
# Audit log delivery
# ---------------------------------------------------------------------------------------


class AuditLogDelivery(Construct):
    """Delivers one WorkMail audit log type to a log group, an S3 bucket or a Firehose stream.

    The three vended-delivery elements (Administrator Guide, "Enabling audit logging"): a
    delivery source for the organization and log type, a delivery destination for the
    target, and the delivery joining them. The delivery references both, so CloudFormation
    creates it last and deletes it first, then the source and destination (the order the
    Guide asks for); the source references the organization's ARN, so all of it is deleted
    before the organization.

    Deliveries of the same log type of the same organization in one stack share a single
    delivery source (one source may feed several destinations, one delivery per pair).

    The destination gets the resource permissions delivery needs, with the confused-deputy
    keys the Guide recommends (``aws:SourceAccount`` and ``aws:SourceArn`` = this delivery
    source):

    * log group: a statement in one CloudWatch Logs resource policy shared by the stack.
      Such policies are limited to 5,120 characters, roughly a dozen deliveries per stack,
      and to a few per Region and account;
    * bucket: ``AWSLogDeliveryAclCheck`` (with ``s3:ListBucket``) and
      ``AWSLogDeliveryWrite`` statements; a customer managed key encrypting the bucket gets
      the Guide's key-policy statement, and an AWS managed KMS key is refused;
    * Firehose stream: the tag ``LogDeliveryEnabled=true`` that the account's
      ``AWSServiceRoleForLogDelivery`` role requires. CloudWatch Logs creates that role
      itself the first time if the deployer may.

    Imported buckets and streams can't be changed by CDK; a warning says what to add.
    The deployer also needs ``workmail:AllowVendedLogDeliveryForResource``;
    see :func:`audit_log_deployer_statements` for a least-privilege deployer policy.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        organization: OrganizationRef,
        log_type: AuditLogType | str,
        destination: AuditLogDestination,
        output_format: str | None = None,
        record_fields: Sequence[str] | None = None,
        field_delimiter: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        path = self.node.path
        log_type = str(log_type)
        if _concrete(log_type) and log_type not in AUDIT_LOG_TYPES:
            raise ValueError(
                f"{path}: {log_type!r} is not a WorkMail audit log type; "
                f"expected one of {', '.join(sorted(AUDIT_LOG_TYPES))}"
            )
        if output_format is not None and _concrete(output_format) and output_format not in OUTPUT_FORMATS:
            raise ValueError(f"{path}: output_format {output_format!r} must be one of {', '.join(OUTPUT_FORMATS)}")
        if record_fields is not None:
            if len(record_fields) > 128:
                raise ValueError(f"{path}: at most 128 record_fields are allowed, got {len(record_fields)}")
            for field in record_fields:
                if _concrete(field) and not 1 <= len(field) <= 64:
                    raise ValueError(f"{path}: record field {field!r} must be 1-64 characters")
        if field_delimiter is not None and _concrete(field_delimiter) and len(field_delimiter) > 5:
            raise ValueError(f"{path}: field_delimiter must be at most 5 characters, got {field_delimiter!r}")

        self.organization = organization
        self.log_type = log_type
        self.delivery_source = _delivery_source(self, organization, log_type)
        source_arn = self.delivery_source.attr_arn
        stack = Stack.of(self)

        # Permissions the destination needs before the delivery starts; the destination
        # depends on them so CloudWatch Logs never finds them missing and writes its own.
        prerequisites: list[IDependable] = []
        destination_arn: str
        if _is_log_group(destination):
            log_group = cast(logs.ILogGroup, destination)
            self.destination_type = "CWL"
            destination_arn = log_group.log_group_arn
            policy = _shared_log_resource_policy(stack)
            policy.document.add_statements(_log_group_statement(log_group, source_arn, stack.account))
            prerequisites.append(policy)
            self.resource_policy: Construct | None = policy
        elif _is_bucket(destination):
            bucket = cast(s3.IBucket, destination)
            self.destination_type = "S3"
            destination_arn = bucket.bucket_arn
            self.resource_policy = _grant_bucket(self, bucket, source_arn, stack, prerequisites)
        elif _is_delivery_stream(destination):
            stream = cast(firehose.IDeliveryStream, destination)
            self.destination_type = "FH"
            destination_arn = stream.delivery_stream_arn
            self.resource_policy = None
            _tag_stream(self, stream)
        else:
            raise TypeError(
                f"{path}: destination must be a CloudWatch Logs log group, an S3 bucket or a Firehose "
                f"delivery stream, got {type(destination).__name__}"
            )
        self.destination = destination

        self.delivery_destination = logs.CfnDeliveryDestination(
            self,
            "Destination",
            name=_delivery_name(self, f"workmail-{self.node.id}"),
            destination_resource_arn=destination_arn,
            delivery_destination_type=self.destination_type,
            output_format=output_format,
        )
        for prerequisite in prerequisites:
            self.delivery_destination.node.add_dependency(prerequisite)

        self.delivery = logs.CfnDelivery(
            self,
            "Delivery",
            delivery_source_name=self.delivery_source.name,
            delivery_destination_arn=self.delivery_destination.attr_arn,
            record_fields=list(record_fields) if record_fields is not None else None,
            field_delimiter=field_delimiter,
        )
        # The delivery names its source by a literal name, so CloudFormation can't infer this.
        self.delivery.node.add_dependency(self.delivery_source)

    @classmethod
    def to_log_group(
        cls,
        scope: Construct,
        id: str,
        *,
        organization: OrganizationRef,
        log_type: AuditLogType | str,
        log_group: logs.ILogGroup,
        output_format: str | None = None,
        record_fields: Sequence[str] | None = None,
        field_delimiter: str | None = None,
    ) -> AuditLogDelivery:
        """Deliver to CloudWatch Logs. Names under ``/aws/vendedlogs/`` avoid the resource
        policy size limit when many log groups are used (Administrator Guide, "Enabling audit logging")."""
        return cls(
            scope,
            id,
            organization=organization,
            log_type=log_type,
            destination=log_group,
            output_format=output_format,
            record_fields=record_fields,
            field_delimiter=field_delimiter,
        )

    @classmethod
    def to_bucket(
        cls,
        scope: Construct,
        id: str,
        *,
        organization: OrganizationRef,
        log_type: AuditLogType | str,
        bucket: s3.IBucket,
        output_format: str | None = None,
        record_fields: Sequence[str] | None = None,
        field_delimiter: str | None = None,
    ) -> AuditLogDelivery:
        """Deliver to S3, under ``AWSLogs/<account>/`` in the bucket (Administrator Guide, "Enabling audit logging")."""
        return cls(
            scope,
            id,
            organization=organization,
            log_type=log_type,
            destination=bucket,
            output_format=output_format,
            record_fields=record_fields,
            field_delimiter=field_delimiter,
        )

    @classmethod
    def to_firehose(
        cls,
        scope: Construct,
        id: str,
        *,
        organization: OrganizationRef,
        log_type: AuditLogType | str,
        delivery_stream: firehose.IDeliveryStream,
        output_format: str | None = None,
        record_fields: Sequence[str] | None = None,
        field_delimiter: str | None = None,
    ) -> AuditLogDelivery:
        """Deliver to an Amazon Data Firehose stream."""
        return cls(
            scope,
            id,
            organization=organization,
            log_type=log_type,
            destination=delivery_stream,
            output_format=output_format,
            record_fields=record_fields,
            field_delimiter=field_delimiter,
        )


# jsii proxies don't support isinstance checks against interfaces, so destinations are told
# apart by the attribute each kind of resource has.
def _is_log_group(value: object) -> bool:
    return hasattr(value, "log_group_arn") and hasattr(value, "log_group_name")


def _is_bucket(value: object) -> bool:
    return hasattr(value, "bucket_arn") and hasattr(value, "bucket_name")


def _is_delivery_stream(value: object) -> bool:
    return hasattr(value, "delivery_stream_arn")


_SOURCES_ID = "WorkMailAuditLogSources"
_LOG_POLICY_ID = "WorkMailAuditLogDeliveryPolicy"


def _delivery_source(owner: Construct, organization: OrganizationRef, log_type: str) -> logs.CfnDeliverySource:
    """The delivery source for (organization, log type), shared within the stack when the
    organization can be identified stably (a construct, or a literal ARN)."""
    key = _organization_key(organization)
    if key is None:
        scope: Construct = owner
        child_id = "Source"
    else:
        stack = Stack.of(owner)
        found = stack.node.try_find_child(_SOURCES_ID)
        scope = found if isinstance(found, Construct) else Construct(stack, _SOURCES_ID)
        child_id = f"{key}-{log_type}"
        existing = scope.node.try_find_child(child_id)
        if isinstance(existing, logs.CfnDeliverySource):
            return existing
    source = logs.CfnDeliverySource(
        scope,
        child_id,
        name=_delivery_name(scope, "workmail-" + log_type.lower().removeprefix("workmail_"), child_id),
        # The organization is the resource that sends the logs (Administrator Guide, "Enabling audit logging").
        resource_arn=organization.organization_arn,
        log_type=log_type,
    )
    return source


def _organization_key(organization: OrganizationRef) -> str | None:
    # Token strings change with construction order, so they can't name a construct.
    node = getattr(organization, "node", None)
    addr = getattr(node, "addr", None)
    if isinstance(addr, str):
        return addr[-8:]
    arn = organization.organization_arn
    if _concrete(arn):
        return hashlib.sha256(arn.encode()).hexdigest()[:8]
    return None


def _delivery_name(scope: Construct, readable: str, child_id: str | None = None) -> str:
    """A name stable per construct path and unique per account: 1-60 of ``[\\w-]`` (botocore).

    ``readable`` is kept from its start; the hash of the full path keeps it unique."""
    path = scope.node.path + (f"/{child_id}" if child_id else "")
    digest = hashlib.sha256(path.encode()).hexdigest()[:8]
    readable = re.sub(r"[^A-Za-z0-9]+", "-", readable).strip("-")
    return f"{readable[: 60 - len(digest) - 1].rstrip('-')}-{digest}"


def _shared_log_resource_policy(stack: Stack) -> logs.ResourcePolicy:
    # One policy per stack: CloudWatch Logs allows only a few resource policies per Region
    # and account, so one per delivery would run out quickly.
    found = stack.node.try_find_child(_LOG_POLICY_ID)
    if isinstance(found, logs.ResourcePolicy):
        return found
    return logs.ResourcePolicy(
        stack,
        _LOG_POLICY_ID,
        resource_policy_name=_delivery_name(stack, f"{stack.stack_name}-workmail-audit-log-delivery", _LOG_POLICY_ID),
    )


def _log_group_statement(log_group: logs.ILogGroup, source_arn: str, account: str) -> iam.PolicyStatement:
    # The Guide's AWSLogDeliveryWrite20150319 statement (Administrator Guide, "Enabling audit
    # logging"), narrowed from "any logs ARN in the account" to this delivery source, as the
    # Guide's confused-deputy advice recommends (Administrator Guide, "Enabling email event
    # logging").
    env = log_group.env
    return iam.PolicyStatement(
        principals=[iam.ServicePrincipal(LOG_DELIVERY_SERVICE)],
        actions=["logs:CreateLogStream", "logs:PutLogEvents"],
        resources=[
            f"arn:{Aws.PARTITION}:logs:{env.region}:{env.account}:log-group:{log_group.log_group_name}:log-stream:*"
        ],
        conditions={
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": source_arn},
        },
    )


def _grant_bucket(
    owner: Construct, bucket: s3.IBucket, source_arn: str, stack: Stack, prerequisites: list[IDependable]
) -> Construct | None:
    path = owner.node.path
    _refuse_aws_managed_key(owner, bucket)
    conditions = {
        "StringEquals": {"aws:SourceAccount": stack.account},
        "ArnLike": {"aws:SourceArn": source_arn},
    }
    statements = [
        # AWSLogDeliveryAclCheck with s3:ListBucket, which spares CloudTrail AccessDenied noise
        # (Administrator Guide, "Enabling audit logging").
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(LOG_DELIVERY_SERVICE)],
            actions=["s3:GetBucketAcl", "s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions=conditions,
        ),
        # AWSLogDeliveryWrite as in the Guide: objects under AWSLogs/<account>/, owner full control.
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(LOG_DELIVERY_SERVICE)],
            actions=["s3:PutObject"],
            resources=[bucket.arn_for_objects(f"AWSLogs/{stack.account}/*")],
            conditions={
                "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": source_arn},
            },
        ),
    ]
    added = [bucket.add_to_resource_policy(statement) for statement in statements]
    if not all(result.statement_added for result in added):
        Annotations.of(owner).add_warning_v2(
            "workmail:auditLogBucketPolicy",
            f"{path}: the bucket is imported, so its policy can't be changed here; it needs the "
            "AWSLogDeliveryAclCheck and AWSLogDeliveryWrite statements for delivery.logs.amazonaws.com "
            "(CloudWatch Logs adds them only if the bucket has no policy yet).",
        )
    if bucket.policy is not None:
        prerequisites.append(bucket.policy)

    key = bucket.encryption_key
    if key is not None:
        # A customer managed key must let log delivery use it (Administrator Guide, "Enabling
        # audit logging"). Key policies use the Guide's wildcard source ARN: naming this source
        # would make a key shared with the organization depend on the organization through the
        # source, a cycle.
        key_added = key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(LOG_DELIVERY_SERVICE)],
                actions=["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{Aws.PARTITION}:logs:{stack.region}:{stack.account}:delivery-source:*"
                    },
                },
            )
        )
        if not key_added.statement_added:
            Annotations.of(owner).add_warning_v2(
                "workmail:auditLogKeyPolicy",
                f"{path}: the bucket's KMS key is imported; its key policy must let delivery.logs.amazonaws.com "
                "use it (kms:Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, DescribeKey).",
            )
        else:
            # The key policy is a property of the key itself.
            prerequisites.append(key)
    return bucket.policy


def _refuse_aws_managed_key(owner: Construct, bucket: s3.IBucket) -> None:
    """SSE-KMS with the AWS managed key makes delivered logs unreadable (Administrator Guide,
    "Enabling audit logging")."""
    if bucket.encryption_key is not None:
        return
    cfn = bucket.node.default_child
    if not isinstance(cfn, s3.CfnBucket) or cfn.bucket_encryption is None:
        return
    encryption = cfn.bucket_encryption
    if not isinstance(encryption, s3.CfnBucket.BucketEncryptionProperty):
        return  # a token: nothing to inspect at synth time
    rules = encryption.server_side_encryption_configuration
    for rule in rules if isinstance(rules, list) else []:
        default = getattr(rule, "server_side_encryption_by_default", None)
        if not isinstance(default, s3.CfnBucket.ServerSideEncryptionByDefaultProperty):
            continue
        if default.sse_algorithm.startswith("aws:kms") and not default.kms_master_key_id:
            raise ValueError(
                f"{owner.node.path}: the bucket is encrypted with the AWS managed KMS key, which audit log "
                "delivery does not support (logs arrive unreadable); use SSE-S3 or a customer managed key"
            )


def _tag_stream(owner: Construct, stream: firehose.IDeliveryStream) -> None:
    # AWSServiceRoleForLogDelivery may write only to streams tagged LogDeliveryEnabled=true
    # (Administrator Guide, "Enabling audit logging"). AWS tags the stream itself, but a stack
    # that owns the stream would remove that tag on its next update unless the tag is declared here.
    if isinstance(stream, firehose.DeliveryStream):
        # Only the stream: tagging the construct would also tag its role and log group.
        Tags.of(stream).add(
            "LogDeliveryEnabled", "true", include_resource_types=["AWS::KinesisFirehose::DeliveryStream"]
        )
    else:
        Annotations.of(owner).add_warning_v2(
            "workmail:auditLogFirehoseTag",
            f"{owner.node.path}: the delivery stream is imported; it needs the tag LogDeliveryEnabled=true, "
            "which CloudWatch Logs adds when the deployer may call firehose:TagDeliveryStream.",
        )


def audit_log_deployer_statements(organization: OrganizationRef) -> list[iam.PolicyStatement]:
    """What a principal deploying :class:`AuditLogDelivery` needs, after the Guide's example
    user policies for each destination (Administrator Guide, "Enabling audit logging"): the
    delivery actions, the resource-policy updates for each destination kind, the log
    delivery service-linked role, and WorkMail's ``workmail:AllowVendedLogDeliveryForResource``
    on the organization.

    ``AmazonWorkMailFullAccess`` does not include these (Administrator Guide, "Enabling audit
    logging")."""
    prefix = f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}"
    return [
        iam.PolicyStatement(
            sid="ReadWriteAccessForLogDeliveryActions",
            actions=[
                "logs:GetDelivery",
                "logs:GetDeliverySource",
                "logs:PutDeliveryDestination",
                "logs:GetDeliveryDestinationPolicy",
                "logs:DeleteDeliverySource",
                "logs:PutDeliveryDestinationPolicy",
                "logs:CreateDelivery",
                "logs:GetDeliveryDestination",
                "logs:PutDeliverySource",
                "logs:DeleteDeliveryDestination",
                "logs:DeleteDeliveryDestinationPolicy",
                "logs:DeleteDelivery",
            ],
            resources=[f"{prefix}:delivery:*", f"{prefix}:delivery-source:*", f"{prefix}:delivery-destination:*"],
        ),
        iam.PolicyStatement(
            sid="ListAccessForLogDeliveryActions",
            actions=[
                "logs:DescribeDeliveryDestinations",
                "logs:DescribeDeliverySources",
                "logs:DescribeDeliveries",
                "logs:DescribeLogGroups",
            ],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="AllowUpdatesToResourcePolicyCWL",
            actions=["logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"],
            # The Guide's example cuts this ARN short after the account id (Administrator Guide,
            # "Enabling audit logging"); the account's logs resources are what it means.
            resources=[f"{prefix}:*"],
        ),
        iam.PolicyStatement(
            sid="AllowUpdatesToResourcePolicyS3",
            actions=["s3:PutBucketPolicy", "s3:GetBucketPolicy"],
            resources=[f"arn:{Aws.PARTITION}:s3:::*"],
        ),
        iam.PolicyStatement(
            sid="AllowUpdatesToResourcePolicyFH",
            actions=["firehose:TagDeliveryStream"],
            resources=[f"arn:{Aws.PARTITION}:firehose:{Aws.REGION}:{Aws.ACCOUNT_ID}:deliverystream/*"],
        ),
        iam.PolicyStatement(
            sid="CreateServiceLinkedRole",
            actions=["iam:CreateServiceLinkedRole"],
            resources=[
                f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/aws-service-role/"
                f"{LOG_DELIVERY_SERVICE}/AWSServiceRoleForLogDelivery"
            ],
        ),
        iam.PolicyStatement(
            sid="AllowLogDeliveryForWorkMail",
            actions=["workmail:AllowVendedLogDeliveryForResource"],
            resources=[organization.organization_arn],
        ),
    ]
