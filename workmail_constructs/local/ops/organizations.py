"""Organizations: creation through Requested → Creating → Active, description, listing and
deletion through Deleting → Deleted, plus the AWS Directory Service directories they use."""

from __future__ import annotations

import uuid
from typing import Any

from .. import errors
from ..engine import Context
from ..registry import control, operation, timer_action
from ..store import Record
from . import access, domains
from .common import (
    DIRECTORY_ACTIVE,
    DIRECTORY_STATUSES,
    DIRECTORY_UNAVAILABLE,
    directory_status,
    idempotent,
    output,
    page_result,
    paginate,
    remember,
    replay,
    timestamp,
)

# Organizations per AWS account and Region (Administrator Guide, "Amazon WorkMail quotas").
MAX_ORGANIZATIONS = 100

DESCRIBE_FIELDS = (
    "OrganizationId", "Alias", "State", "DirectoryId", "DirectoryType", "DefaultMailDomain",
    "CompletedDate", "ErrorMessage", "ARN", "MigrationAdmin", "InteroperabilityEnabled",
)
SUMMARY_FIELDS = ("OrganizationId", "Alias", "DefaultMailDomain", "ErrorMessage", "State")
WORKMAIL_DIRECTORY = "WorkMailDirectory"
AD_CONNECTOR = "ADConnector"
DIRECTORY_TYPES = (WORKMAIL_DIRECTORY, "SimpleAD", AD_CONNECTOR, "MicrosoftAD")


def _live(org: Record) -> bool:
    return org["State"] not in ("Deleted",)


@operation("CreateOrganization")
def create_organization(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    token = idempotent(ctx, "CreateOrganization", req)
    if (earlier := replay(ctx, token)) is not None:
        return earlier
    organizations = ctx.global_table("organizations")
    alias = req["Alias"]
    live = [o for o in organizations.values() if _live(o)]
    directories = ctx.global_table("directories")
    directory_id = req.get("DirectoryId")
    if directory_id:
        # The directory comes first: its alias is the organization's, so an organization already
        # on it also holds the alias, and "in use" is the answer that says what is wrong.
        directory = _usable_directory(ctx, directory_id, live)
        if directory["Alias"].lower() != alias.lower():
            raise errors.InvalidParameterException(
                f"The organization alias {alias} must match the directory alias {directory['Alias']}."
            )
        if req.get("EnableInteroperability") and directory["Type"] != AD_CONNECTOR:
            raise errors.InvalidParameterException("Interoperability needs an AD Connector directory.")
    elif req.get("EnableInteroperability"):
        raise errors.InvalidParameterException("Interoperability needs the DirectoryId of an AD Connector.")
    if any(o["Alias"].lower() == alias.lower() for o in live):
        raise errors.NameAvailabilityException(f"The organization alias {alias} is not available.")
    mine = [o for o in live if o["Region"] == ctx.region and o["Account"] == ctx.account]
    if len(mine) >= MAX_ORGANIZATIONS:
        raise errors.LimitExceededException(
            f"The account already has {MAX_ORGANIZATIONS} organizations in {ctx.region}."
        )
    for domain in req.get("Domains") or []:
        domains.check_registrable(ctx, domain["DomainName"], None)
    if not directory_id:
        directory_id = f"d-{uuid.uuid4().hex[:10]}"
        directory = directories.put(directory_id, _directory_record(
            ctx, directory_id, alias, WORKMAIL_DIRECTORY, created_by_workmail=True,
        ))
    org_id = f"m-{uuid.uuid4().hex}"
    organizations.put(org_id, {
        "OrganizationId": org_id,
        "Alias": alias,
        "State": "Requested",
        "Region": ctx.region,
        "Account": ctx.account,
        "ARN": ctx.organization_arn(org_id),
        "DirectoryId": directory_id,
        "DirectoryType": directory["Type"],
        "KmsKeyArn": req.get("KmsKeyArn"),
        "InteroperabilityEnabled": bool(req.get("EnableInteroperability", False)),
        "PendingDomains": req.get("Domains") or [],
        "CreatedDate": timestamp(ctx),
    })
    ctx.schedule(ctx.timing.org_requested, "organization.creating", org_id)
    result = {"OrganizationId": org_id}
    remember(ctx, token, result)
    return result


@timer_action("organization.creating")
def _begin_creating(ctx: Context, timer: Record) -> None:
    org = ctx.global_table("organizations").get(timer["org"])
    if org is None or org["State"] != "Requested":
        return
    org["State"] = "Creating"
    ctx.global_table("organizations").put(org["OrganizationId"], org)
    ctx.schedule(ctx.timing.org_creating, "organization.activate", org["OrganizationId"])


@timer_action("organization.activate")
def _activate(ctx: Context, timer: Record) -> None:
    organizations = ctx.global_table("organizations")
    org = organizations.get(timer["org"])
    if org is None or org["State"] != "Creating":
        return
    org_id = org["OrganizationId"]
    # The free test domain <alias>.awsapps.com is registered, verified and default
    # (Administrator Guide, "Creating an organization").
    test_domain = f"{org['Alias'].lower()}.awsapps.com"
    domains.add_domain(ctx, org_id, test_domain, test_domain=True)
    org["DefaultMailDomain"] = test_domain
    for domain in org.pop("PendingDomains", []):
        # With a Route 53 hosted zone, WorkMail writes the records itself, so the domain verifies.
        domains.add_domain(ctx, org_id, domain["DomainName"].lower(), published=bool(domain.get("HostedZoneId")))
    access.install_default_rules(ctx, org_id)
    org["State"] = "Active"
    org["CompletedDate"] = timestamp(ctx)
    organizations.put(org_id, org)


def _usable_directory(ctx: Context, directory_id: str, live: list[Record]) -> Record:
    """A directory a new organization can use: it exists in the caller's account and Region, is
    reachable, and serves no other organization."""
    directory = ctx.global_table("directories").get(directory_id)
    if (
        directory is None
        or directory.get("Region", ctx.region) != ctx.region
        or directory.get("Account", ctx.account) != ctx.account
        or directory_status(ctx, directory_id) == DIRECTORY_UNAVAILABLE
    ):
        # The wording of DirectoryUnavailableException in the API Reference.
        raise errors.DirectoryUnavailableException(
            f"The directory {directory_id} is unavailable. It might be located in another Region or deleted."
        )
    if any(o.get("DirectoryId") == directory_id for o in live):
        # Until that organization is deleted (keeping the directory), the directory is taken.
        raise errors.DirectoryInUseException(
            f"The directory {directory_id} is already in use by another WorkMail organization."
        )
    return directory


def _directory_record(
    ctx: Context, directory_id: str, alias: str, kind: str, *, created_by_workmail: bool = False
) -> Record:
    record: Record = {
        "DirectoryId": directory_id,
        "Alias": alias,
        "Type": kind,
        "Region": ctx.region,
        "Account": ctx.account,
        "Status": DIRECTORY_ACTIVE,
    }
    if created_by_workmail:
        record["CreatedByWorkMail"] = True
    return record


@operation("DescribeOrganization")
def describe_organization(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org = _visible(ctx, req["OrganizationId"])
    return output(org, DESCRIBE_FIELDS)


def _visible(ctx: Context, org_id: str) -> Record:
    """Deleted organizations stay visible (as Deleted) to Describe and List, as in the service."""
    org = ctx.global_table("organizations").get(org_id)
    if org is None or org["Region"] != ctx.region or org["Account"] != ctx.account:
        raise errors.OrganizationNotFoundException(f"The organization {org_id} does not exist.")
    return org


@operation("ListOrganizations")
def list_organizations(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    mine = [
        o for o in ctx.global_table("organizations").values()
        if o["Region"] == ctx.region and o["Account"] == ctx.account
    ]
    page, token = paginate(req, mine, lambda o: str(o["OrganizationId"]), scope="organizations")
    return page_result("OrganizationSummaries", [output(o, SUMMARY_FIELDS) for o in page], token)


@operation("DeleteOrganization")
def delete_organization(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    token = idempotent(ctx, "DeleteOrganization", req)
    if (earlier := replay(ctx, token)) is not None:
        return earlier
    org_id = req["OrganizationId"]
    org = _visible(ctx, org_id)
    if org["State"] in ("Deleting", "Deleted"):
        raise errors.OrganizationStateException(f"The organization {org_id} is already {org['State']}.")
    if org["State"] not in ("Active", "Failed", "Impaired", "Inactive"):
        raise errors.OrganizationStateException(
            f"The organization {org_id} is {org['State']}; wait until it is Active before deleting it."
        )
    enabled = [u for u in ctx.table(org_id, "users").values() if u["State"] == "ENABLED"]
    if enabled and not req.get("ForceDelete"):
        raise errors.InvalidParameterException(
            f"The organization {org_id} has {len(enabled)} enabled users; set ForceDelete to delete it anyway."
        )
    org["State"] = "Deleting"
    org["DeleteDirectory"] = bool(req["DeleteDirectory"])
    org["DeleteIdentityCenterApplication"] = bool(req.get("DeleteIdentityCenterApplication"))
    ctx.global_table("organizations").put(org_id, org)
    ctx.schedule(ctx.timing.org_deleting, "organization.delete", org_id)
    result = {"OrganizationId": org_id, "State": "Deleting"}
    remember(ctx, token, result)
    return result


@timer_action("organization.delete")
def _finish_delete(ctx: Context, timer: Record) -> None:
    organizations = ctx.global_table("organizations")
    org = organizations.get(timer["org"])
    if org is None or org["State"] != "Deleting":
        return
    org_id = org["OrganizationId"]
    if org.get("DeleteIdentityCenterApplication"):
        idp = ctx.table(org_id, "settings").get("identity_provider")
        if idp and idp.get("IdentityCenterConfiguration", {}).get("ApplicationArn"):
            ctx.global_table("identity_center_applications").delete(
                idp["IdentityCenterConfiguration"]["ApplicationArn"]
            )
    directories = ctx.global_table("directories")
    if org.get("DeleteDirectory"):
        directories.delete(org["DirectoryId"])
    # Mailboxes, domains, rules: everything WorkMail manages for the organization goes.
    ctx.store.drop_organization(org_id)
    ctx.cancel_org_timers(org_id)
    org["State"] = "Deleted"
    organizations.put(org_id, org)


@control("create-directory")
def create_directory(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    """Stand-in for AWS Directory Service: a directory an organization can be created on.

    The directory lives in the command's Region (``Region``, default the emulator's), as a
    Directory Service directory does; only an organization in that Region can use it.
    """
    alias = str(req.get("Alias") or "")
    kind = str(req.get("Type") or "SimpleAD")
    if not alias:
        raise errors.InvalidParameterException("Alias is required.")
    if kind not in DIRECTORY_TYPES:
        raise errors.InvalidParameterException(f"Type must be one of {', '.join(DIRECTORY_TYPES)}.")
    directory_id = f"d-{uuid.uuid4().hex[:10]}"
    ctx.global_table("directories").put(directory_id, _directory_record(ctx, directory_id, alias, kind))
    return {"DirectoryId": directory_id, "Region": ctx.region}


@control("set-directory-status")
def set_directory_status(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    """Stand-in for what happens to a directory in AWS Directory Service.

    ``Unavailable``: deleted or unreachable; ``AuthenticationFailed``: it no longer accepts the
    credentials WorkMail holds (an AD Connector's service account password changed);
    ``Active``: working again. WorkMail's own directories are WorkMail's and can't be changed.
    """
    directory_id = str(req.get("DirectoryId") or "")
    status = str(req.get("Status") or "")
    if status not in DIRECTORY_STATUSES:
        raise errors.InvalidParameterException(f"Status must be one of {', '.join(DIRECTORY_STATUSES)}.")
    directories = ctx.global_table("directories")
    directory = directories.get(directory_id)
    if directory is None:
        raise errors.ResourceNotFoundException(f"The directory {directory_id} does not exist.")
    if directory.get("CreatedByWorkMail"):
        raise errors.InvalidParameterException(
            f"The directory {directory_id} is a WorkMail directory, which WorkMail itself manages."
        )
    directory["Status"] = status
    directories.put(directory_id, directory)
    return output(directory, ("DirectoryId", "Alias", "Type", "Region", "Status"))
