"""Group members: users and groups. Groups nest, but no group may contain itself, directly or
through nested groups (AssociateMemberToGroup refuses it, and permissions pass through
nesting: Administrator Guide, "Working with mailbox permissions")."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..spec import GroupSpec
from .base import ApplyContext, KindInfo, Phase
from .links import LinkKindBase

if TYPE_CHECKING:
    from ..validate import Validator

# Group cycles whose whole chain of groups a problem spells out.
MAX_CYCLES_SHOWN = 20


class MembershipKind(LinkKindBase):
    name = "group_member"
    section = "groups"
    member_field = "members"
    info = KindInfo("Group members", "groups", {"type": "string"})
    delete_rank = 0
    removal_phase = Phase.MEMBER_REMOVALS

    def associate(self, owner: str, member: str, ctx: ApplyContext) -> None:
        ctx.call("AssociateMemberToGroup", GroupId=owner, MemberId=member)

    def disassociate(self, owner: str, member: str, ctx: ApplyContext) -> None:
        ctx.call("DisassociateMemberFromGroup", GroupId=owner, MemberId=member)

    def validate(self, v: Validator) -> None:
        super().validate(v)
        self._cycles(v)

    @staticmethod
    def _cycles(v: Validator) -> None:
        """A member group closes a cycle exactly when it is in the same strongly connected
        component as the group, which costs one pass over the groups however many there are."""
        by_name: dict[str, GroupSpec] = {}
        for group in v.spec.groups:
            if isinstance(group.name, str):
                by_name.setdefault(group.name.lower(), group)
        # validate() has refused a spec with a field of the wrong type before any rule runs.
        graph = {key: [m for m in map(str.lower, group.members) if m in by_name] for key, group in by_name.items()}
        component = _components(graph)
        shown = 0
        for gi, group in enumerate(v.spec.groups):
            if not isinstance(group.name, str) or by_name.get(group.name.lower()) is not group:
                continue
            key = group.name.lower()
            for i, member in enumerate(group.members):
                target = member.lower() if isinstance(member, str) else ""
                if target not in by_name or component[target] != component[key]:
                    continue
                message = f"makes group {group.name} contain itself"
                if shown < MAX_CYCLES_SHOWN:
                    # Each chain costs a search; the first few show where the loops are.
                    shown += 1
                    message += f" ({' → '.join([group.name, *_chain(target, key, by_name, graph)])})"
                v.add(f"{v.path('groups', v.spec.groups, gi)}.members[{i}]", message)


def _components(graph: dict[str, list[str]]) -> dict[str, int]:
    """The strongly connected component of each node (Kosaraju's algorithm, without
    recursion: nesting can be deeper than Python's stack)."""
    finished: list[str] = []
    seen: set[str] = set()
    for root in graph:
        if root in seen:
            continue
        seen.add(root)
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(graph[root]))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if child not in seen:
                    seen.add(child)
                    stack.append((child, iter(graph[child])))
                    break
            else:
                stack.pop()
                finished.append(node)
    parents: dict[str, list[str]] = {node: [] for node in graph}
    for node, members in graph.items():
        for member in members:
            parents[member].append(node)
    component: dict[str, int] = {}
    for number, root in enumerate(reversed(finished)):
        if root in component:
            continue
        component[root] = number
        pending = [root]
        while pending:
            for parent in parents[pending.pop()]:
                if parent not in component:
                    component[parent] = number
                    pending.append(parent)
    return component


def _chain(start: str, target: str, by_name: dict[str, GroupSpec], graph: dict[str, list[str]]) -> list[str]:
    """The group names on a shortest nesting path from ``start`` to ``target`` (both included)."""
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        if current == target:
            break
        for child in graph[current]:
            if child not in previous:
                previous[child] = current
                queue.append(child)
    names: list[str] = []
    node: str | None = target
    while node is not None:
        names.append(by_name[node].name)
        node = previous[node]
    return names[::-1]
