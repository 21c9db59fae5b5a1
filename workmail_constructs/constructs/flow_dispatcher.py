"""``EmailFlowDispatcher``: the flow rules dispatcher deployed with an organization's declared
email flow rules (``handlers/dispatcher.py`` is what it runs).

WorkMail's API can't create flow rules; the dispatcher is a synchronous Run Lambda function
that applies them itself, so changing a rule is a deploy, rolled back like any. What stays
manual, once: two console rules (inbound, outbound; senders and recipients ``*``) that run
it synchronously; the plan prints them as steps with the function's ARN.

The rules travel with the function: in its environment while small, else as an S3 asset it
reads at a cold start (checked by its SHA-256), like the directory's spec. A Run Lambda
rule's function ARN is a deploy-time value, so the rules name it ``$ref:WORKMAIL_FLOW_HOOK_N``
and the function's environment holds it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from ..core.flow_rules_file import rules_data
from ..core.spec import EmailFlowRuleSpec
from ..handlers.dispatcher import (
    HOOK_ENV_PREFIX,
    RULES_BUCKET_ENV,
    RULES_ENV,
    RULES_KEY_ENV,
    RULES_SHA256_ENV,
)
from .lambda_permissions import allow_workmail_invoke
from .nag import acknowledge, nag_form
from .providers import RUNTIME, handler_code_directory

if TYPE_CHECKING:
    from .organization import Organization

# WorkMail waits 15 seconds for a synchronous Run Lambda answer (Administrator Guide,
# "Configuring synchronous Run Lambda rules").
ANSWER_TIMEOUT = cdk.Duration.seconds(15)
# Lambda allows 4 KB of environment in all: rules above this go to S3.
DEFAULT_INLINE_RULES_LIMIT = 3000


class EmailFlowDispatcher(Construct):
    """The flow rules dispatcher of ``organization`` (one per organization).

    :param inline_rules_limit: the rules go in the function's environment up to this many
        bytes of JSON, and to S3 above it.
    :param memory_size: the function's memory, in MB.
    """

    def __init__(self, scope: Construct, id: str, *, organization: Organization,
                 inline_rules_limit: int = DEFAULT_INLINE_RULES_LIMIT, memory_size: int = 512) -> None:
        super().__init__(scope, id)
        self.organization = organization
        self._inline_limit = inline_rules_limit
        self.log_group = logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_MONTH,
                                       removal_policy=cdk.RemovalPolicy.DESTROY)
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                             description="Runs the WorkMail email flow rules dispatcher")
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self, "Function", runtime=RUNTIME, architecture=lambda_.Architecture.ARM_64,
            handler="workmail_constructs.handlers.dispatcher.handler",
            code=lambda_.Code.from_asset(str(handler_code_directory())), role=self.role, timeout=ANSWER_TIMEOUT,
            memory_size=memory_size, log_group=self.log_group,
            description="Applies the declared WorkMail email flow rules (synchronous Run Lambda)",
        )
        stack = cdk.Stack.of(self)
        # The message's headers, of this organization's messages only (Administrator Guide,
        # "Managing access to the Message Flow API").
        messages = stack.format_arn(service="workmailmessageflow", resource="message",
                                    resource_name=f"{organization.organization_id}/*")
        self.role.add_to_principal_policy(iam.PolicyStatement(
            actions=["workmailmessageflow:GetRawMessageContent"], resources=[messages]))
        acknowledge(self.role, f"AwsSolutions-IAM5[Resource::{nag_form(stack, messages)}]", (
            "A message's ARN holds its id, known only when WorkMail passes the message to the dispatcher; the "
            "statement names this organization's messages only (Administrator Guide, \"Managing access to the "
            "Message Flow API\")."))

        allow_workmail_invoke(organization, self.function, service="workmail",
                              permission_id=f"WorkMailFlowDispatcher{organization.node.addr[:8]}")
        organization._attach_flow_dispatcher(self)
        self.rules_asset: s3_assets.Asset | None = None
        acknowledge(self.function, "AwsSolutions-L1", (
            f"The dispatcher is the handler asset's plain Python source, written and tested for {RUNTIME.name}; a "
            "newer runtime is a deliberate upgrade."))

    @property
    def function_arn(self) -> str:
        return self.function.function_arn

    def finalize(self, rules: list[EmailFlowRuleSpec]) -> None:
        """Give the function the declared rules (the organization calls this at synth, once
        every rule is declared)."""
        hooks: dict[str, str] = {}
        placed = []
        for rule in rules:
            if rule.lambda_arn is not None:
                name = hooks.setdefault(rule.lambda_arn, f"{HOOK_ENV_PREFIX}{len(hooks)}")
                rule = dataclasses.replace(rule, lambda_arn=f"$ref:{name}")
            placed.append(rule)
        for arn, name in hooks.items():
            self.function.add_environment(name, arn)
            self.role.add_to_principal_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"],
                                                                  resources=[arn]))
        body = json.dumps(rules_data(placed), separators=(",", ":"))
        if len(body.encode()) <= self._inline_limit:
            self.function.add_environment(RULES_ENV, body)
            return
        directory = Path(tempfile.mkdtemp(prefix="workmail-flow-rules-"))
        (directory / "rules.json").write_text(body)
        self.rules_asset = s3_assets.Asset(self, "Rules", path=str(directory / "rules.json"))
        self.rules_asset.grant_read(self.role)
        self.function.add_environment(RULES_BUCKET_ENV, self.rules_asset.s3_bucket_name)
        self.function.add_environment(RULES_KEY_ENV, self.rules_asset.s3_object_key)
        self.function.add_environment(RULES_SHA256_ENV, hashlib.sha256(body.encode()).hexdigest())
