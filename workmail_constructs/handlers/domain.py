"""``Custom::WorkMailDomain``: registers a mail domain and returns the DNS records it needs.

Properties: ``OrganizationId`` and ``Spec`` (JSON of a ``DomainSpec``). The physical id is
``<organization id>/<domain>``, so a new domain or organization is a replacement and
CloudFormation deregisters the old one afterwards.

Data: ``DomainName``, ``OwnershipVerificationStatus``, ``DkimVerificationStatus``,
``IsDefault``, ``VerificationStartedAt`` (epoch seconds) and one name/value pair per
record GetMailDomain recommends (``OwnershipTxt``, ``Mx`` with ``MxPriority``,
``Autodiscover``, ``Spf``, ``Dmarc``, ``Dkim1``–``Dkim3``), names without the trailing dot,
for the construct's Route 53 records.

With ``wait_for_verification`` the resource completes when the domain is VERIFIED, fails
when verification FAILED, and after ``VERIFICATION_DEADLINE_SECONDS`` completes anyway,
reporting the status, so a stack never hangs on DNS (the Provider gives up at 55 minutes).
A ``default`` domain becomes the default once it is verified; until then the log says why
it is not.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from workmail_constructs.core.spec import DomainSpec

from . import common
from .common import HandlerError, Request, entry_point, error_code, log

if TYPE_CHECKING:
    from workmail_constructs.core.api import WorkMailApi

# Stop waiting for verification 50 minutes after the request started: the Provider's total
# timeout is 55 minutes and it polls every 30 seconds.
VERIFICATION_DEADLINE_SECONDS = 50 * 60
PHYSICAL_ID = re.compile(r"(m-[0-9a-f]{32})/(.+)")
MAX_STALE_TOKENS = 10
# Errors that mean the organization, and so its domains, are gone or going.
ORGANIZATION_GONE = ("OrganizationNotFoundException", "OrganizationStateException")


@entry_point
def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    if request.request_type == "Delete":
        _delete(request.physical_id or "")
        return {"PhysicalResourceId": request.physical_id or ""}
    organization_id = common.organization_id(request.properties)
    spec = _spec(request.properties, "Spec")
    name = spec.name.lower()
    physical_id = f"{organization_id}/{name}"
    api = common.workmail_api()
    _register(api, request, organization_id, name)
    if request.request_type == "Update" and physical_id == request.physical_id:
        old = _spec(request.old_properties, "OldResourceProperties.Spec")
        if old.default and not spec.default:
            _undefault(api, organization_id, name)
    described = _get(api, organization_id, name)
    if spec.default and described.get("OwnershipVerificationStatus") == "VERIFIED":
        described = _make_default(api, organization_id, name, described)
    started = int(common.clock())
    return common.response(physical_id, _data(name, described, started))


@entry_point
def is_complete(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    if request.request_type == "Delete":
        return common.complete()
    organization_id = common.organization_id(request.properties)
    spec = _spec(request.properties, "Spec")
    name = spec.name.lower()
    started = _started(request)
    api = common.workmail_api()
    described = _get(api, organization_id, name)
    status = described.get("OwnershipVerificationStatus")
    if spec.wait_for_verification and status == "FAILED":
        raise HandlerError(
            f"ownership verification of {name} FAILED: publish the TXT record {_record_name(described, 'TXT')} "
            "(OwnershipTxtName/OwnershipTxtValue) and the other records, then deploy again"
        )
    if spec.wait_for_verification and status != "VERIFIED":
        waited = common.clock() - started
        if waited < VERIFICATION_DEADLINE_SECONDS:
            log.info("domain %s is %s after %d s; waiting for verification", name, status, waited)
            return common.incomplete()
        log.warning("domain %s is still %s after %d s: completing without verification (publish its DNS records; "
                    "the domain verifies on its own once they are in place)", name, status, waited)
    if spec.default:
        if status == "VERIFIED":
            described = _make_default(api, organization_id, name, described)
        else:
            log.warning("domain %s is %s, and only a verified domain can be the default: it is not the default yet; "
                        "deploy again once it is verified", name, status)
    return common.complete(_data(name, described, started))


# Steps --------------------------------------------------------------------------------


def _register(api: WorkMailApi, request: Request, organization_id: str, name: str) -> None:
    token = common.client_token("RegisterMailDomain", request.stack_id, request.logical_id, organization_id, name)
    for _ in range(MAX_STALE_TOKENS):
        try:
            api.call("RegisterMailDomain", OrganizationId=organization_id, DomainName=name, ClientToken=token)
        except Exception as exc:
            if error_code(exc) != "MailDomainInUseException":
                raise HandlerError(f"registering {name}: {common.describe_client_error(exc)}") from None
            if _find(api, organization_id, name) is None:
                raise HandlerError(f"the domain {name} is registered to another WorkMail organization; deregister it "
                                   "there first") from None
            log.info("domain %s is registered in %s already", name, organization_id)
            return
        if _find(api, organization_id, name) is not None:
            log.info("register domain %s in %s", name, organization_id)
            return
        # The service answered a token it had seen for a registration since deregistered:
        # nothing was registered, so derive the next token (a retry derives the same).
        token = common.client_token(token, "stale")
    raise HandlerError(f"{MAX_STALE_TOKENS} ClientTokens in a row named earlier registrations; can't register {name}")


def _make_default(api: WorkMailApi, organization_id: str, name: str, described: dict[str, Any]) -> dict[str, Any]:
    if described.get("IsDefault"):
        return described
    api.call("UpdateDefaultMailDomain", OrganizationId=organization_id, DomainName=name)
    log.info("make %s the default domain of %s", name, organization_id)
    return _get(api, organization_id, name)


def _undefault(api: WorkMailApi, organization_id: str, name: str) -> None:
    """No longer declared the default: if it still is, the organization's test domain is again.
    (Another domain declared the default in its own resource takes over whenever it runs.)"""
    found = _find(api, organization_id, name)
    if found is None or not found.get("IsDefault"):
        return
    test_domain = _test_domain(api, organization_id)
    api.call("UpdateDefaultMailDomain", OrganizationId=organization_id, DomainName=test_domain)
    log.info("make the test domain %s the default of %s instead of %s", test_domain, organization_id, name)


def _delete(physical_id: str) -> None:
    match = PHYSICAL_ID.fullmatch(physical_id)
    if match is None:
        log.info("nothing to deregister: %r is not <organization id>/<domain> (its Create failed)", physical_id)
        return
    organization_id, name = match.groups()
    api = common.workmail_api()
    for attempt in range(2):
        try:
            api.call("DeregisterMailDomain", OrganizationId=organization_id, DomainName=name)
            log.info("deregister domain %s from %s", name, organization_id)
            return
        except Exception as exc:
            code = error_code(exc)
            if code == "MailDomainNotFoundException" or code in ORGANIZATION_GONE:
                log.info("domain %s is not registered in %s (%s): nothing to deregister", name, organization_id, code)
                return
            if code != "MailDomainInUseException":
                raise
            found = _find(api, organization_id, name)
            if attempt == 0 and found is not None and found.get("IsDefault"):
                # The default can't go: the test domain, which every organization has, takes over.
                _undefault(api, organization_id, name)
                continue
            # Addresses still use it: the directory's users keep their addresses when the
            # directory resource is deleted (the organization's removal policy governs data),
            # so the domain they need stays too.
            log.warning("leave domain %s registered in %s: %s", name, organization_id,
                        common.describe_client_error(exc))
            return


# Reads --------------------------------------------------------------------------------


def _find(api: WorkMailApi, organization_id: str, name: str) -> dict[str, Any] | None:
    try:
        return api.call("GetMailDomain", OrganizationId=organization_id, DomainName=name)
    except Exception as exc:
        if error_code(exc) == "MailDomainNotFoundException":
            return None
        raise


def _get(api: WorkMailApi, organization_id: str, name: str) -> dict[str, Any]:
    found = _find(api, organization_id, name)
    if found is None:
        raise HandlerError(f"the domain {name} is not registered in {organization_id} (deregistered outside the "
                           "stack?); deploy again to register it")
    return found


def _test_domain(api: WorkMailApi, organization_id: str) -> str:
    # Every organization has <alias>.awsapps.com, verified and impossible to remove.
    alias = api.call("DescribeOrganization", OrganizationId=organization_id)["Alias"]
    return f"{str(alias).lower()}.awsapps.com"


def _started(request: Request) -> float:
    value = request.data.get("VerificationStartedAt")
    try:
        return float(value) if value is not None else common.clock()
    except (TypeError, ValueError):
        return common.clock()


def _spec(properties: Any, what: str) -> DomainSpec:
    document = common.text(properties, "Spec")
    assert document is not None
    return common.parse_spec(DomainSpec, document, what)


def _record_name(described: dict[str, Any], record_type: str) -> str:
    for record in described.get("Records") or []:
        hostname = str(record.get("Hostname", "")).rstrip(".")
        if record.get("Type") == record_type and hostname.lower().startswith("_amazonses."):
            return hostname
    return "_amazonses.<domain>"


def record_data(records: list[dict[str, Any]]) -> dict[str, str]:
    """The records GetMailDomain recommends, one name/value pair each, for Route 53."""
    data: dict[str, str] = {}
    dkim = 0
    for record in records:
        kind = str(record.get("Type", "")).upper()
        name = str(record.get("Hostname", "")).rstrip(".")
        value = str(record.get("Value", ""))
        lowered = name.lower()
        if kind == "TXT" and lowered.startswith("_amazonses."):
            data["OwnershipTxtName"], data["OwnershipTxtValue"] = name, value
        elif kind == "TXT" and lowered.startswith("_dmarc."):
            data["DmarcName"], data["DmarcValue"] = name, value
        elif kind == "TXT" and value.lower().startswith("v=spf1"):
            data["SpfName"], data["SpfValue"] = name, value
        elif kind == "MX":
            priority, _, host = value.partition(" ")
            if not host:  # no priority given: WorkMail's is 10
                priority, host = "10", priority
            data["MxName"], data["MxValue"], data["MxPriority"] = name, host.strip(), priority
        elif kind == "CNAME" and lowered.startswith("autodiscover."):
            data["AutodiscoverName"], data["AutodiscoverValue"] = name, value
        elif kind == "CNAME" and "._domainkey." in lowered and dkim < 3:
            dkim += 1
            data[f"Dkim{dkim}Name"], data[f"Dkim{dkim}Value"] = name, value
        else:
            log.warning("record %s %s is not one the construct publishes", kind, name)
    return data


def _data(name: str, described: dict[str, Any], started: float) -> dict[str, Any]:
    return {
        "DomainName": name,
        "OwnershipVerificationStatus": described.get("OwnershipVerificationStatus"),
        "DkimVerificationStatus": described.get("DkimVerificationStatus"),
        "IsDefault": "true" if described.get("IsDefault") else "false",
        "VerificationStartedAt": str(int(started)),
        **record_data(list(described.get("Records") or [])),
    }
