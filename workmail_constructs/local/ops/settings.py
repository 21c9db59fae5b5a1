"""Organization settings: the retention policy, inbound DMARC, email monitoring, availability
configurations (EWS and CAP Lambda), tags, the IAM Identity Center integration and personal
access tokens.

Per-organization records live in the ``settings`` table under one key each
(``retention_policy``, ``dmarc``, ``email_monitoring``, ``tags``, ``identity_provider``),
with the API's member names; availability configurations and personal access tokens have
tables of their own. Identity Center applications and the emulator's stand-in Lambda
functions are account-wide, in global tables.
"""

from __future__ import annotations

import base64
import fnmatch
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import string
import weakref
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ...core import service_model
from .. import errors
from ..engine import Context
from ..registry import control, operation
from ..store import Record, Table
from .common import (
    find_entity,
    idempotent,
    new_uuid,
    output,
    page_result,
    paginate,
    remember,
    replay,
    secret_digest,
    timestamp,
)

if TYPE_CHECKING:
    from ..engine import Emulator

SETTINGS = "settings"
DAY = 86400.0


def _settings(ctx: Context, org_id: str) -> Table:
    return ctx.table(org_id, SETTINGS)


def _model_violations(shape_name: str, value: Any, path: str) -> str | None:
    """The service's validation message for a value checked outside a request (control commands)."""
    violations = service_model.check(service_model.service_model().shape_for(shape_name), value, path)
    return service_model.validation_messages(violations) if violations else None


# Retention policy -------------------------------------------------------------

RETENTION_POLICY = "retention_policy"
# The Guide asks to allow 48 hours for a retention policy to take effect
# (Administrator Guide, "Setting mailbox retention policies").
RETENTION_TAKES_EFFECT_AFTER = 48 * 3600.0


@operation("PutRetentionPolicy")
def put_retention_policy(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    table = _settings(ctx, org_id)
    current = table.get(RETENTION_POLICY)
    policy_id = req.get("Id")
    if policy_id is not None and (current is None or current["Id"] != policy_id):
        raise errors.InvalidParameterException(
            f"The retention policy {policy_id} does not exist in organization {org_id}; "
            "put the policy without an Id to create it."
        )
    folders = req["FolderConfigurations"]
    seen: set[str] = set()
    for folder in folders:
        if folder["Name"] in seen:
            raise errors.InvalidParameterException(
                f"The folder {folder['Name']} has more than one folder configuration."
            )
        seen.add(folder["Name"])
        # The console asks for the number of days to keep mail in every folder that has an
        # action (Administrator Guide, "Setting mailbox retention policies"); an action without
        # a period has nothing to count from.
        if folder["Action"] != "NONE" and folder.get("Period") is None:
            raise errors.InvalidParameterException(
                f"The folder configuration of {folder['Name']} needs a Period for the action "
                f"{folder['Action']}."
            )
    now = timestamp(ctx)
    # One policy applies to every mailbox of the organization and users can't override it
    # (Administrator Guide, "Setting mailbox retention policies"), so a put without an Id
    # replaces the organization's policy.
    replaced = current is not None and policy_id is None
    record: Record = {
        "Id": policy_id or new_uuid(),
        "Name": req["Name"],
        "FolderConfigurations": [
            output(folder, ("Name", "Action", "Period")) for folder in folders
        ],
        "DateCreated": now if current is None or replaced else current["DateCreated"],
        "DateModified": now,
        "TakesEffectAt": now + RETENTION_TAKES_EFFECT_AFTER,
    }
    if req.get("Description") is not None:
        record["Description"] = req["Description"]
    table.put(RETENTION_POLICY, record)
    return {}


@operation("GetDefaultRetentionPolicy")
def get_default_retention_policy(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    policy = _settings(ctx, org_id).get(RETENTION_POLICY)
    if policy is None:
        raise errors.EntityNotFoundException(f"The organization {org_id} has no retention policy.")
    return output(policy, ("Id", "Name", "Description", "FolderConfigurations"))


@operation("DeleteRetentionPolicy")
def delete_retention_policy(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    table = _settings(ctx, org_id)
    policy = table.get(RETENTION_POLICY)
    # The model has no not-found error for this operation: deleting an absent policy succeeds.
    if policy is not None and policy["Id"] == req["Id"]:
        table.delete(RETENTION_POLICY)
    return {}


# Inbound DMARC ----------------------------------------------------------------

DMARC = "dmarc"
# New organizations enforce DMARC by default (Administrator Guide, "Enforcing DMARC policies on
# inbound email").
DMARC_ENFORCED_BY_DEFAULT = True


@operation("PutInboundDmarcSettings")
def put_inbound_dmarc_settings(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    _settings(ctx, org_id).put(DMARC, {"Enforced": bool(req["Enforced"]), "DateModified": timestamp(ctx)})
    return {}


@operation("DescribeInboundDmarcSettings")
def describe_inbound_dmarc_settings(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    return {"Enforced": dmarc_enforced(ctx, org_id)}


def dmarc_enforced(ctx: Context, org_id: str) -> bool:
    """Whether inbound mail failing DMARC gets the sender's policy applied (for mail delivery)."""
    settings = _settings(ctx, org_id).get(DMARC)
    return DMARC_ENFORCED_BY_DEFAULT if settings is None else bool(settings["Enforced"])


# Email monitoring (email event logging) ----------------------------------------

EMAIL_MONITORING = "email_monitoring"


def events_service_linked_role(account: str) -> str:
    """The role used when no RoleArn is given (Administrator Guide, "Enabling email event logging";
    API Reference, "PutEmailMonitoringConfiguration")."""
    return (
        f"arn:aws:iam::{account}:role/aws-service-role/events.workmail.amazonaws.com/"
        "AWSServiceRoleForAmazonWorkMailEvents"
    )


@operation("PutEmailMonitoringConfiguration")
def put_email_monitoring_configuration(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    log_group_arn = req["LogGroupArn"]
    _, _, _, region, account, _ = log_group_arn.split(":", 5)
    if region != ctx.region:
        # The log group must be in the organization's Region (Administrator Guide, "Creating a custom
        # log group and IAM role for email event logging").
        raise errors.InvalidParameterException(
            f"The log group {log_group_arn} must be in the organization's Region {ctx.region}."
        )
    if account != ctx.account:
        raise errors.InvalidParameterException(
            f"The log group {log_group_arn} must belong to the organization's account {ctx.account}."
        )
    role_arn = req.get("RoleArn")
    if role_arn is not None:
        _, _, _, _, role_account, resource = role_arn.split(":", 5)
        if not resource.startswith("role/"):
            raise errors.InvalidParameterException(f"{role_arn} is not the ARN of an IAM role.")
        if role_account != ctx.account:
            # WorkMail can only be passed a role of the organization's own account.
            raise errors.InvalidParameterException(
                f"The role {role_arn} must belong to the organization's account {ctx.account}."
            )
    _settings(ctx, org_id).put(EMAIL_MONITORING, {
        "LogGroupArn": log_group_arn,
        "RoleArn": role_arn or events_service_linked_role(ctx.account),
        "UsesServiceLinkedRole": role_arn is None,
        "DateModified": timestamp(ctx),
    })
    return {}


@operation("DescribeEmailMonitoringConfiguration")
def describe_email_monitoring_configuration(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    config = _settings(ctx, org_id).get(EMAIL_MONITORING)
    if config is None:
        raise errors.ResourceNotFoundException(
            f"The organization {org_id} has no email monitoring configuration."
        )
    return output(config, ("RoleArn", "LogGroupArn"))


@operation("DeleteEmailMonitoringConfiguration")
def delete_email_monitoring_configuration(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    _settings(ctx, org_id).delete(EMAIL_MONITORING)
    return {}


# Availability configurations --------------------------------------------------

AVAILABILITY = "availability_configurations"
LAMBDA_FUNCTIONS = "lambda_functions"
# The CAP Lambda provider exists only in these Regions
# (Administrator Guide, "Building a Custom Availability Provider Lambda function").
CAP_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
# A test is a connectivity check made while the emulator holds its lock, so it waits
# briefly; WorkMail itself gives a CAP function 25 seconds for a real query
# (Administrator Guide, "Building a Custom Availability Provider Lambda function").
TEST_TIMEOUT = 5.0
# Lambda's synchronous response payload limit.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
FAILURE_REASON_MAX = 256

# EWS passwords are needed to test a stored configuration, but the store keeps only their
# digests; the passwords themselves stay in this process's memory, per emulator.
_EWS_PASSWORDS: weakref.WeakKeyDictionary[Emulator, dict[tuple[str, str], str]] = weakref.WeakKeyDictionary()


def _passwords(ctx: Context) -> dict[tuple[str, str], str]:
    return _EWS_PASSWORDS.setdefault(ctx.emulator, {})


def _provider(req: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ews: dict[str, Any] | None = req.get("EwsProvider")
    lam: dict[str, Any] | None = req.get("LambdaProvider")
    if ews is not None and lam is None:
        return "EWS", ews
    if lam is not None and ews is None:
        return "LAMBDA", lam
    raise errors.InvalidParameterException(
        "The request must contain exactly one provider definition, either EwsProvider or LambdaProvider."
    )


def _check_provider(ctx: Context, kind: str) -> None:
    if kind == "LAMBDA" and ctx.region not in CAP_REGIONS:
        raise errors.InvalidParameterException(
            f"Custom availability providers are available only in {', '.join(CAP_REGIONS)}."
        )


def _check_external_domain(ctx: Context, org_id: str, domain: str) -> None:
    # Availability settings are for querying other systems (Administrator Guide, "Configuring
    # availability settings in Amazon WorkMail"); the
    # organization's own domains are answered by WorkMail from its own calendars.
    if domain in ctx.table(org_id, "domains"):
        raise errors.InvalidParameterException(
            f"The domain {domain} is a mail domain of organization {org_id}; availability "
            "configurations are for domains served by other systems."
        )


def _set_provider(ctx: Context, org_id: str, record: Record, kind: str, provider: dict[str, Any]) -> None:
    domain = record["DomainName"]
    record["ProviderType"] = kind
    record.pop("EwsProvider", None)
    record.pop("LambdaProvider", None)
    if kind == "EWS":
        record["EwsProvider"] = {
            "EwsEndpoint": provider["EwsEndpoint"],
            "EwsUsername": provider["EwsUsername"],
            "EwsPasswordDigest": secret_digest(provider["EwsPassword"]),
        }
        _passwords(ctx)[(org_id, domain)] = provider["EwsPassword"]
    else:
        record["LambdaProvider"] = {"LambdaArn": provider["LambdaArn"]}
        _passwords(ctx).pop((org_id, domain), None)


@operation("CreateAvailabilityConfiguration")
def create_availability_configuration(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    token = idempotent(ctx, f"CreateAvailabilityConfiguration/{org_id}", req)
    if (earlier := replay(ctx, token)) is not None:
        return earlier
    kind, provider = _provider(req)
    _check_provider(ctx, kind)
    domain = req["DomainName"].lower()
    _check_external_domain(ctx, org_id, domain)
    table = ctx.table(org_id, AVAILABILITY)
    if domain in table:
        raise errors.NameAvailabilityException(
            f"The domain {domain} already has an availability configuration in organization {org_id}."
        )
    now = timestamp(ctx)
    record: Record = {"DomainName": domain, "DateCreated": now, "DateModified": now}
    _set_provider(ctx, org_id, record, kind, provider)
    table.put(domain, record)
    remember(ctx, token, {})
    return {}


def _configuration(ctx: Context, org_id: str, domain_name: str) -> Record:
    record = ctx.table(org_id, AVAILABILITY).get(domain_name.lower())
    if record is None:
        raise errors.ResourceNotFoundException(
            f"The domain {domain_name} has no availability configuration in organization {org_id}."
        )
    return record


@operation("UpdateAvailabilityConfiguration")
def update_availability_configuration(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    record = _configuration(ctx, org_id, req["DomainName"])
    kind, provider = _provider(req)
    _check_provider(ctx, kind)
    # "The previously stored provider will be overridden by the one provided" (API Reference,
    # "UpdateAvailabilityConfiguration").
    _set_provider(ctx, org_id, record, kind, provider)
    record["DateModified"] = timestamp(ctx)
    ctx.table(org_id, AVAILABILITY).put(record["DomainName"], record)
    return {}


@operation("DeleteAvailabilityConfiguration")
def delete_availability_configuration(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    domain = req["DomainName"].lower()
    # The model has no not-found error here: deleting an absent configuration succeeds.
    ctx.table(org_id, AVAILABILITY).delete(domain)
    _passwords(ctx).pop((org_id, domain), None)
    return {}


@operation("ListAvailabilityConfigurations")
def list_availability_configurations(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    page, token = paginate(req, ctx.table(org_id, AVAILABILITY).values(), lambda r: str(r["DomainName"]),
                           scope=f"availability/{org_id}")
    return page_result("AvailabilityConfigurations", [_listed(r) for r in page], token)


def _listed(record: Record) -> dict[str, Any]:
    item = output(record, ("DomainName", "ProviderType", "DateCreated", "DateModified"))
    if record["ProviderType"] == "EWS":
        # The password is never returned: the output shape is RedactedEwsAvailabilityProvider.
        item["EwsProvider"] = output(record["EwsProvider"], ("EwsEndpoint", "EwsUsername"))
    else:
        item["LambdaProvider"] = {"LambdaArn": record["LambdaProvider"]["LambdaArn"]}
    return item


@operation("TestAvailabilityConfiguration")
def test_availability_configuration(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    org = ctx.organization(org_id)
    has_provider = req.get("EwsProvider") is not None or req.get("LambdaProvider") is not None
    domain_name = req.get("DomainName")
    if domain_name is not None and has_provider:
        raise errors.InvalidParameterException(
            "Give either DomainName, to test the stored configuration, or one provider definition, not both."
        )
    if domain_name is None and not has_provider:
        raise errors.InvalidParameterException(
            "The request must contain either one provider definition or the DomainName parameter."
        )
    if domain_name is not None:
        record = _configuration(ctx, org_id, domain_name)
        domain = record["DomainName"]
        if record["ProviderType"] == "EWS":
            stored = record["EwsProvider"]
            password = _passwords(ctx).get((org_id, domain))
            if password is None or secret_digest(password) != stored["EwsPasswordDigest"]:
                return _failed(
                    "The emulator keeps EWS passwords in memory only and no longer has this one (it was "
                    "restarted); update the configuration with the password to test it."
                )
            failure = _test_ews(stored["EwsEndpoint"], stored["EwsUsername"], password)
        else:
            failure = _test_lambda(ctx, org, record["LambdaProvider"]["LambdaArn"], domain)
    else:
        kind, provider = _provider(req)
        _check_provider(ctx, kind)
        if kind == "EWS":
            failure = _test_ews(provider["EwsEndpoint"], provider["EwsUsername"], provider["EwsPassword"])
        else:
            failure = _test_lambda(ctx, org, provider["LambdaArn"], None)
    return {"TestPassed": True} if failure is None else _failed(failure)


def _failed(reason: str) -> dict[str, Any]:
    if len(reason) > FAILURE_REASON_MAX:
        reason = reason[: FAILURE_REASON_MAX - 3] + "..."
    return {"TestPassed": False, "FailureReason": reason}


# Contacting loopback endpoints --------------------------------------------------


class _Refused(Exception):
    """A URL the emulator will not contact, with the reason in the exception's message."""


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str


def _loopback_target(url: str) -> _Target:
    """Where ``url`` points, if that is this machine; nothing here may reach other hosts."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise _Refused(f"The URL {url} is not an http or https URL.")
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise _Refused(f"The URL {url} has an invalid port.") from None
    if host == "localhost":
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
        except OSError as exc:
            raise _Refused(f"localhost does not resolve here: {exc}") from None
        if not addresses or not all(_is_loopback_address(str(a)) for a in addresses):
            raise _Refused("localhost resolves to a non-loopback address here; it was not contacted.")
    else:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise _Refused(
                "The emulator contacts only loopback hosts (127.0.0.0/8, ::1, localhost); "
                f"{host} was not contacted."
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return _Target(parts.scheme, host, port, path)


def _is_loopback_address(address: str) -> bool:
    return ipaddress.ip_address(address.split("%")[0]).is_loopback


def _post(target: _Target, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """One POST, without following redirects (a redirect could lead off this machine)."""
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=TEST_TIMEOUT, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=TEST_TIMEOUT)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read(MAX_RESPONSE_BYTES + 1)
        return response.status, data
    finally:
        connection.close()


def _describe_network_error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {TEST_TIMEOUT:g} seconds"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__


# EWS ----------------------------------------------------------------------------

# A GetFolder of the calendar: the smallest EWS request that needs a logged-in user.
_EWS_PROBE = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
    b' xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"'
    b' xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">'
    b'<soap:Header><t:RequestServerVersion Version="Exchange2010_SP2"/></soap:Header>'
    b"<soap:Body><m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"
    b'<m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder></soap:Body>'
    b"</soap:Envelope>"
)


def _test_ews(endpoint: str, username: str, password: str) -> str | None:
    """Why the EWS credentials can't log in to ``endpoint``, or None when they can."""
    try:
        target = _loopback_target(endpoint)
    except _Refused as exc:
        return str(exc)
    credentials = base64.b64encode(f"{username}:{password}".encode("latin-1")).decode()
    headers = {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": '"http://schemas.microsoft.com/exchange/services/2006/messages/GetFolder"',
        "Authorization": f"Basic {credentials}",
    }
    try:
        status, body = _post(target, _EWS_PROBE, headers)
    except (OSError, http.client.HTTPException) as exc:
        return f"Could not reach the EWS endpoint {endpoint}: {_describe_network_error(exc)}."
    if status in (401, 403):
        return f"The EWS server rejected the credentials of {username} (HTTP {status})."
    if status != 200:
        return f"The EWS endpoint {endpoint} answered HTTP {status}."
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return f"The endpoint {endpoint} did not answer with EWS XML."
    if _local_name(root.tag) != "Envelope":
        return f"The endpoint {endpoint} did not answer with a SOAP envelope."
    for element in root.iter():
        if element.get("ResponseClass") == "Error":
            code = next((_text(e) for e in element.iter() if _local_name(e.tag) == "ResponseCode"), "")
            return f"The EWS server answered with an error: {code or 'unknown'}."
        if _local_name(element.tag) == "Fault":
            return "The EWS server answered with a SOAP fault."
    return None


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(element: ElementTree.Element) -> str:
    return (element.text or "").strip()


# CAP Lambda ----------------------------------------------------------------------


def _lambda_principal(region: str) -> str:
    # WorkMail invokes CAP functions as this region-qualified principal
    # (Administrator Guide, "Building a Custom Availability Provider Lambda function").
    return f"availability.workmail.{region}.amazonaws.com"


def _unqualified(function_arn: str) -> str:
    return ":".join(function_arn.split(":")[:7])


@control("register-lambda")
def register_lambda(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    """Stand-in for AWS Lambda: a function ARN served by a loopback HTTP endpoint.

    The endpoint receives the invocation payload as a JSON POST and answers with the
    function's result. ``SourceAccount``, ``SourceArn`` and ``Principal`` are the
    conditions of the function's resource policy (``lambda add-permission``, Administrator
    Guide, "Building a Custom Availability Provider Lambda function", "Granting access"); with
    neither SourceAccount nor SourceArn the function can be invoked anonymously, which
    TestAvailabilityConfiguration reports as a failure.
    """
    function_arn = str(req.get("FunctionArn") or "")
    url = str(req.get("Url") or "")
    problem = _model_violations("LambdaArn", function_arn, "functionArn")
    if problem:
        raise errors.ValidationException(problem)
    try:
        _loopback_target(url)
    except _Refused as exc:
        raise errors.InvalidParameterException(str(exc)) from None
    record: Record = {"FunctionArn": function_arn, "Url": url, "RegisteredDate": timestamp(ctx)}
    for name in ("SourceAccount", "SourceArn", "Principal"):
        value = req.get(name)
        if value is not None:
            if not isinstance(value, str) or not value:
                raise errors.InvalidParameterException(f"{name} must be a non-empty string.")
            record[name] = value
    account = record.get("SourceAccount")
    if account is not None and not (account.isdigit() and len(account) == 12):
        raise errors.InvalidParameterException("SourceAccount must be a 12-digit account id.")
    ctx.global_table(LAMBDA_FUNCTIONS).put(function_arn, record)
    return {"FunctionArn": function_arn}


@control("deregister-lambda")
def deregister_lambda(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    """Remove a function registered with register-lambda (as if it were deleted)."""
    ctx.global_table(LAMBDA_FUNCTIONS).delete(str(req.get("FunctionArn") or ""))
    return {}


def _lambda_function(ctx: Context, function_arn: str) -> Record | None:
    functions = ctx.global_table(LAMBDA_FUNCTIONS)
    return functions.get(function_arn) or functions.get(_unqualified(function_arn))


def _permission_problem(ctx: Context, function: Record, org_id: str) -> str | None:
    arn = function["FunctionArn"]
    principal = _lambda_principal(ctx.region)
    if function.get("Principal", principal) != principal:
        return f"The resource policy of {arn} does not allow {principal} to invoke it."
    source_account = function.get("SourceAccount")
    source_arn = function.get("SourceArn")
    if source_account is None and source_arn is None:
        # The test must find anonymous invocation denied (API Reference, "TestAvailabilityConfiguration").
        return (
            f"The resource policy of {arn} allows anonymous invocation; "
            "restrict it with a SourceAccount or SourceArn condition."
        )
    if source_account is not None and source_account != ctx.account:
        return f"The resource policy of {arn} does not allow invocation from account {ctx.account}."
    org_arn = ctx.organization_arn(org_id)
    if source_arn is not None and not fnmatch.fnmatchcase(org_arn, source_arn):
        return f"The resource policy of {arn} does not allow invocation from {org_arn}."
    return None


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def cap_request(ctx: Context, org: Record, mailboxes: list[str], hours: float = 24.0) -> dict[str, Any]:
    """The request WorkMail sends a CAP function (Administrator Guide, "Building a Custom
    Availability Provider Lambda function")."""
    start = datetime.fromtimestamp(ctx.now, UTC).replace(microsecond=0)
    domain = org.get("DefaultMailDomain") or f"{org['Alias']}.awsapps.com"
    return {
        "requester": {
            "email": f"availability-test@{domain}",
            "userName": "availability-test",
            "organization": org["OrganizationId"],
            # The Guide's example requester id is the well-known system SID.
            "userId": "S-1-5-18",
            "origin": "127.0.0.1",
        },
        "mailboxes": mailboxes,
        "window": {"startDate": _rfc3339(start), "endDate": _rfc3339(start + timedelta(hours=hours))},
    }


def _test_lambda(ctx: Context, org: Record, function_arn: str, domain: str | None) -> str | None:
    """Why WorkMail can't use ``function_arn`` as an availability provider, or None."""
    function = _lambda_function(ctx, function_arn)
    if function is None:
        return f"Function not found: {function_arn}."
    problem = _permission_problem(ctx, function, org["OrganizationId"])
    if problem:
        return problem
    try:
        target = _loopback_target(function["Url"])
    except _Refused as exc:
        return str(exc)
    mailboxes = [f"availability-test@{domain or 'example.com'}"]
    payload = json.dumps(cap_request(ctx, org, mailboxes)).encode()
    try:
        status, body = _post(target, payload, {"Content-Type": "application/json"})
    except (OSError, http.client.HTTPException) as exc:
        return f"Could not invoke {function_arn}: {_describe_network_error(exc)}."
    if status != 200:
        return f"The function {function_arn} failed (HTTP {status})."
    if len(body) > MAX_RESPONSE_BYTES:
        return f"The response of {function_arn} is larger than {MAX_RESPONSE_BYTES} bytes."
    try:
        response = json.loads(body)
    except ValueError:
        return f"The response of {function_arn} is not JSON."
    problem = cap_response_problem(response, mailboxes)
    return None if problem is None else f"Invalid CAP response: {problem}"


_BUSY_TYPES = ("BUSY", "FREE", "TENTATIVE")
_INSTANCE_TYPES = ("SINGLE_INSTANCE", "RECURRING_INSTANCE", "EXCEPTION")
# The Guide's month list leaves out MAY, an evident slip; May is accepted.
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKS = ("FIRST", "SECOND", "THIRD", "FOURTH", "LAST")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_DETAIL_STRINGS = ("subject", "location")
_DETAIL_FLAGS = ("isMeeting", "isReminderSet", "isPrivate")


def cap_response_problem(response: Any, mailboxes: list[str]) -> str | None:
    """The first way ``response`` breaks the CAP response format, or None
    (Administrator Guide, "Building a Custom Availability Provider Lambda function")."""
    if not isinstance(response, dict) or not isinstance(response.get("mailboxes"), list):
        return "it must be an object with a mailboxes list"
    answered: set[str] = set()
    for index, entry in enumerate(response["mailboxes"]):
        where = f"mailboxes[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("mailbox"), str):
            return f"{where} must be an object with a mailbox"
        # Each entry echoes an address from the request.
        if entry["mailbox"].lower() not in {m.lower() for m in mailboxes}:
            return f"{where}.mailbox {entry['mailbox']} was not requested"
        answered.add(entry["mailbox"].lower())
        # A failed mailbox has mailbox and error; an answered one mailbox, events and
        # workingHours.
        if "error" in entry:
            if not isinstance(entry["error"], str):
                return f"{where}.error must be a string"
            if "events" in entry or "workingHours" in entry:
                return f"{where} has an error and events or workingHours"
            continue
        if not isinstance(entry.get("events"), list):
            return f"{where} needs events (or an error)"
        for number, event in enumerate(entry["events"]):
            problem = _event_problem(event, f"{where}.events[{number}]")
            if problem:
                return problem
        problem = _working_hours_problem(entry.get("workingHours"), f"{where}.workingHours")
        if problem:
            return problem
    missing = [m for m in mailboxes if m.lower() not in answered]
    if missing:
        return f"no answer for mailbox {missing[0]}"
    return None


def _timestamp_problem(value: Any, where: str) -> tuple[str | None, datetime | None]:
    # Times are UTC in RFC 3339 format.
    if not isinstance(value, str) or "T" not in value:
        return f"{where} must be an RFC 3339 date-time", None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return f"{where} must be an RFC 3339 date-time", None
    if moment.tzinfo is None:
        return f"{where} must have a time zone", None
    return None, moment


def _event_problem(event: Any, where: str) -> str | None:
    if not isinstance(event, dict):
        return f"{where} must be an object"
    problem, start = _timestamp_problem(event.get("startTime"), f"{where}.startTime")
    if problem:
        return problem
    problem, end = _timestamp_problem(event.get("endTime"), f"{where}.endTime")
    if problem:
        return problem
    if start is not None and end is not None and end < start:
        return f"{where} ends before it starts"
    if event.get("busyType") not in _BUSY_TYPES:
        return f"{where}.busyType must be one of {', '.join(_BUSY_TYPES)}"
    details = event.get("details")
    if details is None:
        return None
    if not isinstance(details, dict):
        return f"{where}.details must be an object"
    for name in _DETAIL_STRINGS:
        if not isinstance(details.get(name), str):
            return f"{where}.details.{name} must be a string"
    if details.get("instanceType") not in _INSTANCE_TYPES:
        return f"{where}.details.instanceType must be one of {', '.join(_INSTANCE_TYPES)}"
    for name in _DETAIL_FLAGS:
        if not isinstance(details.get(name), bool):
            return f"{where}.details.{name} must be a boolean"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _working_hours_problem(hours: Any, where: str) -> str | None:
    if not isinstance(hours, dict):
        return f"{where} must be an object"
    zone = hours.get("timezone")
    if not isinstance(zone, dict):
        return f"{where}.timezone must be an object"
    if not isinstance(zone.get("name"), str) or not _is_int(zone.get("bias")):
        return f"{where}.timezone needs a name and an integer bias"
    # Both transitions or neither.
    if ("standardTime" in zone) != ("daylightTime" in zone):
        return f"{where}.timezone must define both standardTime and daylightTime, or neither"
    for name in ("standardTime", "daylightTime"):
        if name in zone:
            problem = _transition_problem(zone[name], f"{where}.timezone.{name}")
            if problem:
                return problem
    periods = hours.get("workingPeriods")
    if not isinstance(periods, list) or not periods:
        return f"{where}.workingPeriods must list at least one period"
    for index, period in enumerate(periods):
        at = f"{where}.workingPeriods[{index}]"
        if not isinstance(period, dict):
            return f"{at} must be an object"
        for name in ("startMinutes", "endMinutes"):
            if not _is_int(period.get(name)) or not 0 <= period[name] <= 1440:
                return f"{at}.{name} must be minutes after midnight (0-1440)"
        days = period.get("days")
        if not isinstance(days, list) or not days or any(day not in _DAYS for day in days):
            return f"{at}.days must list days among {', '.join(_DAYS)}"
    return None


def _transition_problem(transition: Any, where: str) -> str | None:
    if not isinstance(transition, dict):
        return f"{where} must be an object"
    if not _is_int(transition.get("offset")):
        return f"{where}.offset must be an integer"
    time_of_day = transition.get("time")
    try:
        valid_time = isinstance(time_of_day, str) and len(time_of_day) == 8 and bool(
            datetime.strptime(time_of_day, "%H:%M:%S")
        )
    except ValueError:
        valid_time = False
    if not valid_time:
        return f"{where}.time must be hh:mm:ss"
    if transition.get("month") not in _MONTHS:
        return f"{where}.month must be one of {', '.join(_MONTHS)}"
    if transition.get("week") not in _WEEKS:
        return f"{where}.week must be one of {', '.join(_WEEKS)}"
    if transition.get("dayOfWeek") not in _DAYS:
        return f"{where}.dayOfWeek must be one of {', '.join(_DAYS)}"
    return None


# Tags -----------------------------------------------------------------------------

TAGS = "tags"
# Up to 50 tags per organization (Administrator Guide, "Tagging an organization"; API Reference,
# TooManyTagsException).
MAX_TAGS = 50
RESERVED_TAG_PREFIX = "aws:"


def _tagged_organization(ctx: Context, arn: str) -> Record:
    """The organization an ARN names, in the caller's Region and account."""
    parts = arn.split(":", 5)
    resource = parts[5] if len(parts) == 6 else ""
    org_id = resource.removeprefix("organization/") if resource.startswith("organization/") else ""
    org = ctx.global_table("organizations").get(org_id) if org_id else None
    if (
        org is None
        or org["State"] == "Deleted"
        or parts[3] != ctx.region
        or parts[4] != ctx.account
        or org["Region"] != ctx.region
        or org["Account"] != ctx.account
    ):
        raise errors.ResourceNotFoundException(f"The resource {arn} does not exist.")
    return org


def _tags(ctx: Context, org_id: str) -> list[dict[str, str]]:
    record = _settings(ctx, org_id).get(TAGS)
    return [] if record is None else list(record["Tags"])


@operation("TagResource")
def tag_resource(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org = _tagged_organization(ctx, req["ResourceARN"])
    org_id = org["OrganizationId"]
    ctx.organization(org_id)
    new_tags = req["Tags"]
    keys = [tag["Key"] for tag in new_tags]
    for key in keys:
        if key.lower().startswith(RESERVED_TAG_PREFIX):
            raise errors.InvalidParameterException(f"The tag key {key} uses the reserved prefix aws:.")
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise errors.InvalidParameterException(f"The tag key {duplicates[0]} appears more than once.")
    tags = _tags(ctx, org_id)
    index = {tag["Key"]: position for position, tag in enumerate(tags)}
    for tag in new_tags:
        # Keys are case-sensitive; putting an existing key replaces its value.
        entry = {"Key": tag["Key"], "Value": tag["Value"]}
        if tag["Key"] in index:
            tags[index[tag["Key"]]] = entry
        else:
            index[tag["Key"]] = len(tags)
            tags.append(entry)
    if len(tags) > MAX_TAGS:
        raise errors.TooManyTagsException(
            f"An organization can have at most {MAX_TAGS} tags; this request would give it {len(tags)}."
        )
    _settings(ctx, org_id).put(TAGS, {"Tags": tags})
    return {}


@operation("UntagResource")
def untag_resource(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org = _tagged_organization(ctx, req["ResourceARN"])
    org_id = org["OrganizationId"]
    removed = set(req["TagKeys"])
    tags = _tags(ctx, org_id)
    kept = [tag for tag in tags if tag["Key"] not in removed]
    if len(kept) != len(tags):
        _settings(ctx, org_id).put(TAGS, {"Tags": kept})
    return {}


@operation("ListTagsForResource")
def list_tags_for_resource(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org = _tagged_organization(ctx, req["ResourceARN"])
    return {"Tags": _tags(ctx, org["OrganizationId"])}


# IAM Identity Center ---------------------------------------------------------------

IDENTITY_PROVIDER = "identity_provider"
IDENTITY_CENTER_APPLICATIONS = "identity_center_applications"
IDENTITY_PROVIDER_FIELDS = (
    "AuthenticationMode", "IdentityCenterConfiguration", "PersonalAccessTokenConfiguration",
)
_ALPHANUMERIC = string.ascii_letters + string.digits


@operation("CreateIdentityCenterApplication")
def create_identity_center_application(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    token = idempotent(ctx, "CreateIdentityCenterApplication", req)
    if (earlier := replay(ctx, token)) is not None:
        return earlier
    instance_arn = req["InstanceArn"]
    partition = instance_arn.split(":")[1]
    instance_id = instance_arn.rsplit("/", 1)[1]
    application_id = "apl-" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(16))
    application_arn = f"arn:{partition}:sso::{ctx.account}:application/{instance_id}/{application_id}"
    ctx.global_table(IDENTITY_CENTER_APPLICATIONS).put(application_arn, {
        "ApplicationArn": application_arn,
        "Name": req["Name"],
        "InstanceArn": instance_arn,
        "Region": ctx.region,
        "Account": ctx.account,
        "DateCreated": timestamp(ctx),
    })
    result = {"ApplicationArn": application_arn}
    remember(ctx, token, result)
    return result


def _application(ctx: Context, application_arn: str) -> Record | None:
    application = ctx.global_table(IDENTITY_CENTER_APPLICATIONS).get(application_arn)
    if application is None or application["Account"] != ctx.account:
        return None
    return application


@operation("DeleteIdentityCenterApplication")
def delete_identity_center_application(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    application_arn = req["ApplicationArn"]
    if _application(ctx, application_arn) is None:
        return {}  # already gone: the model has no not-found error for this operation
    for org in ctx.global_table("organizations").values():
        if org["State"] == "Deleted":
            continue
        idp = ctx.table(org["OrganizationId"], SETTINGS).get(IDENTITY_PROVIDER)
        if idp is not None and idp["IdentityCenterConfiguration"]["ApplicationArn"] == application_arn:
            raise errors.OrganizationStateException(
                f"The organization {org['OrganizationId']} authenticates through {application_arn}; "
                "delete its identity provider configuration first."
            )
    ctx.global_table(IDENTITY_CENTER_APPLICATIONS).delete(application_arn)
    return {}


@operation("PutIdentityProviderConfiguration")
def put_identity_provider_configuration(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    center = req["IdentityCenterConfiguration"]
    application = _application(ctx, center["ApplicationArn"])
    if application is None:
        # The application "must be created by the WorkMail API" (API Reference,
        # "PutIdentityProviderConfiguration").
        raise errors.ResourceNotFoundException(
            f"The Identity Center application {center['ApplicationArn']} does not exist; "
            "create it with CreateIdentityCenterApplication."
        )
    if application["InstanceArn"] != center["InstanceArn"]:
        raise errors.InvalidParameterException(
            f"The application {center['ApplicationArn']} belongs to the instance "
            f"{application['InstanceArn']}, not {center['InstanceArn']}."
        )
    if application["Region"] != ctx.region:
        # The instance must be in the organization's account and Region (API Reference,
        # "PutIdentityProviderConfiguration").
        raise errors.InvalidParameterException(
            f"The application {center['ApplicationArn']} is in {application['Region']}, not in the "
            f"organization's Region {ctx.region}."
        )
    tokens = req["PersonalAccessTokenConfiguration"]
    _settings(ctx, org_id).put(IDENTITY_PROVIDER, {
        "AuthenticationMode": req["AuthenticationMode"],
        "IdentityCenterConfiguration": {
            "InstanceArn": center["InstanceArn"],
            "ApplicationArn": center["ApplicationArn"],
        },
        "PersonalAccessTokenConfiguration": output(tokens, ("Status", "LifetimeInDays")),
    })
    return {}


@operation("DescribeIdentityProviderConfiguration")
def describe_identity_provider_configuration(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    idp = _settings(ctx, org_id).get(IDENTITY_PROVIDER)
    if idp is None:
        raise errors.ResourceNotFoundException(
            f"The organization {org_id} has no identity provider configuration."
        )
    return output(idp, IDENTITY_PROVIDER_FIELDS)


@operation("DeleteIdentityProviderConfiguration")
def delete_identity_provider_configuration(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    # Authentication goes back to the directory (API Reference, "DeleteIdentityProviderConfiguration");
    # the application itself stays.
    _settings(ctx, org_id).delete(IDENTITY_PROVIDER)
    return {}


# Personal access tokens -------------------------------------------------------------

PERSONAL_ACCESS_TOKENS = "personal_access_tokens"
TOKEN_FIELDS = (
    "PersonalAccessTokenId", "UserId", "Name", "DateCreated", "DateLastUsed", "ExpiresTime", "Scopes",
)


def _token_configuration(ctx: Context, org_id: str) -> dict[str, Any] | None:
    """The organization's personal access token settings when tokens are enabled, else None."""
    idp = _settings(ctx, org_id).get(IDENTITY_PROVIDER)
    if idp is None or idp["PersonalAccessTokenConfiguration"]["Status"] != "ACTIVE":
        return None
    configuration: dict[str, Any] = idp["PersonalAccessTokenConfiguration"]
    return configuration


def _token_owner_exists(ctx: Context, org_id: str, token: Record) -> bool:
    user = ctx.table(org_id, "users").get(token["UserId"])
    return user is not None and user["State"] != "DELETED"


def _mailbox_user(ctx: Context, org_id: str, identifier: str) -> Record:
    _, user = find_entity(ctx, org_id, identifier, ("users",), what="user")
    if user["State"] != "ENABLED":
        raise errors.EntityStateException(
            f"The user {identifier} is {user['State']}; "
            "personal access tokens belong to users with a mailbox."
        )
    return user


@operation("ListPersonalAccessTokens")
def list_personal_access_tokens(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    user_id = None
    if req.get("UserId") is not None:
        user_id = _mailbox_user(ctx, org_id, req["UserId"])["Id"]
    tokens = [
        t for t in ctx.table(org_id, PERSONAL_ACCESS_TOKENS).values()
        if (user_id is None or t["UserId"] == user_id) and _token_owner_exists(ctx, org_id, t)
    ]
    page, token = paginate(
        req, tokens, lambda t: f"{t['DateCreated']:017.3f}/{t.get('Seq', 0):012d}/{t['PersonalAccessTokenId']}",
        scope=f"personal_access_tokens/{org_id}/{user_id or ''}",
    )
    return page_result("PersonalAccessTokenSummaries", [output(t, TOKEN_FIELDS) for t in page], token)


@operation("GetPersonalAccessTokenMetadata")
def get_personal_access_token_metadata(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    token = ctx.table(org_id, PERSONAL_ACCESS_TOKENS).get(req["PersonalAccessTokenId"])
    if token is None or not _token_owner_exists(ctx, org_id, token):
        raise errors.ResourceNotFoundException(
            f"The personal access token {req['PersonalAccessTokenId']} does not exist "
            f"in organization {org_id}."
        )
    return output(token, TOKEN_FIELDS)


@operation("DeletePersonalAccessToken")
def delete_personal_access_token(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    # No not-found error in the model: deleting an absent token succeeds.
    ctx.table(org_id, PERSONAL_ACCESS_TOKENS).delete(req["PersonalAccessTokenId"])
    return {}


@control("create-personal-access-token")
def create_personal_access_token(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    """Stand-in for a user making a token in the web app's Settings page.

    Returns the token id and, this once, the token itself; the emulator keeps only a digest.
    """
    org_id = str(req.get("OrganizationId") or "")
    ctx.organization(org_id)
    name = req.get("Name")
    scopes = req.get("Scopes")
    if name is None or scopes is None:
        raise errors.InvalidParameterException("Name and Scopes are required.")
    problems = [
        p for p in (
            _model_violations("PersonalAccessTokenName", name, "name"),
            _model_violations("PersonalAccessTokenScopeList", scopes, "scopes"),
        ) if p
    ]
    if problems:
        raise errors.ValidationException("; ".join(problems))
    user = _mailbox_user(ctx, org_id, str(req.get("UserId") or ""))
    configuration = _token_configuration(ctx, org_id)
    if configuration is None:
        # With tokens inactive, users can't create them (API Reference, "PersonalAccessTokenConfiguration").
        raise errors.InvalidConfigurationException(
            f"Personal access tokens are not active in organization {org_id}; "
            "activate them with PutIdentityProviderConfiguration."
        )
    lifetime = configuration.get("LifetimeInDays")
    days = req.get("ExpiresInDays", lifetime)
    if days is not None:
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise errors.InvalidParameterException("ExpiresInDays must be a positive whole number of days.")
        if lifetime is not None and days > lifetime:
            raise errors.InvalidParameterException(
                f"Tokens in organization {org_id} can be valid for at most {lifetime} days."
            )
    secret = secrets.token_urlsafe(32)
    token_id = new_uuid()
    now = timestamp(ctx)
    record: Record = {
        "PersonalAccessTokenId": token_id,
        "UserId": user["Id"],
        "Name": name,
        "Scopes": list(scopes),
        "DateCreated": now,
        "SecretDigest": secret_digest(secret),
    }
    if days is not None:
        record["ExpiresTime"] = now + days * DAY
    # Tokens made within one millisecond still list in the order they were made.
    table = ctx.table(org_id, PERSONAL_ACCESS_TOKENS)
    record["Seq"] = 1 + max((t.get("Seq", 0) for t in table.values()), default=0)
    table.put(token_id, record)
    result: dict[str, Any] = {"PersonalAccessTokenId": token_id, "Token": secret}
    if days is not None:
        result["ExpiresTime"] = record["ExpiresTime"]
    return result


@control("authenticate-personal-access-token")
def authenticate_personal_access_token(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    """Stand-in for an email client logging in with a token: checks it and records its use."""
    org_id = str(req.get("OrganizationId") or "")
    ctx.organization(org_id)
    digest = secret_digest(str(req.get("Token") or ""))
    table = ctx.table(org_id, PERSONAL_ACCESS_TOKENS)
    token = next((t for t in table.values() if secrets.compare_digest(t["SecretDigest"], digest)), None)
    if token is None or not _token_owner_exists(ctx, org_id, token):
        return {"Authenticated": False, "Reason": "The token is not valid."}
    base = {"PersonalAccessTokenId": token["PersonalAccessTokenId"], "UserId": token["UserId"]}
    if _token_configuration(ctx, org_id) is None:
        # Inactive tokens can't be used to connect (API Reference, "PersonalAccessTokenConfiguration").
        return {**base, "Authenticated": False, "Reason": "Personal access tokens are not active."}
    if token.get("ExpiresTime") is not None and ctx.now >= token["ExpiresTime"]:
        return {**base, "Authenticated": False, "Reason": "The token has expired."}
    user = ctx.table(org_id, "users").get(token["UserId"])
    if user is None or user["State"] != "ENABLED":
        return {**base, "Authenticated": False, "Reason": "The token's user has no mailbox."}
    token["DateLastUsed"] = timestamp(ctx)
    table.put(token["PersonalAccessTokenId"], token)
    return {**base, "Authenticated": True}
