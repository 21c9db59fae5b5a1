"""What a small WorkMail stack synthesizes to: its resources counted by type.

Run: .venv/bin/python -m bench.footprint

Two stacks, synthesized in-process:

* ``basic``: an organization, one domain in a Route 53 hosted zone of the same stack (its
  eight records), two users whose initial passwords are in one Secrets Manager secret of
  the same stack, and a group of the two;
* ``logging``: the same with email event logging and the mailbox access audit log
  delivered to a log group.

Targets (issue 8): ``basic`` has at most one Step Functions state machine, at most 6
Lambda functions and at most 35 resources; ``logging`` stays within one provider (one
state machine, no function more).
"""

from __future__ import annotations

import os

# Node 20 is on the machines; jsii warns about it unless told not to.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
import argparse
import tempfile
from collections import Counter
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager

from workmail_constructs.constructs import AuditLogDelivery, AuditLogType, EmailEventLogging, Organization

TARGETS = {"resources": 35, "AWS::Lambda::Function": 6, "AWS::StepFunctions::StateMachine": 1}
VARIANTS = ("basic", "logging")


def build_footprint_stack(app: cdk.App, *, logging: bool = False, id: str = "Footprint") -> cdk.Stack:
    """The issue's footprint stack (see the module's docstring)."""
    stack = cdk.Stack(app, id)
    org = Organization(stack, "Org", alias="footprint")
    zone = route53.PublicHostedZone(stack, "Zone", zone_name="footprint.example.com")
    org.add_domain("footprint.example.com", hosted_zone=zone, default=True)
    passwords = secretsmanager.Secret(stack, "Passwords")
    alice = org.add_user("alice", display_name="Alice", email="alice@footprint.example.com", password=passwords,
                         password_json_key="alice")
    bob = org.add_user("bob", display_name="Bob", email="bob@footprint.example.com", password=passwords,
                       password_json_key="bob")
    org.add_group("team", email="team@footprint.example.com", members=[alice, bob])
    if logging:
        EmailEventLogging(stack, "EmailEvents", organization=org)
        audit = logs.LogGroup(stack, "MailboxAccessLogs", retention=logs.RetentionDays.ONE_YEAR)
        AuditLogDelivery.to_log_group(stack, "MailboxAccess", organization=org,
                                      log_type=AuditLogType.WORKMAIL_MAILBOX_ACCESS_LOGS, log_group=audit)
    return stack


def count_resources(template: dict[str, Any]) -> Counter[str]:
    """How many resources of each type ``template`` has."""
    return Counter(str(resource["Type"]) for resource in template.get("Resources", {}).values())


def synthesize(variant: str, outdir: str) -> dict[str, Any]:
    app = cdk.App(outdir=outdir)
    stack = build_footprint_stack(app, logging=variant == "logging")
    template: dict[str, Any] = app.synth().get_stack_by_name(stack.stack_name).template
    return template


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()
    counts: dict[str, Counter[str]] = {}
    for variant in VARIANTS:
        with tempfile.TemporaryDirectory(prefix="footprint-") as outdir:
            counts[variant] = count_resources(synthesize(variant, outdir))
    kinds = sorted(set().union(*counts.values()))
    print("$ python -m bench.footprint")
    print(f"  {'resource type':<44} " + " ".join(f"{v:>8}" for v in VARIANTS))
    for kind in kinds:
        print(f"  {kind:<44} " + " ".join(f"{counts[v][kind]:>8}" for v in VARIANTS))
    print(f"  {'total':<44} " + " ".join(f"{sum(counts[v].values()):>8}" for v in VARIANTS))
    basic = counts["basic"]
    checks = {"resources": sum(basic.values()), **{k: basic[k] for k in TARGETS if k != "resources"}}
    for what, limit in TARGETS.items():
        verdict = "meets" if checks[what] <= limit else "MISSES"
        print(f"  basic {what}: {checks[what]} (target <= {limit}: {verdict})")
    machines = counts["logging"]["AWS::StepFunctions::StateMachine"]
    print(f"  logging: {machines} state machine(s), {counts['logging']['AWS::Lambda::Function']} function(s) "
          f"({'one provider' if machines == 1 else 'MORE THAN ONE PROVIDER'})")


if __name__ == "__main__":
    main()
