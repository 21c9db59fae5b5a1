"""Resource delegates: users or groups who accept or decline booking requests for a resource
(Administrator Guide, "Editing resource details")."""

from __future__ import annotations

from .base import ApplyContext, KindInfo
from .links import LinkKindBase


class DelegateKind(LinkKindBase):
    name = "resource_delegate"
    section = "resources"
    member_field = "delegates"
    info = KindInfo("Resource delegates", "resources", {"type": "string"})
    delete_rank = 1

    def associate(self, owner: str, member: str, ctx: ApplyContext) -> None:
        ctx.call("AssociateDelegateToResource", ResourceId=owner, EntityId=member)

    def disassociate(self, owner: str, member: str, ctx: ApplyContext) -> None:
        ctx.call("DisassociateDelegateFromResource", ResourceId=owner, EntityId=member)
