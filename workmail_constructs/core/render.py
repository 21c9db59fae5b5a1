"""Render a plan three ways: a terminal table, a pull-request comment, a JSON document.

* ``render_text``: one line per change in apply order, in the spirit of ``terraform plan``.
* ``render_markdown``: a GitHub comment with the destructive changes first, the rest
  grouped by kind, and a size budget that keeps it under GitHub's comment limit.
* ``render_json`` / ``plan_to_data``: a versioned document described by ``PLAN_JSON_SCHEMA``.

Secrets: a field named ``password`` (or ending in ``.password``) and every ``SecretRef``
anywhere in a value render as the secret's id and version only. Anything else found in a
password field renders as ``(hidden)``: a plan is printed in CI logs and PR comments, so
the renderer doesn't trust its input to be free of secrets.

User values (names, addresses, display names) are untrusted text: in the terminal their
control characters are escaped (no ANSI or bidi tricks), in Markdown they are HTML-escaped
inside ``<code>`` so they can't break a table, open a tag or mention anyone.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TextIO

from .changes import AnyChange, ManualStep, Plan
from .kinds import KINDS
from .spec import SecretRef, to_data
from .spec_schema import json_schema as spec_json_schema

__all__ = [
    "COMMENT_LIMIT",
    "FORMAT_VERSION",
    "HIDDEN",
    "NO_CHANGES",
    "PLAN_JSON_SCHEMA",
    "plan_to_data",
    "render_json",
    "render_markdown",
    "render_text",
    "summary_line",
    "use_color",
]

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


def _is_secret_name(name: str) -> bool:
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
            reduced = _redact(item, _is_secret_name(f.name))
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
        return {str(k): _redact(v, _is_secret_name(str(k))) for k, v in value.items()}
    return value


def _data(value: Any, secret: bool = False) -> Any:
    """JSON data for a value in a plan: the spec's own serialization, secrets reduced."""
    return to_data(_redact(value, secret))


def _canonical(value: Any) -> str:
    return json.dumps(to_data(value), sort_keys=True, default=str)


# Field differences --------------------------------------------------------------------


@dataclass(frozen=True)
class _Diff:
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


def _diffs(change: AnyChange) -> list[_Diff]:
    result: list[_Diff] = []
    for f in change.fields:
        secret = _is_secret_name(f.name)
        result += _compare(f.name, _redact(f.old, secret), _redact(f.new, secret))
    return result


def _item_key(value: Any) -> str:
    # Names and addresses are case-insensitive in WorkMail; a change of case alone still
    # shows, as a whole-value difference, when nothing was added or removed.
    return value.lower() if isinstance(value, str) else _canonical(value)


def _compare(name: str, old: Any, new: Any) -> list[_Diff]:
    sequence = (list, tuple)
    if (isinstance(old, sequence) or isinstance(new, sequence)) and all(
        v is None or isinstance(v, sequence) for v in (old, new)
    ):
        old_keys = {_item_key(v) for v in old or ()}
        new_keys = {_item_key(v) for v in new or ()}
        added = _unique(v for v in new or () if _item_key(v) not in old_keys)
        removed = _unique(v for v in old or () if _item_key(v) not in new_keys)
        if added or removed:
            return [_Diff(name, "set", added=added, removed=removed)]
        return [_Diff(name, old=old, new=new)]
    if (isinstance(old, dict) or isinstance(new, dict)) and all(v is None or isinstance(v, dict) for v in (old, new)):
        before: dict[str, Any] = old or {}
        after: dict[str, Any] = new or {}
        added_items = tuple((k, v) for k, v in after.items() if k not in before)
        removed_items = tuple((k, v) for k, v in before.items() if k not in after)
        changed = tuple((k, before[k], v) for k, v in after.items() if k in before and before[k] != v)
        if added_items or removed_items or changed:
            return [_Diff(name, "map", added=added_items, removed=removed_items, changed=changed)]
        return [_Diff(name, old=old, new=new)]
    if (
        dataclasses.is_dataclass(old) and type(old) is type(new)
        and not isinstance(old, SecretRef | type) and not isinstance(new, type)
    ):
        # A nested object (booking options, an EWS provider): show only what differs in it.
        nested: list[_Diff] = []
        for f in dataclasses.fields(old):
            a, b = getattr(old, f.name), getattr(new, f.name)
            if _canonical(a) != _canonical(b):
                nested += _compare(f"{name}.{f.name}", a, b)
        if nested:
            return nested
    return [_Diff(name, old=old, new=new)]


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


def _clean(text: str) -> str:
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


def _word(text: str) -> str:
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


def _show(value: Any) -> str:
    """A compact, single-line rendering of a (redacted) value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return HIDDEN if value == HIDDEN else _word(value)
    if isinstance(value, SecretRef):
        version = f", version {_word(value.version_id)}" if value.version_id else ""
        return f"secret({_word(value.secret_id)}{version})"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        shown = (f"{f.name}={_show(getattr(value, f.name))}" for f in dataclasses.fields(value)
                 if getattr(value, f.name) is not None)
        return "{" + ", ".join(shown) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_word(str(k))}={_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return _word(str(value))


# Text ---------------------------------------------------------------------------------

_ACTION_COLORS = {"create": "32", "update": "33", "replace": "35", "delete": "31"}
KEY_COLUMN_MAX = 40


class _Paint:
    def __init__(self, on: bool) -> None:
        self.on = on

    def __call__(self, text: str, *codes: str) -> str:
        if not self.on or not text:
            return text
        return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"


def use_color(color: bool | None, stream: TextIO | None) -> bool:
    """Whether to colour: as told, else only on a terminal and without ``NO_COLOR``.

    ``NO_COLOR`` follows no-color.org: set to a non-empty value, it turns colour off.
    """
    if color is not None:
        return color
    if os.environ.get("NO_COLOR"):
        return False
    target = stream if stream is not None else sys.stdout
    isatty = getattr(target, "isatty", None)
    if isatty is None:
        return False
    try:
        return bool(isatty())
    except (ValueError, OSError):  # a closed or detached stream
        return False


def _arrow(stream: TextIO | None) -> str:
    # A console whose encoding has no "→" (cp1252 on Windows) would fail on print.
    encoding = getattr(stream if stream is not None else sys.stdout, "encoding", None) or "utf-8"
    try:
        "→".encode(encoding)
    except (LookupError, UnicodeEncodeError):
        return "->"
    return "→"


def render_text(plan: Plan, *, color: bool | None = None, stream: TextIO | None = None) -> str:
    """The plan as a terminal table, in apply order, ending with a newline.

    ``stream`` is where the caller will write the text (standard output when None); it
    only decides colour and the arrow character. Nothing is written to it.
    """
    paint = _Paint(use_color(color, stream))
    arrow = _arrow(stream)
    lines: list[str] = []
    if plan.empty:
        lines.append(paint(NO_CHANGES, "1"))
    else:
        where = f" to organization {_clean(plan.organization_id)}" if plan.organization_id else ""
        lines += [f"Changes{where}, in the order they apply:", ""]
        kinds = [_clean(c.kind) for c in plan.changes]
        keys = [_clean(c.key) or '""' for c in plan.changes]
        kind_width = max(len(k) for k in kinds)
        key_width = min(max(len(k) for k in keys), KEY_COLUMN_MAX)
        for change, kind, key in zip(plan.changes, kinds, keys, strict=True):
            lines.append(_text_change(change, kind.ljust(kind_width), key.ljust(key_width), paint))
            lines += [" " * 8 + _text_diff(d, paint, arrow) for d in _diffs(change)]
        lines += ["", paint(summary_line(plan), "1")]
        if plan.destructive:
            lines.append(
                paint("!", "1", "31") + " marks a destructive change: it deletes objects or the mail they hold, "
                "and is applied only when destructive changes are allowed."
            )
    if plan.manual:
        intro = " (WorkMail's API can't make these changes; make them yourself):"
        lines += ["", paint("Manual steps", "1", "36") + intro]
        for step in plan.manual:
            text = [_clean(line) for line in step.text.splitlines()] or [""]
            lines.append(f"  * {paint(_clean(step.topic), '1')}: {text[0]}".rstrip())
            lines += [f"    {line}".rstrip() for line in text[1:]]
    return "\n".join(lines) + "\n"


def _text_change(change: AnyChange, kind: str, key: str, paint: _Paint) -> str:
    action_color = _ACTION_COLORS.get(change.action, "0")
    mark = paint("!", "1", "31") if change.destructive else " "
    symbol = paint(SYMBOLS.get(change.action, "?").rjust(3), action_color)
    reason = _clean(change.reason)
    if change.destructive:
        reason = paint("DESTRUCTIVE", "1", "31") + (f"  {reason}" if reason else "")
    line = f"{mark} {symbol} {kind}  {paint(key, '1')}  {reason}"
    return line.rstrip()


def _text_diff(diff: _Diff, paint: _Paint, arrow: str) -> str:
    name = _clean(diff.name)
    if diff.form == "set":
        items = [paint(f"+{_show(v)}", "32") for v in diff.added] + [paint(f"-{_show(v)}", "31") for v in diff.removed]
        return f"{name}: {' '.join(items)}"
    if diff.form == "map":
        items = [paint(f"+{_word(k)}={_show(v)}", "32") for k, v in diff.added]
        items += [paint(f"~{_word(k)}={_show(o)}{arrow}{_show(n)}", "33") for k, o, n in diff.changed]
        items += [paint(f"-{_word(k)}={_show(v)}", "31") for k, v in diff.removed]
        return f"{name}: {' '.join(items)}"
    return f"{name}: {paint(_show(diff.old), '31')} {arrow} {paint(_show(diff.new), '32')}"


# Markdown -----------------------------------------------------------------------------

# Everything Markdown, GitHub's extensions (tables, strikethrough, math, autolinked
# addresses and URLs) or HTML could read as syntax mid-line; no user value starts a line.
# Entities work both in Markdown text and inside HTML blocks such as <summary>, where
# backslash escapes don't.
_MD_ESCAPES = {ord(c): f"&#{ord(c)};" for c in "\\`*_[]|~$@"}
_MD_ESCAPES.update({ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;"})


def _esc(text: str) -> str:
    """Untrusted text made inert for Markdown and HTML, on one line."""
    # "://" too, or GitHub would turn a URL into a link.
    return _clean(text).translate(_MD_ESCAPES).replace("://", "&#58;//")


def _code(text: str) -> str:
    # <code> rather than backticks: a code span can't hold a backtick or, in a table, a pipe.
    return f"<code>{_esc(text)}</code>"


def _key_code(key: str) -> str:
    return _code(key or '""')


def _md_symbol(action: str) -> str:
    return f"`{SYMBOLS.get(action, '?')}` {action}"


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _md_diff_row(diff: _Diff) -> str:
    if diff.form == "set":
        removed = ", ".join(_code(_show(v)) for v in diff.removed)
        added = ", ".join(_code(_show(v)) for v in diff.added)
        return _md_row([_code(diff.name), f"removed {removed}" if removed else "", f"added {added}" if added else ""])
    if diff.form == "map":
        current = [_code(f"{_word(k)}={_show(v)}") for k, v in diff.removed]
        current += [_code(f"{_word(k)}={_show(o)}") for k, o, _ in diff.changed]
        declared = [_code(f"{_word(k)}={_show(v)}") for k, v in diff.added]
        declared += [_code(f"{_word(k)}={_show(n)}") for k, _, n in diff.changed]
        return _md_row([_code(diff.name), ", ".join(current), ", ".join(declared)])
    return _md_row([_code(diff.name), _code(_show(diff.old)), _code(_show(diff.new))])


def _md_details(change: AnyChange) -> str:
    diffs = _diffs(change)
    if not diffs:
        return ""
    count = f"{len(change.fields)} field{'s' if len(change.fields) != 1 else ''}"
    summary = f"{_esc(change.action)} {_esc(change.kind.replace('_', ' '))} {_key_code(change.key)}: {count}"
    table = "\n".join(
        [_md_row(["Field", "Current", "Declared"]), "|---|---|---|"] + [_md_diff_row(d) for d in diffs]
    )
    return f"<details><summary>{summary}</summary>\n\n{table}\n\n</details>"


def _md_change_row(change: AnyChange, with_kind: bool) -> str:
    cells = [_md_symbol(change.action)]
    if with_kind:
        cells.append(_esc(change.kind))
    cells += [_key_code(change.key), _esc(change.reason)]
    return _md_row(cells)


def _kind_order(kind: str) -> tuple[int, str]:
    order = list(KINDS)
    return (order.index(kind) if kind in KINDS else len(order), kind)


def _kind_title(kind: str) -> str:
    known = KINDS.get(kind)  # type: ignore[call-overload]
    return known.info.title if known is not None else _esc(kind.replace("_", " ").capitalize())


def render_markdown(plan: Plan, *, limit: int = COMMENT_LIMIT) -> str:
    """The plan as a GitHub pull-request comment, shorter than ``limit`` characters.

    When everything doesn't fit, the field details of non-destructive changes go first
    (from the end), then their rows, then the details of destructive changes; the comment
    says how many were left out. The summary and the destructive list always stay: only
    with thousands of destructive changes does that list drop its reasons, and then name
    as many as fit and count the rest. (A ``limit`` too small for the heading and summary
    themselves can't be met; the default is met for any number of changes.)
    """
    title = "## WorkMail plan" + (f" for {_code(plan.organization_id)}" if plan.organization_id else "")
    manual_steps = plan.manual
    if plan.empty:
        return _join([title, NO_CHANGES, _md_manual(manual_steps, len(manual_steps))])

    counts = plan.counts()
    destructive = plan.destructive
    head = [
        title,
        f"**{summary_line(plan)}**",
        "\n".join([
            "| Create | Update | Replace | Delete | Destructive |",
            "|---:|---:|---:|---:|---:|",
            _md_row([str(counts[a]) for a in ACTIONS] + [f"**{len(destructive)}**" if destructive else "0"]),
        ]),
    ]
    destructive_details = [d for c in destructive if (d := _md_details(c))]
    others = sorted((c for c in plan.changes if not c.destructive), key=lambda c: _kind_order(c.kind))
    rows = [_md_change_row(c, with_kind=False) for c in others]
    details = [_md_details(c) for c in others]
    other_details = [i for i, d in enumerate(details) if d]
    # What the budget may leave out, most important first; a comment shows a prefix of it:
    # destructive details, then the other changes' rows, then their details.
    optional = len(destructive_details) + len(others) + len(other_details)
    group_sizes: dict[str, int] = {}
    for c in others:
        group_sizes[c.kind] = group_sizes.get(c.kind, 0) + 1

    def build(shown: int, *, compact: bool = False, named: int | None = None, manual: int | None = None) -> str:
        d_shown = min(shown, len(destructive_details))
        rows_shown = max(0, min(shown - len(destructive_details), len(others)))
        with_details = set(other_details[:max(0, shown - len(destructive_details) - len(others))])
        named_count = len(destructive) if named is None else named
        manual_shown = len(manual_steps) if manual is None else manual
        parts = list(head)
        note = _md_truncation_note(
            limit, others=len(others), missing_others=len(others) - rows_shown,
            missing_details=len(destructive_details) - d_shown + len(other_details) - len(with_details),
            unnamed=len(destructive) - named_count, missing_manual=len(manual_steps) - manual_shown,
        )
        if note:
            parts.append(note)
        if destructive:
            parts.append(_md_destructive(destructive, compact, named_count))
            parts += destructive_details[:d_shown]
        if others:
            parts.append(f"### Other changes ({len(others)})")
            kind = None
            group_rows: list[str] = []
            group_details: list[str] = []
            for i in range(rows_shown):
                if others[i].kind != kind:
                    parts += _md_group(kind, group_sizes, group_rows, group_details)
                    kind, group_rows, group_details = others[i].kind, [], []
                group_rows.append(rows[i])
                if i in with_details:
                    group_details.append(details[i])
            parts += _md_group(kind, group_sizes, group_rows, group_details)
            if rows_shown < len(others):
                parts.append(f"_… and {len(others) - rows_shown} more changes, left out to keep this comment "
                             "under GitHub's size limit._")
        parts.append(_md_manual(manual_steps, manual_shown))
        return _join(parts)

    def fits(text: str) -> bool:
        return len(text) < limit

    everything = build(optional)
    if fits(everything):
        return everything

    def most_shown(compact: bool) -> int | None:
        return _largest(optional - 1, lambda n: fits(build(n, compact=compact)))

    for compact in (False, True):
        shown = most_shown(compact)
        if shown is not None:
            return build(shown, compact=compact)
    named = _largest(len(destructive), lambda n: fits(build(0, compact=True, named=n)))
    if named is not None:
        return build(0, compact=True, named=named)
    # Only an enormous list of manual steps gets here; they are cut last.
    manual = _largest(len(manual_steps), lambda n: fits(build(0, compact=True, named=0, manual=n))) or 0
    return build(0, compact=True, named=0, manual=manual)


def _largest(high: int, ok: Callable[[int], bool]) -> int | None:
    """The largest n in [0, high] with ok(n), for ok true up to some n and false after."""
    if high < 0 or not ok(0):
        return None
    low = 0
    while low < high:
        middle = (low + high + 1) // 2
        if ok(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _join(parts: Iterable[str]) -> str:
    return "\n\n".join(p for p in parts if p) + "\n"


def _md_truncation_note(limit: int, *, others: int, missing_others: int, missing_details: int, unnamed: int,
                        missing_manual: int) -> str:
    left_out = []
    if missing_others:
        left_out.append(f"{missing_others} of {others} other changes")
    if missing_details:
        left_out.append(f"the field details of {missing_details} changes")
    if unnamed:
        left_out.append(f"the names of {unnamed} destructive changes")
    if missing_manual:
        left_out.append(f"{missing_manual} manual steps")
    if not left_out:
        return ""
    what = left_out[0] if len(left_out) == 1 else ", ".join(left_out[:-1]) + " and " + left_out[-1]
    return (
        "> [!NOTE]\n"
        f"> {what[0].upper()}{what[1:]} are left out to stay under GitHub's {limit:,}-character comment limit. "
        "The summary counts every change. See the full plan in the text or JSON output."
    )


def _md_destructive(changes: list[AnyChange], compact: bool, named: int) -> str:
    lines = [
        f"### ⚠️ Destructive changes ({len(changes)})",
        "",
        "> [!WARNING]\n> These changes delete objects or the mail they hold. "
        "They are applied only when destructive changes are allowed.",
        "",
    ]
    if not compact:
        lines += ["| Action | Kind | Key | Reason |", "|---|---|---|---|"]
        lines += [_md_change_row(c, with_kind=True) for c in changes]
        return "\n".join(lines)
    groups: dict[tuple[str, str], list[AnyChange]] = {}
    for c in changes:
        groups.setdefault((c.action, c.kind), []).append(c)
    remaining = named
    for (action, kind), group in groups.items():
        names = [_key_code(c.key) for c in group[:max(remaining, 0)]]
        remaining -= len(names)
        more = len(group) - len(names)
        listed = ", ".join(names + ([f"and {more} more"] if more and names else []))
        lines.append(f"- {_md_symbol(action)} {_esc(kind)} ({len(group)}){': ' + listed if listed else ''}")
    return "\n".join(lines)


def _md_group(kind: str | None, sizes: dict[str, int], rows: list[str], details: list[str]) -> list[str]:
    if kind is None or not rows:
        return []
    shown = f"{len(rows)} of {sizes[kind]} shown" if len(rows) < sizes[kind] else str(sizes[kind])
    table = "\n".join(["| Action | Key | Reason |", "|---|---|---|", *rows])
    return [f"#### {_kind_title(kind)} ({shown})", table, *details]


def _md_manual(steps: list[ManualStep], shown: int) -> str:
    if not steps:
        return ""
    lines = ["### Manual steps", "", "WorkMail's API can't make these changes; make them yourself:", ""]
    for step in steps[:shown]:
        text = "<br>".join(_esc(line) for line in step.text.splitlines())
        lines.append(f"- **{_esc(step.topic)}**: {text}")
    if shown < len(steps):
        lines.append(f"- … and {len(steps) - shown} more manual steps (see the text or JSON output).")
    return "\n".join(lines)


# JSON ---------------------------------------------------------------------------------


def plan_to_data(plan: Plan) -> dict[str, Any]:
    """The plan as JSON-ready data in the shape of ``PLAN_JSON_SCHEMA`` (apply order)."""
    counts = plan.counts()
    return {
        "format_version": FORMAT_VERSION,
        "organization_id": plan.organization_id,
        "summary": {**{a: counts[a] for a in ACTIONS}, "destructive": len(plan.destructive)},
        "changes": [
            {
                "action": c.action,
                "kind": c.kind,
                "key": c.key,
                "reason": c.reason,
                "destructive": c.destructive,
                "id": c.id,
                "fields": [
                    {"name": f.name, "old": _data(f.old, _is_secret_name(f.name)),
                     "new": _data(f.new, _is_secret_name(f.name))}
                    for f in c.fields
                ],
                "before": _data(c.before),
                "after": _data(c.after),
            }
            for c in plan.changes
        ],
        "manual": [{"topic": m.topic, "text": m.text} for m in plan.manual],
    }


def render_json(plan: Plan) -> str:
    """The plan as a JSON document (two-space indent, UTF-8 text, no trailing newline)."""
    return json.dumps(plan_to_data(plan), indent=2, ensure_ascii=False)




def _plan_json_schema() -> dict[str, Any]:
    definitions: dict[str, Any] = dict(spec_json_schema()["$defs"])
    # In a plan a secret reference is only its id and version.
    definitions["SecretRef"] = {
        "type": "object",
        "description": "A Secrets Manager reference as a plan shows it: which secret and version, nothing else.",
        "properties": {"secret_id": {"type": "string"}, "version_id": {"type": "string"}},
        "required": ["secret_id"],
        "additionalProperties": False,
    }
    definitions["FieldChange"] = {
        "type": "object",
        "description": "One attribute of a change: its value now (old) and as declared (new), as JSON data.",
        "properties": {
            "name": {"type": "string", "description": "Attribute name; nested attributes are dotted (ews.password)."},
            "old": {"description": "The value WorkMail has (or the previous spec's, for passwords)."},
            "new": {"description": "The declared value."},
        },
        "required": ["name", "old", "new"],
        "additionalProperties": False,
        "if": {"properties": {"name": {"pattern": "(^|\\.)[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]$"}}},
        "then": {"properties": {
            "old": {"$ref": "#/$defs/ShownSecret"},
            "new": {"$ref": "#/$defs/ShownSecret"},
        }},
    }
    definitions["ShownSecret"] = {
        "description": f"A password field: a secret reference, null, or {HIDDEN!r} for anything else.",
        "anyOf": [{"$ref": "#/$defs/SecretRef"}, {"type": "null"}, {"const": HIDDEN}],
    }
    definitions["Change"] = {
        "type": "object",
        "description": "One change, in the order apply makes them.",
        "properties": {
            "action": {"enum": list(ACTIONS)},
            "kind": {"enum": list(KINDS), "description": "What the change is about; fixes the type of before/after."},
            "key": {"type": "string", "description": "The object's name (or 'owner/member' for links)."},
            "reason": {"type": "string", "description": "Why the change is planned, in words."},
            "destructive": {"type": "boolean", "description": "Deletes objects or mail; needs an explicit opt-in."},
            "id": {"type": ["string", "null"], "description": "WorkMail id of the existing object, if known."},
            "fields": {"type": "array", "items": {"$ref": "#/$defs/FieldChange"}},
            "before": {"description": "The object as it exists (spec types as JSON); null for create."},
            "after": {"description": "The object as declared (spec types as JSON); null for delete."},
        },
        "required": ["action", "kind", "key", "reason", "destructive", "id", "fields", "before", "after"],
        "additionalProperties": False,
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                "then": {"properties": {
                    "before": {"anyOf": [value, {"type": "null"}]},
                    "after": {"anyOf": [value, {"type": "null"}]},
                }},
            }
            for kind, value in ((name, k.info.value_schema) for name, k in KINDS.items())
        ],
    }
    count = {"type": "integer", "minimum": 0}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://workmail-constructs/plan/v{FORMAT_VERSION}.json",
        "title": "WorkMail plan",
        "type": "object",
        "properties": {
            "format_version": {"const": FORMAT_VERSION},
            "organization_id": {"type": ["string", "null"]},
            "summary": {
                "type": "object",
                "properties": {"create": count, "update": count, "replace": count, "delete": count,
                               "destructive": count},
                "required": ["create", "update", "replace", "delete", "destructive"],
                "additionalProperties": False,
            },
            "changes": {"type": "array", "items": {"$ref": "#/$defs/Change"}},
            "manual": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"topic": {"type": "string"}, "text": {"type": "string"}},
                    "required": ["topic", "text"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["format_version", "organization_id", "summary", "changes", "manual"],
        "additionalProperties": False,
        "$defs": definitions,
    }


PLAN_JSON_SCHEMA: dict[str, Any] = _plan_json_schema()
