"""Email flow rules declared in an organization (``Organization.add_email_flow_rule``).

WorkMail's API has no operations for flow rules: declared rules are validated at synth
(the Guide's patterns, actions, Run Lambda settings and quotas), can be tried out with
``workmail-cdk flow test --app``, and are listed by the plan as manual steps to create in
the console. A Run Lambda rule's function is given permission for WorkMail of this
organization, and only it, to invoke it (Administrator Guide, "Configuring AWS Lambda for
Amazon WorkMail").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from aws_cdk import aws_lambda as lambda_

from ..core.spec import EmailFlowRuleSpec, FlowAction, FlowDirection
from .directory import Declaration
from .lambda_permissions import allow_workmail_invoke

if TYPE_CHECKING:
    from .organization import Organization


class EmailFlowRule(Declaration):
    """An inbound or outbound email flow rule (create with ``Organization.add_email_flow_rule``)."""

    def __init__(self, organization: Organization, id: str, spec: EmailFlowRuleSpec) -> None:
        super().__init__(organization, f"{organization.path}/EmailFlowRules/{spec.direction.title()}", id,
                         organization, organization._siblings(f"email_flow_rules/{spec.direction}"))
        self.spec = spec


def declare_flow_rule(
    organization: Organization, name: str, *, direction: FlowDirection, action: FlowAction,
    senders: Iterable[str], recipients: Iterable[str], lambda_function: lambda_.IFunction | None,
    synchronous: bool, fallback_action: FlowAction | None, timeout_minutes: int | None, smtp_gateway: str | None,
    id: str | None,
) -> EmailFlowRule:
    spec = EmailFlowRuleSpec(
        name=name, direction=direction, action=action, senders=list(senders), recipients=list(recipients),
        lambda_arn=lambda_function.function_arn if lambda_function is not None else None,
        smtp_gateway=smtp_gateway, synchronous=synchronous, fallback_action=fallback_action,
        timeout_minutes=timeout_minutes,
    )
    rule = EmailFlowRule(organization, id or name, spec)
    if lambda_function is not None:
        # WorkMail runs a Run Lambda rule's function as its regional service principal
        # (Administrator Guide, "Configuring AWS Lambda for Amazon WorkMail").
        allow_workmail_invoke(organization, lambda_function, service="workmail",
                              permission_id=f"WorkMailFlowRules{organization.node.addr[:8]}")
    return rule
