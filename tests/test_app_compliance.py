"""The example app passes cdk-nag's AWS Solutions checks and cfn-lint.

Every finding cdk-nag would report is acknowledged in code with its reason (the library
acknowledges what the CDK provider framework and the handler runtime bring; app.py what
its own resources bring), and every acknowledgment matches a finding that exists: the app
is synthesized once as it is, and once with acknowledgments recorded instead of applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_file

import app as example_app

# cfn-lint rules left out, with why: CDK gives every Lambda function a DependsOn on its
# role as well as a GetAtt of it (so the role's policy exists first); W3005 calls the
# DependsOn redundant.
CFN_LINT_IGNORED = ["W3005"]
CONTEXT = {"workmail:alias": "acme-mail", "workmail:domain": "acme-mail.example"}


def synthesize(outdir: Path, context: dict[str, str]) -> tuple[cdk.App, cdk.Stack, Path]:
    application = cdk.App(outdir=str(outdir), context=context)
    stack = example_app.build(application)
    application.synth()
    return application, stack, outdir / f"{stack.artifact_id}.template.json"


@pytest.fixture(scope="module")
def external_dns(tmp_path_factory: pytest.TempPathFactory) -> tuple[cdk.App, cdk.Stack, Path]:
    return synthesize(tmp_path_factory.mktemp("external"), CONTEXT)


@pytest.fixture(scope="module")
def unacknowledged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[cdk.App, Path, list[str]]]:
    """The app with a hosted zone, synthesized with every acknowledgment recorded, not applied."""
    recorded: list[str] = []
    original = cdk.Validations.acknowledge

    def record(self: cdk.Validations, *rules: cdk.Acknowledgment) -> None:
        recorded.extend(rule.id for rule in rules)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cdk.Validations, "acknowledge", record)
        application, _, template = synthesize(tmp_path_factory.mktemp("zone"),
                                              {**CONTEXT, "workmail:hostedZoneId": "Z0123456789EXAMPLE"})
    assert cdk.Validations.acknowledge is original
    yield application, template, recorded


def violations(scope: cdk.App) -> list[str]:
    report = AwsSolutionsChecks().validate_scope(scope)
    return sorted(f"{v.severity} {v.rule_name} {r.construct_path}" for v in report.violations
                  for r in v.violating_resources)


def test_no_unacknowledged_cdk_nag_findings(external_dns: tuple[cdk.App, cdk.Stack, Path]) -> None:
    application, _, _ = external_dns
    assert violations(application) == []


def test_every_acknowledgment_gives_a_reason(external_dns: tuple[cdk.App, cdk.Stack, Path]) -> None:
    application, _, _ = external_dns
    acknowledged: dict[str, str] = {}
    for construct in application.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                data: dict[str, Any] = entry.data
                for rule, reason in data.items():
                    acknowledged[f"{construct.node.path}: {rule}"] = reason
    assert acknowledged
    for where, reason in acknowledged.items():
        assert isinstance(reason, str) and len(reason) >= 40, where


def test_every_acknowledgment_matches_a_finding(unacknowledged: tuple[cdk.App, Path, list[str]]) -> None:
    application, _, recorded = unacknowledged
    found = {line.split(" ")[1] for line in violations(application)}
    assert set(recorded) <= found, sorted(set(recorded) - found)
    assert found <= set(recorded), sorted(found - set(recorded))


def lint(template: Path) -> list[str]:
    matches = lint_file(template, config=ManualArgs(ignore_checks=CFN_LINT_IGNORED, regions=["us-east-1"]))
    return [f"{m.rule.id} {m.message} ({m.filename}:{m.linenumber})" for m in matches]


def test_cfn_lint_passes(external_dns: tuple[cdk.App, cdk.Stack, Path]) -> None:
    assert lint(external_dns[2]) == []


def test_cfn_lint_passes_with_route53_records(unacknowledged: tuple[cdk.App, Path, list[str]]) -> None:
    assert lint(unacknowledged[1]) == []


def test_example_app_uses_every_construct(external_dns: tuple[cdk.App, cdk.Stack, Path]) -> None:
    _, stack, template_file = external_dns
    template = json.loads(template_file.read_text())
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert {"Custom::WorkMailOrganization", "Custom::WorkMailDomain", "Custom::WorkMailDirectory",
            "AWS::Logs::DeliverySource", "AWS::Logs::Delivery", "AWS::Lambda::Permission"} <= kinds
    assert "AWS::Route53::RecordSet" not in kinds
    outputs = {k: v for k, v in template["Outputs"].items() if "DnsRecords" in k}
    assert len(outputs) == 1
    org = stack.organization
    spec = org.to_spec()
    assert spec.organization.alias == "acme-mail" and [d.name for d in spec.domains] == ["acme-mail.example"]
    assert spec.users and spec.groups and spec.resources and spec.mailbox_permissions
    assert spec.access_control_rules and spec.retention_policy and spec.mobile_device_access_rules
    assert spec.mobile_device_access_overrides and spec.impersonation_roles
    assert spec.inbound_dmarc_enforced is True
    assert {c.ews is not None for c in spec.availability_configurations} == {True, False}


def test_hosted_zone_from_context_gets_route53_records(unacknowledged: tuple[cdk.App, Path, list[str]]) -> None:
    _, template_file, _ = unacknowledged
    template = json.loads(template_file.read_text())
    records = [r for r in template["Resources"].values() if r["Type"] == "AWS::Route53::RecordSet"]
    assert len(records) == 8
    assert {r["Properties"]["HostedZoneId"] for r in records} == {"Z0123456789EXAMPLE"}
    assert not [k for k in template.get("Outputs", {}) if "DnsRecords" in k]
