"""The emulator as a server: protocol, coverage of the service model, persistence, faults and counters."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import error_code, make_client, unique
from workmail_constructs.core import service_model
from workmail_constructs.local import (
    EmulatorControl,
    Settings,
    Timing,
    ops,  # noqa: F401  (registers every operation handler)
    running_emulator,
)
from workmail_constructs.local.registry import OPERATIONS

TESTS = Path(__file__).parent


def test_every_model_operation_has_a_handler() -> None:
    for service in ("workmail", "workmailmessageflow"):
        model_ops = set(service_model.service_model(service).operation_names)
        assert set(OPERATIONS[service]) == model_ops, service
    assert len(OPERATIONS["workmail"]) >= 92


def test_every_operation_is_exercised_by_the_contract_suite() -> None:
    """Each operation's boto3 method name appears in a test file, so none is left untested."""
    source = "\n".join(p.read_text() for p in TESTS.glob("test_*.py"))
    model = service_model.service_model("workmail")
    missing = []
    for name in model.operation_names:
        method = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        if f".{method}(" not in source and f'"{method}"' not in source:
            missing.append(f"{name} ({method})")
    assert not missing, "operations without a contract test: " + ", ".join(missing)


def _post(url: str, target: str | None, body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target:
        headers["X-Amz-Target"] = target
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


def test_wire_protocol_errors(emulator_url: str) -> None:
    status, body, headers = _post(emulator_url, "WorkMailService.NoSuchThing", b"{}")
    assert status == 400 and body["__type"] == "UnknownOperationException"
    assert headers["x-amzn-ErrorType"].startswith("UnknownOperationException")
    status, body, _ = _post(emulator_url, "WorkMailService.ListOrganizations", b"{not json")
    assert status == 400 and body["__type"] == "SerializationException"
    status, body, _ = _post(emulator_url, "WorkMailService.DescribeOrganization", b"{}")
    assert status == 400 and body["__type"] == "ValidationException"
    assert "organizationId" in body["message"] and "must not be null" in body["message"]


def test_validation_names_every_broken_field(client: Any, org_id: str) -> None:
    with pytest.raises(ClientError) as exc:
        client.create_user(OrganizationId=org_id, Name="bad name!", DisplayName="d" * 300)
    message = exc.value.response["Error"]["Message"]
    assert message.startswith("2 validation errors detected")
    assert "'name'" in message and "'displayName'" in message


def test_nested_members_are_validated(client: Any) -> None:
    with pytest.raises(ClientError) as exc:
        client.create_organization(Alias=unique("nested"), Domains=[{"DomainName": "bad_name.com"}])
    message = exc.value.response["Error"]["Message"]
    assert "domains.1.member.domainName" in message


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with running_emulator(state=state) as url:
        client = make_client(url)
        org_id = client.create_organization(Alias=unique("persist"))["OrganizationId"]
        domain = f"{unique('p')}.example.com"
        client.register_mail_domain(OrganizationId=org_id, DomainName=domain)
        EmulatorControl(url).verify_domain(org_id, domain)
        user = client.create_user(OrganizationId=org_id, Name="kept", DisplayName="Kept")["UserId"]
        client.register_to_work_mail(OrganizationId=org_id, EntityId=user, Email=f"kept@{domain}")
        client.create_alias(OrganizationId=org_id, EntityId=user, Alias=f"alias@{domain}")
        group = client.create_group(OrganizationId=org_id, Name="g")["GroupId"]
        client.associate_member_to_group(OrganizationId=org_id, GroupId=group, MemberId=user)
    with running_emulator(state=state) as url:
        client = make_client(url)
        assert client.describe_organization(OrganizationId=org_id)["State"] == "Active"
        assert client.describe_user(OrganizationId=org_id, UserId=user)["Email"] == f"kept@{domain}"
        assert client.list_aliases(OrganizationId=org_id, EntityId=user)["Aliases"] == [f"alias@{domain}"]
        assert [m["Id"] for m in client.list_group_members(OrganizationId=org_id, GroupId=group)["Members"]] == [user]
        with pytest.raises(ClientError) as exc:
            client.create_user(OrganizationId=org_id, Name="kept", DisplayName="Again")
        assert error_code(exc) == "NameAvailabilityException"


def test_pending_timers_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "timers.sqlite"
    settings = Settings(timing=Timing(org_requested=3600))
    with running_emulator(state=state, settings=settings) as url:
        org_id = make_client(url).create_organization(Alias=unique("later"))["OrganizationId"]
    with running_emulator(state=state) as url:
        client = make_client(url)
        assert client.describe_organization(OrganizationId=org_id)["State"] == "Requested"
        EmulatorControl(url).advance_clock(3601)
        assert client.describe_organization(OrganizationId=org_id)["State"] == "Active"


def test_injected_throttling_and_errors(emulator_url: str, control: EmulatorControl) -> None:
    client = make_client(emulator_url)
    control.set_faults(throttle_rate=0.5, error_rate=0.25, seed=7, operations=["ListOrganizations"])
    try:
        codes: dict[str, int] = {}
        for _ in range(200):
            try:
                client.list_organizations(MaxResults=1)
                codes["ok"] = codes.get("ok", 0) + 1
            except ClientError as exc:
                code = error_code_of(exc)
                codes[code] = codes.get(code, 0) + 1
        assert set(codes) == {"ok", "ThrottlingException", "InternalFailure"}
        assert 70 <= codes["ThrottlingException"] <= 130
        assert 25 <= codes["InternalFailure"] <= 75
        # Other operations are not affected.
        client.describe_organization(OrganizationId=client.create_organization(Alias=unique("ok"))["OrganizationId"])
        # boto3's standard retries ride through moderate faults.
        control.set_faults(throttle_rate=0.2, error_rate=0.05)
        retrying = make_client(emulator_url, config=Config(retries={"max_attempts": 10, "mode": "standard"}))
        for _ in range(10):
            retrying.list_organizations(MaxResults=1)
    finally:
        control.set_faults(throttle_rate=0, error_rate=0, operations=None)


def error_code_of(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def test_injected_latency(emulator_url: str, control: EmulatorControl) -> None:
    import time

    client = make_client(emulator_url)
    client.list_organizations(MaxResults=1)
    control.set_faults(latency_ms=200, operations=["ListOrganizations"])
    try:
        start = time.perf_counter()
        client.list_organizations(MaxResults=1)
        assert time.perf_counter() - start >= 0.2
    finally:
        control.set_faults(latency_ms=0, operations=None)


def test_bad_fault_settings_are_refused(control: EmulatorControl) -> None:
    from workmail_constructs.local import EmulatorCommandError

    with pytest.raises(EmulatorCommandError, match="throttle_rate"):
        control.set_faults(throttle_rate=2)
    with pytest.raises(EmulatorCommandError, match="unknown fault setting"):
        control.set_faults(throttle=0.1)
    with pytest.raises(EmulatorCommandError, match="Unknown emulator command"):
        control.command("no-such-command")


def test_call_counter(emulator_url: str) -> None:
    with running_emulator() as url:
        client = make_client(url)
        control = EmulatorControl(url)
        client.list_organizations()
        client.list_organizations()
        with pytest.raises(ClientError):
            client.describe_organization(OrganizationId="m-" + "1" * 32)
        counts = control.call_counts()
        assert counts["calls"] == {"ListOrganizations": 2, "DescribeOrganization": 1}
        assert counts["total"] == 3
        control.reset_call_counts()
        assert control.call_counts()["total"] == 0


def test_cli_serve_prints_endpoint_and_serves(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "workmail_constructs.cli", "emulator", "serve", "--port", "0",
         "--state", str(tmp_path / "cli.sqlite")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
        client = boto3.client("workmail", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id="a", aws_secret_access_key="b")
        assert client.list_organizations()["OrganizationSummaries"] == []
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert (tmp_path / "cli.sqlite").exists()
