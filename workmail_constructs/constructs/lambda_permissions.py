"""Letting WorkMail of one organization, and only it, invoke a Lambda function."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

if TYPE_CHECKING:
    from .organization import Organization


def allow_workmail_invoke(organization: Organization, function: lambda_.IFunction, *, service: str,
                          permission_id: str) -> None:
    """Let ``service`` (``workmail`` for Run Lambda rules, ``availability.workmail`` for
    availability providers) of the organization's Region invoke ``function``, with the
    organization's ARN and account as conditions so that no other organization can; the
    directory resource waits for the permission. Once per function and ``permission_id``."""
    if function.node.try_find_child(permission_id) is not None:
        return
    stack = cdk.Stack.of(organization)
    principal = f"{service}.{stack.region}.amazonaws.com"
    if cdk.Token.is_unresolved(stack.region):
        principal = cdk.Fn.sub(f"{service}.${{AWS::Region}}.amazonaws.com")
    function.add_permission(
        permission_id, action="lambda:InvokeFunction", principal=iam.ServicePrincipal(principal),
        source_account=stack.account, source_arn=organization.organization_arn,
    )
    permission = function.node.try_find_child(permission_id)
    if permission is not None:
        organization.directory.resource.node.add_dependency(permission)
