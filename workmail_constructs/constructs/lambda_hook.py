"""``LambdaHook``: a function of yours, wired for WorkMail's Run Lambda rules of one organization.

- WorkMail of that organization, and only it, may invoke it (Administrator Guide,
  "Configuring AWS Lambda for Amazon WorkMail");
- it may read the organization's in-transit messages, of the directions it serves only
  (``message/<organization>/incoming/*`` and/or ``outgoing/*``; "Managing access to the
  Message Flow API");
- with ``update_messages``, it may also change them, through a bucket made for it: private,
  TLS only, encrypted, objects gone after a day, with the Guide's policy that lets WorkMail
  of this organization read them ("Updating message content with AWS Lambda"). The
  function's environment names it (``WORKMAIL_MESSAGE_BUCKET``, what
  ``hooks.messages.put_message`` is given).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..core.spec import FlowDirection
from ..hooks.messages import MESSAGE_BUCKET_ENV
from .lambda_permissions import allow_workmail_invoke
from .nag import acknowledge, nag_form

if TYPE_CHECKING:
    from .organization import OrganizationBase

# The Message Flow API's name for each direction's messages.
_CONTEXT = {"inbound": "incoming", "outbound": "outgoing"}


class LambdaHook(Construct):
    """Wire ``function`` for the Run Lambda rules of ``organization``.

    :param directions: the directions whose messages it reads (and changes).
    :param update_messages: let it change messages (PutRawMessageContent), with a bucket for them.
    """

    def __init__(self, scope: Construct, id: str, *, organization: OrganizationBase, function: lambda_.IFunction,
                 directions: Sequence[FlowDirection] = ("inbound", "outbound"),
                 update_messages: bool = False) -> None:
        super().__init__(scope, id)
        path = self.node.path
        unknown = sorted(set(directions) - set(_CONTEXT))
        if unknown or not directions:
            raise ValueError(f"{path}: directions must be some of inbound, outbound, not {list(directions)!r}")
        self.function = function
        stack = cdk.Stack.of(self)
        allow_workmail_invoke(organization, function, service="workmail",
                              permission_id=f"WorkMailRunLambda{self.node.addr[:8]}")
        messages = [stack.format_arn(service="workmailmessageflow", resource="message",
                                     resource_name=f"{organization.organization_id}/{_CONTEXT[d]}/*")
                    for d in dict.fromkeys(directions)]
        actions = ["workmailmessageflow:GetRawMessageContent"]
        if update_messages:
            actions.append("workmailmessageflow:PutRawMessageContent")
        function.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=messages))
        self.bucket: s3.Bucket | None = None
        if update_messages:
            self.bucket = self._message_bucket(organization, stack)
            self.bucket.grant_put(function)
            if isinstance(function, lambda_.Function):
                function.add_environment(MESSAGE_BUCKET_ENV, self.bucket.bucket_name)
        if function.role is not None:
            for arn in messages:
                acknowledge(function.role, f"AwsSolutions-IAM5[Resource::{nag_form(stack, arn)}]", (
                    "A message's ARN holds its id, known only when WorkMail passes the message to the function; "
                    "the statement names this organization's messages of the hook's directions only."))

    def _message_bucket(self, organization: OrganizationBase, stack: cdk.Stack) -> s3.Bucket:
        bucket = s3.Bucket(
            self, "Messages", encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL, enforce_ssl=True,
            # WorkMail reads an updated message while the message is in transit: a day is plenty.
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(1))],
            removal_policy=cdk.RemovalPolicy.DESTROY, auto_delete_objects=False,
        )
        bucket.add_to_resource_policy(iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"workmail.{stack.region}.amazonaws.com")],
            actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[bucket.arn_for_objects("*")],
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "Bool": {"aws:SecureTransport": "true"},
                "ArnLike": {"aws:SourceArn": stack.format_arn(
                    service="workmailmessageflow", resource="message",
                    resource_name=f"{organization.organization_id}/*")},
            },
        ))
        acknowledge(bucket, "AwsSolutions-S1", (
            "The bucket holds a changed message for the minutes WorkMail takes to read it back, and objects expire "
            "after a day; server access logs of it would outlive what they log."))
        return bucket
