"""The example app and a user's app with an explicit env pass cdk-nag's AWS Solutions
checks (cdk-nag 3 and cdk-nag 2) and cfn-lint.

Every finding cdk-nag would report is acknowledged in code with its reason (the library
acknowledges what it creates, the CDK provider framework and the handler runtime
included; an app what its own resources bring), and every acknowledgment matches a
finding that exists: each app is synthesized once as it is, and once with acknowledgments
recorded instead of applied.

cdk-nag 3 reads CDK's ``Validations`` acknowledgments; cdk-nag 2 reads ``cdk_nag``
CloudFormation metadata, which the library writes beside each acknowledgment. Both majors
can't share one environment: cdk-nag 2 is checked by the metadata's shape and by what its
rule would accept, and, when it can be installed from PyPI, by running it for real on both
apps in a process of its own (``tests/nag_apps.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_file

import app as example_app
from tests.nag_apps import build_user_stack
from workmail_constructs.constructs.nag import V2_METADATA_KEY, v2_suppression

ROOT = Path(__file__).resolve().parent.parent
CDK_NAG_2 = "cdk-nag==2.38.2"

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
def user_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[cdk.App, cdk.Stack, Path]:
    """A user's app with an explicit env, acknowledging nothing the library creates."""
    outdir = tmp_path_factory.mktemp("user")
    application = cdk.App(outdir=str(outdir))
    stack = build_user_stack(application)
    application.synth()
    return application, stack, outdir / f"{stack.artifact_id}.template.json"


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


@pytest.fixture(scope="module")
def unacknowledged_user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[cdk.App, Path, list[str]]]:
    """The user's app, synthesized with every acknowledgment recorded, not applied."""
    recorded: list[str] = []

    def record(self: cdk.Validations, *rules: cdk.Acknowledgment) -> None:
        recorded.extend(rule.id for rule in rules)

    outdir = tmp_path_factory.mktemp("user-unacknowledged")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cdk.Validations, "acknowledge", record)
        application = cdk.App(outdir=str(outdir))
        stack = build_user_stack(application)
        application.synth()
    yield application, outdir / f"{stack.artifact_id}.template.json", recorded


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


@pytest.mark.parametrize("which", ["example", "user"])
def test_every_acknowledgment_matches_a_finding(which: str, request: pytest.FixtureRequest) -> None:
    application, _, recorded = request.getfixturevalue("unacknowledged" if which == "example"
                                                       else "unacknowledged_user")
    found = {line.split(" ")[1] for line in violations(application)}
    assert set(recorded) <= found, sorted(set(recorded) - found)
    assert found <= set(recorded), sorted(found - set(recorded))


def test_user_app_with_an_explicit_env_has_no_unacknowledged_findings(
        user_app: tuple[cdk.App, cdk.Stack, Path]) -> None:
    application, stack, _ = user_app
    assert not cdk.Token.is_unresolved(stack.region) and not cdk.Token.is_unresolved(stack.account)
    assert violations(application) == []


def acknowledgments(application: cdk.App) -> dict[str, dict[str, str]]:
    """Construct path → {rule: reason} of every cdk-nag 3 acknowledgment in ``application``."""
    found: dict[str, dict[str, str]] = {}
    for construct in application.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                for rule, reason in dict(entry.data).items():
                    found.setdefault(construct.node.path, {})[rule.split("::", 1)[-1] if rule.lower().startswith(
                        "annotation::") else rule] = reason
    return found


def template_resources(application: cdk.App) -> dict[str, dict[str, Any]]:
    """Construct path of each CloudFormation resource → its resource in the synthesized template."""
    resources: dict[str, dict[str, Any]] = {}
    for stack in (c for c in application.node.children if isinstance(c, cdk.Stack)):
        template = json.loads((Path(application.outdir) / stack.template_file).read_text())
        for construct in stack.node.find_all():
            if isinstance(construct, cdk.CfnResource):
                resources[construct.node.path] = template["Resources"][stack.get_logical_id(construct)]
    return resources


@pytest.mark.parametrize("which", ["example", "user"])
def test_every_acknowledgment_is_also_cdk_nag_2_metadata(which: str, request: pytest.FixtureRequest) -> None:
    """cdk-nag 2 reads ``cdk_nag`` metadata of the flagged resource: every acknowledgment is
    written there too, on every resource under the acknowledged construct, in the form of
    its NagSuppressions (a granular finding as ``applies_to``)."""
    application = request.getfixturevalue("external_dns" if which == "example" else "user_app")[0]
    resources = template_resources(application)
    acknowledged = acknowledgments(application)
    assert acknowledged
    for path, rules in acknowledged.items():
        under = {p: r for p, r in resources.items() if p == path or p.startswith(f"{path}/")}
        assert under, path
        for resource_path, resource in under.items():
            written = resource.get("Metadata", {}).get(V2_METADATA_KEY, {}).get("rules_to_suppress", [])
            for rule, reason in rules.items():
                expected = v2_suppression(rule, reason)
                assert any(w["id"] == expected["id"] and w["reason"] == reason
                           and set(expected.get("applies_to", [])) <= set(w.get("applies_to", []))
                           and ("applies_to" in w) == ("applies_to" in expected) for w in written), (
                    resource_path, rule)
    granular = [w for r in resources.values() for w in r.get("Metadata", {}).get(V2_METADATA_KEY, {}).get(
        "rules_to_suppress", []) if "applies_to" in w]
    assert granular and all("[" not in w["id"] for w in granular)


@pytest.mark.parametrize("which", ["example", "user"])
def test_cdk_nag_2_would_accept_every_finding(which: str, request: pytest.FixtureRequest) -> None:
    """Every finding of the AWS Solutions rules, on the app synthesized without cdk-nag 3
    acknowledgments, is suppressed by the flagged resource's ``cdk_nag`` metadata as cdk-nag
    2 matches it: the same rule id, and the finding among ``applies_to`` when it is granular."""
    application, _, _ = request.getfixturevalue("unacknowledged" if which == "example" else "unacknowledged_user")
    resources = template_resources(application)
    report = AwsSolutionsChecks().validate_scope(application)
    findings = [(v.rule_name, r.construct_path) for v in report.violations for r in v.violating_resources]
    assert findings
    unsuppressed = []
    for rule, path in findings:
        base, _, finding = rule.partition("[")
        finding = finding.removesuffix("]")
        written = resources[path].get("Metadata", {}).get(V2_METADATA_KEY, {}).get("rules_to_suppress", [])
        if not any(w["id"] == base and (not finding or finding in w.get("applies_to", [])) for w in written):
            unsuppressed.append(f"{rule} {path}")
    assert unsuppressed == []


@pytest.fixture(scope="session")
def cdk_nag_2(pytestconfig: pytest.Config) -> Path:
    """cdk-nag 2 installed apart from the project's environment (it can't sit beside cdk-nag
    3); skipped when it can't be installed (no access to PyPI)."""
    cache = pytestconfig.cache.mkdir("cdk-nag-2")
    target = cache / CDK_NAG_2.replace("==", "-")
    if not (target / "cdk_nag" / "__init__.py").exists():
        # Installed beside the final place and moved there whole: an interrupted install
        # leaves nothing that looks complete.
        staging = cache / f"staging-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--target", str(staging), CDK_NAG_2],
            capture_output=True, text=True, timeout=300,
        )
        if result.returncode != 0 or not (staging / "cdk_nag" / "__init__.py").exists():
            shutil.rmtree(staging, ignore_errors=True)
            pytest.skip(f"{CDK_NAG_2} can't be installed here: {result.stderr.strip()[-300:]}")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target


def run_with_cdk_nag_2(target: Path, *args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(ROOT)])}
    result = subprocess.run([sys.executable, "-m", "tests.nag_apps", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def test_cdk_nag_2_passes_both_apps(cdk_nag_2: Path) -> None:
    """cdk-nag 2 itself, as an aspect, on the example app and the user's app: nothing to
    report; and it does report a finding of the app's own (so it did run)."""
    clean = run_with_cdk_nag_2(cdk_nag_2)
    assert clean["cdk_nag"].startswith(str(cdk_nag_2))
    assert clean["findings"] == []
    probed = run_with_cdk_nag_2(cdk_nag_2, "--probe")
    assert "AwsSolutions-S1 /WorkMailExample/Probe/Resource" in probed["findings"]
    assert all("/Probe/" in finding for finding in probed["findings"]), probed["findings"]


def lint(template: Path) -> list[str]:
    matches = lint_file(template, config=ManualArgs(ignore_checks=CFN_LINT_IGNORED, regions=["us-east-1"]))
    return [f"{m.rule.id} {m.message} ({m.filename}:{m.linenumber})" for m in matches]


def test_cfn_lint_passes(external_dns: tuple[cdk.App, cdk.Stack, Path]) -> None:
    assert lint(external_dns[2]) == []


def test_cfn_lint_passes_with_route53_records(unacknowledged: tuple[cdk.App, Path, list[str]]) -> None:
    assert lint(unacknowledged[1]) == []


def test_cfn_lint_passes_on_the_user_app(user_app: tuple[cdk.App, cdk.Stack, Path]) -> None:
    assert lint(user_app[2]) == []


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
