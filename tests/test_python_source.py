"""The imported app's Python source: literals that read back as the value, lines that fit."""

from __future__ import annotations

import ast
import re

from hypothesis import given
from hypothesis import strategies as st

from workmail_constructs.importing.python_source import LINE_LIMIT, call, flat, lines, list_of, literal

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4),
    max_leaves=12,
)


@given(values)
def test_a_literal_reads_back_as_its_value(value: object) -> None:
    assert ast.literal_eval(literal(value)) == value


@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=30), max_size=12), st.text(max_size=40))
def test_wrapped_calls_are_the_same_code(items: list[str], name: str) -> None:
    expr = call("org.add_group", [literal(name)], [("members", list_of([literal(i) for i in items])),
                                                   ("nested", call("Inner", [literal(name)]))])
    source = "\n".join(lines(expr, "    "))
    assert ast.dump(ast.parse(source.strip())) == ast.dump(ast.parse(flat(expr)))
    for line in source.splitlines():
        if len(line) > LINE_LIMIT:
            # Only a single string too long by itself may pass the limit.
            atom = re.sub(r"^\w+=", "", line.strip().removesuffix(","))
            assert isinstance(ast.literal_eval(atom), str), line


def test_a_short_call_stays_on_one_line_and_a_long_one_opens() -> None:
    short = call("org.add_user", [literal("bob")], [("display_name", literal("Bob"))])
    assert lines(short, "        ") == ['        org.add_user("bob", display_name="Bob")']
    long = call("org.add_user", [literal("bob")], [("aliases", list_of([literal(f"b{n}@example.com")
                                                                         for n in range(12)]))])
    opened = lines(long, "        ")
    assert opened[0] == "        org.add_user(" and opened[-1] == "        )"
    assert all(len(line) <= LINE_LIMIT for line in opened)
