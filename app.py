#!/usr/bin/env python3
"""The example WorkMail organization app.

Parameters come from the CDK context (``cdk.json`` or ``-c key=value``):
``workmail:alias`` (organization alias), ``workmail:domain`` (mail domain) and
``workmail:hostedZoneId`` (optional Route 53 hosted zone of that domain).

The WorkMail constructs arrive with the constructs issue; until then this app
synthesizes the stack that will hold them, with the parameters it will use.
"""

from __future__ import annotations

import aws_cdk as cdk


def build(app: cdk.App) -> cdk.Stack:
    alias = app.node.try_get_context("workmail:alias") or "example-org"
    domain = app.node.try_get_context("workmail:domain") or "example.com"
    stack = cdk.Stack(app, "WorkMailExample", description=f"Amazon WorkMail organization {alias} ({domain})")
    cdk.CfnOutput(stack, "OrganizationAlias", value=alias, description="Alias of the WorkMail organization")
    cdk.CfnOutput(stack, "MailDomain", value=domain, description="Mail domain of the organization")
    return stack


if __name__ == "__main__":
    application = cdk.App()
    build(application)
    application.synth()
