"""``workmail-cdk decommission``: the plan, each refusal and its override, and the deletion in
order, against an emulator and a loopback DNS server that serves the domain's records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from bench.harness import EXPORT_BUCKET, EXPORT_KMS_KEY, EXPORT_ROLE
from tests.dns_zone import Zone, publish
from workmail_constructs.local import EmulatorControl
from workmail_constructs.local.server import EmulatorServer

ALIAS = "leaving"
DOMAIN = "leaving.example"
USERS = ("alice", "bob", "carol")


@pytest.fixture
def organization() -> Iterator[dict[str, Any]]:
    server = EmulatorServer().start()
    client = boto3.client("workmail", endpoint_url=server.endpoint_url, region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local")
    control = EmulatorControl(server.endpoint_url)
    org_id = client.create_organization(Alias=ALIAS)["OrganizationId"]
    client.register_mail_domain(OrganizationId=org_id, DomainName=DOMAIN)
    control.verify_domain(org_id, DOMAIN)
    users = []
    for name in USERS:
        user = client.create_user(OrganizationId=org_id, Name=name, DisplayName=name.title())["UserId"]
        client.register_to_work_mail(OrganizationId=org_id, EntityId=user, Email=f"{name}@{DOMAIN}")
        users.append(user)
    group = client.create_group(OrganizationId=org_id, Name="team")["GroupId"]
    client.associate_member_to_group(OrganizationId=org_id, GroupId=group, MemberId=users[0])
    room = client.create_resource(OrganizationId=org_id, Name="boardroom", Type="ROOM")["ResourceId"]
    client.register_to_work_mail(OrganizationId=org_id, EntityId=room, Email=f"boardroom@{DOMAIN}")
    control.command("create-s3-bucket", Bucket=EXPORT_BUCKET)
    records = client.get_mail_domain(OrganizationId=org_id, DomainName=DOMAIN)["Records"]
    yield {"url": server.endpoint_url, "org_id": org_id, "client": client, "control": control, "records": records}
    server.stop()


def cli(organization: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "COLUMNS": "200",
           "AWS_ENDPOINT_URL_S3": organization["url"] + "/_s3"}
    return subprocess.run(
        [sys.executable, "-c", "from workmail_constructs.cli import main; main()", *args,
         "--organization-id", organization["org_id"], "--endpoint-url", organization["url"], "--region", "us-east-1"],
        env=env, capture_output=True, text=True, timeout=300, check=False)


def decommission(organization: dict[str, Any], zone: Zone, *args: str) -> subprocess.CompletedProcess[str]:
    return cli(organization, "decommission", "--nameserver", f"127.0.0.1:{zone.port}", *args)


def export_everything(organization: dict[str, Any], tmp: Any) -> None:
    done = cli(organization, "mailboxes", "export", "--all", "--bucket", EXPORT_BUCKET, "--kms-key", EXPORT_KMS_KEY,
               "--role", EXPORT_ROLE, "--journal", str(tmp / "exports.jsonl"))
    assert done.returncode == 0, done.stderr


def move_mail_elsewhere(zone: Zone, organization: dict[str, Any]) -> None:
    """The domain's records as after a cut-over: MX and autodiscover at the new provider."""
    kept = [r for r in organization["records"] if r["Type"] not in ("MX", "CNAME")
            or not r["Hostname"].startswith(("autodiscover.", DOMAIN))]
    zone.records.clear()
    publish(zone, kept)
    zone.records[(DOMAIN, "MX")] = ["10 mx.new-provider.example."]


def still_there(organization: dict[str, Any]) -> None:
    client = organization["client"]
    assert client.describe_organization(OrganizationId=organization["org_id"])["State"] == "Active"
    users = client.list_users(OrganizationId=organization["org_id"])["Users"]
    assert {u["Name"] for u in users if u["State"] == "ENABLED"} == set(USERS)


def test_it_refuses_while_mx_points_at_workmail(organization: dict[str, Any], zone: Zone, tmp_path: Any) -> None:
    publish(zone, organization["records"])
    export_everything(organization, tmp_path)
    planned = decommission(organization, zone)
    assert planned.returncode == 2, planned.stderr
    assert f"the MX record of {DOMAIN} still points at WorkMail" in planned.stdout
    assert "(--skip-mx-check)" in planned.stdout
    assert "autodiscover still points at WorkMail" in planned.stdout
    assert "4 of 4 mailboxes have a completed export" in planned.stdout
    refused = decommission(organization, zone, "--apply", "--confirm", ALIAS)
    assert refused.returncode == 1
    assert "refusing to decommission; nothing was deleted" in refused.stderr and "--skip-mx-check" in refused.stderr
    still_there(organization)


def test_it_refuses_without_fresh_exports(organization: dict[str, Any], zone: Zone, tmp_path: Any) -> None:
    move_mail_elsewhere(zone, organization)
    planned = decommission(organization, zone)
    assert planned.returncode == 2
    assert "4 of 4 mailboxes have no completed export started in the last 24 hours" in planned.stdout
    assert "alice@leaving.example: no completed export in the last 7 days" in planned.stdout
    export_everything(organization, tmp_path)
    time.sleep(1.5)
    # Older than the threshold (here a second, as a day is in use): refused as if there were none.
    aged = decommission(organization, zone, "--max-export-age", "0.0003", "--apply", "--confirm", ALIAS)
    assert aged.returncode == 1 and "--skip-export-check" in aged.stderr
    assert "4 of 4 mailboxes have no completed export started in the last 0.0003 hours" in aged.stderr
    still_there(organization)
    assert decommission(organization, zone).returncode == 0


def test_it_refuses_a_confirmation_that_is_not_the_alias(organization: dict[str, Any], zone: Zone,
                                                         tmp_path: Any) -> None:
    move_mail_elsewhere(zone, organization)
    export_everything(organization, tmp_path)
    assert decommission(organization, zone).returncode == 0
    wrong = decommission(organization, zone, "--apply", "--confirm", "leavin")
    assert wrong.returncode == 1 and "'leavin' is not its alias" in wrong.stderr
    missing = decommission(organization, zone, "--apply")
    assert missing.returncode == 1 and "no --confirm was given" in missing.stderr and "--skip-confirmation" in \
        missing.stderr
    still_there(organization)


def test_it_deletes_in_order_once_mail_has_moved_and_exports_are_fresh(
    organization: dict[str, Any], zone: Zone, tmp_path: Any,
) -> None:
    move_mail_elsewhere(zone, organization)
    export_everything(organization, tmp_path)
    planned = json.loads(decommission(organization, zone, "--format", "json").stdout)
    assert planned["refusals"] == []
    order = [(c["kind"], c["key"]) for c in planned["deletion"]["changes"]]
    assert order[-1] == ("organization", ALIAS)
    kinds = [kind for kind, _ in order]
    assert sorted(name for kind, name in order if kind == "user") == sorted(USERS)
    assert ("group", "team") in order and ("resource", "boardroom") in order
    assert "domain" not in kinds  # the domains go with the organization
    organization["control"].reset_call_counts()
    done = decommission(organization, zone, "--apply", "--confirm", ALIAS)
    assert done.returncode == 0, done.stderr
    assert f"Decommissioned {ALIAS}" in done.stderr
    state = organization["client"].describe_organization(OrganizationId=organization["org_id"])["State"]
    assert state in ("Deleting", "Deleted")
    calls = organization["control"].call_counts()["calls"]
    assert (calls["DeleteUser"], calls["DeleteGroup"], calls["DeleteResource"], calls["DeleteOrganization"]) == \
        (3, 1, 1, 1)


def test_each_refusal_has_a_flag_that_skips_it(organization: dict[str, Any], zone: Zone) -> None:
    publish(zone, organization["records"])
    planned = decommission(organization, zone, "--skip-mx-check", "--skip-export-check")
    assert planned.returncode == 0
    assert "skipped: the MX record" in planned.stdout
    done = decommission(organization, zone, "--skip-mx-check", "--skip-export-check", "--apply",
                        "--skip-confirmation")
    assert done.returncode == 0, done.stderr
    assert organization["client"].describe_organization(
        OrganizationId=organization["org_id"])["State"] in ("Deleting", "Deleted")
