"""Mail domains: registration with the DNS records WorkMail recommends, verification,
the default domain and deregistration."""

from __future__ import annotations

import base64
import secrets
import string
from typing import Any

from .. import errors
from ..engine import Context
from ..registry import control, operation, timer_action
from ..store import Record
from .common import output, page_result, paginate, timestamp

# Domains per organization: a hard quota (Administrator Guide, "Amazon WorkMail quotas"). The
# Guide's "Adding a domain" says 100; the quota table is the more specific statement, so it wins.
MAX_DOMAINS = 1000
TEST_DOMAIN_SUFFIX = ".awsapps.com"
VERIFICATION_STATES = ("PENDING", "VERIFIED", "FAILED")


def dns_records(region: str, domain: str) -> list[dict[str, str]]:
    """The records GetMailDomain recommends: ownership TXT, MX, autodiscover CNAME, SPF,
    DMARC and three DKIM CNAMEs, with the region's endpoints (Administrator Guide, "Adding a
    domain" and "Verifying domains")."""
    ownership_token = base64.b64encode(secrets.token_bytes(32)).decode()
    alphabet = string.ascii_lowercase + string.digits
    dkim_tokens = ["".join(secrets.choice(alphabet) for _ in range(32)) for _ in range(3)]
    records = [
        {"Type": "TXT", "Hostname": f"_amazonses.{domain}", "Value": ownership_token},
        {"Type": "MX", "Hostname": domain, "Value": f"10 inbound-smtp.{region}.amazonaws.com."},
        {"Type": "CNAME", "Hostname": f"autodiscover.{domain}", "Value": f"autodiscover.mail.{region}.awsapps.com."},
        {"Type": "TXT", "Hostname": domain, "Value": "v=spf1 include:amazonses.com ~all"},
        {"Type": "TXT", "Hostname": f"_dmarc.{domain}", "Value": "v=DMARC1;p=quarantine;pct=100;fo=1"},
    ]
    records += [
        {"Type": "CNAME", "Hostname": f"{token}._domainkey.{domain}", "Value": f"{token}.dkim.amazonses.com."}
        for token in dkim_tokens
    ]
    return records


def check_registrable(ctx: Context, domain_name: str, org_id: str | None) -> None:
    name = domain_name.lower()
    if name.endswith(TEST_DOMAIN_SUFFIX):
        raise errors.InvalidParameterException(
            f"The domain {domain_name} is a WorkMail test domain and can't be registered."
        )
    for other in ctx.global_table("organizations").values():
        if other["State"] == "Deleted":
            continue
        if name in ctx.table(other["OrganizationId"], "domains"):
            where = "this organization" if other["OrganizationId"] == org_id else "another organization"
            raise errors.MailDomainInUseException(f"The domain {domain_name} is already registered in {where}.")


def add_domain(ctx: Context, org_id: str, name: str, *, test_domain: bool = False, published: bool = False) -> Record:
    verified = test_domain or published
    status = "VERIFIED" if verified else "PENDING"
    record = ctx.table(org_id, "domains").put(name, {
        "DomainName": name,
        "IsTestDomain": test_domain,
        "IsDefault": test_domain,
        "OwnershipVerificationStatus": status,
        "DkimVerificationStatus": status,
        "Records": dns_records(ctx.region, name),
        "CreatedDate": timestamp(ctx),
    })
    if not verified and ctx.timing.domain_verification is not None:
        ctx.schedule(ctx.timing.domain_verification, "domain.verify", org_id, name)
    return record


def get_domain(ctx: Context, org_id: str, domain_name: str) -> Record:
    domain = ctx.table(org_id, "domains").get(domain_name.lower())
    if domain is None:
        raise errors.MailDomainNotFoundException(
            f"The domain {domain_name} is not registered in organization {org_id}."
        )
    return domain


@operation("RegisterMailDomain")
def register_mail_domain(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    name = req["DomainName"].lower()
    table = ctx.table(org_id, "domains")
    existing = table.get(name)
    if existing is not None and req.get("ClientToken") and existing.get("ClientToken") == req["ClientToken"]:
        return {}  # a retry of the request that registered it
    check_registrable(ctx, name, org_id)
    if sum(1 for d in table.values() if not d["IsTestDomain"]) >= MAX_DOMAINS:
        raise errors.LimitExceededException(f"The organization already has {MAX_DOMAINS} domains.")
    record = add_domain(ctx, org_id, name)
    if req.get("ClientToken"):
        record["ClientToken"] = req["ClientToken"]
        table.put(name, record)
    return {}


@operation("GetMailDomain")
def get_mail_domain(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    ctx.organization(req["OrganizationId"])
    domain = get_domain(ctx, req["OrganizationId"], req["DomainName"])
    return output(domain, ("Records", "IsTestDomain", "IsDefault", "OwnershipVerificationStatus",
                           "DkimVerificationStatus"))


@operation("ListMailDomains")
def list_mail_domains(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    page, token = paginate(req, ctx.table(org_id, "domains").values(), lambda d: str(d["DomainName"]),
                           scope=f"domains/{org_id}")
    domains = [{"DomainName": d["DomainName"], "DefaultDomain": d["IsDefault"]} for d in page]
    return page_result("MailDomains", domains, token)


@operation("UpdateDefaultMailDomain")
def update_default_mail_domain(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    org = ctx.organization(org_id)
    domain = get_domain(ctx, org_id, req["DomainName"])
    if domain["OwnershipVerificationStatus"] != "VERIFIED":
        raise errors.MailDomainStateException(
            f"The domain {domain['DomainName']} must be verified before it can be the default domain."
        )
    table = ctx.table(org_id, "domains")
    for other in table.values():
        if other["IsDefault"] and other["DomainName"] != domain["DomainName"]:
            other["IsDefault"] = False
            table.put(other["DomainName"], other)
    domain["IsDefault"] = True
    table.put(domain["DomainName"], domain)
    org["DefaultMailDomain"] = domain["DomainName"]
    ctx.global_table("organizations").put(org_id, org)
    return {}


@operation("DeregisterMailDomain")
def deregister_mail_domain(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    name = req["DomainName"].lower()
    table = ctx.table(org_id, "domains")
    domain = table.get(name)
    if domain is None:
        # Deregistering is idempotent in the service: an absent domain is already gone.
        return {}
    if domain["IsTestDomain"]:
        raise errors.InvalidParameterException(f"The test domain {name} can't be deregistered.")
    if domain["IsDefault"]:
        raise errors.MailDomainInUseException(
            f"The domain {name} is the default domain; make another domain the default first."
        )
    in_use = [a["Email"] for a in ctx.table(org_id, "addresses").values()
              if a["Email"].lower().rsplit("@", 1)[-1] == name]
    if in_use:
        # Users and groups must stop using the domain before it is removed (Administrator Guide,
        # "Removing a domain").
        raise errors.MailDomainInUseException(
            f"The domain {name} is used by {len(in_use)} email addresses, for example {in_use[0]}."
        )
    table.delete(name)
    ctx.cancel_timers("domain.verify", org_id, name)
    return {}


def _set_verification(ctx: Context, org_id: str, name: str, status: str) -> Record:
    table = ctx.table(org_id, "domains")
    domain = get_domain(ctx, org_id, name)
    domain["OwnershipVerificationStatus"] = status
    domain["DkimVerificationStatus"] = status
    return table.put(domain["DomainName"], domain)


@timer_action("domain.verify")
def _verify_after_delay(ctx: Context, timer: Record) -> None:
    if timer["key"] in ctx.table(timer["org"], "domains"):
        _set_verification(ctx, timer["org"], timer["key"], "VERIFIED")


@control("verify-domain")
def verify_domain(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    """Act as if the domain's TXT and DKIM records were published (Status VERIFIED) or not (FAILED)."""
    status = str(req.get("Status") or "VERIFIED")
    if status not in VERIFICATION_STATES:
        raise errors.InvalidParameterException(f"Status must be one of {', '.join(VERIFICATION_STATES)}.")
    org_id = str(req.get("OrganizationId") or "")
    ctx.organization(org_id, require_active=False)
    domain = _set_verification(ctx, org_id, str(req.get("DomainName") or ""), status)
    ctx.cancel_timers("domain.verify", org_id, domain["DomainName"])
    return output(domain, ("DomainName", "OwnershipVerificationStatus", "DkimVerificationStatus"))
