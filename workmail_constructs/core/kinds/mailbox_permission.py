"""Mailbox permissions: what a user or group (the grantee) may do with a mailbox
(FULL_ACCESS, SEND_AS, SEND_ON_BEHALF; Administrator Guide, "Working with mailbox permissions").

PutMailboxPermissions replaces the grantee's whole set, so creating and updating are one
call. Permissions declared before and no longer are removed; others only with ``prune``.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from botocore.exceptions import ClientError

from ..changes import Change, FieldChange, PermissionAddress
from ..errors import error_code
from ..spec import GroupSpec, MailboxPermission, MailboxPermissionSpec, ResourceSpec, UserSpec
from ..state import ActualState
from .base import SECTION_OF_TYPE, ApplyContext, Kind, KindInfo, Phase, PlanContext, Ref, Steps, kind_word

if TYPE_CHECKING:
    from ..read import Reader
    from ..validate import Validator

PermissionChange = Change[PermissionAddress, MailboxPermissionSpec]


def _key(spec: MailboxPermissionSpec) -> tuple[str, str]:
    return spec.mailbox.lower(), spec.grantee.lower()


def _address(spec: MailboxPermissionSpec) -> PermissionAddress:
    return PermissionAddress(spec.mailbox, spec.grantee)


class MailboxPermissionKind(Kind[PermissionAddress, MailboxPermissionSpec]):
    name = "mailbox_permission"
    info = KindInfo("Mailbox permissions", "mailbox_permissions", {"$ref": "#/$defs/MailboxPermissionSpec"})
    delete_rank = 2

    def plan(self, ctx: PlanContext) -> None:
        declared = {_key(p): p for p in ctx.declared.mailbox_permissions}
        previous = {_key(p) for p in ctx.previous.mailbox_permissions} if ctx.previous else set()
        full = ctx.read("mailbox_permissions")
        read_mailboxes = {m for m, _ in ctx.actual.mailbox_permissions}
        scoped = {m.lower() for m in ctx.scope.mailbox_permissions} if ctx.scope is not None else None
        gone = ctx.deleted_entities()
        for key, permission in declared.items():
            if not full and scoped is not None and key[0] not in scoped:
                continue
            found = ctx.actual.mailbox_permissions.get(key)
            if found is None or key[0] in gone or key[1] in gone:
                ctx.add(Change("create", _address(permission), "declared", after=permission))
            elif set(found.permissions) != set(permission.permissions):
                ctx.add(Change("update", _address(permission), "changed: permissions", before=found, after=permission,
                               fields=(FieldChange("permissions", found.permissions, permission.permissions),)))
        for key, found in ctx.actual.mailbox_permissions.items():
            if key in declared or not (ctx.declared.prune or key in previous):
                continue
            if not full and key[0] not in read_mailboxes:
                continue
            ctx.add(Change("delete", _address(found), "no longer declared", before=found))

    def references(self, reader: Reader) -> None:
        for grants in reader.detail("permissions").values():
            for grant in grants:
                reader.need(str(grant["GranteeId"]), SECTION_OF_TYPE.get(str(grant.get("GranteeType")), "users"))

    def build(self, reader: Reader, state: ActualState) -> None:
        for owner_id, grants in reader.detail("permissions").items():
            if owner_id in reader.deleted:
                continue
            owner = reader.name(owner_id)
            for grant in grants:
                grantee_id = str(grant["GranteeId"])
                if grantee_id in reader.deleted:
                    continue
                grantee = reader.name(grantee_id)
                values = sorted(set(grant.get("PermissionValues") or []))
                state.mailbox_permissions[(owner.lower(), grantee.lower())] = MailboxPermissionSpec(
                    mailbox=owner, grantee=grantee, permissions=cast(list[MailboxPermission], values),
                )

    def validate(self, v: Validator) -> None:
        grants = v.spec.mailbox_permissions
        v.duplicates("mailbox_permissions", grants, lambda g: (str(g.mailbox).lower(), str(g.grantee).lower()),
                     "this mailbox and grantee pair", field="grantee")
        for i, grant in enumerate(grants):
            path = partial(v.path, "mailbox_permissions", grants, i)
            owner = v.resolve(grant.mailbox, partial(v.item_path, "mailbox_permissions", grants, i, "mailbox"),
                              (UserSpec, ResourceSpec, GroupSpec), "user, resource or group")
            grantee = v.resolve(grant.grantee, partial(v.item_path, "mailbox_permissions", grants, i, "grantee"),
                                (UserSpec, GroupSpec), "user or group")
            if isinstance(grant.mailbox, str) and isinstance(grant.grantee, str) \
                    and grant.mailbox.lower() == grant.grantee.lower():
                # Permissions change others' access to a mailbox, never the owner's
                # (Administrator Guide, "Managing mailbox permissions for users").
                v.add(f"{path()}.grantee", "an entity can't be granted permissions on its own mailbox")
            if isinstance(owner, GroupSpec) and "FULL_ACCESS" in grant.permissions:
                # Groups have no mailbox to access (Administrator Guide, "Managing mailbox permissions for groups").
                v.add(f"{path()}.permissions", f"FULL_ACCESS can't be granted on group {owner.name}: groups have no "
                                               "mailbox")
            for entity, field in ((owner, "mailbox"), (grantee, "grantee")):
                if entity is not None and not entity.enabled:
                    # PutMailboxPermissions needs both ends enabled.
                    v.add(f"{path()}.{field}", f"{entity.name} is disabled; permissions need an enabled "
                                               f"{kind_word(entity)}")

    def needs(self, change: PermissionChange) -> set[Ref]:
        if change.action == "delete":
            return set()
        return {("entity", change.address.mailbox.lower()), ("entity", change.address.grantee.lower())}

    def steps(self, change: PermissionChange, ctx: ApplyContext) -> Steps:
        if change.action == "delete":
            return {Phase.REMOVALS: lambda: self._delete(change.existing, ctx)}
        return {Phase.POLICIES: lambda: self._put(change.declared, ctx)}

    @staticmethod
    def _put(spec: MailboxPermissionSpec, ctx: ApplyContext) -> None:
        ctx.call("PutMailboxPermissions", EntityId=spec.mailbox, GranteeId=spec.grantee,
                 PermissionValues=list(spec.permissions))

    @staticmethod
    def _delete(spec: MailboxPermissionSpec, ctx: ApplyContext) -> None:
        try:
            ctx.call("DeleteMailboxPermissions", EntityId=spec.mailbox, GranteeId=spec.grantee)
        except ClientError as exc:
            if error_code(exc) != "EntityNotFoundException":
                raise
