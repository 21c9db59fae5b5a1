"""The JSON Schema (draft 2020-12) of the spec document, for editors and CI checks."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from .spec import SPEC_VERSION, WorkMailSpec
from .spec_reading import _fields_of


def json_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of the spec document, for editors and CI checks."""
    definitions: dict[str, Any] = {}
    root = _schema(WorkMailSpec, definitions)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://workmail-constructs/spec/v{SPEC_VERSION}.json",
        "title": "WorkMail declared state",
        **root,
        "$defs": definitions,
    }


@typing.no_type_check
def _schema(annotation: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        return {"anyOf": [_schema(options[0], definitions), {"type": "null"}]}
    if origin is Literal:
        return {"enum": list(get_args(annotation))}
    if origin is list:
        return {"type": "array", "items": _schema(get_args(annotation)[0], definitions)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema(get_args(annotation)[1], definitions)}
    if dataclasses.is_dataclass(annotation):
        name = annotation.__name__
        if name not in definitions:
            definitions[name] = {}
            fields = _fields_of(annotation)
            properties = {f.name: _schema(f.annotation, definitions) for f in fields}
            required = [f.name for f in fields if f.required]
            definition: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
            if annotation.__doc__ and not annotation.__doc__.startswith(f"{name}("):
                definition["description"] = " ".join(annotation.__doc__.split())
            if required:
                definition["required"] = required
            if annotation is WorkMailSpec:
                properties["version"] = {"const": SPEC_VERSION}
            definitions[name] = definition
        if annotation is WorkMailSpec:
            return {"$ref": f"#/$defs/{name}"}
        return {"$ref": f"#/$defs/{name}"}
    return {bool: {"type": "boolean"}, int: {"type": "integer"}, str: {"type": "string"}}[annotation]
