"""Planning rule-like objects identified by a name: access control rules, mobile device rules
and overrides, impersonation roles.

``authoritative`` lists (access control rules, mobile device rules, once declared at all)
are the whole truth: a rule found that is not declared is removed. Others remove only
what was declared before (or everything undeclared with ``prune``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ..changes import Address, Change, FieldChange
from .base import PlanContext
from .compare import by_name, data_fields, differs, lower_set

S = TypeVar("S")


def plan_named(
    ctx: PlanContext, declared_list: Iterable[S], actual: dict[str, S], *, address: Callable[[S], Address],
    authoritative: bool, ids: dict[str, str] | None = None, previous: Iterable[str] = (),
) -> None:
    declared = by_name(declared_list, lambda item: address(item).key)
    owned = lower_set(previous)
    ids = ids or {}
    for name, spec in declared.items():
        found = actual.get(name)
        if found is None:
            ctx.add(Change("create", address(spec), "declared, does not exist", after=spec))
            continue
        fields = [
            FieldChange(f, getattr(found, f), getattr(spec, f))
            for f in data_fields(spec) if differs(f, getattr(found, f), getattr(spec, f))
        ]
        if fields:
            before: Any = found
            ctx.add(Change("update", address(spec), "changed: " + ", ".join(f.name for f in fields),
                           before=before, after=spec, fields=tuple(fields), id=ids.get(name)))
    for name, found in actual.items():
        if name in declared or not (authoritative or ctx.declared.prune or name in owned):
            continue
        reason = "not in the declared list" if authoritative else "no longer declared"
        ctx.add(Change("delete", address(found), reason, before=found, id=ids.get(name)))
