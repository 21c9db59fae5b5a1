"""Groups: their one attribute of their own, the hidden flag (members are ``membership.py``)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from ..changes import Change, EntityAddress, FieldChange
from ..spec import GroupSpec
from ..state import ActualGroup
from .base import ApplyContext, KindInfo
from .compare import field_changes
from .entities import EntityKindBase, read_addresses

if TYPE_CHECKING:
    from ..read import Job, Reader


class GroupKind(EntityKindBase[GroupSpec]):
    name = "group"
    section = "groups"
    info = KindInfo("Groups", "groups", {"$ref": "#/$defs/GroupSpec"})
    delete_rank = 81
    # Members are changes of their own (group_member); a plan may still show them.
    update_fields = frozenset({"hidden_from_global_address_list", "members"})

    def attribute_changes(self, current: GroupSpec, spec: GroupSpec, previous: GroupSpec | None,
                          enabled_now: bool) -> list[FieldChange]:
        return field_changes(current, spec, ("hidden_from_global_address_list",))

    def entity_jobs(self, reader: Reader, entity_id: str, name: str, enabled: bool) -> list[Job]:
        fetch = partial(reader.list_all, "ListGroupMembers", "Members", GroupId=entity_id)
        return [(reader.tolerant(fetch), reader.keep_detail(reader.detail("members"), entity_id)),
                *super().entity_jobs(reader, entity_id, name, enabled)]

    def references(self, reader: Reader) -> None:
        # ListGroupMembers names its members: they cost no lookups.
        for members in reader.detail("members").values():
            for member in members:
                if member.get("State") != "DELETED" and member.get("Name"):
                    reader.names.setdefault(str(member["Id"]), str(member["Name"]))

    def build_one(self, reader: Reader, entity_id: str, described: dict[str, Any]) -> ActualGroup:
        members = sorted(
            (str(m["Name"]) for m in reader.detail("members").get(entity_id) or [] if m.get("State") != "DELETED"),
            key=str.lower,
        )
        spec = GroupSpec(
            name=described["Name"],
            email=described.get("Email"),
            enabled=described.get("State") == "ENABLED",
            hidden_from_global_address_list=bool(described.get("HiddenFromGlobalAddressList", False)),
            members=members,
            aliases=read_addresses(reader, entity_id, described),
        )
        return ActualGroup(id=entity_id, state=str(described["State"]), spec=spec)

    def create_params(self, spec: GroupSpec, password: str | None) -> dict[str, Any]:
        return {}

    def after_create(self, entity_id: str, spec: GroupSpec, adopted: bool, password: str | None,
                     ctx: ApplyContext) -> None:
        if adopted:
            _set_hidden(entity_id, spec, ctx)

    def update_attributes(self, change: Change[EntityAddress, GroupSpec], after: GroupSpec, entity_id: str,
                          was_enabled: bool, now_enabled: bool, password: str | None, ctx: ApplyContext) -> None:
        if "hidden_from_global_address_list" in change.field_names():
            _set_hidden(entity_id, after, ctx)


def _set_hidden(group_id: str, spec: GroupSpec, ctx: ApplyContext) -> None:
    ctx.call("UpdateGroup", GroupId=group_id, HiddenFromGlobalAddressList=spec.hidden_from_global_address_list)
