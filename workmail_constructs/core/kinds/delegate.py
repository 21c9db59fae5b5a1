"""Resource delegates: users or groups who accept or decline booking requests for a resource
(Administrator Guide, "Editing resource details")."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from ..spec import GroupSpec, UserSpec
from .base import ApplyContext, KindInfo
from .links import LinkKindBase

if TYPE_CHECKING:
    from ..validate import Validator


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

    def validate(self, v: Validator) -> None:
        resources = v.spec.resources
        for ri, resource in enumerate(resources):
            for i, delegate in enumerate(resource.delegates):
                v.resolve(delegate, partial(v.item_path, "resources", resources, ri, f"delegates[{i}]"),
                          (UserSpec, GroupSpec), "user or group")
