"""Reading spec documents: JSON data into the spec's dataclasses, with the path of
anything wrong; the document's deploy-time references; and the type check of specs
built in Python (which no reader has checked).

Readers are compiled once per annotation: every deploy reads whole specs of thousands of
objects, and validation walks them again.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from .spec import SPEC_VERSION, SpecError, WorkMailSpec

T = TypeVar("T")


def parse_json(text: str | bytes) -> Any:
    """A spec document's JSON, or a SpecError saying why it can't be read."""
    try:
        return json.loads(text)
    except RecursionError:
        # No spec nests more than a few levels; this is a hostile or broken document.
        raise SpecError("", "nested too deeply to be a spec document") from None
    except ValueError as exc:
        raise SpecError("", f"not valid JSON: {exc}") from None


def from_data(cls: type[T], data: Any, path: str = "", *, cloudformation: bool = False,
              references: Mapping[str, Any] | None = None) -> T:
    """Build ``cls`` from JSON data, with an error naming the path of anything wrong.

    ``cloudformation``: the data came as custom-resource properties, in which CloudFormation
    turns every number and boolean into a string; they are read back as the declared types.
    ``references``: the values of the document's ``$ref:NAME`` placeholders.
    """
    token = _REFERENCES.set(references)
    try:
        with collection_paused():
            result: T = _reader(cls, cloudformation)(data)
    except _Unreadable:
        # The fast reader only tells that something is wrong; this one says what, and where.
        data = resolve_references(data, references or {}, path)
        result = _convert(cls, data, path, cloudformation)
    finally:
        _REFERENCES.reset(token)
    if isinstance(result, WorkMailSpec) and result.version != SPEC_VERSION:
        raise SpecError("version", f"unsupported spec version {result.version}; this library reads {SPEC_VERSION}")
    return result


@contextmanager
def collection_paused() -> Iterator[None]:
    """The cyclic garbage collector paused for reading or validating a spec: a large spec is
    tens of thousands of new objects without a cycle among them, and the collector's passes
    over them, which find nothing, cost as much as the reading itself. Nothing is lost:
    objects without cycles are freed as they were, and the next pass after this sees the rest."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# The references of the document ``from_data`` is reading (see resolve_references).
_REFERENCES: ContextVar[Mapping[str, Any] | None] = ContextVar("spec_references", default=None)


class _Unreadable(Exception):
    """Data the fast reader can't read as its annotation."""


@cache
@typing.no_type_check
def _reader(annotation: Any, cfn: bool) -> Callable[[Any], Any]:
    """``_convert`` compiled once per annotation for data that is right (every deploy reads whole
    specs of thousands of objects): a closure per type, no paths built; any doubt raises
    ``_Unreadable`` and ``_convert`` reads again to say what is wrong."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        inner = _reader(next(a for a in get_args(annotation) if a is not type(None)), cfn)
        return lambda data: None if data is None else inner(data)
    if origin is Literal:
        allowed = {str(a).lower(): a for a in get_args(annotation)} if cfn else {}
        values = get_args(annotation)

        def literal(data: Any) -> Any:
            for value in values:
                if data == value and type(data) is type(value):
                    return value
            if isinstance(data, str) and data.lower() in allowed:
                return allowed[data.lower()]
            raise _Unreadable

        return literal
    if origin is list:
        item = _reader(get_args(annotation)[0], cfn)

        def items(data: Any) -> Any:
            if type(data) is not list:
                raise _Unreadable
            return [item(value) for value in data]

        return items
    if origin is dict:
        value_reader = _reader(get_args(annotation)[1], cfn)

        def mapping(data: Any) -> Any:
            if type(data) is not dict:
                raise _Unreadable
            return {str(k): value_reader(v) for k, v in data.items()}

        return mapping
    if dataclasses.is_dataclass(annotation):
        return _dataclass_reader(annotation, cfn)
    if annotation is bool:
        def boolean(data: Any) -> Any:
            if type(data) is bool:
                return data
            if cfn and data in ("true", "false"):
                return data == "true"
            raise _Unreadable

        return boolean
    if annotation is int:
        def integer(data: Any) -> Any:
            if type(data) is int:
                return data
            if cfn and isinstance(data, str) and _INTEGER.fullmatch(data):
                return int(data)
            raise _Unreadable

        return integer
    if annotation is str:
        def text(data: Any) -> Any:
            if type(data) is not str:
                raise _Unreadable
            return _reference_value(data) if data.startswith("$ref:") else data

        return text
    raise TypeError(f"unsupported annotation {annotation!r}")


_MISSING = object()


@typing.no_type_check
def _dataclass_reader(cls: Any, cfn: bool) -> Callable[[Any], Any]:
    """The reader of one spec class, written as Python source and compiled: a 10,000-user spec
    has some 300,000 field values, and a closure call for each was most of the reading time.
    Each field's value is checked inline; anything unusual goes to the field's own reader."""
    namespace: dict[str, Any] = {
        "C": cls, "U": _Unreadable, "MISSING": _MISSING, "REF": _reference_value,
        "NAMES": frozenset(f.name for f in _fields_of(cls)),
    }
    lines = ["if type(data) is not dict or not NAMES.issuperset(data):", "    raise U", "get = data.get"]
    for i, (spec_field, declared) in enumerate(zip(_fields_of(cls), dataclasses.fields(cls), strict=True)):
        value, key = f"x{i}", repr(spec_field.name)
        reading = _value_reading(value, spec_field.annotation, cfn, namespace, f"R{i}")
        if spec_field.required:
            lines += [f"{value} = get({key}, MISSING)", f"if {value} is MISSING:", "    raise U", *reading]
        elif declared.default_factory is not dataclasses.MISSING:
            namespace[f"D{i}"] = declared.default_factory
            lines += [f"{value} = get({key}, MISSING)", f"if {value} is MISSING:", f"    {value} = D{i}()",
                      "else:", *(f"    {line}" for line in reading)]
        else:
            # A default is a value of the field's type, so reading it in place of a missing
            # value gives it back: one lookup, no branch.
            namespace[f"D{i}"] = declared.default
            lines += [f"{value} = get({key}, D{i})", *reading]
    # Positional, in the fields' order: the cheapest call of the class's own __init__.
    lines.append(f"return C({', '.join(f'x{i}' for i in range(len(_fields_of(cls))))})")
    return compile_function(f"read_{cls.__name__}", ["data"], lines, namespace)


@typing.no_type_check
def _value_reading(value: str, annotation: Any, cfn: bool, namespace: dict[str, Any], name: str) -> list[str]:
    """Statements that read ``value`` as ``annotation`` in place, or raise ``_Unreadable``."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (Union, types.UnionType) and len(args) == 2 and type(None) in args:
        inner = next(a for a in args if a is not type(None))
        inner_reading = _value_reading(value, inner, cfn, namespace, name)
        return [f"if {value} is not None:", *(f"    {line}" for line in inner_reading)]
    if annotation is str:
        return [f"if type({value}) is not str:", "    raise U",
                # `in` first: a third of the cost of startswith, and nearly no text holds it.
                f"if '$ref:' in {value} and {value}.startswith('$ref:'):", f"    {value} = REF({value})"]
    if annotation in (bool, int) and not cfn:
        return [f"if type({value}) is not {annotation.__name__}:", "    raise U"]
    if origin is list and args[0] is str:
        # Copied, so the spec shares no list with the data it was read from.
        namespace[name] = _reader(annotation, cfn)
        return [f"if type({value}) is not list:", "    raise U",
                f"for y in {value}:", "    if type(y) is not str or '$ref:' in y:",
                f"        {value} = {name}({value})", "        break",
                "else:", f"    {value} = {value}.copy()"]
    if origin is list and dataclasses.is_dataclass(args[0]):
        namespace[name] = _reader(args[0], cfn)
        return [f"if type({value}) is not list:", "    raise U", f"{value} = [{name}(y) for y in {value}]"]
    namespace[name] = _reader(annotation, cfn)
    return [f"{value} = {name}({value})"]


def _reference_value(placeholder: str) -> str:
    """The deploy-time value a ``$ref:NAME`` placeholder stands for, in the document being read."""
    value = (_REFERENCES.get() or {}).get(placeholder[5:])
    if not isinstance(value, str):
        raise _Unreadable
    return value


def compile_function(name: str, parameters: list[str], body: list[str], namespace: dict[str, Any]) -> Any:
    """A function compiled from source lines, its globals ``namespace`` (code written for one
    spec class runs several times faster than a generic walk over its fields)."""
    source = f"def {name}({', '.join(parameters)}):\n" + "".join(f"    {line}\n" for line in body)
    # The source is built here, from the spec classes, never from input.
    exec(compile(source, f"<{name}>", "exec"), namespace)
    return namespace[name]


@typing.no_type_check
def _convert(annotation: Any, data: Any, path: str, cfn: bool = False) -> Any:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        if data is None:
            return None
        return _convert(options[0], data, path, cfn)
    if origin is Literal:
        allowed = get_args(annotation)
        if cfn and isinstance(data, str) and data not in allowed:
            data = next((a for a in allowed if str(a).lower() == data.lower()), data)
        if data not in allowed:
            raise SpecError(path, f"must be one of {', '.join(repr(a) for a in allowed)}, not {data!r}")
        return data
    if origin is list:
        if not isinstance(data, list):
            raise SpecError(path, f"must be a list, not {type(data).__name__}")
        (item,) = get_args(annotation)
        return [_convert(item, v, f"{path}[{i}]", cfn) for i, v in enumerate(data)]
    if origin is dict:
        if not isinstance(data, dict):
            raise SpecError(path, f"must be an object, not {type(data).__name__}")
        _, item = get_args(annotation)
        return {str(k): _convert(item, v, f"{path}.{k}", cfn) for k, v in data.items()}
    if dataclasses.is_dataclass(annotation):
        if not isinstance(data, dict):
            raise SpecError(path, f"must be an object, not {type(data).__name__}")
        fields = _fields_of(annotation)
        unknown = sorted(set(data) - {f.name for f in fields})
        if unknown:
            known = ", ".join(sorted(f.name for f in fields))
            raise SpecError(_at(path, unknown[0]), f"unknown field; expected one of {known}")
        values = {}
        for f in fields:
            if f.name in data:
                values[f.name] = _convert(f.annotation, data[f.name], _at(path, f.name), cfn)
            elif f.required:
                raise SpecError(_at(path, f.name), "is required")
        return annotation(**values)
    if annotation is bool:
        if cfn and data in ("true", "false"):
            return data == "true"
        if not isinstance(data, bool):
            raise SpecError(path, f"must be true or false, not {data!r}")
        return data
    if annotation is int:
        if cfn and isinstance(data, str) and _INTEGER.fullmatch(data):
            return int(data)
        if isinstance(data, bool) or not isinstance(data, int):
            raise SpecError(path, f"must be a whole number, not {data!r}")
        return data
    if annotation is str:
        if not isinstance(data, str):
            raise SpecError(path, f"must be a string, not {data!r}")
        return data
    raise TypeError(f"unsupported annotation {annotation!r} at {path}")


_INTEGER = re.compile(r"-?[0-9]{1,18}")


# Deploy-time references ----------------------------------------------------------
# A value known only at deploy time (the ARN of a secret or a log group made in the same
# stack) can't be part of a spec document that travels as an S3 asset, and shouldn't be
# anyway: it would make the whole document change when one value does. The document holds
# ``$ref:NAME`` where such a value goes; the value travels beside it, in the custom
# resource's ``References`` property, and the handler puts it in place before reading.
_REFERENCE = re.compile(r"\$ref:([A-Za-z0-9_.-]{1,128})")


def reference(name: str) -> str:
    """The placeholder a spec document holds for the deploy-time value named ``name``."""
    if not _REFERENCE.fullmatch(f"$ref:{name}"):
        raise ValueError(f"a reference name is 1-128 letters, digits, '_', '.' or '-', not {name!r}")
    return f"$ref:{name}"


def resolve_references(data: Any, references: Mapping[str, Any], path: str = "") -> Any:
    """``data`` with every ``$ref:NAME`` string replaced by ``references[NAME]``."""
    if isinstance(data, str):
        match = _REFERENCE.fullmatch(data)
        if match is None:
            return data
        value = references.get(match.group(1))
        if not isinstance(value, str):
            raise SpecError(path, f"refers to {data}, which the References property doesn't hold as a string")
        return value
    if isinstance(data, list):
        return [resolve_references(v, references, f"{path}[{i}]") for i, v in enumerate(data)]
    if isinstance(data, dict):
        return {k: resolve_references(v, references, _at(path, str(k))) for k, v in data.items()}
    return data


@dataclass(frozen=True)
class _Field:
    name: str
    annotation: Any
    required: bool


@cache
def type_hints(cls: Any) -> dict[str, Any]:
    """``typing.get_type_hints`` of a spec class, resolved once per process (each resolution
    compiles every annotation's text again); the reader, the model checks and the
    constructs' writer share it. Don't change the dict."""
    return get_type_hints(cls)


@cache
def _fields_of(cls: Any) -> tuple[_Field, ...]:
    """A spec class's fields with their resolved types, worked out once per class: resolving
    type hints is most of the cost of reading a large spec when done once per object."""
    hints = type_hints(cls)
    return tuple(
        _Field(f.name, hints[f.name], f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        for f in dataclasses.fields(cls)
    )


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def type_errors(value: Any, annotation: Any) -> list[SpecError]:
    """Every field of a spec built in Python whose value is not of its declared type.

    ``from_data`` checks a JSON document as it reads it; a spec built from the dataclasses
    directly is only as right as its caller made it (a dict inside ``users``, a password
    given as plain text instead of a SecretRef). Messages name the type, never the value,
    which may be a secret.
    """
    if well_typed(annotation)(value):
        return []
    return list(_type_errors(annotation, value, ""))


def fields_typed(value: Any) -> bool:
    """Whether the fields of a spec object hold their declared types, one level deep: nested
    spec objects are only checked to be of their class (for a walk that visits them anyway,
    such as validation's)."""
    cls: Any = type(value)
    checks = _SHALLOW.get(cls)
    if checks is None:
        checks = _SHALLOW[cls] = [(f.name, well_typed(f.annotation, shallow=True)) for f in _fields_of(cls)]
    return all(ok(getattr(value, name)) for name, ok in checks)


_SHALLOW: dict[Any, list[tuple[str, Callable[[Any], bool]]]] = {}


@cache
@typing.no_type_check
def well_typed(annotation: Any, shallow: bool = False) -> Callable[[Any], bool]:
    """A fast test that ``_type_errors`` would find nothing, compiled once per annotation."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        inner = well_typed(options[0], shallow)
        return lambda value: value is None or inner(value)
    if origin is Literal:
        kinds = {type(a) for a in get_args(annotation)}
        return lambda value: type(value) in kinds
    if origin is list:
        item = well_typed(get_args(annotation)[0], shallow)
        return lambda value: type(value) is list and all(map(item, value))
    if origin is dict:
        key, item = (well_typed(a) for a in get_args(annotation))
        return lambda value: type(value) is dict and all(key(k) and item(v) for k, v in value.items())
    if dataclasses.is_dataclass(annotation) and shallow:
        return lambda value: type(value) is annotation
    if dataclasses.is_dataclass(annotation):
        fields = [(f.name, well_typed(f.annotation)) for f in _fields_of(annotation)]

        def instance(value: Any) -> bool:
            return type(value) is annotation and all(ok(getattr(value, name)) for name, ok in fields)

        return instance
    if annotation in (bool, int, str):
        return lambda value: type(value) is annotation
    return lambda value: False


@typing.no_type_check
def _type_errors(annotation: Any, value: Any, path: str) -> Iterator[SpecError]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in get_args(annotation):
            return
        options = [a for a in get_args(annotation) if a is not type(None)]
        yield from _type_errors(options[0], value, path)
        return
    if origin is Literal:
        # Only the type: which values are allowed is validation's to say, from the service model.
        kinds = {type(a) for a in get_args(annotation)}
        if type(value) not in kinds:
            yield SpecError(path, f"must be a {' or '.join(sorted(k.__name__ for k in kinds))}, "
                                  f"not {_type_name(value)}")
        return
    if origin in (list, dict):
        expected = "a list" if origin is list else "a dict"
        if not isinstance(value, origin):
            yield SpecError(path, f"must be {expected}, not {_type_name(value)}")
            return
        if origin is list:
            for i, item in enumerate(value):
                yield from _type_errors(get_args(annotation)[0], item, f"{path}[{i}]")
        else:
            key_type, item_type = get_args(annotation)
            for key, item in value.items():
                yield from _type_errors(key_type, key, f"{path} key")
                yield from _type_errors(item_type, item, f"{path}.{key}")
        return
    if dataclasses.is_dataclass(annotation):
        if type(value) is not annotation:
            yield SpecError(path, f"must be a {annotation.__name__}, not {_type_name(value)}")
            return
        for f in _fields_of(annotation):
            yield from _type_errors(f.annotation, getattr(value, f.name), _at(path, f.name))
        return
    if annotation is bool and not isinstance(value, bool):
        yield SpecError(path, f"must be true or false, not {_type_name(value)}")
    elif annotation is int and (isinstance(value, bool) or not isinstance(value, int)):
        yield SpecError(path, f"must be a whole number, not {_type_name(value)}")
    elif annotation is str and not isinstance(value, str):
        yield SpecError(path, f"must be a string, not {_type_name(value)}")


def _type_name(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, (bool, int, float, str, list, dict, tuple)):
        return type(value).__name__
    return f"a {type(value).__name__}"
