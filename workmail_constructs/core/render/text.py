"""A plan as a terminal table: one line per change in apply order, in the spirit of ``terraform plan``."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from ..changes import AnyChange, Plan
from .common import NO_CHANGES, SYMBOLS, Diff, clean, field_diffs, show, summary_line, word

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
        where = f" to organization {clean(plan.organization_id)}" if plan.organization_id else ""
        lines += [f"Changes{where}, in the order they apply:", ""]
        kinds = [clean(c.kind) for c in plan.changes]
        keys = [clean(c.key) or '""' for c in plan.changes]
        kind_width = max(len(k) for k in kinds)
        key_width = min(max(len(k) for k in keys), KEY_COLUMN_MAX)
        for change, kind, key in zip(plan.changes, kinds, keys, strict=True):
            lines.append(_text_change(change, kind.ljust(kind_width), key.ljust(key_width), paint))
            lines += [" " * 8 + _text_diff(d, paint, arrow) for d in field_diffs(change)]
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
            text = [clean(line) for line in step.text.splitlines()] or [""]
            lines.append(f"  * {paint(clean(step.topic), '1')}: {text[0]}".rstrip())
            lines += [f"    {line}".rstrip() for line in text[1:]]
    return "\n".join(lines) + "\n"


def _text_change(change: AnyChange, kind: str, key: str, paint: _Paint) -> str:
    action_color = _ACTION_COLORS.get(change.action, "0")
    mark = paint("!", "1", "31") if change.destructive else " "
    symbol = paint(SYMBOLS.get(change.action, "?").rjust(3), action_color)
    reason = clean(change.reason)
    if change.destructive:
        reason = paint("DESTRUCTIVE", "1", "31") + (f"  {reason}" if reason else "")
    line = f"{mark} {symbol} {kind}  {paint(key, '1')}  {reason}"
    return line.rstrip()


def _text_diff(diff: Diff, paint: _Paint, arrow: str) -> str:
    name = clean(diff.name)
    if diff.form == "set":
        items = [paint(f"+{show(v)}", "32") for v in diff.added] + [paint(f"-{show(v)}", "31") for v in diff.removed]
        return f"{name}: {' '.join(items)}"
    if diff.form == "map":
        items = [paint(f"+{word(k)}={show(v)}", "32") for k, v in diff.added]
        items += [paint(f"~{word(k)}={show(o)}{arrow}{show(n)}", "33") for k, o, n in diff.changed]
        items += [paint(f"-{word(k)}={show(v)}", "31") for k, v in diff.removed]
        return f"{name}: {' '.join(items)}"
    return f"{name}: {paint(show(diff.old), '31')} {arrow} {paint(show(diff.new), '32')}"
