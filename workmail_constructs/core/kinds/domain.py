"""Mail domains: register, wait for verification, make the default, deregister.

A domain verifies once its DNS records are published, which can take most of an hour;
only a verified domain can be the default (Administrator Guide, "Verifying domains"). The
default domain and the organization's test domain can't be deregistered; when the
default is no longer declared, the test domain (``<alias>.awsapps.com``, which every
organization has) takes over.

The API-level functions serve both apply and the domain's custom-resource handler.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..changes import Change, ChangeFailed, FieldChange, NamedAddress
from ..errors import error_code
from ..spec import DomainSpec
from ..state import ActualDomain, ActualState
from . import tokens
from .base import ApplyContext, Kind, KindInfo, Phase, PlanContext, Ref, Steps
from .compare import by_name, lower_set

if TYPE_CHECKING:
    from ..api import WorkMailApi
    from ..read import Job, Reader
    from ..validate import Validator


DomainChange = Change[NamedAddress, DomainSpec]

# At most 1,000 domains per organization, a hard quota (Administrator Guide, "Amazon WorkMail quotas").
MAX_DOMAINS = 1000
# The free test domain every organization gets (Administrator Guide, "Amazon WorkMail concepts").
TEST_DOMAIN_SUFFIX = ".awsapps.com"
# Errors that mean the organization, and so its domains, are gone or going.
ORGANIZATION_GONE = ("OrganizationNotFoundException", "OrganizationStateException")


# The API ---------------------------------------------------------------------------


def find(api: WorkMailApi, organization_id: str, name: str) -> dict[str, Any] | None:
    """GetMailDomain's answer, or None when the domain is not registered in the organization."""
    try:
        return api.call("GetMailDomain", OrganizationId=organization_id, DomainName=name)
    except ClientError as exc:
        if error_code(exc) == "MailDomainNotFoundException":
            return None
        raise


def register(api: WorkMailApi, organization_id: str, name: str, *, scope: tuple[str, ...] = ()) -> None:
    """RegisterMailDomain with a ClientToken derived from the request (and ``scope``), carrying on
    when an interrupted run registered it already in this organization."""

    def attempt(token: str) -> str | None:
        try:
            api.call("RegisterMailDomain", OrganizationId=organization_id, DomainName=name, ClientToken=token)
        except ClientError as exc:
            if error_code(exc) != "MailDomainInUseException":
                raise
            if find(api, organization_id, name) is None:
                raise ChangeFailed(f"the domain {name} is registered to another WorkMail organization; deregister it "
                                   "there first", code="MailDomainInUseException") from exc
            return name
        # A token the service saw for a registration since deregistered registers nothing.
        return name if find(api, organization_id, name) is not None else None

    tokens.chain(attempt, "RegisterMailDomain", *scope, organization_id, name.lower())


def test_domain(api: WorkMailApi, organization_id: str) -> str:
    # Every organization has <alias>.awsapps.com, verified (Administrator Guide, "Creating an organization").
    alias = api.call("DescribeOrganization", OrganizationId=organization_id)["Alias"]
    return f"{str(alias).lower()}.awsapps.com"


def undefault(api: WorkMailApi, organization_id: str, name: str) -> bool:
    """If ``name`` is the default domain, make the test domain the default again; True if it did."""
    found = find(api, organization_id, name)
    if found is None or not found.get("IsDefault"):
        return False
    api.call("UpdateDefaultMailDomain", OrganizationId=organization_id,
             DomainName=test_domain(api, organization_id))
    return True


def deregister(api: WorkMailApi, organization_id: str, name: str, *, may_undefault: bool) -> None:
    """Deregister the domain; one not registered (or whose organization is gone) is done already.

    The default domain can't go: with ``may_undefault`` (no other domain is to be the
    default), the test domain takes over first. A domain addresses still use raises
    MailDomainInUseException.
    """
    for attempt in range(2):
        try:
            api.call("DeregisterMailDomain", OrganizationId=organization_id, DomainName=name)
            return
        except ClientError as exc:
            code = error_code(exc)
            if code == "MailDomainNotFoundException" or code in ORGANIZATION_GONE:
                return
            if code != "MailDomainInUseException" or attempt or not may_undefault:
                raise
            if not undefault(api, organization_id, name):
                raise


def ownership(api: WorkMailApi, organization_id: str, name: str) -> str | None:
    found = find(api, organization_id, name)
    return None if found is None else str(found["OwnershipVerificationStatus"])


def record_data(records: list[dict[str, Any]]) -> dict[str, str]:
    """The records GetMailDomain recommends, one name/value pair each (names without the trailing
    dot), as the domain's custom resource returns them for Route 53."""
    data: dict[str, str] = {}
    dkim = 0
    for record in records:
        record_type = str(record.get("Type", "")).upper()
        name = str(record.get("Hostname", "")).rstrip(".")
        value = str(record.get("Value", ""))
        lowered = name.lower()
        if record_type == "TXT" and lowered.startswith("_amazonses."):
            data["OwnershipTxtName"], data["OwnershipTxtValue"] = name, value
        elif record_type == "TXT" and lowered.startswith("_dmarc."):
            data["DmarcName"], data["DmarcValue"] = name, value
        elif record_type == "TXT" and value.lower().startswith("v=spf1"):
            data["SpfName"], data["SpfValue"] = name, value
        elif record_type == "MX":
            priority, _, host = value.partition(" ")
            if not host:  # no priority given: WorkMail's is 10
                priority, host = "10", priority
            data["MxName"], data["MxValue"], data["MxPriority"] = name, host.strip(), priority
        elif record_type == "CNAME" and lowered.startswith("autodiscover."):
            data["AutodiscoverName"], data["AutodiscoverValue"] = name, value
        elif record_type == "CNAME" and "._domainkey." in lowered and dkim < 3:
            dkim += 1
            data[f"Dkim{dkim}Name"], data[f"Dkim{dkim}Value"] = name, value
        else:
            continue  # not a record a domain needs published
    return data


# The kind ---------------------------------------------------------------------------


class DomainKind(Kind[NamedAddress, DomainSpec]):
    name = "domain"
    info = KindInfo("Domains", "domains", {"$ref": "#/$defs/DomainSpec"})
    delete_rank = 90

    def plan(self, ctx: PlanContext) -> None:
        if not ctx.read("domains"):
            return
        previous = lower_set(d.name for d in ctx.previous.domains) if ctx.previous else set()
        declared = by_name(ctx.declared.domains, lambda d: d.name)
        for key, domain in declared.items():
            address = NamedAddress("domain", domain.name)
            found = ctx.actual.domains.get(key)
            if found is None:
                ctx.add(Change("create", address, "declared, not registered", after=domain))
            elif domain.default and not found.spec.default:
                ctx.add(Change("update", address, "declared as the default domain", before=found.spec, after=domain,
                               fields=(FieldChange("default", False, True),)))
        for key, found in ctx.actual.domains.items():
            if key in declared or found.is_test_domain or not ctx.owned(previous, key):
                continue
            ctx.add(Change("delete", NamedAddress("domain", found.spec.name),
                           "no longer declared: mail for the domain stops reaching WorkMail",
                           destructive=True, before=found.spec))

    def read_jobs(self, reader: Reader) -> list[Job]:
        if "domains" not in reader.sections:
            return []
        return [(partial(reader.list_all, "ListMailDomains", "MailDomains"), reader.keep(self.name))]

    def detail_jobs(self, reader: Reader) -> list[Job]:
        details = reader.raw.setdefault("domain.details", {})
        return [
            (reader.tolerant(partial(reader.call, "GetMailDomain", DomainName=str(d["DomainName"]))),
             reader.keep_detail(details, str(d["DomainName"])))
            for d in reader.raw.get(self.name) or []
        ]

    def build(self, reader: Reader, state: ActualState) -> None:
        details = reader.raw.get("domain.details") or {}
        for listed in reader.raw.get(self.name) or []:
            name = str(listed["DomainName"])
            detail = details.get(name)
            if detail is None:
                continue  # deregistered while the read ran
            state.domains[name.lower()] = ActualDomain(
                spec=DomainSpec(name=name, default=bool(detail.get("IsDefault", listed.get("DefaultDomain", False)))),
                ownership_verification_status=str(detail.get("OwnershipVerificationStatus") or ""),
                dkim_verification_status=str(detail.get("DkimVerificationStatus") or ""),
                is_test_domain=bool(detail.get("IsTestDomain", False)),
                records=[{k: str(v) for k, v in record.items()} for record in detail.get("Records") or []],
            )

    def validate(self, v: Validator) -> None:
        domains = v.spec.domains
        v.duplicates("domains", domains, lambda d: d.name.lower(), "this domain")
        for i, domain in enumerate(domains):
            if domain.name.lower().endswith(TEST_DOMAIN_SUFFIX):
                # <alias>.awsapps.com is WorkMail's own test domain (Administrator Guide,
                # "Amazon WorkMail concepts"); it can't be registered.
                v.add(f"{v.path('domains', domains, i)}.name",
                      f"domains ending in {TEST_DOMAIN_SUFFIX} are WorkMail test domains and can't be registered")
        defaults = [i for i, d in enumerate(domains) if d.default]
        for i in defaults[1:]:
            v.add(f"{v.path('domains', domains, i)}.default",
                  f"only one domain can be the default; {domains[defaults[0]].name} already is")
        names = {d.name.lower() for d in domains} | v.existing_domains
        names = {n for n in names if not n.endswith(TEST_DOMAIN_SUFFIX)}
        if len(names) > MAX_DOMAINS:
            # A hard quota (Administrator Guide, "Amazon WorkMail quotas"); the test domain does not count.
            v.add("domains", f"at most {MAX_DOMAINS} domains per organization; {len(names)} declared or existing")

    def provides(self, change: DomainChange) -> set[Ref]:
        return set() if change.action == "delete" else {("domain", change.key.lower())}

    def needs(self, change: DomainChange) -> set[Ref]:
        # Addresses in the domain must be gone first, or the domain is still in use.
        return {("domain-released", change.key.lower())} if change.action == "delete" else set()

    def steps(self, change: DomainChange, ctx: ApplyContext) -> Steps:
        if change.action == "create":
            return {Phase.DOMAINS: lambda: self._create(change.declared, ctx)}
        if change.action == "update":
            return {Phase.DOMAINS: lambda: self._update(change, ctx)}
        if change.action == "replace":
            def replace() -> None:
                self._delete(change.existing.name, ctx)
                self._create(change.declared, ctx)
            return {Phase.DOMAINS: replace}
        return {Phase.DOMAIN_DELETES: lambda: self._delete(change.key, ctx)}

    @staticmethod
    def _default_declared(ctx: ApplyContext) -> bool:
        return ctx.once("domain.default_declared", lambda: any(
            c.kind == "domain" and c.action != "delete" and isinstance(c.after, DomainSpec) and c.after.default
            for c in ctx.plan.changes
        ))

    def _create(self, spec: DomainSpec, ctx: ApplyContext) -> None:
        register(ctx.api, ctx.org, spec.name)
        status = self._wait_verified(spec.name, ctx) if spec.wait_for_verification else None
        if spec.default:
            self._make_default(spec.name, status, ctx)

    def _update(self, change: DomainChange, ctx: ApplyContext) -> None:
        after = change.declared
        status = self._wait_verified(after.name, ctx) if after.wait_for_verification else None
        if after.default:
            self._make_default(after.name, status, ctx)
        elif "default" in change.field_names() and not self._default_declared(ctx):
            # No longer the default and no other domain declared as one: the test domain is again.
            ctx.call("UpdateDefaultMailDomain", DomainName=ctx.test_domain())

    @staticmethod
    def _wait_verified(name: str, ctx: ApplyContext) -> str:
        def verified() -> str | None:
            status = ownership(ctx.api, ctx.org, name)
            if status is None:
                raise ChangeFailed(f"the domain {name} is not registered in the organization")
            if status == "FAILED":
                raise ChangeFailed(
                    f"ownership verification of {name} FAILED: publish the TXT record GetMailDomain lists "
                    "(_amazonses.<domain>) and apply again"
                )
            return status if status == "VERIFIED" else None

        return ctx.wait(f"ownership verification of domain {name}", ctx.timeouts.domain_verification, verified)

    @staticmethod
    def _make_default(name: str, status: str | None, ctx: ApplyContext) -> None:
        status = status or ownership(ctx.api, ctx.org, name)
        if status != "VERIFIED":
            # The domain exists and addresses can wait for it: nothing else has to stop.
            raise ChangeFailed(
                f"the domain {name} is registered but its ownership is {status}, and only a verified domain can "
                "be the default: publish its DNS records and verify the domain first (or set wait_for_verification), "
                "then apply again",
                field="default", blocks_dependents=False,
            )
        ctx.call("UpdateDefaultMailDomain", DomainName=name)

    def _delete(self, name: str, ctx: ApplyContext) -> None:
        deregister(ctx.api, ctx.org, name, may_undefault=not self._default_declared(ctx))
