"""Apps that cdk-nag checks: the example app (``app.py``) and a user's app with an explicit
``env`` that uses every kind of WorkMail resource. Neither acknowledges anything the library
creates: the library does that itself, for cdk-nag 3 and cdk-nag 2 alike.

Run as a script (``python -m tests.nag_apps``), it checks both apps with whichever cdk-nag
is importable, registered the way that major version asks (cdk-nag 2: an aspect; cdk-nag 3:
its ``validate_scope``), and prints the findings as JSON: ``test_app_compliance`` runs it
under cdk-nag 2, installed apart from the project's environment.
"""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import argparse
import json
import sys
import tempfile
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager

import app as example_app
from workmail_constructs.constructs import (
    AuditLogDelivery,
    AuditLogType,
    EmailEventLogging,
    MailboxExportTarget,
    Organization,
)
from workmail_constructs.constructs.nag import acknowledge

USER_ENV = cdk.Environment(account="111122223333", region="eu-west-1")
EXAMPLE_CONTEXT = {"workmail:alias": "acme-mail", "workmail:domain": "acme-mail.example",
                   "workmail:hostedZoneId": "Z0123456789EXAMPLE"}


def build_user_stack(app: cdk.App, id: str = "UserApp") -> cdk.Stack:
    """A user's stack with an explicit env: an organization with a customer managed key, a
    domain in a hosted zone of the stack, users whose passwords are in secrets of the stack
    and referenced by name, a group, email event logging and audit logs; an organization
    managed elsewhere with its email event logging; a directory large enough for S3."""
    stack = cdk.Stack(app, id, env=USER_ENV)
    key = kms.Key(stack, "MailboxKey", enable_key_rotation=True)
    org = Organization(stack, "Org", alias="user-app", kms_key=key)
    zone = route53.PublicHostedZone(stack, "Zone", zone_name="user-app.example.com")
    org.add_domain("user-app.example.com", hosted_zone=zone, default=True)
    passwords = secretsmanager.Secret(stack, "Passwords", encryption_key=kms.Key(
        stack, "SecretsKey", enable_key_rotation=True))
    # The app's own resource, its own acknowledgment.
    acknowledge(passwords, "AwsSolutions-SMG4",
                "Initial WorkMail passwords are set once by ResetPassword; rotating them would not change them.")
    by_name = secretsmanager.Secret.from_secret_name_v2(stack, "ByName", "user-app/bob")
    alice = org.add_user("alice", display_name="Alice", email="alice@user-app.example.com", password=passwords)
    bob = org.add_user("bob", display_name="Bob", email="bob@user-app.example.com", password=by_name)
    org.add_group("team", email="team@user-app.example.com", members=[alice, bob])
    EmailEventLogging(stack, "EmailEvents", organization=org)
    audit = logs.LogGroup(stack, "AuditLogs", retention=logs.RetentionDays.ONE_YEAR)
    AuditLogDelivery.to_log_group(stack, "MailboxAccess", organization=org,
                                  log_type=AuditLogType.WORKMAIL_MAILBOX_ACCESS_LOGS, log_group=audit)
    partner = Organization.from_organization_id(stack, "Partner", "m-" + "d" * 32)
    EmailEventLogging(stack, "PartnerEvents", organization=partner)
    # Where mailbox exports go before leaving WorkMail.
    MailboxExportTarget(stack, "Exports", organization=org, expiration=cdk.Duration.days(365))
    big = Organization(stack, "Big", alias="user-app-big", inline_spec_limit=2_000)
    for n in range(30):
        big.add_user(f"user{n:02d}", display_name=f"User {n}", email=f"user{n:02d}@user-app-big.awsapps.com",
                     password=passwords)
    return stack


def build_apps(outdir: str, *, probe: bool = False) -> list[cdk.App]:
    """The example app (with a hosted zone) and the user's app, each in an app of its own.
    ``probe`` adds a bucket of the app's own without logging or SSL enforcement: a finding
    that proves the checker runs."""
    example = cdk.App(outdir=os.path.join(outdir, "example"), context=EXAMPLE_CONTEXT)
    example_stack = example_app.build(example)
    if probe:
        s3.Bucket(example_stack, "Probe")
    user = cdk.App(outdir=os.path.join(outdir, "user"))
    build_user_stack(user)
    return [example, user]


def nag_findings(apps: list[cdk.App]) -> list[str]:
    """``<rule> <construct path>`` of every unacknowledged AWS Solutions finding."""
    import cdk_nag

    found: list[str] = []
    if hasattr(cdk_nag, "NagSuppressions"):
        # cdk-nag 2: an aspect that reports findings as error and warning annotations.
        from aws_cdk import assertions

        for application in apps:
            cdk.Aspects.of(application).add(cdk_nag.AwsSolutionsChecks())
            application.synth()
            for stack in (c for c in application.node.children if isinstance(c, cdk.Stack)):
                annotations = assertions.Annotations.from_stack(stack)
                pattern = assertions.Match.string_like_regexp("AwsSolutions-")
                for message in annotations.find_error("*", pattern) + annotations.find_warning("*", pattern):
                    found.append(f"{str(message.entry.data).split(':', 1)[0]} {message.id}")
        return sorted(found)
    for application in apps:
        application.synth()
        report = cdk_nag.AwsSolutionsChecks().validate_scope(application)
        found += [f"{v.rule_name} /{r.construct_path}" for v in report.violations for r in v.violating_resources]
    return sorted(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--probe", action="store_true", help="add a finding of the app's own")
    args = parser.parse_args()
    import cdk_nag

    with tempfile.TemporaryDirectory(prefix="nag-apps-") as outdir:
        findings = nag_findings(build_apps(outdir, probe=args.probe))
    result: dict[str, Any] = {"cdk_nag": getattr(cdk_nag, "__file__", ""), "findings": findings}
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
