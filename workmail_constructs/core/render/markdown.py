"""A plan as a GitHub pull-request comment: destructive changes first, the rest grouped by kind,
within GitHub's comment size limit."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ..changes import AnyChange, ManualStep, Plan
from ..kinds import KINDS
from .common import ACTIONS, COMMENT_LIMIT, NO_CHANGES, SYMBOLS, Diff, clean, field_diffs, show, summary_line, word

# Everything Markdown, GitHub's extensions (tables, strikethrough, math, autolinked
# addresses and URLs) or HTML could read as syntax mid-line; no user value starts a line.
# Entities work both in Markdown text and inside HTML blocks such as <summary>, where
# backslash escapes don't.
_MD_ESCAPES = {ord(c): f"&#{ord(c)};" for c in "\\`*_[]|~$@"}
_MD_ESCAPES.update({ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;"})


def _esc(text: str) -> str:
    """Untrusted text made inert for Markdown and HTML, on one line."""
    # "://" too, or GitHub would turn a URL into a link.
    return clean(text).translate(_MD_ESCAPES).replace("://", "&#58;//")


def _code(text: str) -> str:
    # <code> rather than backticks: a code span can't hold a backtick or, in a table, a pipe.
    return f"<code>{_esc(text)}</code>"


def _key_code(key: str) -> str:
    return _code(key or '""')


def _md_symbol(action: str) -> str:
    return f"`{SYMBOLS.get(action, '?')}` {action}"


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _md_diff_row(diff: Diff) -> str:
    if diff.form == "set":
        removed = ", ".join(_code(show(v)) for v in diff.removed)
        added = ", ".join(_code(show(v)) for v in diff.added)
        return _md_row([_code(diff.name), f"removed {removed}" if removed else "", f"added {added}" if added else ""])
    if diff.form == "map":
        current = [_code(f"{word(k)}={show(v)}") for k, v in diff.removed]
        current += [_code(f"{word(k)}={show(o)}") for k, o, _ in diff.changed]
        declared = [_code(f"{word(k)}={show(v)}") for k, v in diff.added]
        declared += [_code(f"{word(k)}={show(n)}") for k, _, n in diff.changed]
        return _md_row([_code(diff.name), ", ".join(current), ", ".join(declared)])
    return _md_row([_code(diff.name), _code(show(diff.old)), _code(show(diff.new))])


def _md_details(change: AnyChange) -> str:
    diffs = field_diffs(change)
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
