"""Helpers shared by the operation modules: pagination, identifiers, entity and address lookups."""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from .. import errors
from ..engine import Context
from ..store import Record

# Largest page a list operation returns; every WorkMail list operation caps MaxResults at 100.
MAX_PAGE = 100

ENTITY_TABLES = ("users", "groups", "resources")
ENTITY_TYPE = {"users": "USER", "groups": "GROUP", "resources": "RESOURCE"}

# The Guide's hard quota of aliases per user (Administrator Guide, "Amazon WorkMail quotas");
# WorkMail applies it to every entity.
MAX_ALIASES = 100

# Journal records are sent from amazonjournaling@<alias>.awsapps.com; no mailbox can be created
# with that name or address (Administrator Guide, "Using email journaling with Amazon WorkMail").
JOURNALING_NAME = "amazonjournaling"

# What the stand-in for AWS Directory Service says about a directory: reachable, gone (deleted or
# unreachable), or no longer accepting the credentials WorkMail holds for it.
DIRECTORY_ACTIVE = "Active"
DIRECTORY_UNAVAILABLE = "Unavailable"
DIRECTORY_AUTHENTICATION_FAILED = "AuthenticationFailed"
DIRECTORY_STATUSES = (DIRECTORY_ACTIVE, DIRECTORY_UNAVAILABLE, DIRECTORY_AUTHENTICATION_FAILED)


def new_uuid() -> str:
    return str(uuid.uuid4())


def new_hex_id(prefix: str) -> str:
    """Ids like ``m-<32 hex>`` (organizations) or ``r-<32 hex>`` (resources)."""
    return f"{prefix}{uuid.uuid4().hex}"


def secret_digest(secret: str) -> str:
    """What the emulator keeps of a secret: enough to tell a change, never the secret itself."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# Parameters of the emulator's own commands ---------------------------------------
# (WorkMail operations are checked against the service model before they reach a handler;
# the emulator's commands have no model, so they check their parameters here.)


def text_param(req: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = req.get(name)
    if value is None or value == "":
        if required:
            raise errors.InvalidParameterException(f"{name} is required.")
        return ""
    if not isinstance(value, str):
        raise errors.InvalidParameterException(f"{name} must be a string.")
    return value


def body_param(req: dict[str, Any], text_name: str, base64_name: str) -> bytes:
    """Content given as text (``text_name``) or as base64 (``base64_name``), exactly one of them."""
    text, encoded = req.get(text_name), req.get(base64_name)
    if (text is None) == (encoded is None):
        raise errors.InvalidParameterException(f"Give exactly one of {text_name} and {base64_name}.")
    if text is not None:
        if not isinstance(text, str):
            raise errors.InvalidParameterException(f"{text_name} must be a string.")
        return text.encode("utf-8")
    if not isinstance(encoded, str):
        raise errors.InvalidParameterException(f"{base64_name} must be a base64 string.")
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError:
        raise errors.InvalidParameterException(f"{base64_name} is not valid base64.") from None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(data: str) -> bytes:
    return base64.b64decode(data.encode("ascii"))


# Idempotency ----------------------------------------------------------------


def idempotent(ctx: Context, operation_name: str, params: dict[str, Any]) -> tuple[str, str] | None:
    """The (key, request digest) to remember for a ClientToken, or None without one."""
    token = params.get("ClientToken")
    if not token:
        return None
    significant = {k: v for k, v in params.items() if k != "ClientToken"}
    digest = hashlib.sha256(json.dumps(significant, sort_keys=True).encode()).hexdigest()
    return f"{ctx.account}/{operation_name}/{token}", digest


def replay(ctx: Context, token: tuple[str, str] | None) -> dict[str, Any] | None:
    """The earlier answer to a request retried with the same ClientToken."""
    if token is None:
        return None
    seen = ctx.global_table("client_tokens").get(token[0])
    if seen is None:
        return None
    if seen["digest"] != token[1]:
        raise errors.InvalidParameterException("The ClientToken was already used with different parameters.")
    result: dict[str, Any] = seen["result"]
    return result


def remember(ctx: Context, token: tuple[str, str] | None, result: dict[str, Any]) -> None:
    if token is not None:
        ctx.global_table("client_tokens").put(token[0], {"digest": token[1], "result": result})


# Pagination -----------------------------------------------------------------


def paginate(
    params: dict[str, Any],
    items: Iterable[Record],
    sort_key: Callable[[Record], str],
    *,
    scope: str = "",
    presorted: bool = False,
) -> tuple[list[Record], str | None]:
    """One page of ``items`` in ``sort_key`` order, and the token for the next page.

    The token is opaque to callers: the last key returned plus a digest of the
    request's filters (``scope``), so a token can't be replayed with other filters.
    Paging by key, not by offset, keeps pages correct while items are added or removed.
    ``presorted`` items are already in ``sort_key`` order (see ``Table.ordered``).
    """
    limit = params.get("MaxResults") or MAX_PAGE
    ordered = items if presorted and isinstance(items, list) else sorted(items, key=sort_key)
    start = 0
    token = params.get("NextToken")
    if token:
        start = bisect.bisect_right(ordered, _decode_token(token, scope), key=sort_key)
    page = ordered[start : start + limit]
    more = start + limit < len(ordered)
    return page, (_encode_token(sort_key(page[-1]), scope) if more and page else None)


def page_result(member: str, items: list[Any], token: str | None) -> dict[str, Any]:
    """A list operation's response: the page under ``member``, and NextToken when there is more."""
    result: dict[str, Any] = {member: items}
    if token:
        result["NextToken"] = token
    return result


def _scope_digest(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:12]


def _encode_token(last: str, scope: str) -> str:
    raw = json.dumps({"a": last, "s": _scope_digest(scope)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_token(token: str, scope: str) -> str:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        after = data["a"]
        matches = data["s"] == _scope_digest(scope)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise errors.InvalidParameterException("The NextToken is invalid.") from None
    if not matches or not isinstance(after, str):
        raise errors.InvalidParameterException("The NextToken does not belong to this request.")
    return after


# Entities -------------------------------------------------------------------


def entity_by_id(ctx: Context, org_id: str, entity_id: str) -> tuple[str, Record] | None:
    for kind in ENTITY_TABLES:
        record = ctx.table(org_id, kind).get(entity_id)
        if record is not None:
            return kind, record
    return None


def find_entity(
    ctx: Context,
    org_id: str,
    identifier: str,
    kinds: tuple[str, ...] = ENTITY_TABLES,
    *,
    what: str = "entity",
    include_deleted: bool = False,
) -> tuple[str, Record]:
    """Resolve an EntityIdentifier (an id, an email address or a name) to an entity.

    A deleted entity keeps its id but gives up its name and addresses; naming it by
    id gets EntityStateException unless ``include_deleted`` (for Describe calls).
    """
    found = entity_by_id(ctx, org_id, identifier)
    if found is None:
        owner = ctx.table(org_id, "addresses").get(identifier.lower())
        if owner is None:
            owner = ctx.table(org_id, "names").get(identifier.lower())
        if owner is not None:
            found = entity_by_id(ctx, org_id, owner["EntityId"])
    if found is None or found[0] not in kinds:
        raise errors.EntityNotFoundException(f"The {what} {identifier} does not exist in organization {org_id}.")
    if found[1]["State"] == "DELETED" and not include_deleted:
        raise errors.EntityStateException(f"The {what} {identifier} is deleted.")
    return found


def describe_type(kind: str) -> str:
    return ENTITY_TYPE[kind]


def claim_name(ctx: Context, org_id: str, name: str, entity_id: str) -> None:
    """User, group and resource names share one namespace per organization, case-insensitively."""
    names = ctx.table(org_id, "names")
    owner = names.get(name.lower())
    if owner is not None and owner["EntityId"] != entity_id:
        raise errors.NameAvailabilityException(f"The name {name} is already in use in organization {org_id}.")
    names.put(name.lower(), {"EntityId": entity_id})


def is_reserved_name(name: str) -> bool:
    return name.lower() == JOURNALING_NAME


def release_name(ctx: Context, org_id: str, name: str) -> None:
    ctx.table(org_id, "names").delete(name.lower())


def address_owner(ctx: Context, org_id: str, email: str) -> str | None:
    owner = ctx.table(org_id, "addresses").get(email.lower())
    return None if owner is None else str(owner["EntityId"])


def check_address_available(ctx: Context, org_id: str, email: str, entity_id: str) -> None:
    """An address may be used by one entity only, and only in a verified domain of the organization."""
    owner = address_owner(ctx, org_id, email)
    if owner is not None and owner != entity_id:
        raise errors.EmailAddressInUseException(f"The email address {email} is already in use.")
    domain_name = email.rsplit("@", 1)[-1].lower()
    domain = ctx.table(org_id, "domains").get(domain_name)
    if domain is None:
        raise errors.MailDomainNotFoundException(
            f"The domain {domain_name} is not registered in organization {org_id}."
        )
    if domain_status(ctx, domain) != "VERIFIED":
        raise errors.MailDomainStateException(f"The domain {domain_name} is not verified.")
    reserved = f"{JOURNALING_NAME}@{ctx.organization(org_id, require_active=False)['Alias']}.awsapps.com"
    if email.lower() == reserved.lower():
        # WorkMail itself sends journal records from this address, so it is taken. The operations
        # that assign addresses document EmailAddressInUseException, not ReservedNameException
        # (which is about names).
        raise errors.EmailAddressInUseException(f"The email address {email} is reserved for journal records.")


def claim_address(ctx: Context, org_id: str, email: str, entity_id: str) -> None:
    check_address_available(ctx, org_id, email, entity_id)
    ctx.table(org_id, "addresses").put(email.lower(), {"EntityId": entity_id, "Email": email})


def release_address(ctx: Context, org_id: str, email: str) -> None:
    ctx.table(org_id, "addresses").delete(email.lower())


# Directories -----------------------------------------------------------------


def directory_status(ctx: Context, directory_id: str) -> str:
    directory = ctx.global_table("directories").get(directory_id)
    if directory is None:
        # Deleted in AWS Directory Service while an organization still used it.
        return DIRECTORY_UNAVAILABLE
    return str(directory.get("Status", DIRECTORY_ACTIVE))


def reach_directory(ctx: Context, org: Record, *, authenticates: bool = True) -> None:
    """Refuse an operation that works in the organization's directory when the directory can't serve it.

    Only the operations whose documentation lists DirectoryUnavailableException call this;
    ``authenticates`` is False for those that don't also list
    DirectoryServiceAuthenticationFailedException.
    """
    directory_id = str(org["DirectoryId"])
    status = directory_status(ctx, directory_id)
    if status == DIRECTORY_UNAVAILABLE:
        raise errors.DirectoryUnavailableException(f"The directory {directory_id} is unavailable.")
    if authenticates and status == DIRECTORY_AUTHENTICATION_FAILED:
        raise errors.DirectoryServiceAuthenticationFailedException(
            f"The directory {directory_id} doesn't recognize the credentials supplied by WorkMail."
        )


def domain_status(ctx: Context, domain: Record) -> str:
    return str(domain["OwnershipVerificationStatus"])


def timestamp(ctx: Context) -> float:
    return round(ctx.now, 3)


def output(record: Record, names: Iterable[str]) -> dict[str, Any]:
    """The members of ``record`` an output shape has, leaving out unset ones."""
    return {name: record[name] for name in names if record.get(name) is not None}
