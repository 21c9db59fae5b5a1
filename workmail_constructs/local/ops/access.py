"""Access control: access control rules, mobile device access rules and overrides, and
impersonation roles, with the effect computations the Guide describes for each.

Three rule systems share one evaluation order (DENY wins, then ALLOW, and nothing
matching means DENY) but differ in what a condition is: access control rules test a
protocol, an IPv4 address, a user and an impersonation role; mobile device rules test
self-reported device properties by prefix; impersonation rules test the target user.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterable
from functools import cache
from typing import Any

from .. import errors
from ..engine import Context
from ..registry import operation
from ..store import Record
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

# Per-organization tables.
ACCESS_RULES = "access_rules"  # keyed by rule Name
MOBILE_RULES = "mobile_rules"  # keyed by MobileDeviceAccessRuleId
MOBILE_OVERRIDES = "mobile_overrides"  # keyed by "<user id>/<lower-cased device id>"
IMPERSONATION_ROLES = "impersonation_roles"  # keyed by ImpersonationRoleId
IMPERSONATION_TOKENS = "impersonation_tokens"  # keyed by secret_digest(token)

ALLOW = "ALLOW"
DENY = "DENY"

# The protocols an access control rule can name, as the API spells them (API Reference,
# "PutAccessControlRule", Actions; the console's list is in the Administrator Guide,
# "Working with access control rules").
ACCESS_ACTIONS = ("ActiveSync", "AutoDiscover", "EWS", "IMAP", "SMTP", "WindowsOutlook", "WebMail")
# Impersonation works over EWS only (Administrator Guide, "Managing impersonation roles"; API Reference,
# "GetAccessControlEffect").
IMPERSONATION_ACTION = "EWS"

# The Guide gives no quotas for these; the model's list maxima are the only numbers,
# and a response could not carry more, so they are the per-organization limits.
MAX_ACCESS_RULES = 10  # ListAccessControlRules.Rules max
MAX_MOBILE_RULES = 10  # ListMobileDeviceAccessRules.Rules max
MAX_IMPERSONATION_ROLES = 20  # ListImpersonationRoles.Roles max (also the largest page)

# A token is to be used within 15 minutes (Administrator Guide, "Using impersonation roles").
IMPERSONATION_TOKEN_SECONDS = 900

# Every organization starts with rules that allow everything (Administrator Guide, "Working with
# access control rules" and "Managing mobile device access rules"). The Guide does not name
# them; the name follows its own "DefaultDenyAll" example ("Integrating with mobile device
# management solutions").
DEFAULT_RULE_NAME = "DefaultAllowAll"
DEFAULT_ACCESS_RULE_DESCRIPTION = "Default access control rule: allows all users and impersonation roles"
DEFAULT_MOBILE_RULE_DESCRIPTION = "Default mobile device access rule: allows all devices"

ACCESS_RULE_FIELDS = (
    "Name", "Effect", "Description", "IpRanges", "NotIpRanges", "Actions", "NotActions", "UserIds",
    "NotUserIds", "DateCreated", "DateModified", "ImpersonationRoleIds", "NotImpersonationRoleIds",
)
ACCESS_RULE_LISTS = (
    "IpRanges", "NotIpRanges", "Actions", "NotActions", "UserIds", "NotUserIds",
    "ImpersonationRoleIds", "NotImpersonationRoleIds",
)

# (condition, negated condition, the device property GetMobileDeviceAccessEffect reports)
MOBILE_CONDITIONS = (
    ("DeviceTypes", "NotDeviceTypes", "DeviceType"),
    ("DeviceModels", "NotDeviceModels", "DeviceModel"),
    ("DeviceOperatingSystems", "NotDeviceOperatingSystems", "DeviceOperatingSystem"),
    ("DeviceUserAgents", "NotDeviceUserAgents", "DeviceUserAgent"),
)
MOBILE_CONDITION_FIELDS = tuple(name for group in MOBILE_CONDITIONS for name in group[:2])
MOBILE_RULE_FIELDS = (
    "MobileDeviceAccessRuleId", "Name", "Description", "Effect", *MOBILE_CONDITION_FIELDS,
    "DateCreated", "DateModified",
)
# A positive condition value that matches a device reporting nothing for the property
# (Administrator Guide, "Managing mobile device access rules", "Handling empty fields").
NONE_VALUE = "$NONE"

OVERRIDE_FIELDS = ("UserId", "DeviceId", "Effect", "Description", "DateCreated", "DateModified")

ROLE_FIELDS = ("ImpersonationRoleId", "Name", "Type", "Description", "Rules", "DateCreated", "DateModified")
ROLE_SUMMARY_FIELDS = ("ImpersonationRoleId", "Name", "Type", "DateCreated", "DateModified")
IMPERSONATION_RULE_FIELDS = (
    "ImpersonationRuleId", "Name", "Description", "Effect", "TargetUsers", "NotTargetUsers",
)


def _decide(matched: list[Record]) -> tuple[str, list[Record]]:
    """The effect of the matching rules and the rules that produce it.

    DENY takes precedence over ALLOW, and a request no rule matches is denied: the
    Administrator Guide states this for mobile device rules ("Managing mobile device access
    rules") and impersonation rules ("Managing impersonation roles"); for access control
    rules it says only that no rules at all blocks everything ("Working with access control
    rules"), so the same order is used there.
    """
    denying = [rule for rule in matched if rule["Effect"] == DENY]
    if denying:
        return DENY, denying
    allowing = [rule for rule in matched if rule["Effect"] == ALLOW]
    if allowing:
        return ALLOW, allowing
    return DENY, []


def _user_id(ctx: Context, org_id: str, identifier: str) -> str:
    """A user's id from its id, email address or name; groups and resources are not users."""
    _, user = find_entity(ctx, org_id, identifier, kinds=("users",), what="user")
    return str(user["Id"])


def _user_ids(ctx: Context, org_id: str, identifiers: Iterable[str]) -> list[str]:
    """Resolved ids in the caller's order, each once."""
    resolved: list[str] = []
    for identifier in identifiers:
        user_id = _user_id(ctx, org_id, identifier)
        if user_id not in resolved:
            resolved.append(user_id)
    return resolved


def _require_enabled(user: Record, what: str) -> None:
    if user["State"] != "ENABLED":
        raise errors.EntityStateException(
            f"The user {user['Id']} is {user['State']}; {what} needs a user enabled for WorkMail."
        )


# Access control rules ---------------------------------------------------------


@cache
def _network(cidr: str) -> ipaddress.IPv4Network:
    # Host bits after the prefix are ignored (10.1.2.3/8 is 10.0.0.0/8), as CIDR matching does.
    return ipaddress.IPv4Network(cidr, strict=False)


def _in_ranges(address: ipaddress.IPv4Address, ranges: Iterable[str]) -> bool:
    return any(address in _network(cidr) for cidr in ranges)


def _principal_condition(include: list[str] | None, exclude: list[str] | None, principal: str | None) -> bool:
    """Include or exclude a user (or an impersonation role).

    A request not made by that kind of principal matches neither list: a rule about
    users says nothing about requests made by impersonation roles alone, and vice versa.
    The Administrator Guide states this "negative conditions never match a missing value" rule
    for mobile device rules ("Managing mobile device access rules"); "Working with access
    control rules" is silent.
    """
    if include and (principal is None or principal not in include):
        return False
    return not (exclude and (principal is None or principal in exclude))


def access_rule_matches(
    rule: Record, action: str, address: ipaddress.IPv4Address, user_id: str | None, role_id: str | None
) -> bool:
    """Whether every condition of the rule holds for the request; no conditions match all
    (Administrator Guide, "Working with access control rules")."""
    if rule.get("Actions") and action not in rule["Actions"]:
        return False
    if rule.get("NotActions") and action in rule["NotActions"]:
        return False
    if rule.get("IpRanges") and not _in_ranges(address, rule["IpRanges"]):
        return False
    if rule.get("NotIpRanges") and _in_ranges(address, rule["NotIpRanges"]):
        return False
    if not _principal_condition(rule.get("UserIds"), rule.get("NotUserIds"), user_id):
        return False
    roles, not_roles = rule.get("ImpersonationRoleIds"), rule.get("NotImpersonationRoleIds")
    return _principal_condition(roles, not_roles, role_id)


def _check_actions(actions: Iterable[str]) -> None:
    for action in actions:
        if action not in ACCESS_ACTIONS:
            raise errors.InvalidParameterException(
                f"The access control action {action} is not valid; "
                f"valid actions are {', '.join(ACCESS_ACTIONS)}."
            )


def _ordered(records: Iterable[Record]) -> list[Record]:
    """Rules in the order they were created, as the console lists them."""
    return sorted(records, key=lambda r: int(r["Seq"]))


def _next_seq(records: Iterable[Record]) -> int:
    # Creation timestamps can tie within a millisecond; a counter keeps the order exact.
    return max((int(r["Seq"]) for r in records), default=0) + 1


def install_default_rules(ctx: Context, org_id: str) -> None:
    """Give a new organization the rules every organization starts with.

    An access control rule allowing every user and impersonation role over every protocol
    from every address (Administrator Guide, "Working with access control rules"), and a
    mobile device access rule allowing every device ("Managing mobile device access rules"),
    both named ``DefaultAllowAll``. Call it once, when the organization becomes Active; a
    rule already present under that name is kept.
    """
    now = timestamp(ctx)
    access_rules = ctx.table(org_id, ACCESS_RULES)
    if DEFAULT_RULE_NAME not in access_rules:
        access_rules.put(DEFAULT_RULE_NAME, {
            "Seq": _next_seq(access_rules.values()),
            "Name": DEFAULT_RULE_NAME,
            "Effect": ALLOW,
            "Description": DEFAULT_ACCESS_RULE_DESCRIPTION,
            "DateCreated": now,
            "DateModified": now,
        })
    mobile_rules = ctx.table(org_id, MOBILE_RULES)
    if not any(rule["Name"] == DEFAULT_RULE_NAME for rule in mobile_rules.values()):
        rule_id = new_uuid()
        mobile_rules.put(rule_id, {
            "Seq": _next_seq(mobile_rules.values()),
            "MobileDeviceAccessRuleId": rule_id,
            "Name": DEFAULT_RULE_NAME,
            "Description": DEFAULT_MOBILE_RULE_DESCRIPTION,
            "Effect": ALLOW,
            "DateCreated": now,
            "DateModified": now,
        })


@operation("PutAccessControlRule")
def put_access_control_rule(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    name = req["Name"]
    _check_actions(req.get("Actions") or [])
    _check_actions(req.get("NotActions") or [])
    user_ids = {key: _user_ids(ctx, org_id, req[key]) for key in ("UserIds", "NotUserIds") if key in req}
    roles = ctx.table(org_id, IMPERSONATION_ROLES)
    for key in ("ImpersonationRoleIds", "NotImpersonationRoleIds"):
        for role_id in req.get(key) or []:
            if role_id not in roles:
                raise errors.ResourceNotFoundException(
                    f"The impersonation role {role_id} does not exist in organization {org_id}."
                )
    table = ctx.table(org_id, ACCESS_RULES)
    existing = table.get(name)
    if existing is None and len(table) >= MAX_ACCESS_RULES:
        raise errors.LimitExceededException(
            f"The organization {org_id} already has {MAX_ACCESS_RULES} access control rules."
        )
    now = timestamp(ctx)
    # A rule with the same name is replaced (API Reference, "PutAccessControlRule"); it keeps its
    # creation date.
    record: Record = {
        "Seq": existing["Seq"] if existing else _next_seq(table.values()),
        "Name": name,
        "Effect": req["Effect"],
        "Description": req["Description"],
        "DateCreated": existing["DateCreated"] if existing else now,
        "DateModified": now,
    }
    for key in ACCESS_RULE_LISTS:
        if key in user_ids:
            record[key] = user_ids[key]
        elif key in req:
            record[key] = list(req[key])
    table.put(name, record)
    return {}


@operation("DeleteAccessControlRule")
def delete_access_control_rule(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    # Deleting an absent rule succeeds (API Reference, "DeleteAccessControlRule"); deleting the
    # last one blocks all access (Administrator Guide, "Working with access control rules").
    ctx.table(org_id, ACCESS_RULES).delete(req["Name"])
    return {}


@operation("ListAccessControlRules")
def list_access_control_rules(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    rules = _ordered(ctx.table(org_id, ACCESS_RULES).values())
    return {"Rules": [output(rule, ACCESS_RULE_FIELDS) for rule in rules]}


@operation("GetAccessControlEffect")
def get_access_control_effect(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    action = req["Action"]
    _check_actions([action])
    if not req.get("UserId") and not req.get("ImpersonationRoleId"):
        raise errors.InvalidParameterException("Either UserId or ImpersonationRoleId must be provided.")
    role_id = req.get("ImpersonationRoleId")
    if role_id:
        if action != IMPERSONATION_ACTION:
            raise errors.InvalidParameterException(
                f"ImpersonationRoleId can only be used with Action {IMPERSONATION_ACTION}."
            )
        if role_id not in ctx.table(org_id, IMPERSONATION_ROLES):
            raise errors.ResourceNotFoundException(
                f"The impersonation role {role_id} does not exist in organization {org_id}."
            )
    user_id = _user_id(ctx, org_id, req["UserId"]) if req.get("UserId") else None
    address = ipaddress.IPv4Address(req["IpAddress"])
    rules = _ordered(ctx.table(org_id, ACCESS_RULES).values())
    matched = [rule for rule in rules if access_rule_matches(rule, action, address, user_id, role_id)]
    effect, deciding = _decide(matched)
    return {"Effect": effect, "MatchedRules": [rule["Name"] for rule in deciding]}


# Mobile device access rules -------------------------------------------------


def _mobile_condition(values: list[str], negated: bool, reported: str | None) -> bool:
    """One condition against one reported property: a case-insensitive prefix match, any value.

    The translated Guide we read says the match is case-sensitive, but its own examples only work
    case-insensitively ("android" blocking "Android"), as the English original says
    (Administrator Guide, "Managing mobile device access rules").
    """
    if not reported:
        # $NONE matches a property the device does not report; a negated condition never
        # matches a missing value (Administrator Guide, "Managing mobile device access rules",
        # "Handling empty fields").
        return not negated and NONE_VALUE in values
    text = reported.lower()
    hit = any(value != NONE_VALUE and text.startswith(value.lower()) for value in values)
    return hit != negated


def mobile_rule_matches(rule: Record, device: dict[str, str | None]) -> bool:
    """All of a rule's conditions must match (AND); a rule without conditions matches every device
    (Administrator Guide, "Managing mobile device access rules")."""
    for positive, negative, prop in MOBILE_CONDITIONS:
        if rule.get(positive) and not _mobile_condition(rule[positive], False, device.get(prop)):
            return False
        if rule.get(negative) and not _mobile_condition(rule[negative], True, device.get(prop)):
            return False
    return True


def mobile_device_effect(
    ctx: Context, org_id: str, device: dict[str, str | None], user_id: str | None = None,
    device_id: str | None = None,
) -> tuple[str, list[Record]]:
    """What WorkMail decides for a device syncing over ActiveSync (the only protocol the rules see,
    Administrator Guide, "Managing mobile device access rules").

    An override for the user and device replaces the rules' result (Administrator Guide,
    "Managing mobile device access overrides"); without one the rules decide. Returns the
    effect and the rules that produced it (none when an override decided).
    """
    if user_id is not None and device_id is not None:
        override = ctx.table(org_id, MOBILE_OVERRIDES).get(_override_key(user_id, device_id))
        if override is not None:
            return str(override["Effect"]), []
    rules = _ordered(ctx.table(org_id, MOBILE_RULES).values())
    return _decide([rule for rule in rules if mobile_rule_matches(rule, device)])


def _mobile_rule_record(req: dict[str, Any], rule_id: str, seq: int, created: float, now: float) -> Record:
    record: Record = {
        "Seq": seq,
        "MobileDeviceAccessRuleId": rule_id,
        "Name": req["Name"],
        "Effect": req["Effect"],
        "DateCreated": created,
        "DateModified": now,
    }
    if req.get("Description") is not None:
        record["Description"] = req["Description"]
    for key in MOBILE_CONDITION_FIELDS:
        if req.get(key):
            record[key] = list(req[key])
    return record


def _check_none_value(req: dict[str, Any]) -> None:
    for _, negative, _prop in MOBILE_CONDITIONS:
        if NONE_VALUE in (req.get(negative) or []):
            # $NONE is defined for positive conditions only; a negated condition never matches
            # a missing value anyway, so it could never mean anything (Administrator Guide,
            # "Managing mobile device access rules", "Handling empty fields").
            raise errors.InvalidParameterException(f"{NONE_VALUE} can't be used in {negative}.")


@operation("CreateMobileDeviceAccessRule")
def create_mobile_device_access_rule(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    token = idempotent(ctx, "CreateMobileDeviceAccessRule", req)
    if (earlier := replay(ctx, token)) is not None:
        return earlier
    _check_none_value(req)
    table = ctx.table(org_id, MOBILE_RULES)
    if len(table) >= MAX_MOBILE_RULES:
        raise errors.LimitExceededException(
            f"The organization {org_id} already has {MAX_MOBILE_RULES} mobile device access rules."
        )
    rule_id = new_uuid()
    now = timestamp(ctx)
    table.put(rule_id, _mobile_rule_record(req, rule_id, _next_seq(table.values()), now, now))
    result = {"MobileDeviceAccessRuleId": rule_id}
    remember(ctx, token, result)
    return result


@operation("UpdateMobileDeviceAccessRule")
def update_mobile_device_access_rule(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    rule_id = req["MobileDeviceAccessRuleId"]
    table = ctx.table(org_id, MOBILE_RULES)
    existing = table.get(rule_id)
    if existing is None:
        raise errors.EntityNotFoundException(
            f"The mobile device access rule {rule_id} does not exist in organization {org_id}."
        )
    _check_none_value(req)
    # Name and Effect are required, so an update states the whole rule: what it omits is dropped.
    record = _mobile_rule_record(req, rule_id, existing["Seq"], existing["DateCreated"], timestamp(ctx))
    table.put(rule_id, record)
    return {}


@operation("DeleteMobileDeviceAccessRule")
def delete_mobile_device_access_rule(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    # Absent rules delete successfully (API Reference, "DeleteMobileDeviceAccessRule"); no rules at
    # all blocks every device (Administrator Guide, "Managing mobile device access rules").
    ctx.table(org_id, MOBILE_RULES).delete(req["MobileDeviceAccessRuleId"])
    return {}


@operation("ListMobileDeviceAccessRules")
def list_mobile_device_access_rules(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    rules = _ordered(ctx.table(org_id, MOBILE_RULES).values())
    return {"Rules": [output(rule, MOBILE_RULE_FIELDS) for rule in rules]}


@operation("GetMobileDeviceAccessEffect")
def get_mobile_device_access_effect(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    # The request names device properties only, so it tests the rules, never an override.
    device = {prop: req.get(prop) for _, _, prop in MOBILE_CONDITIONS}
    effect, deciding = mobile_device_effect(ctx, org_id, device)
    return {
        "Effect": effect,
        "MatchedRules": [output(rule, ("MobileDeviceAccessRuleId", "Name")) for rule in deciding],
    }


# Mobile device access overrides ---------------------------------------------


def _override_key(user_id: str, device_id: str) -> str:
    # DeviceId is case-insensitive (API Reference, "PutMobileDeviceAccessOverride").
    return f"{user_id}/{device_id.lower()}"


@operation("PutMobileDeviceAccessOverride")
def put_mobile_device_access_override(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    _, user = find_entity(ctx, org_id, req["UserId"], kinds=("users",), what="user")
    _require_enabled(user, "a mobile device access override")
    table = ctx.table(org_id, MOBILE_OVERRIDES)
    key = _override_key(user["Id"], req["DeviceId"])
    existing = table.get(key)
    now = timestamp(ctx)
    record: Record = {
        "UserId": user["Id"],
        "DeviceId": req["DeviceId"],
        "Effect": req["Effect"],
        "DateCreated": existing["DateCreated"] if existing else now,
        "DateModified": now,
    }
    if req.get("Description") is not None:
        record["Description"] = req["Description"]
    table.put(key, record)
    return {}


@operation("GetMobileDeviceAccessOverride")
def get_mobile_device_access_override(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    user_id = _user_id(ctx, org_id, req["UserId"])
    override = ctx.table(org_id, MOBILE_OVERRIDES).get(_override_key(user_id, req["DeviceId"]))
    if override is None:
        raise errors.ResourceNotFoundException(
            f"No mobile device access override exists for user {user_id} and device {req['DeviceId']}."
        )
    return output(override, OVERRIDE_FIELDS)


@operation("DeleteMobileDeviceAccessOverride")
def delete_mobile_device_access_override(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    user_id = _user_id(ctx, org_id, req["UserId"])
    # Absent overrides delete successfully (API Reference, "DeleteMobileDeviceAccessOverride"); the
    # rules decide again (Administrator Guide, "Managing mobile device access overrides").
    ctx.table(org_id, MOBILE_OVERRIDES).delete(_override_key(user_id, req["DeviceId"]))
    return {}


@operation("ListMobileDeviceAccessOverrides")
def list_mobile_device_access_overrides(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    user_id = _user_id(ctx, org_id, req["UserId"]) if req.get("UserId") else None
    device_id = req["DeviceId"].lower() if req.get("DeviceId") else None
    overrides = [
        o for o in ctx.table(org_id, MOBILE_OVERRIDES).values()
        if user_id in (None, o["UserId"]) and device_id in (None, o["DeviceId"].lower())
    ]
    page, token = paginate(
        req, overrides, lambda o: _override_key(o["UserId"], o["DeviceId"]),
        scope=f"mobile_overrides/{org_id}/{user_id or ''}/{device_id or ''}",
    )
    return page_result("Overrides", [output(o, OVERRIDE_FIELDS) for o in page], token)


def forget_user(ctx: Context, org_id: str, user_id: str) -> None:
    """Drop what this module keeps about a user that is deleted: its device overrides."""
    table = ctx.table(org_id, MOBILE_OVERRIDES)
    for key, override in table.items():
        if override["UserId"] == user_id:
            table.delete(key)


# Impersonation roles --------------------------------------------------------


def _impersonation_rules(ctx: Context, org_id: str, rules: list[dict[str, Any]]) -> list[Record]:
    """The rules as stored: target users resolved to user ids ("a list of user IDs", API Reference,
    "ImpersonationRule")."""
    ids: set[str] = set()
    names: set[str] = set()
    stored: list[Record] = []
    for rule in rules:
        rule_id = rule["ImpersonationRuleId"]
        if rule_id in ids:
            raise errors.InvalidParameterException(
                f"The impersonation rule id {rule_id} is used more than once."
            )
        ids.add(rule_id)
        name = rule.get("Name")
        if name is not None:
            # Rule names are unique within a role (Administrator Guide, "Creating an impersonation role").
            if name.lower() in names:
                raise errors.InvalidParameterException(
                    f"The impersonation rule name {name} is used more than once."
                )
            names.add(name.lower())
        record: Record = {key: rule[key] for key in ("ImpersonationRuleId", "Name", "Description", "Effect")
                          if rule.get(key) is not None}
        for key in ("TargetUsers", "NotTargetUsers"):
            if rule.get(key):
                record[key] = _user_ids(ctx, org_id, rule[key])
        stored.append(record)
    return stored


def _check_role_name(ctx: Context, org_id: str, name: str, role_id: str | None) -> None:
    # Role names are unique in the organization (Administrator Guide, "Creating an impersonation role").
    for role in ctx.table(org_id, IMPERSONATION_ROLES).values():
        if role["Name"].lower() == name.lower() and role["ImpersonationRoleId"] != role_id:
            raise errors.InvalidParameterException(
                f"An impersonation role named {name} already exists in organization {org_id}."
            )


def _get_role(ctx: Context, org_id: str, role_id: str) -> Record:
    role = ctx.table(org_id, IMPERSONATION_ROLES).get(role_id)
    if role is None:
        raise errors.ResourceNotFoundException(
            f"The impersonation role {role_id} does not exist in organization {org_id}."
        )
    return role


def impersonation_rule_matches(rule: Record, target_user_id: str) -> bool:
    """TargetUsers includes, NotTargetUsers excludes (Administrator Guide, "Creating an
    impersonation role"); no condition matches all ("Managing impersonation roles")."""
    if rule.get("TargetUsers") and target_user_id not in rule["TargetUsers"]:
        return False
    return not (rule.get("NotTargetUsers") and target_user_id in rule["NotTargetUsers"])


def impersonation_effect(role: Record, target_user_id: str) -> tuple[str, list[Record]]:
    """DENY wins, then ALLOW; a role whose rules match nothing impersonates nobody
    (Administrator Guide, "Managing impersonation roles")."""
    return _decide([rule for rule in role["Rules"] if impersonation_rule_matches(rule, target_user_id)])


@operation("CreateImpersonationRole")
def create_impersonation_role(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    token = idempotent(ctx, "CreateImpersonationRole", req)
    if (earlier := replay(ctx, token)) is not None:
        return earlier
    _check_role_name(ctx, org_id, req["Name"], None)
    rules = _impersonation_rules(ctx, org_id, req["Rules"])
    table = ctx.table(org_id, IMPERSONATION_ROLES)
    if len(table) >= MAX_IMPERSONATION_ROLES:
        raise errors.LimitExceededException(
            f"The organization {org_id} already has {MAX_IMPERSONATION_ROLES} impersonation roles."
        )
    role_id = new_uuid()
    now = timestamp(ctx)
    role: Record = {
        "ImpersonationRoleId": role_id,
        "Name": req["Name"],
        "Type": req["Type"],
        "Rules": rules,
        "DateCreated": now,
        "DateModified": now,
    }
    if req.get("Description") is not None:
        role["Description"] = req["Description"]
    table.put(role_id, role)
    result = {"ImpersonationRoleId": role_id}
    remember(ctx, token, result)
    return result


@operation("UpdateImpersonationRole")
def update_impersonation_role(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    role = _get_role(ctx, org_id, req["ImpersonationRoleId"])
    _check_role_name(ctx, org_id, req["Name"], role["ImpersonationRoleId"])
    rules = _impersonation_rules(ctx, org_id, req["Rules"])
    # Name, Type and Rules are required: an update restates the whole role, rules included.
    role.update({"Name": req["Name"], "Type": req["Type"], "Rules": rules, "DateModified": timestamp(ctx)})
    if req.get("Description") is not None:
        role["Description"] = req["Description"]
    else:
        role.pop("Description", None)
    ctx.table(org_id, IMPERSONATION_ROLES).put(role["ImpersonationRoleId"], role)
    return {}


@operation("DeleteImpersonationRole")
def delete_impersonation_role(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    role_id = req["ImpersonationRoleId"]
    # The model lists no not-found error here: deleting an absent role succeeds.
    ctx.table(org_id, IMPERSONATION_ROLES).delete(role_id)
    tokens = ctx.table(org_id, IMPERSONATION_TOKENS)
    for key, issued in tokens.items():
        if issued["ImpersonationRoleId"] == role_id:
            tokens.delete(key)
    return {}


@operation("GetImpersonationRole")
def get_impersonation_role(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    role = _get_role(ctx, org_id, req["ImpersonationRoleId"])
    result = output(role, ROLE_FIELDS)
    result["Rules"] = [output(rule, IMPERSONATION_RULE_FIELDS) for rule in role["Rules"]]
    return result


@operation("ListImpersonationRoles")
def list_impersonation_roles(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    # A page holds at most 20 roles (the output list's maximum), whatever MaxResults asks.
    page_request = dict(req, MaxResults=min(req.get("MaxResults") or MAX_IMPERSONATION_ROLES,
                                            MAX_IMPERSONATION_ROLES))
    page, token = paginate(
        page_request, ctx.table(org_id, IMPERSONATION_ROLES).values(),
        lambda r: f"{str(r['Name']).lower()}\x00{r['ImpersonationRoleId']}",
        scope=f"impersonation_roles/{org_id}",
    )
    return page_result("Roles", [output(role, ROLE_SUMMARY_FIELDS) for role in page], token)


@operation("GetImpersonationRoleEffect")
def get_impersonation_role_effect(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    role = _get_role(ctx, org_id, req["ImpersonationRoleId"])
    _, target = find_entity(ctx, org_id, req["TargetUser"], kinds=("users",), what="user")
    # Impersonation acts in the target's mailbox (Administrator Guide, "Managing impersonation
    # roles"), which a disabled user does not have.
    _require_enabled(target, "impersonation")
    effect, deciding = impersonation_effect(role, target["Id"])
    return {
        "Type": role["Type"],
        "Effect": effect,
        "MatchedRules": [output(rule, ("ImpersonationRuleId", "Name")) for rule in deciding],
    }


@operation("AssumeImpersonationRole")
def assume_impersonation_role(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    role = _get_role(ctx, org_id, req["ImpersonationRoleId"])
    tokens = ctx.table(org_id, IMPERSONATION_TOKENS)
    for key, issued in tokens.items():
        if issued["Expires"] <= ctx.now:
            tokens.delete(key)
    token = secrets.token_urlsafe(48)
    tokens.put(secret_digest(token), {
        "ImpersonationRoleId": role["ImpersonationRoleId"],
        "Expires": timestamp(ctx) + IMPERSONATION_TOKEN_SECONDS,
    })
    return {"Token": token, "ExpiresIn": IMPERSONATION_TOKEN_SECONDS}


def impersonation_token(ctx: Context, org_id: str, token: str) -> Record | None:
    """The role a live token (from AssumeImpersonationRole) stands for, or None if unknown or expired."""
    issued = ctx.table(org_id, IMPERSONATION_TOKENS).get(secret_digest(token))
    if issued is None or issued["Expires"] <= ctx.now:
        return None
    return ctx.table(org_id, IMPERSONATION_ROLES).get(issued["ImpersonationRoleId"])
