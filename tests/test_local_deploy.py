"""``workmail-cdk deploy --local`` end to end: a CDK app synthesized and deployed to the
embedded emulator through the real custom-resource handlers, then deployed again
unchanged, then changed step by step (the tests run in order on one project, each
adding a change to the app, as successive pull requests would)."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.cli_runs import APP, assert_the_branch_changes, workmail_cdk
from workmail_constructs.local.server import EmulatorServer


def set_variant(project: Path, variant: str | None) -> None:
    config = json.loads((project / "cdk.json").read_text())
    config["context"] = {"variant": variant} if variant else {}
    (project / "cdk.json").write_text(json.dumps(config))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("local-deploy")
    for name in ("app.py", "cdk.json"):
        shutil.copy(APP / name, directory / name)
    return directory


@pytest.fixture(scope="module")
def first(project: Path) -> subprocess.CompletedProcess[str]:
    return workmail_cdk("deploy", "--local", cwd=project)


@contextmanager
def workmail(project: Path) -> Iterator[Any]:
    server = EmulatorServer(state=project / ".workmail" / "emulator.sqlite").start()
    try:
        yield boto3.client("workmail", endpoint_url=server.endpoint_url, region_name="us-east-1",
                           aws_access_key_id="local", aws_secret_access_key="local")
    finally:
        server.stop()


def test_a_first_deploy_creates_everything_and_ends_with_the_organization(
        first: subprocess.CompletedProcess[str], project: Path) -> None:
    assert first.returncode == 0, first.stderr
    assert "+ create  Organization29A5FC3F" in first.stderr
    out = first.stdout
    assert "LocalMail: deployed locally" in out
    assert "Not emulated (" in out and "AWS::Lambda::Function" in out
    assert "Organization local-mail" in out
    # The ownership record in the stack's hosted zone verified the domain.
    assert any(line.split()[:2] == ["local-mail.example", "VERIFIED"] for line in out.splitlines() if line.split())
    assert "users" in out and "2 (2 enabled)" in out
    secrets = project / ".workmail" / "secrets.json"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert stat.S_IMODE((project / ".workmail").stat().st_mode) == 0o700
    assert len(json.loads(secrets.read_text())) == 2, "the password and the spare secret"
    # The handlers ask CloudFormation about their stack (is it rolling back?): the emulator knows it.
    server = EmulatorServer(state=project / ".workmail" / "emulator.sqlite").start()
    try:
        cloudformation = boto3.client("cloudformation", endpoint_url=server.endpoint_url + "/_cloudformation",
                                      region_name="us-east-1", aws_access_key_id="local",
                                      aws_secret_access_key="local")
        assert cloudformation.describe_stacks(StackName="LocalMail")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    finally:
        server.stop()


def test_a_second_deploy_changes_nothing(first: subprocess.CompletedProcess[str], project: Path) -> None:
    assert first.returncode == 0, first.stderr
    again = workmail_cdk("deploy", "--local", cwd=project)
    assert again.returncode == 0, again.stderr
    assert "LocalMail: no changes." in again.stdout
    assert "+ " not in again.stderr and "~ " not in again.stderr


def test_plan_after_a_deploy_has_nothing_to_do(first: subprocess.CompletedProcess[str], project: Path) -> None:
    assert first.returncode == 0, first.stderr
    planned = workmail_cdk("plan", "--local", "--detailed-exitcode", cwd=project)
    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.startswith("No changes.")


def test_the_deployed_organization_imports_as_an_app_that_plans_clean(
        first: subprocess.CompletedProcess[str], project: Path) -> None:
    # The README's import: the local deploy's only organization, then a plan of the generated app.
    imported = workmail_cdk("import", "--local", "--out", "imported", cwd=project)
    assert imported.returncode == 0, imported.stderr
    assert "Stack WorkMail-" in imported.stderr
    planned = workmail_cdk("plan", "--local", "--app", f"{sys.executable} imported/app.py", "--detailed-exitcode",
                           cwd=project)
    assert planned.returncode == 0, planned.stdout + planned.stderr


def test_drift_shows_in_plan_and_a_deploy_puts_it_back(first: subprocess.CompletedProcess[str],
                                                        project: Path) -> None:
    assert first.returncode == 0, first.stderr
    with workmail(project) as client:
        organization = client.list_organizations()["OrganizationSummaries"][0]["OrganizationId"]
        bob = next(u for u in client.list_users(OrganizationId=organization)["Users"] if u["Name"] == "bob")
        client.update_user(OrganizationId=organization, UserId=bob["Id"], DisplayName="Robert (console)")
    planned = workmail_cdk("plan", "--local", "--refresh", "--detailed-exitcode", cwd=project)
    assert planned.returncode == 2, planned.stderr
    assert 'display_name: "Robert (console)" → Bob' in planned.stdout
    as_json = workmail_cdk("plan", "--local", "--format", "json", cwd=project)
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["summary"]["update"] == 1
    deployed = workmail_cdk("deploy", "--local", cwd=project)
    assert deployed.returncode == 0, deployed.stderr
    assert "Put back what was changed outside the app (drift) in OrganizationDirectory" in deployed.stdout
    assert workmail_cdk("plan", "--local", "--detailed-exitcode", cwd=project).returncode == 0


def test_a_changed_app_deploys_as_an_update(first: subprocess.CompletedProcess[str], project: Path) -> None:
    assert first.returncode == 0, first.stderr
    set_variant(project, "changed")
    planned = workmail_cdk("plan", "--local", "--detailed-exitcode", cwd=project)
    assert planned.returncode == 2, planned.stderr
    assert_the_branch_changes(planned.stdout)
    changed = workmail_cdk("deploy", "--local", cwd=project)
    assert changed.returncode == 0, changed.stderr
    assert "~ update  OrganizationDirectory" in changed.stderr
    assert "3 (3 enabled)" in changed.stdout
    with workmail(project) as client:
        organization = client.list_organizations()["OrganizationSummaries"][0]["OrganizationId"]
        users = {u["Name"]: u for u in client.list_users(OrganizationId=organization)["Users"]}
        assert set(users) >= {"alice", "bob", "carol"}
        assert users["bob"]["DisplayName"] == "Bob Builder"
        aliases = client.list_aliases(OrganizationId=organization, EntityId=users["alice"]["Id"])["Aliases"]
        assert "a@local-mail.example" not in aliases


def test_bad_input_is_one_line_and_a_non_zero_exit(project: Path, tmp_path: Path) -> None:
    no_local = workmail_cdk("deploy", cwd=project)
    assert no_local.returncode == 2 and "add --local" in no_local.stderr
    no_app = workmail_cdk("deploy", "--local", "--state", str(tmp_path / "state"), cwd=tmp_path)
    assert no_app.returncode == 1
    assert no_app.stderr.strip().splitlines() == [
        f"Error: no --app and no cdk.json in {tmp_path}; pass --app 'python3 app.py'"]
    broken = workmail_cdk("deploy", "--local", "--app", f"{sys.executable} -c 'raise SystemExit(\"no synth\")'",
                          "--state", str(tmp_path / "state"), cwd=tmp_path)
    assert broken.returncode == 1 and "the app failed to synthesize" in broken.stderr and "no synth" in broken.stderr
    assert "Traceback" not in broken.stderr
    wrong_stack = workmail_cdk("deploy", "--local", "--stack", "Nope", "--state", str(tmp_path / "state2"),
                               cwd=project)
    assert wrong_stack.returncode == 1 and "the app has no stack 'Nope'; it has LocalMail" in wrong_stack.stderr


def test_removed_resources_are_deleted_or_retained_as_their_policy_says(
        first: subprocess.CompletedProcess[str], project: Path) -> None:
    assert first.returncode == 0, first.stderr
    secrets = project / ".workmail" / "secrets.json"
    assert len(json.loads(secrets.read_text())) == 2, "the password and the spare secret"
    set_variant(project, "changed,removed")
    removed = workmail_cdk("deploy", "--local", cwd=project)
    assert removed.returncode == 0, removed.stderr
    assert "- delete  Spare" in removed.stderr
    # A domain is retained with its organization (the default removal policy): out of the
    # stack, still registered.
    assert "= retain  Organizationotherexample" in removed.stderr
    assert len(json.loads(secrets.read_text())) == 1
    with workmail(project) as client:
        organization = client.list_organizations()["OrganizationSummaries"][0]["OrganizationId"]
        domains = {d["DomainName"] for d in client.list_mail_domains(OrganizationId=organization)["MailDomains"]}
        assert "other.example" in domains


def test_a_large_directory_spec_travels_through_s3(first: subprocess.CompletedProcess[str], project: Path) -> None:
    assert first.returncode == 0, first.stderr
    set_variant(project, "changed,removed,large")
    large = workmail_cdk("deploy", "--local", cwd=project)
    assert large.returncode == 0, large.stderr
    template = json.loads((project / ".workmail" / "cdk.out" / "LocalMail.template.json").read_text())
    directory = template["Resources"]["OrganizationDirectory3A39E907"]["Properties"]
    assert "SpecLocation" in directory and "Spec" not in directory
    assert "~ update  OrganizationDirectory" in large.stderr
    assert "703 (703 enabled)" in large.stdout


def test_the_directory_refuses_to_delete_mailboxes_without_allow_destructive(
        first: subprocess.CompletedProcess[str], project: Path) -> None:
    assert first.returncode == 0, first.stderr
    set_variant(project, "changed,removed")
    # The last deploy's spec went through S3: its asset is in the last deployed assembly, not the new one.
    planned = workmail_cdk("plan", "--local", "--detailed-exitcode", cwd=project)
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert "700 to delete" in " ".join(planned.stdout.split())
    refused = workmail_cdk("deploy", "--local", cwd=project)
    assert refused.returncode == 1
    assert "refusing 700 destructive change(s) without AllowDestructive; nothing was changed" in refused.stderr
    assert "Traceback" not in refused.stderr
    with workmail(project) as client:
        organization = client.list_organizations()["OrganizationSummaries"][0]["OrganizationId"]
        pages = client.get_paginator("list_users").paginate(OrganizationId=organization)
        assert sum(len(page["Users"]) for page in pages) >= 703
