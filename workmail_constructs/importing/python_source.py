"""Python source, written for people to read: expressions wrapped the way a formatter would.

An expression is a string of code (an atom), a ``Call`` or a ``ListOf``; ``lines`` puts it on
one line when it fits and otherwise opens it one argument or item per line, recursively.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

LINE_LIMIT = 110
INDENT = "    "


@dataclass(frozen=True)
class Call:
    function: str
    arguments: tuple[Expr, ...] = ()
    keywords: tuple[tuple[str, Expr], ...] = ()


@dataclass(frozen=True)
class ListOf:
    items: tuple[Expr, ...]


Expr = str | Call | ListOf


def call(function: str, arguments: Sequence[Expr] = (), keywords: Sequence[tuple[str, Expr]] = ()) -> Call:
    return Call(function, tuple(arguments), tuple(keywords))


def list_of(items: Sequence[Expr]) -> ListOf:
    return ListOf(tuple(items))


def literal(value: object) -> str:
    """A Python literal of a str, bool, int, None or list of those (strings double-quoted)."""
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a Python string literal too: the same escapes, double quotes.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return flat(list_of([literal(item) for item in value]))
    raise TypeError(f"no literal for {type(value).__name__}")


def flat(expr: Expr) -> str:
    """``expr`` on one line."""
    if isinstance(expr, str):
        return expr
    if isinstance(expr, ListOf):
        return "[" + ", ".join(flat(item) for item in expr.items) + "]"
    parts = [*(flat(a) for a in expr.arguments), *(f"{name}={flat(value)}" for name, value in expr.keywords)]
    return f"{expr.function}({', '.join(parts)})"


def lines(expr: Expr, indent: str, prefix: str = "", suffix: str = "") -> list[str]:
    """``expr`` as lines at ``indent``, written after ``prefix`` and followed by ``suffix``."""
    one_line = f"{indent}{prefix}{flat(expr)}{suffix}"
    if len(one_line) <= LINE_LIMIT or isinstance(expr, str):
        return [one_line]
    inner = indent + INDENT
    if isinstance(expr, ListOf):
        opening, closing = "[", "]"
        items: list[tuple[str, Expr]] = [("", item) for item in expr.items]
    else:
        opening, closing = f"{expr.function}(", ")"
        items = [("", a) for a in expr.arguments] + [(f"{name}=", value) for name, value in expr.keywords]
    body = [line for name, item in items for line in lines(item, inner, name, ",")]
    return [f"{indent}{prefix}{opening}", *body, f"{indent}{closing}{suffix}"]

