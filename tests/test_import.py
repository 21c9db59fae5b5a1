"""``workmail-cdk import``: an organization built with boto3 alone, imported, and planned again.

The organization has 2 domains, 300 users (some disabled, some with a quota of their own),
50 groups with nested members, 10 resources with delegates, aliases, mailbox permissions and
every policy kind. Planning the generated app against the same endpoint shows no changes;
a change made afterwards shows up, so the round trip can fail.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runs import ENV, workmail_cdk
from tests.conftest import REGION, make_client
from workmail_constructs.core.spec import WorkMailSpec
from workmail_constructs.core.spec_reading import from_data
from workmail_constructs.local import EmulatorControl, running_emulator
from workmail_constructs.local.clients import LOCAL_CREDENTIAL_VARIABLES

USERS = 300
GROUPS = 50
RESOURCES = 10
DOMAINS = ("corp.example.com", "partner.example.org")
TARGET = ("--region", REGION)


def _run(*args: str, cwd: Path | None = None) -> Any:
    """``workmail-cdk`` with the emulator's credentials, as a user with a profile would run it."""
    import subprocess

    env = {**ENV, **LOCAL_CREDENTIAL_VARIABLES}
    return subprocess.run([sys.executable, "-c", "from workmail_constructs.cli import main; main()", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


def build_organization(url: str) -> str:
    """The organization of the round trip, made with boto3 alone."""
    wm = make_client(url)
    control = EmulatorControl(url)
    org_id: str = wm.create_organization(Alias="import-roundtrip")["OrganizationId"]
    org = {"OrganizationId": org_id}
    arn = wm.describe_organization(**org)["ARN"]
    wm.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "mail"}, {"Key": "cost-center", "Value": "42"}])
    for domain in DOMAINS:
        wm.register_mail_domain(**org, DomainName=domain)
        control.verify_domain(org_id, domain)
    wm.update_default_mail_domain(**org, DomainName=DOMAINS[0])
    corp, partner = DOMAINS
    users = []
    for n in range(USERS):
        name = f"user{n:03d}"
        user_id = wm.create_user(**org, Name=name, DisplayName=f"User {n}", Password="Initial-Passw0rd!",
                                 **({"FirstName": f"First{n}", "LastName": "Example"} if n % 3 == 0 else {}))["UserId"]
        users.append(user_id)
        if n % 10 == 9:
            continue  # disabled: no mailbox, no address
        wm.register_to_work_mail(**org, EntityId=user_id, Email=f"{name}@{corp}")
        if n % 4 == 0:
            wm.create_alias(**org, EntityId=user_id, Alias=f"{name}.alias@{partner}")
        if n % 25 == 0:
            wm.update_mailbox_quota(**org, UserId=user_id, MailboxQuota=10_240)
        if n % 7 == 0:
            wm.update_user(**org, UserId=user_id, JobTitle="Engineer", Department="R&D", City="Zürich",
                           HiddenFromGlobalAddressList=n % 14 == 0)
    groups = []
    for g in range(GROUPS):
        group_id = wm.create_group(**org, Name=f"group{g:02d}")["GroupId"]
        groups.append(group_id)
        if g % 2 == 0:
            wm.register_to_work_mail(**org, EntityId=group_id, Email=f"group{g:02d}@{corp}")
            if g % 10 == 0:
                wm.create_alias(**org, EntityId=group_id, Alias=f"team{g:02d}@{partner}")
        for m in range(5):
            wm.associate_member_to_group(**org, GroupId=group_id, MemberId=users[(g * 5 + m) % USERS])
        if g > 0:
            # Nested: every group but the first holds the one before it.
            wm.associate_member_to_group(**org, GroupId=group_id, MemberId=groups[g - 1])
    for r in range(RESOURCES):
        resource_id = wm.create_resource(**org, Name=f"room{r}", Type="ROOM" if r % 2 == 0 else "EQUIPMENT",
                                         Description=f"Resource {r}")["ResourceId"]
        wm.register_to_work_mail(**org, EntityId=resource_id, Email=f"room{r}@{corp}")
        wm.associate_delegate_to_resource(**org, ResourceId=resource_id, EntityId=users[r])
        wm.associate_delegate_to_resource(**org, ResourceId=resource_id, EntityId=groups[r])
        wm.update_resource(**org, ResourceId=resource_id, BookingOptions={
            "AutoAcceptRequests": r % 3 != 0, "AutoDeclineRecurringRequests": r % 2 == 1,
            "AutoDeclineConflictingRequests": True})
        wm.put_mailbox_permissions(**org, EntityId=resource_id, GranteeId=users[20 + 2 * r],
                                   PermissionValues=["FULL_ACCESS"])
    wm.put_mailbox_permissions(**org, EntityId=users[0], GranteeId=users[1], PermissionValues=["SEND_AS",
                                                                                               "FULL_ACCESS"])
    wm.put_mailbox_permissions(**org, EntityId=groups[0], GranteeId=groups[2], PermissionValues=["SEND_ON_BEHALF"])
    role_id = wm.create_impersonation_role(**org, Name="auditor", Type="READ_ONLY", Description="Audits", Rules=[
        {"ImpersonationRuleId": "all", "Name": "everyone", "Effect": "ALLOW", "TargetUsers": users[:3]},
        {"ImpersonationRuleId": "not-admin", "Effect": "DENY", "TargetUsers": [users[0]]},
    ])["ImpersonationRoleId"]
    wm.put_access_control_rule(**org, Name="allow-all", Effect="ALLOW", Description="Everything else")
    wm.put_access_control_rule(**org, Name="no-imap", Effect="DENY", Description="No IMAP outside",
                               Actions=["IMAP"], NotIpRanges=["10.0.0.0/8"], UserIds=users[3:5])
    wm.put_access_control_rule(**org, Name="auditor-ews", Effect="ALLOW", Description="The auditor uses EWS",
                               Actions=["EWS"], ImpersonationRoleIds=[role_id])
    wm.create_mobile_device_access_rule(**org, Name="allow-all", Effect="ALLOW", Description="Default")
    wm.create_mobile_device_access_rule(**org, Name="no-old-android", Effect="DENY",
                                        DeviceOperatingSystems=["Android 8"], NotDeviceModels=["Pixel 9"])
    wm.put_mobile_device_access_override(**org, UserId=users[2], DeviceId="LOSTPHONE0001", Effect="DENY",
                                         Description="Reported lost")
    wm.put_retention_policy(**org, Name="standard", Description="Junk and deleted items", FolderConfigurations=[
        {"Name": "JUNK_EMAIL", "Action": "PERMANENTLY_DELETE", "Period": 30},
        {"Name": "DELETED_ITEMS", "Action": "DELETE", "Period": 90},
    ])
    wm.put_inbound_dmarc_settings(**org, Enforced=True)
    account = arn.split(":")[4]
    wm.put_email_monitoring_configuration(
        **org, RoleArn=f"arn:aws:iam::{account}:role/workmail-events",
        LogGroupArn=f"arn:aws:logs:{REGION}:{account}:log-group:/aws/workmail/events:*")
    wm.create_availability_configuration(**org, DomainName="ews.partner.example", EwsProvider={
        "EwsEndpoint": "https://ews.partner.example/EWS/Exchange.asmx", "EwsUsername": "PARTNER\\svc",
        "EwsPassword": "not-readable-back"})
    wm.create_availability_configuration(**org, DomainName="calendar.partner.example", LambdaProvider={
        "LambdaArn": f"arn:aws:lambda:{REGION}:{account}:function:availability"})
    return org_id


@pytest.fixture(scope="module")
def organization() -> Iterator[tuple[str, str]]:
    """An emulator of this module's own (the round trip changes its organization) and the organization."""
    with running_emulator() as url:
        yield url, build_organization(url)


@pytest.fixture(scope="module")
def imported(organization: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    url, org_id = organization
    out = tmp_path_factory.mktemp("imported") / "corp"
    result = _run("import", "--organization-id", org_id, "--endpoint-url", url, *TARGET, "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def _plan(out: Path, url: str, *extra: str) -> Any:
    # From another directory: the app finds its stack module beside itself.
    return _run("plan", "--app", f"{sys.executable} {out / 'app.py'}", "--endpoint-url", url, *TARGET,
                "--detailed-exitcode", *extra, cwd=out.parent)


def test_the_imported_app_plans_no_changes(organization: tuple[str, str], imported: Path) -> None:
    url, _ = organization
    result = _plan(imported, url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes" in result.stdout
    refreshed = _plan(imported, url, "--refresh")
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr


def test_the_imported_files(organization: tuple[str, str], imported: Path) -> None:
    _, org_id = organization
    assert sorted(p.name for p in imported.iterdir()) == [
        "INVENTORY.md", "app.py", "cdk.json", "spec.json", "workmail_stack.py"]
    assert json.loads((imported / "cdk.json").read_text()) == {"app": "python3 app.py"}
    assert os.stat(imported / "app.py").st_mode & stat.S_IXUSR
    spec = from_data(WorkMailSpec, json.loads((imported / "spec.json").read_text()))
    assert spec.organization.organization_id == org_id
    assert (len(spec.domains), len(spec.users), len(spec.groups), len(spec.resources)) == (2, USERS, GROUPS,
                                                                                           RESOURCES)
    assert [d.name for d in spec.domains if d.default] == [DOMAINS[0]]
    # Quotas of their own are declared (users 0, 25, ... 275); the default one isn't.
    assert [u.name for u in spec.users if u.mailbox_quota_mb == 10_240] == [f"user{n:03d}" for n in range(0, 300, 25)]
    assert all(u.mailbox_quota_mb in (None, 10_240) for u in spec.users)
    # Secrets are never read: no user declares a password, and the module says why.
    assert all(user.password is None for user in spec.users)
    module = (imported / "workmail_stack.py").read_text()
    assert " password=" not in module and "(password=" not in module
    assert "every user keeps the one it has" in module
    assert f'organization_id="{org_id}"' in module
    assert ('org.add_group("group01", members=["group00", "user005", "user006", "user007", "user008", "user009"])'
            in module)
    assert max(len(line) for line in module.splitlines() if "arn:aws" not in line) <= 110
    compile(module, "workmail_stack.py", "exec")
    inventory = (imported / "INVENTORY.md").read_text()
    assert "| Users | 300 |" in inventory and "| Groups | 50 |" in inventory
    assert "Email flow rules" in inventory and "(test domain)" in inventory


def test_a_change_after_the_import_shows_in_the_plan(organization: tuple[str, str], imported: Path) -> None:
    url, org_id = organization
    wm = make_client(url)
    user_id = wm.describe_user(OrganizationId=org_id, UserId="user001")["UserId"]
    wm.update_user(OrganizationId=org_id, UserId=user_id, DisplayName="Changed behind the app's back")
    try:
        result = _plan(imported, url, "--refresh")
        assert result.returncode == 2, result.stdout + result.stderr
        assert "user001" in result.stdout and "display_name" in result.stdout
    finally:
        wm.update_user(OrganizationId=org_id, UserId=user_id, DisplayName="User 1")


def test_import_refuses_to_overwrite(organization: tuple[str, str], imported: Path) -> None:
    url, org_id = organization
    before = (imported / "workmail_stack.py").read_text()
    result = _run("import", "--organization-id", org_id, "--endpoint-url", url, *TARGET, "--out", str(imported))
    assert result.returncode == 2
    assert "--out" in result.stderr and "already has" in result.stderr and "Traceback" not in result.stderr
    assert (imported / "workmail_stack.py").read_text() == before


@pytest.mark.parametrize(("args", "message"), [
    (("--organization-id", "m-00000000000000000000000000000000"), "does not exist"),
    (("--organization-id", "m-1", "--local", "--endpoint-url", "http://127.0.0.1:1"), "not both"),
])
def test_bad_import_input_is_one_line(organization: tuple[str, str], tmp_path: Path, args: tuple[str, ...],
                                      message: str) -> None:
    url, _ = organization
    result = _run("import", *args, *(() if "--endpoint-url" in args else ("--endpoint-url", url)), *TARGET,
                  "--out", str(tmp_path / "out"))
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_the_only_organization_is_the_default(organization: tuple[str, str], imported: Path,
                                              tmp_path: Path) -> None:
    url, _ = organization
    result = _run("import", "--endpoint-url", url, *TARGET, "--out", str(tmp_path / "again"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "again" / "spec.json").read_text() == (imported / "spec.json").read_text()
    other = make_client(url).create_organization(Alias="another-org")["OrganizationId"]
    try:
        result = _run("import", "--endpoint-url", url, *TARGET, "--out", str(tmp_path / "which"))
        assert result.returncode == 2
        assert "--organization-id" in result.stderr and "another-org" in result.stderr
        assert not (tmp_path / "which").exists()
    finally:
        make_client(url).delete_organization(OrganizationId=other, DeleteDirectory=True, ForceDelete=True)


def test_import_without_a_local_deploy(tmp_path: Path) -> None:
    result = workmail_cdk("import", "--organization-id", "m-1", "--local", "--out", str(tmp_path / "out"),
                          cwd=tmp_path)
    assert result.returncode == 1
    assert "no local deploy" in result.stderr
