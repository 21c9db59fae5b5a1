"""``Custom::WorkMailDomain``: an adapter from CloudFormation events to ``core.kinds.domain``.

Properties: ``OrganizationId`` and ``Spec`` (a ``DomainSpec``). The physical id is
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
A ``default`` domain becomes the default once it is verified.
"""

from __future__ import annotations

from typing import Any

from workmail_constructs.core.changes import ChangeFailed
from workmail_constructs.core.kinds import domain as kind
from workmail_constructs.core.spec import DomainSpec

from . import common
from .common import HandlerError, Request, entry_point, error_code, log

# Stop waiting for verification 50 minutes after the request started: the Provider's total
# timeout is 55 minutes and it polls every 30 seconds.
VERIFICATION_DEADLINE_SECONDS = 50 * 60


@entry_point
def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    if request.request_type == "Delete":
        _delete(request)
        return {"PhysicalResourceId": request.physical_id or ""}
    organization_id = common.organization_id(request.properties)
    spec = _spec(request.properties, "Spec")
    name = spec.name.lower()
    physical_id = f"{organization_id}/{name}"
    api = common.workmail_api()
    try:
        kind.register(api, organization_id, name, scope=(request.stack_id, request.logical_id))
    except ChangeFailed as exc:
        raise HandlerError(f"registering {name}: {exc.message}") from None
    if request.request_type == "Update" and physical_id == request.physical_id and not spec.default \
            and _spec(request.old_properties, "OldResourceProperties.Spec").default \
            and kind.undefault(api, organization_id, name):
        log.info("the test domain is the default of %s again instead of %s", organization_id, name)
    return common.response(physical_id, _data(name, _settle(request, organization_id, name), int(common.clock())))


@entry_point
def is_complete(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    if request.request_type == "Delete":
        return common.complete()
    organization_id = common.organization_id(request.properties)
    spec = _spec(request.properties, "Spec")
    name = spec.name.lower()
    started = _started(request)
    described = _settle(request, organization_id, name)
    status = described.get("OwnershipVerificationStatus")
    if spec.wait_for_verification and status == "FAILED":
        raise HandlerError(f"ownership verification of {name} FAILED: publish the TXT record "
                           f"{_record_name(described)} (OwnershipTxtName/OwnershipTxtValue) and the other records, "
                           "then deploy again")
    if spec.wait_for_verification and status != "VERIFIED":
        waited = common.clock() - started
        if waited < VERIFICATION_DEADLINE_SECONDS:
            log.info("domain %s is %s after %d s; waiting for verification", name, status, waited)
            return common.incomplete()
        log.warning("domain %s is still %s after %d s: completing without verification (publish its DNS records; "
                    "the domain verifies on its own once they are in place)", name, status, waited)
    if spec.default and status != "VERIFIED":
        log.warning("domain %s is %s, and only a verified domain can be the default: deploy again once it is "
                    "verified", name, status)
    return common.complete(_data(name, described, started))


def _settle(request: Request, organization_id: str, name: str) -> dict[str, Any]:
    """The domain as GetMailDomain reports it, made the default first if declared so and verified."""
    api = common.workmail_api()
    described = kind.find(api, organization_id, name)
    if described is None:
        raise HandlerError(f"the domain {name} is not registered in {organization_id} (deregistered outside the "
                           "stack?); deploy again to register it")
    if _spec(request.properties, "Spec").default and described.get("OwnershipVerificationStatus") == "VERIFIED" \
            and not described.get("IsDefault"):
        api.call("UpdateDefaultMailDomain", OrganizationId=organization_id, DomainName=name)
        log.info("make %s the default domain of %s", name, organization_id)
        described = kind.find(api, organization_id, name) or described
    return described


def _delete(request: Request) -> None:
    organization_id, _, name = (request.physical_id or "").partition("/")
    try:
        kind.deregister(common.workmail_api(), organization_id, name, may_undefault=True)
        log.info("deregister domain %s from %s", name, organization_id)
    except Exception as exc:
        if error_code(exc) != "MailDomainInUseException":
            raise
        # Addresses still use it: the directory's users keep their addresses when the directory
        # resource is deleted (the organization's removal policy governs data), so it stays too.
        log.warning("leave domain %s registered in %s: %s", name, organization_id, common.describe_client_error(exc))


def _started(request: Request) -> float:
    value = request.data.get("VerificationStartedAt")
    try:
        return float(value) if value is not None else common.clock()
    except (TypeError, ValueError):
        return common.clock()


def _spec(properties: Any, what: str) -> DomainSpec:
    document = common.document(properties, "Spec")
    assert document is not None
    return common.parse_spec(DomainSpec, document, what)


def _record_name(described: dict[str, Any]) -> str:
    for record in described.get("Records") or []:
        hostname = str(record.get("Hostname", "")).rstrip(".")
        if record.get("Type") == "TXT" and hostname.lower().startswith("_amazonses."):
            return hostname
    return "_amazonses.<domain>"


def _data(name: str, described: dict[str, Any], started: float) -> dict[str, Any]:
    return {
        "DomainName": name,
        "OwnershipVerificationStatus": described.get("OwnershipVerificationStatus"),
        "DkimVerificationStatus": described.get("DkimVerificationStatus"),
        "IsDefault": "true" if described.get("IsDefault") else "false",
        "VerificationStartedAt": str(int(started)),
        **kind.record_data(list(described.get("Records") or [])),
    }
