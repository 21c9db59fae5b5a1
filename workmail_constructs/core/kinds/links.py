"""What group members and resource delegates share: a link from an owner to a member, by name.

A declared group's member list and a declared resource's delegate list are the whole
truth about them: a member found that is not declared is removed.
"""

from __future__ import annotations

from abc import abstractmethod
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from botocore.exceptions import ClientError

from ..changes import Change, LinkAddress, LinkKind
from ..errors import error_code
from ..spec import GroupSpec, UserSpec
from .base import ApplyContext, Kind, Phase, PlanContext, Ref, Steps

if TYPE_CHECKING:
    from ..validate import Validator

LinkChange = Change[LinkAddress, str]


_MEMBER_KINDS = (UserSpec, GroupSpec)


class LinkKindBase(Kind[LinkAddress, str]):
    name: ClassVar[LinkKind]
    # The owners' section ("groups") and what the link is called there ("members").
    section: ClassVar[str]
    member_field: ClassVar[str]
    removal_phase: ClassVar[Phase] = Phase.REMOVALS

    def plan(self, ctx: PlanContext) -> None:
        actual: dict[str, Any] = getattr(ctx.actual, self.section)
        links = self.links
        gone = ctx.deleted_entities()
        for owner in getattr(ctx.declared, self.section):
            key = owner.name.lower()
            if not ctx.known(self.section, key):
                continue
            found = actual.get(key)
            have = {m.lower(): m for m in links(found.spec)} if found is not None else {}
            want = {m.lower(): m for m in links(owner)}
            for member_key, member in want.items():
                if member_key not in have or member_key in gone:
                    ctx.add(Change("create", LinkAddress(self.name, owner.name, member), "declared", after=member))
            for member_key, member in have.items():
                if member_key not in want:
                    ctx.add(Change("delete", LinkAddress(self.name, owner.name, member), "no longer declared",
                                   before=member))

    def validate(self, v: Validator) -> None:
        """Every member (delegate) names a declared user or group, or an existing one."""
        owners = getattr(v.spec, self.section)
        declared = v.entities
        for oi, owner in enumerate(owners):
            for i, member in enumerate(self.links(owner)):
                if type(declared.get(member.lower())) in _MEMBER_KINDS:
                    continue  # nearly every member: a declared user or group, with nothing to report
                v.resolve(member, partial(v.item_path, self.section, owners, oi, f"{self.member_field}[{i}]"),
                          _MEMBER_KINDS, "user or group")

    def links(self, owner: Any) -> list[str]:
        members: list[str] = getattr(owner, self.member_field)
        return members

    def path(self, change: LinkChange) -> str:
        return f"{self.section}[{change.address.owner}].{self.member_field}[{change.address.member}]"

    def needs(self, change: LinkChange) -> set[Ref]:
        if change.action == "delete":
            return set()
        return {("entity", change.address.owner.lower()), ("entity", change.address.member.lower())}

    def steps(self, change: LinkChange, ctx: ApplyContext) -> Steps:
        owner, member = change.address.owner, change.address.member
        if change.action == "delete":
            def remove() -> None:
                try:
                    self.disassociate(owner, member, ctx)
                except ClientError as exc:
                    # The link, or one of its ends, is already gone.
                    if error_code(exc) != "EntityNotFoundException":
                        raise
            return {self.removal_phase: remove}
        return {Phase.LINKS: lambda: self.associate(owner, member, ctx)}

    @abstractmethod
    def associate(self, owner: str, member: str, ctx: ApplyContext) -> None: ...

    @abstractmethod
    def disassociate(self, owner: str, member: str, ctx: ApplyContext) -> None: ...
