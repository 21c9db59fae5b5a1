"""Constraint checks derived from botocore's WorkMail service model.

botocore's client checks only required members, Python types and minimums. The
service itself also rejects values over a maximum length, outside an enum or not
matching a pattern. Every such constraint lives in the service model, so it is read
from there instead of being retyped: the emulator uses this to answer like the
service, and the reconcile core uses it to reject a bad spec before any API call.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.loaders
from botocore.exceptions import DataNotFoundError
from botocore.loaders import ExtrasProcessor
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape


@dataclass(frozen=True)
class Violation:
    """One constraint a value breaks, in the words the service uses."""

    path: str
    value: Any
    constraint: str
    sensitive: bool = False
    # The value is of the wrong JSON type: the service can't even read it, so it answers
    # SerializationException rather than ValidationException.
    malformed: bool = False

    def describe(self) -> str:
        if self.malformed:
            return f"Value at '{self.path}' is {json_type(self.value)}: {self.constraint}"
        if self.sensitive or self.value is None:
            return f"Value at '{self.path}' failed to satisfy constraint: {self.constraint}"
        return f"Value '{_short(self.value)}' at '{self.path}' failed to satisfy constraint: {self.constraint}"


def json_type(value: Any) -> str:
    """The JSON kind of a decoded value, with its article: 'a list', 'an object'."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _wrong_type(path: str, value: Any, expected: str) -> Violation:
    return Violation(path, value, f"Member must be {expected}", malformed=True)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


@cache
def service_model(service: str = "workmail") -> ServiceModel:
    """The model a botocore session would give (its latest version, with any SDK extras),
    read without one: a session sets up some 240 event handlers, and its loader lists every
    service botocore knows (a thousand files) before reading one, most of the first
    validation's time in a synth or a handler's cold start."""
    loader = _loader()
    version = loader.determine_latest_version(service, "service-2")
    data = loader.load_data(f"{service}/{version}/service-2")
    try:
        extras = loader.load_data(f"{service}/{version}/service-2.sdk-extras")
    except DataNotFoundError:
        extras = None
    if extras is not None:
        ExtrasProcessor().process(data, [extras])
    return ServiceModel(data, service_name=service)


@cache
def _loader() -> botocore.loaders.Loader:
    # Where a session looks too: botocore's own data, ~/.aws/models and AWS_DATA_PATH.
    return botocore.loaders.create_loader(os.environ.get("AWS_DATA_PATH"))


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    # The service matches Java-style: the whole value, with ASCII-only \w and \d.
    return re.compile(pattern, re.ASCII)


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def validation_messages(violations: list[Violation]) -> str:
    """The service's wording: "2 validation errors detected: ...; ..."."""
    count = len(violations)
    noun = "validation error" if count == 1 else "validation errors"
    return f"{count} {noun} detected: " + "; ".join(v.describe() for v in violations)


def serialization_message(violations: list[Violation]) -> str:
    """What the service says of members it can't read: each one, and the type it expects."""
    return "Can't read the request: " + "; ".join(v.describe() for v in violations if v.malformed)


def check(shape: Shape, value: Any, path: str = "") -> list[Violation]:
    """All constraint violations of ``value`` against ``shape``.

    Paths use the service's convention: lower-camel member names joined by dots,
    list items as ``member.N`` (1-based), e.g. ``domains.1.member.domainName``.
    """
    return list(_check(shape, value, path))


@cache
def valid(shape: Shape) -> Callable[[Any], bool]:
    """A fast test of ``not check(shape, value)``, for the scalar shapes a spec's fields are sent as.

    Validating a 10,000-user spec checks some hundred thousand values; nearly all pass, so
    the test that they do must be cheap, and ``check`` runs only to say what is wrong.
    """
    kind = shape.type_name
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if kind == "string":
        shortest, longest, enum, match = string_constraints(shape)

        def string(value: Any) -> bool:
            return (isinstance(value, str) and shortest <= len(value) <= longest
                    and (not enum or value in enum) and (match is None or match(value) is not None))

        return string
    if kind in ("integer", "long"):
        least, most = low if low is not None else -(1 << 63), high if high is not None else 1 << 63

        def integer(value: Any) -> bool:
            return type(value) is int and least <= value <= most

        return integer
    if kind == "boolean":
        return lambda value: type(value) is bool
    return lambda value: not check(shape, value)


@cache
def string_constraints(
    shape: Shape,
) -> tuple[int, int, frozenset[str], Callable[[str], re.Match[str] | None] | None]:
    """A string shape's constraints: its shortest and longest length, its enum (empty when
    it has none) and its pattern's whole-value match (None when it has none)."""
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    pattern = shape.metadata.get("pattern")
    return (low or 0, high if high is not None else 1 << 62, frozenset(getattr(shape, "enum", None) or ()),
            _compiled(pattern).fullmatch if pattern else None)


def _check(shape: Shape, value: Any, path: str) -> Iterator[Violation]:
    sensitive = bool(shape.serialization.get("sensitive") or shape.metadata.get("sensitive"))
    kind = shape.type_name
    if value is None:
        return
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        if not isinstance(value, dict):
            yield _wrong_type(path, value, "a structure")
            return
        for name in shape.required_members:
            if value.get(name) is None:
                yield Violation(_join(path, name), None, "Member must not be null")
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is None:
                continue
            yield from _check(member, member_value, _join(path, name))
        return
    if kind == "list":
        assert isinstance(shape, ListShape)
        if not isinstance(value, list):
            yield _wrong_type(path, value, "a list")
            return
        yield from _bounds(shape, len(value), value, path, "length", sensitive)
        for index, item in enumerate(value, start=1):
            yield from _check(shape.member, item, f"{path}.{index}.member" if path else f"{index}.member")
        return
    if kind == "map":
        assert isinstance(shape, MapShape)
        if not isinstance(value, dict):
            yield _wrong_type(path, value, "a map")
            return
        yield from _bounds(shape, len(value), value, path, "length", sensitive)
        for key, item in value.items():
            yield from _check(shape.key, key, f"{path}.key")
            yield from _check(shape.value, item, f"{path}.{key}")
        return
    if kind == "string":
        if not isinstance(value, str):
            yield _wrong_type(path, value, "a string")
            return
        yield from _bounds(shape, len(value), value, path, "length", sensitive)
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            yield Violation(path, value, f"Member must satisfy enum value set: [{', '.join(enum)}]", sensitive)
        pattern = shape.metadata.get("pattern")
        if pattern and not _compiled(pattern).fullmatch(value):
            yield Violation(path, value, f"Member must satisfy regular expression pattern: {pattern}", sensitive)
        return
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            yield _wrong_type(path, value, "an integer")
            return
        yield from _bounds(shape, value, value, path, "value", sensitive)
        return
    if kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            yield _wrong_type(path, value, "a number")
        return
    if kind == "boolean":
        if not isinstance(value, bool):
            yield _wrong_type(path, value, "a boolean")
        return
    if kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            yield _wrong_type(path, value, "a timestamp")
        return
    if kind == "blob" and not isinstance(value, (str, bytes, bytearray)):
        yield _wrong_type(path, value, "a blob")


def _bounds(shape: Shape, measure: int, value: Any, path: str, what: str, sensitive: bool) -> Iterator[Violation]:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if low is not None and measure < low:
        op = "length greater than or equal to" if what == "length" else "value greater than or equal to"
        yield Violation(path, value, f"Member must have {op} {low}", sensitive)
    if high is not None and measure > high:
        op = "length less than or equal to" if what == "length" else "value less than or equal to"
        yield Violation(path, value, f"Member must have {op} {high}", sensitive)


def _join(path: str, member: str) -> str:
    name = _lower_first(member)
    return f"{path}.{name}" if path else name


def operation(name: str, service: str = "workmail") -> OperationModel:
    return service_model(service).operation_model(name)


def check_request(operation_name: str, params: dict[str, Any], service: str = "workmail") -> list[Violation]:
    model = operation(operation_name, service)
    if model.input_shape is None:
        return []
    return check(model.input_shape, params)


def enum_values(shape_name: str, service: str = "workmail") -> tuple[str, ...]:
    return tuple(getattr(service_model(service).shape_for(shape_name), "enum", ()))


def member_shape(operation_name: str, member: str, service: str = "workmail") -> Shape:
    input_shape = operation(operation_name, service).input_shape
    assert isinstance(input_shape, StructureShape)
    return input_shape.members[member]
