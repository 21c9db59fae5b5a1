"""``MailboxExportTarget``: where WorkMail's mailbox export jobs write, with exactly the
Administrator Guide's policies ("Exporting mailbox content"): an S3 bucket encrypted with a
symmetric KMS key, and the role the export service (``export.workmail.amazonaws.com``)
assumes, allowed to write under one prefix of that bucket with that key and nothing else.

StartMailboxExportJob needs the organization's id, a mailbox's entity id, the role's ARN,
the key's ARN, the bucket's name and a prefix: the construct outputs the last four.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..core.exports.target_outputs import Option, description
from .nag import acknowledge, nag_form

if TYPE_CHECKING:
    from .organization import OrganizationBase

EXPORT_SERVICE = "export.workmail.amazonaws.com"
DEFAULT_PREFIX = "workmail-export/"
# StartMailboxExportJob's S3Prefix (the API's pattern, 1 to 1,023 characters).
_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()/-]{1,1023}")


class MailboxExportTarget(Construct):
    """A bucket, a key and a role for exporting mailboxes (all in the stack's Region, which
    must be the organization's).

    :param organization: the organization whose exports the role serves (its ARN is the
        trust policy's ``aws:SourceArn``); without it, any organization of the account (the
        Guide allows dropping that condition to share a role).
    :param bucket: an existing bucket instead of a new one (then ``key`` is required: the
        key its objects are encrypted with).
    :param key: an existing symmetric key instead of a new one.
    :param prefix: where in the bucket the exports go.
    :param expiration: delete exports this long after they are written (default: keep them).
    :param transition_to_glacier_after: move exports to S3 Glacier Flexible Retrieval after this long.
    :param server_access_logs_bucket: a bucket for the export bucket's access logs.
    """

    def __init__(self, scope: Construct, id: str, *, organization: OrganizationBase | None = None,
                 bucket: s3.IBucket | None = None, key: kms.IKey | None = None, prefix: str = DEFAULT_PREFIX,
                 expiration: cdk.Duration | None = None, transition_to_glacier_after: cdk.Duration | None = None,
                 server_access_logs_bucket: s3.IBucket | None = None,
                 removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN) -> None:
        super().__init__(scope, id)
        path = self.node.path
        if not _PREFIX.fullmatch(prefix):
            raise ValueError(f"{path}: prefix {prefix!r} must be 1 to 1,023 of letters, digits and !_.*'()/- "
                             "(StartMailboxExportJob's S3Prefix)")
        if bucket is not None and key is None:
            raise ValueError(f"{path}: with an existing bucket, give the key its objects are encrypted with")
        if bucket is not None and (expiration or transition_to_glacier_after or server_access_logs_bucket):
            raise ValueError(f"{path}: expiration, transition_to_glacier_after and server_access_logs_bucket "
                             "apply to the bucket this construct creates; set them on yours instead")
        stack = cdk.Stack.of(self)
        self.prefix = prefix
        self.key = key or kms.Key(self, "Key", description="WorkMail mailbox exports", enable_key_rotation=True,
                                  removal_policy=removal_policy)
        if bucket is None:
            rules = []
            if expiration is not None or transition_to_glacier_after is not None:
                rules.append(s3.LifecycleRule(prefix=prefix, expiration=expiration, transitions=[
                    s3.Transition(storage_class=s3.StorageClass.GLACIER,
                                  transition_after=transition_to_glacier_after)
                ] if transition_to_glacier_after is not None else None))
            created = s3.Bucket(
                self, "Bucket", encryption=s3.BucketEncryption.KMS, encryption_key=self.key, bucket_key_enabled=True,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL, enforce_ssl=True, versioned=True,
                lifecycle_rules=rules or None, server_access_logs_bucket=server_access_logs_bucket,
                removal_policy=removal_policy,
            )
            if server_access_logs_bucket is None:
                acknowledge(created, "AwsSolutions-S1", (
                    "Only the export service's role writes here; give server_access_logs_bucket to log reads of "
                    "the exports."))
            bucket = created
        self.bucket = bucket

        conditions: dict[str, dict[str, str]] = {"StringEquals": {"aws:SourceAccount": stack.account}}
        if organization is not None:
            conditions["ArnLike"] = {"aws:SourceArn": organization.organization_arn}
        self.role = iam.Role(
            self, "Role", description="Assumed by WorkMail's mailbox export service to write exports",
            assumed_by=iam.PrincipalWithConditions(iam.ServicePrincipal(EXPORT_SERVICE), conditions),
        )
        # Exactly the Guide's permissions policy, for this bucket, prefix and key.
        self.role.add_to_principal_policy(iam.PolicyStatement(
            actions=["s3:AbortMultipartUpload", "s3:PutObject", "s3:GetBucketPolicyStatus"],
            resources=[bucket.bucket_arn, bucket.arn_for_objects("*")],
        ))
        self.role.add_to_principal_policy(iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[self.key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"},
                        "StringLike": {"kms:EncryptionContext:aws:s3:arn": f"{bucket.bucket_arn}/{prefix}*"}},
        ))
        acknowledge(self.role, f"AwsSolutions-IAM5[Resource::{nag_form(stack, bucket.arn_for_objects('*'))}]", (
            "The Guide's export policy: the export service writes objects whose names it chooses, under the "
            "prefix, in this bucket only."))
        outputs: tuple[tuple[str, str, str, Option], ...] = (
            ("BucketName", bucket.bucket_name, "S3 bucket of the mailbox exports", "--bucket"),
            ("KmsKeyArn", self.key.key_arn, "KMS key the exports are encrypted with", "--kms-key"),
            ("RoleArn", self.role.role_arn, "Role the export service assumes", "--role"),
            ("Prefix", prefix, "Prefix of the exports in the bucket", "--prefix"),
        )
        for name, value, what, option in outputs:
            # `mailboxes export --target-stack` finds each output by the option its description names.
            cdk.CfnOutput(self, name, value=value, description=description(what, option))
