"""Contract tests generated from botocore's service model: every operation rejects what
the model forbids, naming the field, and pages honour MaxResults and NextToken."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.model import StructureShape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workmail_constructs.core import service_model
from workmail_constructs.local import Emulator

MODEL = service_model.service_model("workmail")


def _call(url: str, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"X-Amz-Target": f"WorkMailService.{operation}", "Content-Type": "application/x-amz-json-1.1"},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _input(operation: str) -> StructureShape:
    shape = MODEL.operation_model(operation).input_shape
    assert isinstance(shape, StructureShape)
    return shape


@pytest.mark.parametrize("operation", sorted(MODEL.operation_names))
def test_missing_required_members_are_named(emulator_url: str, operation: str) -> None:
    required = _input(operation).required_members
    if not required:
        pytest.skip(f"{operation} has no required members")
    status, body = _call(emulator_url, operation, {})
    assert status == 400 and body["__type"] == "ValidationException", body
    for member in required:
        assert f"'{_camel(member)}' failed to satisfy constraint: Member must not be null" in body["message"]


def _constrained_strings(operation: str) -> list[tuple[str, Any]]:
    """(member, a value the model forbids) for each top-level string member with a max or a pattern."""
    cases = []
    for name, shape in _input(operation).members.items():
        if shape.type_name != "string":
            continue
        high = shape.metadata.get("max")
        if getattr(shape, "enum", None):
            cases.append((name, "NOT_IN_THE_ENUM"))
        elif high is not None:
            cases.append((name, "a" * (high + 1)))
        elif shape.metadata.get("pattern"):
            cases.append((name, "\u0001"))
    return cases


CASES = [(op, member, value) for op in sorted(MODEL.operation_names) for member, value in _constrained_strings(op)]


@pytest.mark.parametrize(("operation", "member", "value"), CASES, ids=[f"{o}.{m}" for o, m, _ in CASES])
def test_constraint_violations_are_named(emulator_url: str, operation: str, member: str, value: Any) -> None:
    status, body = _call(emulator_url, operation, {member: value})
    assert status == 400 and body["__type"] == "ValidationException", body
    assert f"at '{_camel(member)}' failed to satisfy constraint" in body["message"]


def test_every_list_operation_bounds_max_results(emulator_url: str) -> None:
    paged = [op for op in MODEL.operation_names if "MaxResults" in _input(op).members]
    assert len(paged) >= 15
    for operation in paged:
        status, body = _call(emulator_url, operation, {"MaxResults": 10_000})
        assert status == 400, operation
        assert "at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to" in (
            body["message"]
        ), (operation, body)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.sets(st.from_regex(r"[a-z][a-z0-9]{0,11}", fullmatch=True), min_size=0, max_size=60),
    page_size=st.integers(min_value=1, max_value=100),
    removed_while_paging=st.integers(min_value=0, max_value=5),
)
def test_paging_returns_every_user_once_in_order(
    tmp_path_factory: pytest.TempPathFactory, names: set[str], page_size: int, removed_while_paging: int
) -> None:
    emulator = Emulator()
    try:
        org = emulator.call("CreateOrganization", {"Alias": "paging"})["OrganizationId"]
        ids = {n: emulator.call("CreateUser", {"OrganizationId": org, "Name": n, "DisplayName": n})["UserId"]
               for n in names}
        seen: list[str] = []
        request: dict[str, Any] = {"OrganizationId": org, "MaxResults": page_size}
        removed: set[str] = set()
        while True:
            page = emulator.call("ListUsers", dict(request))
            assert len(page["Users"]) <= page_size
            seen += [u["Name"] for u in page["Users"]]
            if "NextToken" not in page:
                break
            request["NextToken"] = page["NextToken"]
            # Users deleted between pages must not make paging skip or repeat the others.
            for name in sorted(set(names) - set(seen) - removed)[:removed_while_paging]:
                emulator.call("DeleteUser", {"OrganizationId": org, "UserId": ids[name]})
                removed.add(name)
        assert seen == sorted(seen)
        assert len(seen) == len(set(seen))
        live = set(names) - removed
        assert live <= set(seen) <= set(names)
    finally:
        emulator.close()


def test_every_write_is_persisted(tmp_path: Path) -> None:
    """After a scenario touching every area, a restarted emulator holds exactly the same state."""
    state = tmp_path / "state.sqlite"
    emulator = Emulator(state)
    call = emulator.call
    org = call("CreateOrganization", {"Alias": "persisted"})["OrganizationId"]
    o = {"OrganizationId": org}
    call("RegisterMailDomain", {**o, "DomainName": "p.example.com"})
    emulator.control("verify-domain", {**o, "DomainName": "p.example.com"})
    call("UpdateDefaultMailDomain", {**o, "DomainName": "p.example.com"})
    user = call("CreateUser", {**o, "Name": "u", "DisplayName": "U", "Password": "Passw0rd!x"})["UserId"]
    other = call("CreateUser", {**o, "Name": "v", "DisplayName": "V"})["UserId"]
    for entity, email in ((user, "u@p.example.com"), (other, "v@p.example.com")):
        call("RegisterToWorkMail", {**o, "EntityId": entity, "Email": email})
    call("UpdateUser", {**o, "UserId": user, "City": "Oslo"})
    call("ResetPassword", {**o, "UserId": user, "Password": "An0ther!pass"})
    call("UpdateMailboxQuota", {**o, "UserId": user, "MailboxQuota": 100})
    call("CreateAlias", {**o, "EntityId": user, "Alias": "alias@p.example.com"})
    call("UpdatePrimaryEmailAddress", {**o, "EntityId": user, "Email": "alias@p.example.com"})
    group = call("CreateGroup", {**o, "Name": "g"})["GroupId"]
    call("RegisterToWorkMail", {**o, "EntityId": group, "Email": "g@p.example.com"})
    call("AssociateMemberToGroup", {**o, "GroupId": group, "MemberId": user})
    call("UpdateGroup", {**o, "GroupId": group, "HiddenFromGlobalAddressList": True})
    room = call("CreateResource", {**o, "Name": "room", "Type": "ROOM"})["ResourceId"]
    call("AssociateDelegateToResource", {**o, "ResourceId": room, "EntityId": user})
    call("UpdateResource", {**o, "ResourceId": room, "BookingOptions": {"AutoAcceptRequests": False}})
    call("PutMailboxPermissions", {**o, "EntityId": user, "GranteeId": other, "PermissionValues": ["FULL_ACCESS"]})
    call("PutAccessControlRule", {**o, "Name": "deny-imap", "Effect": "DENY", "Description": "d",
                                  "Actions": ["IMAP"]})
    rule = call("CreateMobileDeviceAccessRule", {**o, "Name": "r", "Effect": "DENY", "DeviceTypes": ["iPhone"]})
    call("UpdateMobileDeviceAccessRule", {**o, "MobileDeviceAccessRuleId": rule["MobileDeviceAccessRuleId"],
                                          "Name": "r2", "Effect": "ALLOW"})
    call("PutMobileDeviceAccessOverride", {**o, "UserId": user, "DeviceId": "DEV1", "Effect": "ALLOW"})
    role = call("CreateImpersonationRole", {**o, "Name": "role", "Type": "READ_ONLY", "Rules": [
        {"ImpersonationRuleId": "r1", "Effect": "ALLOW", "TargetUsers": [other]}]})["ImpersonationRoleId"]
    call("AssumeImpersonationRole", {**o, "ImpersonationRoleId": role})
    call("PutRetentionPolicy", {**o, "Name": "keep", "FolderConfigurations": [
        {"Name": "INBOX", "Action": "DELETE", "Period": 30}]})
    call("PutInboundDmarcSettings", {**o, "Enforced": False})
    call("PutEmailMonitoringConfiguration", {
        **o, "LogGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/workmail/p:*"})
    call("CreateAvailabilityConfiguration", {**o, "DomainName": "partner.example.net", "EwsProvider": {
        "EwsEndpoint": "https://127.0.0.1/ews", "EwsUsername": "svc", "EwsPassword": "Secret-1"}})
    call("TagResource", {"ResourceARN": f"arn:aws:workmail:us-east-1:123456789012:organization/{org}",
                         "Tags": [{"Key": "team", "Value": "mail"}]})
    emulator.control("deliver-message", {**o, "Raw": "From: a@example.org\r\nTo: u@p.example.com\r\n"
                                                "Date: Fri, 27 Nov 2026 10:00:00 +0000\r\nSubject: hi\r\n\r\nbody\r\n"})
    emulator.control("create-s3-bucket", {"Bucket": "exports"})
    call("StartMailboxExportJob", {**o, "EntityId": user, "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/abc",
                                   "RoleArn": "arn:aws:iam::123456789012:role/export", "S3BucketName": "exports",
                                   "S3Prefix": "x", "ClientToken": "export-1"})
    call("DeregisterFromWorkMail", {**o, "EntityId": other})
    before = {k: v for k, v in emulator.store._data.items() if v}
    emulator.close()
    reopened = Emulator(state)
    try:
        after = {k: v for k, v in reopened.store._data.items() if v}
        assert after == before
    finally:
        reopened.close()


@pytest.mark.parametrize("service", ["workmail", "workmailmessageflow"])
def test_the_service_model_is_the_one_a_botocore_session_gives(service: str) -> None:
    ours = service_model.service_model(service)
    sessions = botocore.session.get_session().get_service_model(service)
    assert ours.api_version == sessions.api_version
    assert ours._service_description == sessions._service_description  # the whole model, extras included
