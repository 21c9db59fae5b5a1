"""Users, groups and resources: their lifecycle (create → DISABLED, register → ENABLED,
deregister → DISABLED, delete → DELETED), addresses, group membership and resource delegates.

Lifecycle rules (API Reference, "RegisterToWorkMail", "DeleteUser"): an entity is created
DISABLED; RegisterToWorkMail gives it a mailbox and a primary address in a verified domain; it
can be deleted only when DISABLED. Names are unique across users, groups and resources of an
organization, and an address belongs to one entity only.

Operations whose documentation lists the directory errors work in the organization's
directory and fail when it can't serve them (``reach_directory``); an AD Connector directory
is read-only; and an organization in interoperability mode with Microsoft Exchange has no
WorkMail resources (Administrator Guide, "Interoperability between Amazon WorkMail and
Microsoft Exchange": resources can't be created or enabled in that mode).
"""

from __future__ import annotations

from typing import Any

from ...core.password_policy import POLICY_DIRECTORIES, password_problems
from .. import errors
from ..engine import Context
from ..registry import operation
from ..store import Record
from . import access, mailboxes
from .common import (
    MAX_ALIASES,
    check_address_available,
    claim_address,
    claim_name,
    describe_type,
    find_entity,
    is_reserved_name,
    new_hex_id,
    new_uuid,
    output,
    page_result,
    paginate,
    reach_directory,
    release_address,
    release_name,
    secret_digest,
    timestamp,
)

# Mailbox size quota in MB: 1 to 51,200 (Administrator Guide, "Editing user details"; the 50 GB
# hard quota of "Amazon WorkMail quotas").
MIN_MAILBOX_QUOTA = 1
MAX_MAILBOX_QUOTA = 51200
DEFAULT_MAILBOX_QUOTA = MAX_MAILBOX_QUOTA
# "WorkMail directory user names have a maximum length of 64. All others have a maximum
# length of 20." (CreateUser.Name documentation in the service model)
MAX_NAME_OTHER_DIRECTORIES = 20
USER_ATTRIBUTES = (
    "DisplayName", "FirstName", "LastName", "Initials", "Telephone", "Street", "JobTitle", "City",
    "Company", "ZipCode", "Department", "Country", "Office",
)
SETTABLE_ROLES = ("USER", "REMOTE_USER")
DEFAULT_BOOKING_OPTIONS = {
    "AutoAcceptRequests": True,
    "AutoDeclineRecurringRequests": False,
    "AutoDeclineConflictingRequests": True,
}


def _writable(ctx: Context, org_id: str, *, directory: bool = False, authenticates: bool = True) -> Record:
    """The organization, if its directory accepts writes (an AD Connector directory is read-only).

    With ``directory`` the operation works in the directory itself, which must be reachable first.
    """
    org = ctx.organization(org_id)
    if directory:
        reach_directory(ctx, org, authenticates=authenticates)
    if org["DirectoryType"] == "ADConnector":
        raise errors.UnsupportedOperationException("You can't perform a write operation against a read-only directory.")
    return org


def _with_resources(
    ctx: Context, org_id: str, *, write: bool = False, directory: bool = False, authenticates: bool = True
) -> Record:
    """The organization, for an operation on resources, which interoperability mode doesn't have:
    the rooms and equipment then live in Exchange."""
    if write:
        org = _writable(ctx, org_id, directory=directory, authenticates=authenticates)
    else:
        org = ctx.organization(org_id)
    if org.get("InteroperabilityEnabled"):
        raise errors.UnsupportedOperationException(
            f"Organization {org_id} is in interoperability mode with Microsoft Exchange; "
            "manage its resources in Exchange."
        )
    return org


def _check_new_name(name: str) -> None:
    if is_reserved_name(name):
        raise errors.ReservedNameException(f"The name {name} is reserved by WorkMail.")


def _check_password(org: Record, password: str) -> None:
    if org["DirectoryType"] not in POLICY_DIRECTORIES:
        return
    problems = password_problems(password)
    if problems:
        raise errors.InvalidPasswordException("The password doesn't meet the password policy: " + "; ".join(problems))


def _put(ctx: Context, org_id: str, kind: str, record: Record) -> Record:
    return ctx.table(org_id, kind).put(record["Id"], record)


def _addresses(record: Record) -> list[str]:
    return ([record["Email"]] if record.get("Email") else []) + list(record.get("Aliases", []))


def _release_addresses(ctx: Context, org_id: str, record: Record) -> None:
    for address in _addresses(record):
        release_address(ctx, org_id, address)
    record.pop("Email", None)
    record["Aliases"] = []


def _list_order(record: Record) -> str:
    # By name, as people read lists; the id breaks ties with deleted entities of the same name.
    return f"{record['Name'].lower()}\x00{record['Id']}"


def _list(
    ctx: Context, req: dict[str, Any], kind: str, member: str, fields: tuple[str, ...], prefixes: dict[str, str]
) -> dict[str, Any]:
    """ListUsers, ListGroups and ListResources: ``prefixes`` maps each prefix filter to the
    member it applies to; every list can also filter by State, one filter at a time."""
    org_id = req["OrganizationId"]
    if kind == "resources":
        _with_resources(ctx, org_id)
    else:
        ctx.organization(org_id)
    filters = {name: value for name, value in (req.get("Filters") or {}).items() if value is not None}
    if len(filters) > 1:
        # "You can only use one filter per request" (API Reference, "ListUsers", "ListGroups",
        # "ListResources": the Filters member).
        raise errors.InvalidParameterException(
            f"Only one filter per request is supported; this request sets {len(filters)}: "
            f"{', '.join(sorted(filters))}."
        )
    ordered = ctx.table(org_id, kind).ordered(_list_order, "by-name")

    def matches(record: Record) -> bool:
        return filters.get("State") in (None, record["State"]) and all(
            _prefix(record.get(member_name), filters.get(name)) for name, member_name in prefixes.items()
        )

    items = [r for r in ordered if matches(r)] if filters else ordered
    scope = f"{kind}/{org_id}/{sorted(filters.items())}"
    page, token = paginate(req, items, _list_order, scope=scope, presorted=True)
    return page_result(member, [output(r, fields) for r in page], token)


def _prefix(value: str | None, prefix: str | None) -> bool:
    # Prefix filters are case-sensitive, like the console's search (Administrator Guide,
    # "Viewing a list of users").
    return prefix is None or (value or "").startswith(prefix)


# Users ----------------------------------------------------------------------


@operation("CreateUser")
def create_user(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    org = _writable(ctx, org_id, directory=True)
    name = req["Name"]
    _check_new_name(name)
    if org["DirectoryType"] != "WorkMailDirectory" and len(name) > MAX_NAME_OTHER_DIRECTORIES:
        raise errors.InvalidParameterException(
            f"User names in a {org['DirectoryType']} directory are at most {MAX_NAME_OTHER_DIRECTORIES} characters."
        )
    role = req.get("Role", "USER")
    if role not in SETTABLE_ROLES:
        raise errors.InvalidParameterException(f"Role {role} can't be set; use USER or REMOTE_USER.")
    if "Password" in req:
        _check_password(org, req["Password"])
    user_id = new_uuid()
    claim_name(ctx, org_id, name, user_id)
    record: Record = {
        "Id": user_id,
        "Name": name,
        "DisplayName": req["DisplayName"],
        "State": "DISABLED",
        "UserRole": role,
        "HiddenFromGlobalAddressList": bool(req.get("HiddenFromGlobalAddressList", False)),
        "Aliases": [],
        "MailboxQuota": DEFAULT_MAILBOX_QUOTA,
        "CreatedDate": timestamp(ctx),
    }
    for member in ("FirstName", "LastName", "IdentityProviderUserId"):
        if req.get(member) is not None:
            record[member] = req[member]
    if "Password" in req:
        record["PasswordDigest"] = secret_digest(req["Password"])
    _put(ctx, org_id, "users", record)
    return {"UserId": user_id}


USER_FIELDS = (
    "Name", "Email", "DisplayName", "State", "UserRole", "EnabledDate", "DisabledDate",
    "MailboxProvisionedDate", "MailboxDeprovisionedDate", "FirstName", "LastName",
    "HiddenFromGlobalAddressList", "Initials", "Telephone", "Street", "JobTitle", "City", "Company",
    "ZipCode", "Department", "Country", "Office", "IdentityProviderUserId", "IdentityProviderIdentityStoreId",
)


@operation("DescribeUser")
def describe_user(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    # A user's details are read from the directory, unlike a group's or a resource's.
    reach_directory(ctx, ctx.organization(org_id))
    _, user = find_entity(ctx, org_id, req["UserId"], ("users",), what="user", include_deleted=True)
    return {"UserId": user["Id"], **output(user, USER_FIELDS)}


@operation("ListUsers")
def list_users(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    fields = ("Id", "Email", "Name", "DisplayName", "State", "UserRole", "EnabledDate", "DisabledDate",
              "IdentityProviderUserId", "IdentityProviderIdentityStoreId")
    return _list(ctx, req, "users", "Users", fields, {
        "UsernamePrefix": "Name", "DisplayNamePrefix": "DisplayName", "PrimaryEmailPrefix": "Email",
        "IdentityProviderUserIdPrefix": "IdentityProviderUserId",
    })


@operation("UpdateUser")
def update_user(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    _writable(ctx, org_id, directory=True)
    _, user = find_entity(ctx, org_id, req["UserId"], ("users",), what="user")
    role = req.get("Role")
    if role is not None and role not in SETTABLE_ROLES:
        raise errors.InvalidParameterException(f"Role {role} can't be set; use USER or REMOTE_USER.")
    if role is not None:
        user["UserRole"] = role
    for member in USER_ATTRIBUTES:
        if member in req:
            if req[member] == "" and member != "DisplayName":
                user.pop(member, None)
            else:
                user[member] = req[member]
    if req.get("HiddenFromGlobalAddressList") is not None:
        user["HiddenFromGlobalAddressList"] = req["HiddenFromGlobalAddressList"]
    if "IdentityProviderUserId" in req:
        if req["IdentityProviderUserId"]:
            user["IdentityProviderUserId"] = req["IdentityProviderUserId"]
        else:
            user.pop("IdentityProviderUserId", None)
    _put(ctx, org_id, "users", user)
    return {}


@operation("ResetPassword")
def reset_password(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    org = _writable(ctx, org_id, directory=True)
    _, user = find_entity(ctx, org_id, req["UserId"], ("users",), what="user")
    _check_password(org, req["Password"])
    user["PasswordDigest"] = secret_digest(req["Password"])
    user["PasswordLastChanged"] = timestamp(ctx)
    _put(ctx, org_id, "users", user)
    return {}


@operation("DeleteUser")
def delete_user(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    _writable(ctx, req["OrganizationId"], directory=True)
    return _delete(ctx, req, "users", req["UserId"])


def _enabled_user(ctx: Context, org_id: str, identifier: str) -> Record:
    _, user = find_entity(ctx, org_id, identifier, ("users",), what="user")
    if user["State"] != "ENABLED":
        raise errors.EntityStateException(f"The user {identifier} has no mailbox: it is {user['State']}.")
    return user


@operation("GetMailboxDetails")
def get_mailbox_details(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    user = _enabled_user(ctx, org_id, req["UserId"])
    return {
        "MailboxQuota": user["MailboxQuota"],
        "MailboxSize": mailboxes.mailbox_size_mb(ctx, org_id, user["Id"]),
    }


@operation("UpdateMailboxQuota")
def update_mailbox_quota(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    quota = req["MailboxQuota"]
    if not MIN_MAILBOX_QUOTA <= quota <= MAX_MAILBOX_QUOTA:
        raise errors.InvalidParameterException(
            f"MailboxQuota must be between {MIN_MAILBOX_QUOTA} and {MAX_MAILBOX_QUOTA} MB, got {quota}."
        )
    user = _enabled_user(ctx, org_id, req["UserId"])
    user["MailboxQuota"] = quota
    _put(ctx, org_id, "users", user)
    return {}


# Groups ---------------------------------------------------------------------


@operation("CreateGroup")
def create_group(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    _writable(ctx, org_id, directory=True)
    _check_new_name(req["Name"])
    group_id = new_uuid()
    claim_name(ctx, org_id, req["Name"], group_id)
    _put(ctx, org_id, "groups", {
        "Id": group_id,
        "Name": req["Name"],
        "State": "DISABLED",
        "HiddenFromGlobalAddressList": bool(req.get("HiddenFromGlobalAddressList", False)),
        "Members": [],
        "Aliases": [],
        "CreatedDate": timestamp(ctx),
    })
    return {"GroupId": group_id}


@operation("DescribeGroup")
def describe_group(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    _, group = find_entity(ctx, org_id, req["GroupId"], ("groups",), what="group", include_deleted=True)
    return {"GroupId": group["Id"], **output(group, ("Name", "Email", "State", "EnabledDate", "DisabledDate",
                                                      "HiddenFromGlobalAddressList"))}


@operation("ListGroups")
def list_groups(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    fields = ("Id", "Email", "Name", "State", "EnabledDate", "DisabledDate")
    return _list(ctx, req, "groups", "Groups", fields, {"NamePrefix": "Name", "PrimaryEmailPrefix": "Email"})


@operation("UpdateGroup")
def update_group(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    _writable(ctx, org_id)
    _, group = find_entity(ctx, org_id, req["GroupId"], ("groups",), what="group")
    if req.get("HiddenFromGlobalAddressList") is not None:
        group["HiddenFromGlobalAddressList"] = req["HiddenFromGlobalAddressList"]
    _put(ctx, org_id, "groups", group)
    return {}


@operation("DeleteGroup")
def delete_group(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    _writable(ctx, req["OrganizationId"], directory=True)
    return _delete(ctx, req, "groups", req["GroupId"])


def _contains(ctx: Context, org_id: str, group: Record, target: str, seen: set[str]) -> bool:
    """Whether ``target`` is ``group`` or one of its members, through nested groups."""
    if group["Id"] == target:
        return True
    groups = ctx.table(org_id, "groups")
    for member_id in group["Members"]:
        if member_id in seen:
            continue
        seen.add(member_id)
        member = groups.get(member_id)
        if member_id == target or (member is not None and _contains(ctx, org_id, member, target, seen)):
            return True
    return False


@operation("AssociateMemberToGroup")
def associate_member_to_group(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    _writable(ctx, org_id, directory=True)
    _, group = find_entity(ctx, org_id, req["GroupId"], ("groups",), what="group")
    kind, member = find_entity(ctx, org_id, req["MemberId"], ("users", "groups"), what="user or group")
    if member["Id"] in group["Members"]:
        return {}
    # Permissions granted to a group pass to its members transitively (Administrator Guide,
    # "Working with mailbox permissions"), so a group that contains itself would make that
    # closure meaningless: refuse cycles.
    if kind == "groups" and _contains(ctx, org_id, member, group["Id"], set()):
        raise errors.InvalidParameterException(
            f"Adding group {member['Name']} to {group['Name']} would make a group contain itself."
        )
    group["Members"].append(member["Id"])
    _put(ctx, org_id, "groups", group)
    return {}


@operation("DisassociateMemberFromGroup")
def disassociate_member_from_group(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    _writable(ctx, org_id, directory=True)
    _, group = find_entity(ctx, org_id, req["GroupId"], ("groups",), what="group")
    _, member = find_entity(ctx, org_id, req["MemberId"], ("users", "groups"), what="user or group")
    if member["Id"] not in group["Members"]:
        raise errors.EntityNotFoundException(f"{req['MemberId']} is not a member of group {req['GroupId']}.")
    group["Members"].remove(member["Id"])
    _put(ctx, org_id, "groups", group)
    return {}


@operation("ListGroupMembers")
def list_group_members(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    _, group = find_entity(ctx, org_id, req["GroupId"], ("groups",), what="group")
    members = []
    for member_id in group["Members"]:
        for kind, member_type in (("users", "USER"), ("groups", "GROUP")):
            member = ctx.table(org_id, kind).get(member_id)
            if member is not None:
                members.append({"Type": member_type, **output(member, ("Id", "Name", "State", "EnabledDate",
                                                                        "DisabledDate"))})
    page, token = paginate(req, members, lambda m: str(m["Id"]), scope=f"members/{org_id}/{group['Id']}")
    return page_result("Members", page, token)


@operation("ListGroupsForEntity")
def list_groups_for_entity(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    _, entity = find_entity(ctx, org_id, req["EntityId"], ("users", "groups"), what="user or group")
    prefix = (req.get("Filters") or {}).get("GroupNamePrefix")
    groups = [
        {"GroupId": g["Id"], "GroupName": g["Name"]}
        for g in ctx.table(org_id, "groups").values()
        if entity["Id"] in g["Members"] and g["State"] != "DELETED" and _prefix(g["Name"], prefix)
    ]
    page, token = paginate(req, groups, lambda g: str(g["GroupId"]),
                           scope=f"groups-for/{org_id}/{entity['Id']}/{prefix}")
    return page_result("Groups", page, token)


# Resources ------------------------------------------------------------------


@operation("CreateResource")
def create_resource(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    _with_resources(ctx, org_id, write=True, directory=True)
    _check_new_name(req["Name"])
    resource_id = new_hex_id("r-")
    claim_name(ctx, org_id, req["Name"], resource_id)
    record: Record = {
        "Id": resource_id,
        "Name": req["Name"],
        "Type": req["Type"],
        "State": "DISABLED",
        "HiddenFromGlobalAddressList": bool(req.get("HiddenFromGlobalAddressList", False)),
        "BookingOptions": dict(DEFAULT_BOOKING_OPTIONS),
        "Delegates": [],
        "Aliases": [],
        "CreatedDate": timestamp(ctx),
    }
    if req.get("Description") is not None:
        record["Description"] = req["Description"]
    _put(ctx, org_id, "resources", record)
    return {"ResourceId": resource_id}


@operation("DescribeResource")
def describe_resource(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    _with_resources(ctx, org_id)
    _, resource = find_entity(ctx, org_id, req["ResourceId"], ("resources",), what="resource", include_deleted=True)
    return {"ResourceId": resource["Id"], **output(resource, (
        "Email", "Name", "Type", "BookingOptions", "State", "EnabledDate", "DisabledDate", "Description",
        "HiddenFromGlobalAddressList"))}


@operation("ListResources")
def list_resources(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    fields = ("Id", "Email", "Name", "Type", "State", "EnabledDate", "DisabledDate", "Description")
    return _list(ctx, req, "resources", "Resources", fields, {"NamePrefix": "Name", "PrimaryEmailPrefix": "Email"})


@operation("UpdateResource")
def update_resource(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    # The only directory error UpdateResource documents is DirectoryUnavailableException.
    _with_resources(ctx, org_id, write=True, directory=True, authenticates=False)
    _, resource = find_entity(ctx, org_id, req["ResourceId"], ("resources",), what="resource")
    booking = {**resource["BookingOptions"], **(req.get("BookingOptions") or {})}
    if not booking["AutoAcceptRequests"] and not resource["Delegates"]:
        # Requests that are not accepted automatically need a delegate to answer them
        # (Administrator Guide, "Editing resource details").
        raise errors.InvalidConfigurationException(
            f"Resource {resource['Name']} needs at least one delegate before AutoAcceptRequests can be false."
        )
    new_name = req.get("Name")
    if new_name is not None and is_reserved_name(new_name):
        # UpdateResource doesn't document ReservedNameException; the name breaks a restriction.
        raise errors.InvalidParameterException(f"The name {new_name} is reserved by WorkMail.")
    if new_name is not None and new_name != resource["Name"]:
        claim_name(ctx, org_id, new_name, resource["Id"])
        release_name(ctx, org_id, resource["Name"])
        resource["Name"] = new_name
    resource["BookingOptions"] = booking
    if req.get("Type") is not None:
        resource["Type"] = req["Type"]
    if "Description" in req:
        if req["Description"]:
            resource["Description"] = req["Description"]
        else:
            resource.pop("Description", None)
    if req.get("HiddenFromGlobalAddressList") is not None:
        resource["HiddenFromGlobalAddressList"] = req["HiddenFromGlobalAddressList"]
    _put(ctx, org_id, "resources", resource)
    return {}


@operation("DeleteResource")
def delete_resource(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    _with_resources(ctx, req["OrganizationId"], write=True)
    return _delete(ctx, req, "resources", req["ResourceId"])


@operation("AssociateDelegateToResource")
def associate_delegate_to_resource(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    _with_resources(ctx, org_id, write=True)
    _, resource = find_entity(ctx, org_id, req["ResourceId"], ("resources",), what="resource")
    kind, delegate = find_entity(ctx, org_id, req["EntityId"], what="user or group")
    if kind == "resources":
        # Delegates answer booking requests for the resource: users and groups only (API Reference,
        # "AssociateDelegateToResource").
        raise errors.InvalidParameterException(
            f"{req['EntityId']} is a resource; only users and groups can be delegates."
        )
    if delegate["Id"] not in resource["Delegates"]:
        resource["Delegates"].append(delegate["Id"])
        _put(ctx, org_id, "resources", resource)
    return {}


@operation("DisassociateDelegateFromResource")
def disassociate_delegate_from_resource(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    _with_resources(ctx, org_id, write=True)
    _, resource = find_entity(ctx, org_id, req["ResourceId"], ("resources",), what="resource")
    _, delegate = find_entity(ctx, org_id, req["EntityId"], ("users", "groups"), what="user or group")
    if delegate["Id"] not in resource["Delegates"]:
        raise errors.EntityNotFoundException(f"{req['EntityId']} is not a delegate of resource {req['ResourceId']}.")
    if resource["Delegates"] == [delegate["Id"]] and not resource["BookingOptions"]["AutoAcceptRequests"]:
        raise errors.InvalidParameterException(
            f"{req['EntityId']} is the last delegate of {resource['Name']}, which does not accept requests "
            "automatically; turn AutoAcceptRequests on first."
        )
    resource["Delegates"].remove(delegate["Id"])
    _put(ctx, org_id, "resources", resource)
    return {}


@operation("ListResourceDelegates")
def list_resource_delegates(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    _with_resources(ctx, org_id)
    _, resource = find_entity(ctx, org_id, req["ResourceId"], ("resources",), what="resource")
    delegates = [
        {"Id": delegate_id, "Type": "GROUP" if delegate_id in ctx.table(org_id, "groups") else "USER"}
        for delegate_id in resource["Delegates"]
    ]
    page, token = paginate(req, delegates, lambda d: str(d["Id"]), scope=f"delegates/{org_id}/{resource['Id']}")
    return page_result("Delegates", page, token)


# Shared by users, groups and resources -------------------------------------


def _delete(ctx: Context, req: dict[str, Any], kind: str, identifier: str) -> dict[str, Any]:
    """DeleteUser, DeleteGroup and DeleteResource, once each has checked its organization."""
    org_id = req["OrganizationId"]
    table = ctx.table(org_id, kind)
    try:
        _, record = find_entity(ctx, org_id, identifier, (kind,), include_deleted=True)
    except errors.EntityNotFoundException:
        return {}  # deleting what is not there is a success, as in the service
    if record["State"] == "DELETED":
        return {}
    if record["State"] != "DISABLED":
        # Only a disabled entity can be deleted (API Reference, "DeleteUser").
        raise errors.EntityStateException(
            f"{record['Name']} is {record['State']}; deregister it from WorkMail before deleting it."
        )
    entity_id = record["Id"]
    release_name(ctx, org_id, record["Name"])
    _release_addresses(ctx, org_id, record)
    groups = ctx.table(org_id, "groups")
    for group in groups.values():
        if entity_id in group["Members"]:
            group["Members"].remove(entity_id)
            groups.put(group["Id"], group)
    resources = ctx.table(org_id, "resources")
    for resource in resources.values():
        if entity_id in resource["Delegates"]:
            resource["Delegates"].remove(entity_id)
            resources.put(resource["Id"], resource)
    if kind == "groups":
        record["Members"] = []
    if kind == "users":
        access.forget_user(ctx, org_id, entity_id)
    mailboxes.forget_entity(ctx, org_id, entity_id)
    mailboxes.forget_mailbox(ctx, org_id, entity_id)
    record["State"] = "DELETED"
    record.pop("PasswordDigest", None)
    table.put(entity_id, record)
    return {}


@operation("RegisterToWorkMail")
def register_to_workmail(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    # Registering gives the directory's entity a mailbox; it writes nothing to the directory, so
    # an AD Connector directory (read-only) is fine, but it must be reachable.
    reach_directory(ctx, ctx.organization(org_id))
    kind, entity = find_entity(ctx, org_id, req["EntityId"])
    email = req["Email"]
    if entity["State"] == "ENABLED":
        if (entity.get("Email") or "").lower() == email.lower():
            return {}  # "performs no change if the user, group, or resource is enabled"
        raise errors.EntityAlreadyRegisteredException(
            f"{entity['Name']} is already registered to WorkMail with {entity.get('Email')}."
        )
    claim_address(ctx, org_id, email, entity["Id"])
    entity["Email"] = email
    entity["State"] = "ENABLED"
    entity["EnabledDate"] = timestamp(ctx)
    entity.pop("DisabledDate", None)
    if kind == "users":
        entity["MailboxProvisionedDate"] = timestamp(ctx)
        entity.pop("MailboxDeprovisionedDate", None)
    _put(ctx, org_id, kind, entity)
    return {}


@operation("DeregisterFromWorkMail")
def deregister_from_workmail(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    kind, entity = find_entity(ctx, org_id, req["EntityId"])
    if entity["State"] == "DISABLED":
        return {}
    # Disabling removes the mailbox and its addresses; the mailbox is kept 30 days before it
    # is removed for good (Administrator Guide, "Disabling users"), which the emulator does not model.
    _release_addresses(ctx, org_id, entity)
    entity["State"] = "DISABLED"
    entity["DisabledDate"] = timestamp(ctx)
    if kind == "users":
        entity["MailboxDeprovisionedDate"] = timestamp(ctx)
    _put(ctx, org_id, kind, entity)
    return {}


def _enabled_entity(ctx: Context, org_id: str, identifier: str) -> tuple[str, Record]:
    kind, entity = find_entity(ctx, org_id, identifier)
    if entity["State"] != "ENABLED":
        raise errors.EntityStateException(
            f"{entity['Name']} is {entity['State']}; register it to WorkMail before changing its addresses."
        )
    return kind, entity


@operation("CreateAlias")
def create_alias(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    kind, entity = _enabled_entity(ctx, org_id, req["EntityId"])
    alias = req["Alias"]
    if alias.lower() in (a.lower() for a in _addresses(entity)):
        return {}
    if len(entity["Aliases"]) >= MAX_ALIASES:
        # At most 100 aliases per user, a hard quota (Administrator Guide, "Amazon WorkMail quotas").
        raise errors.LimitExceededException(f"{entity['Name']} already has {MAX_ALIASES} aliases.")
    claim_address(ctx, org_id, alias, entity["Id"])
    entity["Aliases"].append(alias)
    _put(ctx, org_id, kind, entity)
    return {}


@operation("DeleteAlias")
def delete_alias(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    kind, entity = find_entity(ctx, org_id, req["EntityId"])
    alias = req["Alias"].lower()
    if (entity.get("Email") or "").lower() == alias:
        raise errors.InvalidParameterException(
            f"{req['Alias']} is the primary address of {entity['Name']}; change the primary address first."
        )
    kept = [a for a in entity["Aliases"] if a.lower() != alias]
    if len(kept) != len(entity["Aliases"]):
        entity["Aliases"] = kept
        release_address(ctx, org_id, alias)
        _put(ctx, org_id, kind, entity)
    return {}


@operation("ListAliases")
def list_aliases(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    _, entity = find_entity(ctx, org_id, req["EntityId"])
    items = [{"Alias": a} for a in entity["Aliases"]]
    page, token = paginate(req, items, lambda a: str(a["Alias"]).lower(), scope=f"aliases/{org_id}/{entity['Id']}")
    return page_result("Aliases", [a["Alias"] for a in page], token)


@operation("UpdatePrimaryEmailAddress")
def update_primary_email_address(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    _writable(ctx, org_id, directory=True)
    kind, entity = _enabled_entity(ctx, org_id, req["EntityId"])
    email = req["Email"]
    current = entity.get("Email") or ""
    if current.lower() == email.lower():
        return {}
    # "The current email is moved into the list of aliases (or swapped between an existing
    # alias and the current primary email)" (UpdatePrimaryEmailAddress documentation).
    existing_alias = next((a for a in entity["Aliases"] if a.lower() == email.lower()), None)
    if existing_alias is None:
        check_address_available(ctx, org_id, email, entity["Id"])
        if len(entity["Aliases"]) >= MAX_ALIASES:
            # UpdatePrimaryEmailAddress doesn't document LimitExceededException: the request
            # itself is what can't be carried out.
            raise errors.InvalidParameterException(
                f"{entity['Name']} has {MAX_ALIASES} aliases; the old primary address can't become one."
            )
        claim_address(ctx, org_id, email, entity["Id"])
    else:
        entity["Aliases"].remove(existing_alias)
    if current:
        entity["Aliases"].append(current)
    entity["Email"] = email
    _put(ctx, org_id, kind, entity)
    return {}


@operation("DescribeEntity")
def describe_entity(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    owner = ctx.table(org_id, "addresses").get(req["Email"].lower())
    if owner is None:
        raise errors.EntityNotFoundException(f"No user, group or resource has the address {req['Email']}.")
    kind, entity = find_entity(ctx, org_id, owner["EntityId"])
    return {"EntityId": entity["Id"], "Name": entity["Name"], "Type": describe_type(kind)}
