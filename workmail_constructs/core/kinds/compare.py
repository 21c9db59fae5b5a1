"""Comparing declared and actual values as WorkMail does: names and addresses without regard
to case, lists as sets, an unset text the same as an empty one."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ..changes import FieldChange

T = TypeVar("T")


def norm(value: Any) -> Any:
    """A form to compare by: order-free lists, nested objects field by field."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return sorted((norm(v) for v in value), key=repr)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple((f.name, norm(getattr(value, f.name))) for f in dataclasses.fields(value))
    return value


def lower_set(values: Iterable[str]) -> set[str]:
    return {v.lower() for v in values}


def differs(field_name: str, old: Any, new: Any) -> bool:
    if field_name == "email":
        return str(old or "").lower() != str(new or "").lower()
    if field_name in ("aliases", "members", "delegates"):
        return lower_set(old or []) != lower_set(new or [])
    if isinstance(old, list) or isinstance(new, list):
        return bool(norm(old or []) != norm(new or []))
    if isinstance(old, str) or isinstance(new, str):
        # An unset attribute and an empty one are the same to WorkMail.
        return (old or "") != (new or "")
    return bool(old != new)


def field_changes(before: Any, after: Any, names: Iterable[str]) -> list[FieldChange]:
    return [
        FieldChange(name, getattr(before, name), getattr(after, name))
        for name in names
        if differs(name, getattr(before, name), getattr(after, name))
    ]


def data_fields(spec: Any, skip: tuple[str, ...] = ()) -> list[str]:
    return [f.name for f in dataclasses.fields(spec) if f.name not in skip]


def by_name(items: Iterable[T], key: Callable[[T], str]) -> dict[str, T]:
    """Items by their lower-cased name."""
    return {key(item).lower(): item for item in items}


def changed_names(fields: Iterable[FieldChange]) -> str:
    return ", ".join(f.name for f in fields)
