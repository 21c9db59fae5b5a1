"""``workmail-cdk dns check``: each record WorkMail expects, resolved from a small
authoritative DNS server on loopback, reported as present, missing or different."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import boto3
import pytest

from tests.dns_zone import Zone, publish
from workmail_constructs.local.server import EmulatorServer

DOMAIN = "dns-check.example"


@pytest.fixture
def organization() -> Iterator[tuple[str, str, list[dict[str, str]]]]:
    server = EmulatorServer().start()
    client = boto3.client("workmail", endpoint_url=server.endpoint_url, region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local")
    organization_id = client.create_organization(Alias="dns-check")["OrganizationId"]
    client.register_mail_domain(OrganizationId=organization_id, DomainName=DOMAIN)
    records = client.get_mail_domain(OrganizationId=organization_id, DomainName=DOMAIN)["Records"]
    yield server.endpoint_url, organization_id, records
    server.stop()


def check(endpoint: str, organization_id: str, port: int, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
    return subprocess.run(
        [sys.executable, "-c", "from workmail_constructs.cli import main; main()", "dns", "check", DOMAIN,
         "--organization-id", organization_id, "--endpoint-url", endpoint, "--region", "us-east-1",
         "--nameserver", f"127.0.0.1:{port}", *extra],
        env=env, capture_output=True, text=True, timeout=120, check=False)


def test_every_record_present_exits_0(zone: Zone, organization: tuple[str, str, list[dict[str, str]]]) -> None:
    endpoint, organization_id, records = organization
    publish(zone, records)
    result = check(endpoint, organization_id, zone.port)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"{DOMAIN}: {len(records)} of {len(records)} records present"


def test_missing_and_different_records_are_named_with_what_was_found(
        zone: Zone, organization: tuple[str, str, list[dict[str, str]]]) -> None:
    endpoint, organization_id, records = organization
    mx = next(r for r in records if r["Type"] == "MX")
    spf = next(r for r in records if r["Value"].startswith("v=spf1"))
    ownership = next(r for r in records if r["Hostname"].startswith("_amazonses."))
    publish(zone, [r for r in records if r is not mx and r is not spf and r is not ownership])
    zone.records[(DOMAIN, "MX")] = ["10 mail.elsewhere.example."]
    # Another service's verification at the apex is no SPF policy: the SPF record is missing.
    zone.records[(DOMAIN, "TXT")] = ['"google-site-verification=abc"']
    result = check(endpoint, organization_id, zone.port, "--format", "json")
    assert result.returncode == 2, result.stderr
    by_name = {(r["type"], r["name"], r["expected"]): r for r in json.loads(result.stdout)["records"]}
    assert by_name[("MX", DOMAIN, mx["Value"])]["status"] == "different"
    assert by_name[("MX", DOMAIN, mx["Value"])]["found"] == ["10 mail.elsewhere.example."]
    assert by_name[("TXT", DOMAIN, spf["Value"])]["status"] == "missing"
    assert by_name[("TXT", ownership["Hostname"], ownership["Value"])]["status"] == "missing"
    assert sum(r["status"] == "present" for r in by_name.values()) == len(records) - 3


def test_errors_are_one_line(zone: Zone, organization: tuple[str, str, list[dict[str, str]]]) -> None:
    endpoint, _, _ = organization
    unknown = check(endpoint, "m-" + "0" * 32, zone.port)
    assert unknown.returncode == 1
    assert unknown.stderr.startswith(f"Error: GetMailDomain {DOMAIN} in m-{'0' * 32}: OrganizationNotFoundException")
    assert len(unknown.stderr.strip().splitlines()) == 1
