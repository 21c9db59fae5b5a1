"""Letting WorkMail of one organization, and only it, invoke a Lambda function."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

if TYPE_CHECKING:
    from .organization import OrganizationBase


def allow_workmail_invoke(organization: OrganizationBase, function: lambda_.IFunction, *, service: str,
                          permission_id: str) -> None:
    """Let ``service`` (``workmail`` for Run Lambda rules, ``availability.workmail`` for
    availability providers) of the organization's Region invoke ``function``, with the
    organization's ARN and account as conditions so that no other organization can; an
    organization of this stack waits for the permission before its directory is set up.
    Once per function and ``permission_id``."""
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
    directory = getattr(organization, "directory", None)
    if permission is not None and directory is not None:
        directory.resource.node.add_dependency(permission)
