"""Writing a response as the XML of its botocore shape, for S3's REST-XML and the query protocol.

Element names, list wrapping (``<member>`` items, or flattened lists repeated under their own
name) and value formats follow the shape's serialization traits, the same ones botocore's
parsers read; so what is written here is what an unmodified client expects to parse.
"""

from __future__ import annotations

import base64
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape


def iso8601(seconds: float) -> str:
    """A timestamp as the XML protocols write it: ``2024-05-01T12:00:00.000Z``."""
    whole = int(seconds)
    millis = round((seconds - whole) * 1000)
    if millis == 1000:
        whole, millis = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def document(root: ET.Element) -> bytes:
    written: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return written


def element(tag: str, namespace: str | None = None) -> ET.Element:
    root = ET.Element(tag)
    if namespace:
        root.set("xmlns", namespace)
    return root


def child(parent: ET.Element, tag: str) -> ET.Element:
    return ET.SubElement(parent, tag)


def text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    child = ET.SubElement(parent, tag)
    child.text = value
    return child


def append_members(parent: ET.Element, shape: StructureShape, value: Mapping[str, Any]) -> None:
    """The members of ``value`` that go in the body (not in headers or the status line), in the
    shape's order; unset members are left out, as the services leave them out."""
    for name, member in shape.members.items():
        item = value.get(name)
        if item is None or member.serialization.get("location"):
            continue
        _append(parent, name, member, item)


def _append(parent: ET.Element, name: str, shape: Shape, value: Any) -> None:
    tag = shape.serialization.get("name", name)
    if isinstance(shape, ListShape):
        if shape.serialization.get("flattened"):
            item_tag = shape.member.serialization.get("name", tag)
            for item in value:
                _write(ET.SubElement(parent, item_tag), shape.member, item)
        else:
            wrapper = ET.SubElement(parent, tag)
            item_tag = shape.member.serialization.get("name", "member")
            for item in value:
                _write(ET.SubElement(wrapper, item_tag), shape.member, item)
        return
    _write(ET.SubElement(parent, tag), shape, value)


def _write(node: ET.Element, shape: Shape, value: Any) -> None:
    if isinstance(shape, StructureShape):
        append_members(node, shape, value)
    elif isinstance(shape, MapShape):
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        for key, item in value.items():
            entry = ET.SubElement(node, "entry")
            _write(ET.SubElement(entry, key_tag), shape.key, key)
            _write(ET.SubElement(entry, value_tag), shape.value, item)
    elif shape.type_name == "timestamp":
        node.text = iso8601(float(value))
    elif shape.type_name == "boolean":
        node.text = "true" if value else "false"
    elif shape.type_name == "blob":
        node.text = base64.b64encode(value).decode("ascii")
    else:
        node.text = str(value)
