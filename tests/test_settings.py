"""Contract tests: retention policy, inbound DMARC, email monitoring, availability configurations
(tested against real loopback EWS and CAP endpoints), tags, the Identity Center integration and
personal access tokens."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import error_code, make_client, unique
from workmail_constructs.local import EmulatorCommandError, EmulatorControl, Settings, Timing, running_emulator

ACCOUNT = "123456789012"
REGION = "us-east-1"
MISSING_ORG = "m-" + "0" * 32
EWS_USER = "EXAMPLE\\availability"
EWS_PASSWORD = "s3cret pass"
INSTANCE_ARN = "arn:aws:sso:::instance/ssoins-1234567890abcdef"
APPLICATION_ARN_PATTERN = re.compile(
    r"^arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):sso::\d{12}:application/(sso)?ins-[a-zA-Z0-9-.]{16}"
    r"/apl-[a-zA-Z0-9]{16}$"
)


def _raises(code: str, call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    assert error_code(exc) == code, exc.value.response["Error"]
    return str(exc.value.response["Error"]["Message"])


def _command_fails(code: str, control: EmulatorControl, name: str, **params: Any) -> str:
    with pytest.raises(EmulatorCommandError) as exc:
        control.command(name, **params)
    assert exc.value.code == code, exc.value
    return exc.value.message


# Retention policy ---------------------------------------------------------------

FOLDERS = [
    {"Name": "DELETED_ITEMS", "Action": "PERMANENTLY_DELETE", "Period": 30},
    {"Name": "JUNK_EMAIL", "Action": "DELETE", "Period": 10},
    {"Name": "INBOX", "Action": "NONE"},
]


def test_retention_policy_lifecycle(client: Any, org_id: str) -> None:
    _raises("EntityNotFoundException", client.get_default_retention_policy, OrganizationId=org_id)
    client.put_retention_policy(
        OrganizationId=org_id, Name="default-policy", Description="Keep it tidy", FolderConfigurations=FOLDERS
    )
    policy = client.get_default_retention_policy(OrganizationId=org_id)
    policy_id = policy["Id"]
    assert policy["Name"] == "default-policy" and policy["Description"] == "Keep it tidy"
    assert policy["FolderConfigurations"] == FOLDERS

    # With its Id, the policy is updated in place.
    client.put_retention_policy(OrganizationId=org_id, Id=policy_id, Name="renamed", FolderConfigurations=FOLDERS[:1])
    policy = client.get_default_retention_policy(OrganizationId=org_id)
    assert policy["Id"] == policy_id and policy["Name"] == "renamed" and "Description" not in policy
    assert policy["FolderConfigurations"] == FOLDERS[:1]

    # An unknown Id is refused and changes nothing.
    _raises(
        "InvalidParameterException",
        client.put_retention_policy,
        OrganizationId=org_id,
        Id="not-the-id",
        Name="other",
        FolderConfigurations=FOLDERS,
    )
    assert client.get_default_retention_policy(OrganizationId=org_id)["Name"] == "renamed"

    # Without an Id, a new policy replaces the organization's one policy.
    client.put_retention_policy(OrganizationId=org_id, Name="replacement", FolderConfigurations=FOLDERS[1:2])
    replacement = client.get_default_retention_policy(OrganizationId=org_id)
    assert replacement["Id"] != policy_id and replacement["Name"] == "replacement"

    # Deleting another Id is a no-op; deleting the policy's Id removes it; deleting again succeeds.
    client.delete_retention_policy(OrganizationId=org_id, Id=policy_id)
    assert client.get_default_retention_policy(OrganizationId=org_id)["Id"] == replacement["Id"]
    client.delete_retention_policy(OrganizationId=org_id, Id=replacement["Id"])
    _raises("EntityNotFoundException", client.get_default_retention_policy, OrganizationId=org_id)
    client.delete_retention_policy(OrganizationId=org_id, Id=replacement["Id"])


def test_retention_policy_validation(client: Any, org_id: str) -> None:
    refused: list[tuple[str, str, list[dict[str, Any]]]] = [
        ("ValidationException", "n" * 65, FOLDERS),
        ("ValidationException", "bad name!", FOLDERS),
        ("ValidationException", "p", [{"Name": "OUTBOX", "Action": "DELETE", "Period": 1}]),
        ("ValidationException", "p", [{"Name": "INBOX", "Action": "ARCHIVE", "Period": 1}]),
        ("ValidationException", "p", [{"Name": "INBOX", "Action": "DELETE", "Period": 731}]),
        ("InvalidParameterException", "p", [FOLDERS[0], FOLDERS[0]]),
        ("InvalidParameterException", "p", [{"Name": "INBOX", "Action": "DELETE"}]),
    ]
    for code, name, folders in refused:
        _raises(code, client.put_retention_policy, OrganizationId=org_id, Name=name, FolderConfigurations=folders)
    _raises("EntityNotFoundException", client.get_default_retention_policy, OrganizationId=org_id)
    _raises(
        "OrganizationNotFoundException",
        client.put_retention_policy,
        OrganizationId=MISSING_ORG,
        Name="p",
        FolderConfigurations=FOLDERS,
    )
    _raises("OrganizationNotFoundException", client.get_default_retention_policy, OrganizationId=MISSING_ORG)
    _raises("OrganizationNotFoundException", client.delete_retention_policy, OrganizationId=MISSING_ORG, Id="x")


# Inbound DMARC ------------------------------------------------------------------


def test_inbound_dmarc_settings(client: Any, org_id: str) -> None:
    # New organizations enforce DMARC (Administrator Guide, "Enforcing DMARC policies on incoming email").
    assert client.describe_inbound_dmarc_settings(OrganizationId=org_id)["Enforced"] is True
    client.put_inbound_dmarc_settings(OrganizationId=org_id, Enforced=False)
    assert client.describe_inbound_dmarc_settings(OrganizationId=org_id)["Enforced"] is False
    client.put_inbound_dmarc_settings(OrganizationId=org_id, Enforced=True)
    assert client.describe_inbound_dmarc_settings(OrganizationId=org_id)["Enforced"] is True
    _raises(
        "OrganizationNotFoundException",
        client.put_inbound_dmarc_settings,
        OrganizationId=MISSING_ORG,
        Enforced=True,
    )
    _raises("OrganizationNotFoundException", client.describe_inbound_dmarc_settings, OrganizationId=MISSING_ORG)


# Email monitoring ---------------------------------------------------------------


def _log_group(name: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:aws:logs:{region}:{account}:log-group:{name}:*"


def test_email_monitoring_configuration(client: Any, org_id: str) -> None:
    _raises("ResourceNotFoundException", client.describe_email_monitoring_configuration, OrganizationId=org_id)
    log_group = _log_group("/aws/workmail/emailevents/test")
    client.put_email_monitoring_configuration(OrganizationId=org_id, LogGroupArn=log_group)
    config = client.describe_email_monitoring_configuration(OrganizationId=org_id)
    # Without a role, the service-linked role is used.
    assert config["LogGroupArn"] == log_group
    assert config["RoleArn"].endswith(
        ":role/aws-service-role/events.workmail.amazonaws.com/AWSServiceRoleForAmazonWorkMailEvents"
    )
    role = f"arn:aws:iam::{ACCOUNT}:role/workmail-monitoring-role"
    other_group = _log_group("workmail-monitoring")
    client.put_email_monitoring_configuration(OrganizationId=org_id, LogGroupArn=other_group, RoleArn=role)
    config = client.describe_email_monitoring_configuration(OrganizationId=org_id)
    assert (config["RoleArn"], config["LogGroupArn"]) == (role, other_group)

    client.delete_email_monitoring_configuration(OrganizationId=org_id)
    _raises("ResourceNotFoundException", client.describe_email_monitoring_configuration, OrganizationId=org_id)
    client.delete_email_monitoring_configuration(OrganizationId=org_id)


def test_email_monitoring_validation(client: Any, org_id: str) -> None:
    put = client.put_email_monitoring_configuration
    # The log group must be in the organization's Region
    # (Administrator Guide, "Enabling email event logging") and account.
    _raises("InvalidParameterException", put, OrganizationId=org_id, LogGroupArn=_log_group("g", "eu-west-1"))
    _raises(
        "InvalidParameterException",
        put,
        OrganizationId=org_id,
        LogGroupArn=_log_group("g", account="210987654321"),
    )
    _raises(
        "InvalidParameterException",
        put,
        OrganizationId=org_id,
        LogGroupArn=_log_group("workmail-g"),
        RoleArn=f"arn:aws:iam::{ACCOUNT}:user/workmail-user",
    )
    _raises(
        "InvalidParameterException",
        put,
        OrganizationId=org_id,
        LogGroupArn=_log_group("workmail-g"),
        RoleArn="arn:aws:iam::210987654321:role/workmail-role",
    )
    # The ARN must end in ":*" (model pattern).
    _raises(
        "ValidationException",
        put,
        OrganizationId=org_id,
        LogGroupArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:workmail-monitoring",
    )
    _raises(
        "ValidationException",
        put,
        OrganizationId=org_id,
        LogGroupArn=_log_group("g"),
        RoleArn="arn:aws:iam::" + "1" * 2048,
    )
    _raises("ResourceNotFoundException", client.describe_email_monitoring_configuration, OrganizationId=org_id)
    _raises("OrganizationNotFoundException", put, OrganizationId=MISSING_ORG, LogGroupArn=_log_group("g"))


# Loopback EWS and CAP endpoints -----------------------------------------------------

EWS_OK = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
    b'<m:GetFolderResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">'
    b'<m:ResponseMessages><m:GetFolderResponseMessage ResponseClass="Success">'
    b"<m:ResponseCode>NoError</m:ResponseCode></m:GetFolderResponseMessage></m:ResponseMessages>"
    b"</m:GetFolderResponse></s:Body></s:Envelope>"
)
EWS_ERROR = EWS_OK.replace(b'ResponseClass="Success"', b'ResponseClass="Error"').replace(
    b"NoError", b"ErrorAccessDenied"
)


def _cap_answer(request: dict[str, Any], busy_type: str = "BUSY") -> dict[str, Any]:
    mailboxes: list[dict[str, Any]] = []
    for address in request["mailboxes"]:
        mailboxes.append(
            {
                "mailbox": address,
                "events": [
                    {
                        "startTime": request["window"]["startDate"],
                        "endTime": request["window"]["endDate"],
                        "busyType": busy_type,
                        "details": {
                            "subject": "Planning",
                            "location": "Room 1",
                            "instanceType": "SINGLE_INSTANCE",
                            "isMeeting": True,
                            "isReminderSet": False,
                            "isPrivate": False,
                        },
                    }
                ],
                "workingHours": {
                    "timezone": {
                        "name": "W. Europe Standard Time",
                        "bias": 60,
                        "standardTime": {
                            "offset": 60,
                            "time": "02:00:00",
                            "month": "OCT",
                            "week": "LAST",
                            "dayOfWeek": "SUN",
                        },
                        "daylightTime": {
                            "offset": 0,
                            "time": "03:00:00",
                            "month": "MAR",
                            "week": "LAST",
                            "dayOfWeek": "SUN",
                        },
                    },
                    "workingPeriods": [
                        {"startMinutes": 480, "endMinutes": 1020, "days": ["MON", "TUE", "WED", "THU", "FRI"]}
                    ],
                },
            }
        )
    return {"mailboxes": mailboxes}


class _Endpoints(BaseHTTPRequestHandler):
    """An EWS server with one account, and CAP functions that answer well or badly."""

    server: _EndpointServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/EWS/Exchange.asmx":
            expected = "Basic " + base64.b64encode(f"{EWS_USER}:{EWS_PASSWORD}".encode("latin-1")).decode()
            if self.headers.get("Authorization") != expected:
                self._send(401, b"", "text/plain")
            elif b"GetFolder" not in body:
                self._send(500, b"", "text/plain")
            else:
                self._send(200, EWS_OK, "text/xml")
        elif self.path == "/EWS/error.asmx":
            self._send(200, EWS_ERROR, "text/xml")
        elif self.path == "/plain":
            self._send(200, b"<html>hello</html>", "text/html")
        elif self.path.startswith("/cap"):
            request = json.loads(body)
            self.server.cap_requests.append(request)
            if self.path == "/cap":
                self._send(200, json.dumps(_cap_answer(request)).encode(), "application/json")
            elif self.path == "/cap-mixed-case":
                self._send(200, json.dumps(_cap_answer(request, "Busy")).encode(), "application/json")
            elif self.path == "/cap-unknown":
                answer = {"mailboxes": [{"mailbox": m, "error": "MailboxNotFound"} for m in request["mailboxes"]]}
                self._send(200, json.dumps(answer).encode(), "application/json")
            elif self.path == "/cap-half-timezone":
                answer = _cap_answer(request)
                del answer["mailboxes"][0]["workingHours"]["timezone"]["daylightTime"]
                self._send(200, json.dumps(answer).encode(), "application/json")
            else:
                self._send(500, b'{"errorMessage": "boom"}', "application/json")
        else:
            self._send(404, b"", "text/plain")

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _EndpointServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Endpoints)
        self.cap_requests: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture(scope="module")
def endpoints() -> Iterator[_EndpointServer]:
    server = _EndpointServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ews(url: str, username: str = EWS_USER, password: str = EWS_PASSWORD) -> dict[str, str]:
    return {"EwsEndpoint": url, "EwsUsername": username, "EwsPassword": password}


def _lambda_arn(name: str | None = None) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name or unique('cap-')}"


def _org_arn(client: Any, org_id: str) -> str:
    return str(client.describe_organization(OrganizationId=org_id)["ARN"])


# Availability configurations -------------------------------------------------------


def test_availability_configuration_lifecycle(client: Any, org_id: str) -> None:
    external = f"{unique('ext')}.example.org"
    cap = f"{unique('cap')}.example.org"
    function = _lambda_arn()
    client.create_availability_configuration(
        OrganizationId=org_id,
        DomainName=external.upper(),
        EwsProvider=_ews("https://ews.example.org/EWS/Exchange.asmx"),
    )
    client.create_availability_configuration(
        OrganizationId=org_id, DomainName=cap, LambdaProvider={"LambdaArn": function}
    )
    listed = client.list_availability_configurations(OrganizationId=org_id)["AvailabilityConfigurations"]
    by_domain = {c["DomainName"]: c for c in listed}
    assert set(by_domain) == {external, cap}
    ews = by_domain[external]
    assert ews["ProviderType"] == "EWS" and "LambdaProvider" not in ews
    # The password is never returned.
    assert ews["EwsProvider"] == {
        "EwsEndpoint": "https://ews.example.org/EWS/Exchange.asmx",
        "EwsUsername": EWS_USER,
    }
    assert by_domain[cap]["ProviderType"] == "LAMBDA" and by_domain[cap]["LambdaProvider"] == {"LambdaArn": function}
    assert ews["DateCreated"] == ews["DateModified"]

    # One configuration per domain, case-insensitively.
    _raises(
        "NameAvailabilityException",
        client.create_availability_configuration,
        OrganizationId=org_id,
        DomainName=external,
        LambdaProvider={"LambdaArn": function},
    )

    # Update replaces the provider, of either kind.
    client.update_availability_configuration(
        OrganizationId=org_id, DomainName=external, LambdaProvider={"LambdaArn": function}
    )
    updated = {
        c["DomainName"]: c
        for c in client.list_availability_configurations(OrganizationId=org_id)["AvailabilityConfigurations"]
    }
    assert updated[external]["ProviderType"] == "LAMBDA" and "EwsProvider" not in updated[external]
    assert updated[external]["DateModified"] >= updated[external]["DateCreated"]
    _raises(
        "ResourceNotFoundException",
        client.update_availability_configuration,
        OrganizationId=org_id,
        DomainName="nothing.example.org",
        LambdaProvider={"LambdaArn": function},
    )

    # Pagination.
    first = client.list_availability_configurations(OrganizationId=org_id, MaxResults=1)
    assert len(first["AvailabilityConfigurations"]) == 1 and first["NextToken"]
    second = client.list_availability_configurations(OrganizationId=org_id, MaxResults=1, NextToken=first["NextToken"])
    assert len(second["AvailabilityConfigurations"]) == 1 and "NextToken" not in second
    assert {
        first["AvailabilityConfigurations"][0]["DomainName"],
        second["AvailabilityConfigurations"][0]["DomainName"],
    } == {external, cap}

    client.delete_availability_configuration(OrganizationId=org_id, DomainName=external)
    client.delete_availability_configuration(OrganizationId=org_id, DomainName=external)
    listed = client.list_availability_configurations(OrganizationId=org_id)["AvailabilityConfigurations"]
    assert [c["DomainName"] for c in listed] == [cap]


def test_availability_configuration_validation(client: Any, org_id: str, domain: str) -> None:
    create = client.create_availability_configuration
    function = _lambda_arn()
    url = "https://ews.example.org/EWS/Exchange.asmx"
    _raises("InvalidParameterException", create, OrganizationId=org_id, DomainName="a.example.org")
    _raises(
        "InvalidParameterException",
        create,
        OrganizationId=org_id,
        DomainName="a.example.org",
        EwsProvider=_ews(url),
        LambdaProvider={"LambdaArn": function},
    )
    # The organization's own domains are served by WorkMail itself.
    _raises(
        "InvalidParameterException",
        create,
        OrganizationId=org_id,
        DomainName=domain,
        LambdaProvider={"LambdaArn": function},
    )
    _raises(
        "ValidationException",
        create,
        OrganizationId=org_id,
        DomainName="a.example.org",
        EwsProvider=_ews("ftp://ews.example.org/x"),
    )
    _raises(
        "ValidationException",
        create,
        OrganizationId=org_id,
        DomainName="a.example.org",
        LambdaProvider={"LambdaArn": "arn:aws:lambda:us-east-1:123:function:not-an-account-id"},
    )
    _raises(
        "ValidationException",
        create,
        OrganizationId=org_id,
        DomainName="bad_domain!",
        LambdaProvider={"LambdaArn": function},
    )
    _raises(
        "ValidationException",
        create,
        OrganizationId=org_id,
        DomainName="a.example.org",
        EwsProvider=_ews(url, password="p" * 257),
    )
    assert client.list_availability_configurations(OrganizationId=org_id)["AvailabilityConfigurations"] == []
    _raises(
        "OrganizationNotFoundException",
        create,
        OrganizationId=MISSING_ORG,
        DomainName="a.example.org",
        LambdaProvider={"LambdaArn": function},
    )
    _raises("OrganizationNotFoundException", client.list_availability_configurations, OrganizationId=MISSING_ORG)
    _raises(
        "OrganizationNotFoundException",
        client.delete_availability_configuration,
        OrganizationId=MISSING_ORG,
        DomainName="a.example.org",
    )


def test_availability_configuration_client_token(client: Any, org_id: str) -> None:
    token = unique("token-")
    provider = {"LambdaArn": _lambda_arn()}
    client.create_availability_configuration(
        OrganizationId=org_id, DomainName="retry.example.org", LambdaProvider=provider, ClientToken=token
    )
    # A retry of the same request succeeds without creating anything.
    client.create_availability_configuration(
        OrganizationId=org_id, DomainName="retry.example.org", LambdaProvider=provider, ClientToken=token
    )
    assert len(client.list_availability_configurations(OrganizationId=org_id)["AvailabilityConfigurations"]) == 1
    _raises(
        "InvalidParameterException",
        client.create_availability_configuration,
        OrganizationId=org_id,
        DomainName="other.example.org",
        LambdaProvider=provider,
        ClientToken=token,
    )


def test_ews_availability_test_against_a_loopback_server(client: Any, org_id: str, endpoints: _EndpointServer) -> None:
    test = client.test_availability_configuration
    good = f"{endpoints.url}/EWS/Exchange.asmx"
    assert test(OrganizationId=org_id, EwsProvider=_ews(good))["TestPassed"] is True

    failed = test(OrganizationId=org_id, EwsProvider=_ews(good, password="wrong"))
    assert failed["TestPassed"] is False and "rejected the credentials" in failed["FailureReason"]
    failed = test(OrganizationId=org_id, EwsProvider=_ews(f"{endpoints.url}/EWS/error.asmx"))
    assert failed["TestPassed"] is False and "ErrorAccessDenied" in failed["FailureReason"]
    failed = test(OrganizationId=org_id, EwsProvider=_ews(f"{endpoints.url}/plain"))
    assert failed["TestPassed"] is False and "SOAP" in failed["FailureReason"]
    failed = test(OrganizationId=org_id, EwsProvider=_ews(f"{endpoints.url}/missing"))
    assert failed["TestPassed"] is False and "404" in failed["FailureReason"]
    failed = test(OrganizationId=org_id, EwsProvider=_ews(f"http://127.0.0.1:{_closed_port()}/EWS/Exchange.asmx"))
    assert failed["TestPassed"] is False and "Could not reach" in failed["FailureReason"]
    # Nothing off this machine is contacted.
    failed = test(OrganizationId=org_id, EwsProvider=_ews("https://ews.example.org/EWS/Exchange.asmx"))
    assert failed["TestPassed"] is False and "loopback" in failed["FailureReason"]
    failed = test(OrganizationId=org_id, EwsProvider=_ews("http://10.0.0.1/EWS/Exchange.asmx"))
    assert failed["TestPassed"] is False and "loopback" in failed["FailureReason"]

    # A stored configuration is tested with its stored credentials.
    client.create_availability_configuration(
        OrganizationId=org_id, DomainName="exchange.example.org", EwsProvider=_ews(good)
    )
    assert test(OrganizationId=org_id, DomainName="exchange.example.org")["TestPassed"] is True
    client.update_availability_configuration(
        OrganizationId=org_id, DomainName="exchange.example.org", EwsProvider=_ews(good, password="changed")
    )
    failed = test(OrganizationId=org_id, DomainName="EXCHANGE.example.org")
    assert failed["TestPassed"] is False and "rejected the credentials" in failed["FailureReason"]


def test_availability_test_request_rules(client: Any, org_id: str) -> None:
    test = client.test_availability_configuration
    _raises("InvalidParameterException", test, OrganizationId=org_id)
    _raises(
        "InvalidParameterException",
        test,
        OrganizationId=org_id,
        DomainName="x.example.org",
        LambdaProvider={"LambdaArn": _lambda_arn()},
    )
    _raises(
        "InvalidParameterException",
        test,
        OrganizationId=org_id,
        LambdaProvider={"LambdaArn": _lambda_arn()},
        EwsProvider=_ews("http://127.0.0.1/x"),
    )
    _raises("ResourceNotFoundException", test, OrganizationId=org_id, DomainName="x.example.org")
    _raises("OrganizationNotFoundException", test, OrganizationId=MISSING_ORG, DomainName="x.example.org")


def test_lambda_availability_test_against_a_loopback_function(
    client: Any, control: EmulatorControl, org_id: str, endpoints: _EndpointServer
) -> None:
    test = client.test_availability_configuration
    org_arn = _org_arn(client, org_id)
    function = _lambda_arn()
    # Not registered: the function does not exist.
    failed = test(OrganizationId=org_id, LambdaProvider={"LambdaArn": function})
    assert failed["TestPassed"] is False and "not found" in failed["FailureReason"]

    control.command(
        "register-lambda",
        FunctionArn=function,
        Url=f"{endpoints.url}/cap",
        SourceAccount=ACCOUNT,
        SourceArn=org_arn,
    )
    endpoints.cap_requests.clear()
    assert test(OrganizationId=org_id, LambdaProvider={"LambdaArn": function})["TestPassed"] is True
    # The function received the Guide's CAP request
    # (Administrator Guide, "Building a Custom Availability Provider Lambda function").
    request = endpoints.cap_requests[-1]
    assert set(request) == {"requester", "mailboxes", "window"}
    assert request["requester"]["organization"] == org_id
    assert {"email", "userName", "organization", "userId"} <= set(request["requester"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", request["window"]["startDate"])
    assert request["window"]["startDate"] < request["window"]["endDate"]

    # Stored configuration, and a qualified ARN of the registered function.
    client.create_availability_configuration(
        OrganizationId=org_id,
        DomainName="gsuite.example.org",
        LambdaProvider={"LambdaArn": f"{function}:live"},
    )
    assert test(OrganizationId=org_id, DomainName="gsuite.example.org")["TestPassed"] is True
    assert endpoints.cap_requests[-1]["mailboxes"] == ["availability-test@gsuite.example.org"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/cap-mixed-case", "busyType"),
        ("/cap-half-timezone", "daylightTime"),
        ("/cap-fails", "HTTP 500"),
    ],
)
def test_lambda_availability_test_rejects_bad_functions(
    client: Any, control: EmulatorControl, org_id: str, endpoints: _EndpointServer, path: str, reason: str
) -> None:
    function = _lambda_arn()
    control.command("register-lambda", FunctionArn=function, Url=f"{endpoints.url}{path}", SourceAccount=ACCOUNT)
    failed = client.test_availability_configuration(OrganizationId=org_id, LambdaProvider={"LambdaArn": function})
    assert failed["TestPassed"] is False and reason in failed["FailureReason"]


def test_lambda_availability_test_checks_the_resource_policy(
    client: Any, control: EmulatorControl, org_id: str, endpoints: _EndpointServer
) -> None:
    test = client.test_availability_configuration
    url = f"{endpoints.url}/cap-unknown"
    cases = [
        ({}, "anonymous"),
        ({"SourceAccount": "210987654321"}, "account"),
        ({"SourceArn": f"arn:aws:workmail:{REGION}:{ACCOUNT}:organization/m-{'1' * 32}"}, "does not allow"),
        ({"SourceAccount": ACCOUNT, "Principal": "lambda.amazonaws.com"}, "availability.workmail"),
    ]
    for conditions, reason in cases:
        function = _lambda_arn()
        control.command("register-lambda", FunctionArn=function, Url=url, **conditions)
        failed = test(OrganizationId=org_id, LambdaProvider={"LambdaArn": function})
        assert failed["TestPassed"] is False and reason in failed["FailureReason"], conditions
    # A wildcard SourceArn covering the organization is enough; error entries are valid answers.
    function = _lambda_arn()
    control.command(
        "register-lambda",
        FunctionArn=function,
        Url=url,
        SourceArn=f"arn:aws:workmail:{REGION}:{ACCOUNT}:organization/*",
    )
    assert test(OrganizationId=org_id, LambdaProvider={"LambdaArn": function})["TestPassed"] is True
    control.command("deregister-lambda", FunctionArn=function)
    failed = test(OrganizationId=org_id, LambdaProvider={"LambdaArn": function})
    assert failed["TestPassed"] is False and "not found" in failed["FailureReason"]


def test_register_lambda_accepts_only_loopback_urls(control: EmulatorControl) -> None:
    function = _lambda_arn()
    message = _command_fails(
        "InvalidParameterException",
        control,
        "register-lambda",
        FunctionArn=function,
        Url="https://cap.example.org/invoke",
    )
    assert "loopback" in message
    _command_fails(
        "ValidationException",
        control,
        "register-lambda",
        FunctionArn="arn:aws:lambda:nope",
        Url="http://127.0.0.1:9/x",
    )
    control.command("register-lambda", FunctionArn=function, Url="http://localhost:9/x", SourceAccount=ACCOUNT)


# Tags ---------------------------------------------------------------------------------


def test_tags_on_an_organization(client: Any, org_id: str) -> None:
    arn = _org_arn(client, org_id)
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == []
    client.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "mail"}, {"Key": "cost", "Value": ""}])
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "team", "Value": "mail"},
        {"Key": "cost", "Value": ""},
    ]
    # Tagging an existing key replaces its value; keys are case-sensitive.
    client.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "infra"}, {"Key": "Team", "Value": "x"}])
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "team", "Value": "infra"},
        {"Key": "cost", "Value": ""},
        {"Key": "Team", "Value": "x"},
    ]
    client.untag_resource(ResourceARN=arn, TagKeys=["cost", "Team", "absent"])
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "infra"}]

    # At most 50 tags (Administrator Guide, "Tagging an organization"): 49 more fit, a 51st does not.
    client.tag_resource(ResourceARN=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(49)])
    _raises("TooManyTagsException", client.tag_resource, ResourceARN=arn, Tags=[{"Key": "one-more", "Value": ""}])
    assert len(client.list_tags_for_resource(ResourceARN=arn)["Tags"]) == 50
    client.tag_resource(ResourceARN=arn, Tags=[{"Key": "k0", "Value": "replaced"}])


def test_tag_validation(client: Any, org_id: str) -> None:
    arn = _org_arn(client, org_id)
    _raises(
        "InvalidParameterException",
        client.tag_resource,
        ResourceARN=arn,
        Tags=[{"Key": "aws:cloudformation:stack-name", "Value": "x"}],
    )
    _raises(
        "InvalidParameterException",
        client.tag_resource,
        ResourceARN=arn,
        Tags=[{"Key": "dup", "Value": "1"}, {"Key": "dup", "Value": "2"}],
    )
    _raises("ValidationException", client.tag_resource, ResourceARN=arn, Tags=[{"Key": "k" * 129, "Value": ""}])
    _raises("ValidationException", client.tag_resource, ResourceARN=arn, Tags=[{"Key": "k", "Value": "v" * 257}])
    _raises(
        "ValidationException",
        client.tag_resource,
        ResourceARN=arn,
        Tags=[{"Key": f"k{i}", "Value": ""} for i in range(51)],
    )
    _raises("ValidationException", client.list_tags_for_resource, ResourceARN="arn:aws:s3:::bucket")
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == []
    for missing in (
        arn.replace(org_id, MISSING_ORG),
        arn.replace(f":{REGION}:", ":eu-west-1:"),
        arn.replace(f":{ACCOUNT}:", ":210987654321:"),
        f"arn:aws:workmail:{REGION}:{ACCOUNT}:user/{org_id}",
    ):
        _raises("ResourceNotFoundException", client.list_tags_for_resource, ResourceARN=missing)
        _raises(
            "ResourceNotFoundException",
            client.tag_resource,
            ResourceARN=missing,
            Tags=[{"Key": "k", "Value": "v"}],
        )
        _raises("ResourceNotFoundException", client.untag_resource, ResourceARN=missing, TagKeys=["k"])


def test_tags_of_a_deleted_organization(client: Any) -> None:
    org_id = client.create_organization(Alias=unique("tagorg"))["OrganizationId"]
    arn = _org_arn(client, org_id)
    client.tag_resource(ResourceARN=arn, Tags=[{"Key": "k", "Value": "v"}])
    client.delete_organization(OrganizationId=org_id, DeleteDirectory=True)
    _raises("ResourceNotFoundException", client.list_tags_for_resource, ResourceARN=arn)


# Identity Center --------------------------------------------------------------------


def _application(client: Any, **extra: Any) -> str:
    arn = str(
        client.create_identity_center_application(Name=unique("workmail-"), InstanceArn=INSTANCE_ARN, **extra)[
            "ApplicationArn"
        ]
    )
    assert APPLICATION_ARN_PATTERN.match(arn) and f":{ACCOUNT}:application/ssoins-1234567890abcdef/" in arn
    return arn


def _idp(application_arn: str, status: str = "ACTIVE", lifetime: int | None = 30) -> dict[str, Any]:
    tokens: dict[str, Any] = {"Status": status}
    if lifetime is not None:
        tokens["LifetimeInDays"] = lifetime
    return {
        "AuthenticationMode": "IDENTITY_PROVIDER_AND_DIRECTORY",
        "IdentityCenterConfiguration": {"InstanceArn": INSTANCE_ARN, "ApplicationArn": application_arn},
        "PersonalAccessTokenConfiguration": tokens,
    }


def test_identity_center_application(client: Any) -> None:
    token = unique("token-")
    first = _application(client, ClientToken=token)
    assert first != _application(client)
    # The same token with other parameters is refused.
    _raises(
        "InvalidParameterException",
        client.create_identity_center_application,
        Name="other-name",
        InstanceArn=INSTANCE_ARN,
        ClientToken=token,
    )
    _raises(
        "ValidationException",
        client.create_identity_center_application,
        Name="bad name",
        InstanceArn=INSTANCE_ARN,
    )
    _raises(
        "ValidationException",
        client.create_identity_center_application,
        Name="n",
        InstanceArn="arn:aws:sso:::instance/nope",
    )
    client.delete_identity_center_application(ApplicationArn=first)
    client.delete_identity_center_application(ApplicationArn=first)


def test_identity_center_application_client_token(client: Any) -> None:
    token = unique("token-")
    name = unique("workmail-")
    first = client.create_identity_center_application(Name=name, InstanceArn=INSTANCE_ARN, ClientToken=token)
    again = client.create_identity_center_application(Name=name, InstanceArn=INSTANCE_ARN, ClientToken=token)
    assert first["ApplicationArn"] == again["ApplicationArn"]


def test_identity_provider_configuration(client: Any, org_id: str) -> None:
    describe = client.describe_identity_provider_configuration
    _raises("ResourceNotFoundException", describe, OrganizationId=org_id)
    application = _application(client)
    client.put_identity_provider_configuration(OrganizationId=org_id, **_idp(application))
    config = client.describe_identity_provider_configuration(OrganizationId=org_id)
    config.pop("ResponseMetadata")
    assert config == _idp(application)

    client.put_identity_provider_configuration(
        OrganizationId=org_id,
        **{**_idp(application, "INACTIVE", None), "AuthenticationMode": "IDENTITY_PROVIDER_ONLY"},
    )
    config = describe(OrganizationId=org_id)
    assert config["AuthenticationMode"] == "IDENTITY_PROVIDER_ONLY"
    assert config["PersonalAccessTokenConfiguration"] == {"Status": "INACTIVE"}

    # The application is in use: it can't be deleted until the configuration is.
    _raises("OrganizationStateException", client.delete_identity_center_application, ApplicationArn=application)
    client.delete_identity_provider_configuration(OrganizationId=org_id)
    _raises("ResourceNotFoundException", describe, OrganizationId=org_id)
    client.delete_identity_provider_configuration(OrganizationId=org_id)
    client.delete_identity_center_application(ApplicationArn=application)
    # A deleted application can't be used.
    _raises(
        "ResourceNotFoundException",
        client.put_identity_provider_configuration,
        OrganizationId=org_id,
        **_idp(application),
    )


def test_identity_provider_configuration_validation(client: Any, org_id: str) -> None:
    put = client.put_identity_provider_configuration
    application = _application(client)
    unknown = application[:-16] + "A" * 16
    _raises("ResourceNotFoundException", put, OrganizationId=org_id, **_idp(unknown))
    other_instance = {**_idp(application)}
    other_instance["IdentityCenterConfiguration"] = {
        "InstanceArn": "arn:aws:sso:::instance/ssoins-abcdefabcdefabcd",
        "ApplicationArn": application,
    }
    _raises("InvalidParameterException", put, OrganizationId=org_id, **other_instance)
    _raises(
        "ValidationException",
        put,
        OrganizationId=org_id,
        **{**_idp(application), "AuthenticationMode": "DIRECTORY_ONLY"},
    )
    _raises("ValidationException", put, OrganizationId=org_id, **_idp(application, lifetime=3654))
    _raises("ValidationException", put, OrganizationId=org_id, **_idp(application, status="ENABLED"))
    _raises("ResourceNotFoundException", client.describe_identity_provider_configuration, OrganizationId=org_id)
    _raises("OrganizationNotFoundException", put, OrganizationId=MISSING_ORG, **_idp(application))


# Personal access tokens ----------------------------------------------------------------


def _mailbox_user(client: Any, org_id: str, domain: str, name: str) -> str:
    user_id = str(
        client.create_user(OrganizationId=org_id, Name=name, DisplayName=name.title(), Password="Corr3ct-Horse!")[
            "UserId"
        ]
    )
    client.register_to_work_mail(OrganizationId=org_id, EntityId=user_id, Email=f"{name}@{domain}")
    return user_id


def test_personal_access_tokens(client: Any, control: EmulatorControl, org_id: str, domain: str) -> None:
    alice = _mailbox_user(client, org_id, domain, "alice")
    bob = _mailbox_user(client, org_id, domain, "bob")
    create = "create-personal-access-token"
    # Tokens need the Identity Center integration with tokens active.
    _command_fails(
        "InvalidConfigurationException",
        control,
        create,
        OrganizationId=org_id,
        UserId=alice,
        Name="laptop",
        Scopes=["IMAP"],
    )
    application = _application(client)
    client.put_identity_provider_configuration(OrganizationId=org_id, **_idp(application, "INACTIVE"))
    _command_fails(
        "InvalidConfigurationException",
        control,
        create,
        OrganizationId=org_id,
        UserId=alice,
        Name="laptop",
        Scopes=["IMAP"],
    )
    client.put_identity_provider_configuration(OrganizationId=org_id, **_idp(application, lifetime=30))

    # The organization's lifetime caps a token's.
    _command_fails(
        "InvalidParameterException",
        control,
        create,
        OrganizationId=org_id,
        UserId=alice,
        Name="laptop",
        Scopes=["IMAP"],
        ExpiresInDays=31,
    )
    _command_fails(
        "ValidationException",
        control,
        create,
        OrganizationId=org_id,
        UserId=alice,
        Name="bad<name>",
        Scopes=["IMAP"],
    )
    _command_fails(
        "ValidationException", control, create, OrganizationId=org_id, UserId=alice, Name="laptop", Scopes=[]
    )
    laptop = control.command(create, OrganizationId=org_id, UserId=alice, Name="laptop", Scopes=["IMAP", "SMTP"])
    phone = control.command(
        create, OrganizationId=org_id, UserId=f"alice@{domain}", Name="phone", Scopes=["EWS"], ExpiresInDays=7
    )
    other = control.command(create, OrganizationId=org_id, UserId=bob, Name="desktop", Scopes=["IMAP"])
    assert laptop["Token"] and laptop["Token"] != phone["Token"]

    meta = client.get_personal_access_token_metadata(
        OrganizationId=org_id, PersonalAccessTokenId=laptop["PersonalAccessTokenId"]
    )
    assert meta["UserId"] == alice and meta["Name"] == "laptop" and meta["Scopes"] == ["IMAP", "SMTP"]
    assert "DateLastUsed" not in meta
    lifetime = meta["ExpiresTime"] - meta["DateCreated"]
    assert abs(lifetime.total_seconds() - 30 * 86400) < 1
    phone_meta = client.get_personal_access_token_metadata(
        OrganizationId=org_id, PersonalAccessTokenId=phone["PersonalAccessTokenId"]
    )
    assert abs((phone_meta["ExpiresTime"] - phone_meta["DateCreated"]).total_seconds() - 7 * 86400) < 1

    every = client.list_personal_access_tokens(OrganizationId=org_id)["PersonalAccessTokenSummaries"]
    assert [t["Name"] for t in every] == ["laptop", "phone", "desktop"]
    mine = client.list_personal_access_tokens(OrganizationId=org_id, UserId=alice)["PersonalAccessTokenSummaries"]
    assert [t["PersonalAccessTokenId"] for t in mine] == [
        laptop["PersonalAccessTokenId"],
        phone["PersonalAccessTokenId"],
    ]
    page = client.list_personal_access_tokens(OrganizationId=org_id, MaxResults=2)
    rest = client.list_personal_access_tokens(OrganizationId=org_id, MaxResults=2, NextToken=page["NextToken"])
    assert [t["Name"] for t in page["PersonalAccessTokenSummaries"] + rest["PersonalAccessTokenSummaries"]] == [
        "laptop",
        "phone",
        "desktop",
    ]
    assert "NextToken" not in rest
    # A page token is bound to its filters.
    _raises(
        "InvalidParameterException",
        client.list_personal_access_tokens,
        OrganizationId=org_id,
        UserId=alice,
        MaxResults=2,
        NextToken=page["NextToken"],
    )

    # Using a token records when it was used.
    used = control.command("authenticate-personal-access-token", OrganizationId=org_id, Token=laptop["Token"])
    assert used["Authenticated"] is True and used["UserId"] == alice
    meta = client.get_personal_access_token_metadata(
        OrganizationId=org_id, PersonalAccessTokenId=laptop["PersonalAccessTokenId"]
    )
    assert "DateLastUsed" in meta
    wrong = control.command("authenticate-personal-access-token", OrganizationId=org_id, Token="not-a-token")
    assert wrong["Authenticated"] is False

    client.delete_personal_access_token(OrganizationId=org_id, PersonalAccessTokenId=other["PersonalAccessTokenId"])
    client.delete_personal_access_token(OrganizationId=org_id, PersonalAccessTokenId=other["PersonalAccessTokenId"])
    _raises(
        "ResourceNotFoundException",
        client.get_personal_access_token_metadata,
        OrganizationId=org_id,
        PersonalAccessTokenId=other["PersonalAccessTokenId"],
    )
    assert client.list_personal_access_tokens(OrganizationId=org_id, UserId=bob)["PersonalAccessTokenSummaries"] == []

    # Deactivating tokens stops their use but keeps them listed for administrators.
    client.put_identity_provider_configuration(OrganizationId=org_id, **_idp(application, "INACTIVE"))
    used = control.command("authenticate-personal-access-token", OrganizationId=org_id, Token=laptop["Token"])
    assert used["Authenticated"] is False and "not active" in used["Reason"]
    assert len(client.list_personal_access_tokens(OrganizationId=org_id)["PersonalAccessTokenSummaries"]) == 2


def test_personal_access_token_errors(client: Any, control: EmulatorControl, org_id: str, domain: str) -> None:
    disabled = str(
        client.create_user(OrganizationId=org_id, Name="carol", DisplayName="Carol", Password="Corr3ct-Horse!")[
            "UserId"
        ]
    )
    _raises("EntityNotFoundException", client.list_personal_access_tokens, OrganizationId=org_id, UserId="nobody")
    _raises("EntityStateException", client.list_personal_access_tokens, OrganizationId=org_id, UserId=disabled)
    _raises("ValidationException", client.list_personal_access_tokens, OrganizationId=org_id, UserId="bad user!")
    _raises(
        "ResourceNotFoundException",
        client.get_personal_access_token_metadata,
        OrganizationId=org_id,
        PersonalAccessTokenId="missing",
    )
    _raises(
        "ValidationException",
        client.get_personal_access_token_metadata,
        OrganizationId=org_id,
        PersonalAccessTokenId="x" * 65,
    )
    _raises("OrganizationNotFoundException", client.list_personal_access_tokens, OrganizationId=MISSING_ORG)
    _raises(
        "OrganizationNotFoundException",
        client.delete_personal_access_token,
        OrganizationId=MISSING_ORG,
        PersonalAccessTokenId="x",
    )
    client.put_identity_provider_configuration(OrganizationId=org_id, **_idp(_application(client)))
    _command_fails(
        "EntityStateException",
        control,
        "create-personal-access-token",
        OrganizationId=org_id,
        UserId=disabled,
        Name="laptop",
        Scopes=["IMAP"],
    )
    _command_fails(
        "EntityNotFoundException",
        control,
        "create-personal-access-token",
        OrganizationId=org_id,
        UserId="nobody",
        Name="laptop",
        Scopes=["IMAP"],
    )
    _command_fails(
        "OrganizationNotFoundException",
        control,
        "create-personal-access-token",
        OrganizationId=MISSING_ORG,
        UserId="x",
        Name="laptop",
        Scopes=["IMAP"],
    )


# Organization state and persistence ---------------------------------------------------


@pytest.fixture
def slow_client() -> Iterator[Any]:
    """A client of a private emulator whose organizations stay Requested for an hour."""
    with running_emulator(settings=Settings(timing=Timing(org_requested=3600))) as url:
        yield make_client(url)


def test_settings_need_an_active_organization(slow_client: Any) -> None:
    client = slow_client
    org_id = client.create_organization(Alias=unique("slow"))["OrganizationId"]
    arn = f"arn:aws:workmail:{REGION}:{ACCOUNT}:organization/{org_id}"
    _raises("OrganizationStateException", client.tag_resource, ResourceARN=arn, Tags=[{"Key": "k", "Value": ""}])
    # Reading and removing tags don't need an Active organization (no such error in the model).
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == []
    client.untag_resource(ResourceARN=arn, TagKeys=["k"])
    _raises(
        "OrganizationStateException",
        client.put_retention_policy,
        OrganizationId=org_id,
        Name="p",
        FolderConfigurations=FOLDERS,
    )
    _raises("OrganizationStateException", client.put_inbound_dmarc_settings, OrganizationId=org_id, Enforced=True)
    _raises("OrganizationStateException", client.list_availability_configurations, OrganizationId=org_id)


def test_settings_survive_a_restart_without_keeping_secrets(tmp_path: Path, endpoints: _EndpointServer) -> None:
    state = tmp_path / "state.db"
    good = f"{endpoints.url}/EWS/Exchange.asmx"
    with running_emulator(state) as url:
        wm = make_client(url)
        org_id = wm.create_organization(Alias=unique("persist"))["OrganizationId"]
        wm.put_retention_policy(OrganizationId=org_id, Name="kept", FolderConfigurations=FOLDERS)
        wm.put_inbound_dmarc_settings(OrganizationId=org_id, Enforced=False)
        wm.put_email_monitoring_configuration(OrganizationId=org_id, LogGroupArn=_log_group("workmail-events"))
        wm.create_availability_configuration(
            OrganizationId=org_id, DomainName="exchange.example.org", EwsProvider=_ews(good)
        )
        assert (
            wm.test_availability_configuration(OrganizationId=org_id, DomainName="exchange.example.org")["TestPassed"]
            is True
        )
        arn = wm.describe_organization(OrganizationId=org_id)["ARN"]
        wm.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "mail"}])
    assert EWS_PASSWORD.encode() not in state.read_bytes()
    with running_emulator(state) as url:
        wm = make_client(url)
        assert wm.get_default_retention_policy(OrganizationId=org_id)["Name"] == "kept"
        assert wm.describe_inbound_dmarc_settings(OrganizationId=org_id)["Enforced"] is False
        assert wm.describe_email_monitoring_configuration(OrganizationId=org_id)["LogGroupArn"] == _log_group(
            "workmail-events"
        )
        assert wm.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "mail"}]
        listed = wm.list_availability_configurations(OrganizationId=org_id)["AvailabilityConfigurations"]
        assert listed[0]["EwsProvider"] == {"EwsEndpoint": good, "EwsUsername": EWS_USER}
        # Only a digest of the password was kept, so the stored configuration can't log in
        # until the password is given again.
        failed = wm.test_availability_configuration(OrganizationId=org_id, DomainName="exchange.example.org")
        assert failed["TestPassed"] is False and "password" in failed["FailureReason"]
        wm.update_availability_configuration(
            OrganizationId=org_id, DomainName="exchange.example.org", EwsProvider=_ews(good)
        )
        assert (
            wm.test_availability_configuration(OrganizationId=org_id, DomainName="exchange.example.org")["TestPassed"]
            is True
        )
