"""What every rendering of a plan shares: its counts, secrets kept out, field differences, compact values."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from ..changes import AnyChange, Plan
from ..spec import SecretRef, to_data

FORMAT_VERSION = 1
# GitHub refuses issue and pull-request comments longer than this many characters.
COMMENT_LIMIT = 65_536
# What a password field shows when it holds anything but a secret reference.
HIDDEN = "(hidden)"

ACTIONS = ("create", "update", "replace", "delete")
SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}
NO_CHANGES = "No changes. The organization matches the spec."



def summary_line(plan: Plan) -> str:
    counts = plan.counts()
    return (
        f"Plan: {counts['create']} to create, {counts['update']} to update, {counts['replace']} to replace, "
        f"{counts['delete']} to delete ({len(plan.destructive)} destructive)."
    )


# Secrets ------------------------------------------------------------------------------


def is_secret_name(name: str) -> bool:
    return name.rsplit(".", 1)[-1].lower() == "password"


def _redact(value: Any, secret: bool = False) -> Any:
    """``value`` with every secret reduced to what may be shown.

    A ``SecretRef`` keeps its id and version (its ``json_key`` goes too: a plan shows
    which secret, nothing about its content). ``secret`` says the value sits in a
    password field, where anything but a reference or None is replaced by ``HIDDEN``.
    """
    if isinstance(value, SecretRef):
        return SecretRef(value.secret_id, value.version_id)
    if value is None:
        return None
    if secret:
        return HIDDEN
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        result = value
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            reduced = _redact(item, is_secret_name(f.name))
            if reduced is not item:
                if result is value:
                    result = copy.copy(value)
                # Frozen dataclasses too: the copy is ours, and replace() would rerun __init__.
                object.__setattr__(result, f.name, reduced)
        return result
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_redact(v) for v in value), key=_canonical)
    if isinstance(value, dict):
        return {str(k): _redact(v, is_secret_name(str(k))) for k, v in value.items()}
    return value


def plain_data(value: Any, secret: bool = False) -> Any:
    """JSON data for a value in a plan: the spec's own serialization, secrets reduced."""
    return to_data(_redact(value, secret))


def _canonical(value: Any) -> str:
    return json.dumps(to_data(value), sort_keys=True, default=str)


# Field differences --------------------------------------------------------------------


@dataclass(frozen=True)
class Diff:
    """One line of detail under a change, computed once for both human formats.

    ``value``: old → new. ``set``: items added and removed (lists are shown this way).
    ``map``: keys added, changed and removed (tags).
    """

    name: str
    form: Literal["value", "set", "map"] = "value"
    old: Any = None
    new: Any = None
    added: tuple[Any, ...] = ()
    removed: tuple[Any, ...] = ()
    changed: tuple[tuple[str, Any, Any], ...] = ()


def field_diffs(change: AnyChange) -> list[Diff]:
    result: list[Diff] = []
    for f in change.fields:
        secret = is_secret_name(f.name)
        result += _compare(f.name, _redact(f.old, secret), _redact(f.new, secret))
    return result


def _item_key(value: Any) -> str:
    # Names and addresses are case-insensitive in WorkMail; a change of case alone still
    # shows, as a whole-value difference, when nothing was added or removed.
    return value.lower() if isinstance(value, str) else _canonical(value)


def _compare(name: str, old: Any, new: Any) -> list[Diff]:
    sequence = (list, tuple)
    if (isinstance(old, sequence) or isinstance(new, sequence)) and all(
        v is None or isinstance(v, sequence) for v in (old, new)
    ):
        old_keys = {_item_key(v) for v in old or ()}
        new_keys = {_item_key(v) for v in new or ()}
        added = _unique(v for v in new or () if _item_key(v) not in old_keys)
        removed = _unique(v for v in old or () if _item_key(v) not in new_keys)
        if added or removed:
            return [Diff(name, "set", added=added, removed=removed)]
        return [Diff(name, old=old, new=new)]
    if (isinstance(old, dict) or isinstance(new, dict)) and all(v is None or isinstance(v, dict) for v in (old, new)):
        before: dict[str, Any] = old or {}
        after: dict[str, Any] = new or {}
        added_items = tuple((k, v) for k, v in after.items() if k not in before)
        removed_items = tuple((k, v) for k, v in before.items() if k not in after)
        changed = tuple((k, before[k], v) for k, v in after.items() if k in before and before[k] != v)
        if added_items or removed_items or changed:
            return [Diff(name, "map", added=added_items, removed=removed_items, changed=changed)]
        return [Diff(name, old=old, new=new)]
    if (
        dataclasses.is_dataclass(old) and type(old) is type(new)
        and not isinstance(old, SecretRef | type) and not isinstance(new, type)
    ):
        # A nested object (booking options, an EWS provider): show only what differs in it.
        nested: list[Diff] = []
        for f in dataclasses.fields(old):
            a, b = getattr(old, f.name), getattr(new, f.name)
            if _canonical(a) != _canonical(b):
                nested += _compare(f"{name}.{f.name}", a, b)
        if nested:
            return nested
    return [Diff(name, old=old, new=new)]


def _unique(values: Iterable[Any]) -> tuple[Any, ...]:
    seen: set[str] = set()
    result = []
    for v in values:
        key = _item_key(v)
        if key not in seen:
            seen.add(key)
            result.append(v)
    return tuple(result)


# Compact values -----------------------------------------------------------------------

_LITERALS = {"null", "true", "false", HIDDEN}


def _escape_char(c: str) -> str:
    if c == "\n":
        return "\\n"
    if c == "\t":
        return "\\t"
    if c == "\r":
        return "\\r"
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def clean(text: str) -> str:
    """Free text with every non-printable character (controls, ANSI escapes, bidi
    overrides, zero-width marks) written as a visible escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape_char(c) for c in text)


def _quote(text: str) -> str:
    body = "".join(
        "\\\\" if c == "\\" else '\\"' if c == '"' else c if c.isprintable() else _escape_char(c) for c in text
    )
    return f'"{body}"'


def word(text: str) -> str:
    """A string value: bare when that's unambiguous, quoted when it isn't."""
    plain = (
        text
        and text.isprintable()
        and not any(c in text for c in ' "\\,=→')
        and text[0] not in "+-~[{"
        and text not in _LITERALS
        and not _is_number(text)
    )
    return text if plain else _quote(text)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def show(value: Any) -> str:
    """A compact, single-line rendering of a (redacted) value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return HIDDEN if value == HIDDEN else word(value)
    if isinstance(value, SecretRef):
        version = f", version {word(value.version_id)}" if value.version_id else ""
        return f"secret({word(value.secret_id)}{version})"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        shown = (f"{f.name}={show(getattr(value, f.name))}" for f in dataclasses.fields(value)
                 if getattr(value, f.name) is not None)
        return "{" + ", ".join(shown) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{word(str(k))}={show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return word(str(value))
