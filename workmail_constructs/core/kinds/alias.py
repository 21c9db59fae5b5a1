"""Addresses of users, groups and resources: the primary address, its aliases, enabling and disabling.

An entity gets a mailbox and addresses when it is enabled (RegisterToWorkMail with its
primary address) and loses both when disabled (DeregisterFromWorkMail). Aliases and the
primary address are declared on the entity (``email``, ``aliases``) and changed as part of
its change; this module holds what WorkMail does with them. At most 100 aliases per
entity (Administrator Guide, "Amazon WorkMail quotas"); addresses must be in a domain of
the organization (checked by validation before any call).
"""

from __future__ import annotations

from typing import Any, Protocol

from botocore.exceptions import ClientError

from ..changes import ChangeFailed, EntityKind
from ..errors import error_code
from .base import ApplyContext


class Addressed(Protocol):
    """What the spec of a user, group or resource says about its addresses."""

    @property
    def name(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def email(self) -> str | None: ...
    @property
    def aliases(self) -> list[str]: ...


def addresses(spec: Addressed | None) -> list[str]:
    """The addresses an entity holds: none unless it is enabled with a primary address."""
    if spec is None or not spec.enabled or not spec.email:
        return []
    return [spec.email, *spec.aliases]


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower()


def check(spec: Addressed) -> None:
    """Fail before any call on what WorkMail can't do with the declared addresses."""
    if spec.enabled and not spec.email:
        raise ChangeFailed(f"{spec.name} is declared enabled but has no email address", field="email")


def register(kind: EntityKind, entity_id: str, email: str, ctx: ApplyContext) -> None:
    """Enable the entity with its primary address; already enabled with that address is done."""
    try:
        ctx.call("RegisterToWorkMail", EntityId=entity_id, Email=email)
    except ClientError as exc:
        if error_code(exc) != "EntityAlreadyRegisteredException":
            raise
        current: dict[str, Any] = ctx.describe_entity(kind, entity_id) or {}
        if str(current.get("Email", "")).lower() != email.lower():
            raise ChangeFailed(
                f"it is already enabled with the address {current.get('Email')}, not {email}", field="email",
            ) from exc


def add(entity_id: str, aliases: list[str], ctx: ApplyContext) -> None:
    """Add aliases; one the entity holds already (an interrupted run) is done."""
    for alias in aliases:
        try:
            ctx.call("CreateAlias", EntityId=entity_id, Alias=alias)
        except ClientError as exc:
            if error_code(exc) != "EmailAddressInUseException":
                raise
            try:
                owner = ctx.call("DescribeEntity", Email=alias).get("EntityId")
            except ClientError:
                raise exc from None
            if owner != entity_id:
                raise


def readdress(entity_id: str, before: Addressed, after: Addressed, ctx: ApplyContext) -> None:
    """The primary address and aliases of an entity that stays enabled."""
    current = {a.lower(): a for a in (before.aliases if before.enabled and before.email else [])}
    old_primary = before.email if before.enabled else None
    if old_primary and after.email and old_primary.lower() != after.email.lower():
        ctx.call("UpdatePrimaryEmailAddress", EntityId=entity_id, Email=after.email)
        # The old primary becomes an alias, or swaps places with the alias that is the new primary.
        current.pop(after.email.lower(), None)
        current[old_primary.lower()] = old_primary
    wanted = {a.lower(): a for a in after.aliases}
    for key in sorted(set(current) - set(wanted)):
        ctx.call("DeleteAlias", EntityId=entity_id, Alias=current[key])
    add(entity_id, [wanted[k] for k in sorted(set(wanted) - set(current))], ctx)


def disable(kind: EntityKind, identifier: str, ctx: ApplyContext) -> None:
    """Deregister from WorkMail and wait until DISABLED; an entity already gone counts as disabled."""
    try:
        ctx.call("DeregisterFromWorkMail", EntityId=identifier)
    except ClientError as exc:
        if error_code(exc) == "EntityNotFoundException":
            return
        described = ctx.describe_entity(kind, identifier) if error_code(exc) == "EntityStateException" else None
        if described is None or described.get("State") != "DELETED":
            raise

    def disabled() -> bool | None:
        described = ctx.describe_entity(kind, identifier)
        return True if described is None or described.get("State") in ("DISABLED", "DELETED") else None

    ctx.wait(f"{kind} {identifier} to be disabled", ctx.timeouts.entity_state, disabled)
