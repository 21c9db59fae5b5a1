"""Checks of raw service responses against botocore's output shapes."""

from __future__ import annotations

import json
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from workmail_constructs.core import service_model


def unknown_members(shape: Shape, value: Any, path: str = "") -> list[str]:
    """Paths of members the response has but the output shape does not."""
    found: list[str] = []
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for name, item in value.items():
            member = shape.members.get(name)
            if member is None:
                found.append(f"{path}.{name}" if path else name)
            else:
                found += unknown_members(member, item, f"{path}.{name}" if path else name)
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for index, item in enumerate(value):
            found += unknown_members(shape.member, item, f"{path}[{index}]")
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        for key, item in value.items():
            found += unknown_members(shape.value, item, f"{path}[{key}]")
    return found


def check_output(service: str, operation: str, body: Any) -> list[str]:
    """Everything wrong with a successful response body: unknown members and broken constraints."""
    output_shape = service_model.operation(operation, service).output_shape
    if output_shape is None:
        return [] if not body else [f"{operation} has no output shape but returned {body!r}"]
    problems = unknown_members(output_shape, body)
    problems += [v.describe() for v in service_model.check(output_shape, body)]
    return problems


def install_output_checks(client: Any, failures: list[str]) -> None:
    """Check every successful JSON response the client receives; collect problems in ``failures``."""
    service = client.meta.service_model.service_name

    def before_parse(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        if response_dict.get("status_code") != 200:
            return
        if operation_model.has_streaming_output:
            return
        raw = response_dict.get("body") or b"{}"
        body = json.loads(raw) if raw else {}
        for problem in check_output(service, operation_model.name, body):
            failures.append(f"{operation_model.name}: {problem}")

    client.meta.events.register(f"before-parse.{client.meta.service_model.service_id.hyphenize()}.*", before_parse)
