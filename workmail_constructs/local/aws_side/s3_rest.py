"""S3's REST-XML protocol, path style, under the path prefix ``/_s3``: a boto3 client with
``endpoint_url=<emulator>/_s3`` sends ``PUT /_s3/{bucket}/{key}`` and this reads it.

Which operation a request is, and where each of its members travels (the path, the query, a
header, ``x-amz-meta-*``, the body), is read from botocore's S3 model (``http.requestUri`` and
each member's ``location``), never retyped; so is where each member of the answer goes. A
request that is none of the served operations gets S3's ``NotImplemented``.
"""

from __future__ import annotations

import email.utils
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, unquote

from botocore.model import ListShape, MapShape, Shape, StructureShape

from ...core.service_model import operation as model_operation
from .. import errors
from ..engine import Emulator
from . import xml_shapes
from .s3_api import HONOURED, SERVICE, S3Error
from .wire import HttpCall, Reply

PREFIX = "/_s3"
NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
# The root element of an XML answer, where S3's differs from the operation's name.
_ROOTS = {"ListObjectsV2": "ListBucketResult"}
# The emulator's own codes (the engine's checks, the HTTP front) as S3 says them.
_S3_CODES = {
    "ValidationException": ("InvalidArgument", 400),
    "SerializationException": ("InvalidArgument", 400),
    "UnknownOperationException": ("MethodNotAllowed", 405),
    "RequestEntityTooLarge": ("EntityTooLarge", 400),
    "RequestTimeout": ("RequestTimeout", 400),
    "InternalFailure": ("InternalError", 500),
    "ThrottlingException": ("SlowDown", 503),
}


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    with_key: bool
    fixed_query: dict[str, str]
    query: dict[str, tuple[str, Shape]]
    headers: dict[str, tuple[str, Shape]]
    # The member taking ``x-amz-meta-*`` headers, and their prefix.
    metadata: tuple[str, str] | None
    payload: tuple[str, Shape] | None


@cache
def _routes() -> tuple[_Route, ...]:
    routes = []
    for name in HONOURED:
        model = model_operation(name, SERVICE)
        shape = model.input_shape
        assert isinstance(shape, StructureShape)
        path, _, fixed = model.http["requestUri"].partition("?")
        query: dict[str, tuple[str, Shape]] = {}
        headers: dict[str, tuple[str, Shape]] = {}
        metadata = None
        for member, member_shape in shape.members.items():
            location = member_shape.serialization.get("location")
            wire_name = str(member_shape.serialization.get("name", member))
            if location == "querystring":
                query[wire_name] = (member, member_shape)
            elif location == "header":
                headers[wire_name.lower()] = (member, member_shape)
            elif location == "headers":
                metadata = (member, wire_name.lower())
        payload_name = shape.serialization.get("payload")
        payload = (payload_name, shape.members[payload_name]) if payload_name else None
        routes.append(_Route(name, model.http["method"], "{Key+}" in path, dict(parse_qsl(fixed)), query, headers,
                             metadata, payload))
    return tuple(routes)


def is_s3_path(path: str) -> bool:
    bare = path.split("?", 1)[0]
    return bare == PREFIX or bare.startswith(PREFIX + "/")


def answer(emulator: Emulator, call: HttpCall) -> Reply:
    """The answer to an S3 request; ``call.path`` is what follows the prefix."""
    head = call.method == "HEAD"
    try:
        route, params = _read(call)
        result = emulator.call(route.operation, params, call.region, service=SERVICE)
        return _reply(route.operation, result, head)
    except errors.ServiceError as exc:
        return error_reply(exc, head=head)


# Requests -------------------------------------------------------------------------------


def _ignored_query(name: str) -> bool:
    # A presigned URL's signature travels in the query; signatures are not checked.
    return name.lower().startswith("x-amz-") or name == "x-id"


def _read(call: HttpCall) -> tuple[_Route, dict[str, Any]]:
    rest = call.path[1:] if call.path.startswith("/") else call.path
    bucket_text, _, key_text = rest.partition("/")
    bucket, key = unquote(bucket_text), unquote(key_text)
    query = dict(parse_qsl(call.query, keep_blank_values=True))
    if bucket:
        for route in _routes():
            if route.method != call.method or route.with_key != bool(key):
                continue
            if any(query.get(name) != value for name, value in route.fixed_query.items()):
                continue
            if all(name in route.query or name in route.fixed_query or _ignored_query(name) for name in query):
                return route, _params(route, bucket, key, query, call)
    served = ", ".join(HONOURED)
    raise S3Error(501, "NotImplemented", f"A header you provided implies functionality that is not implemented "
                  f"(the emulator's S3 serves {served} only, not {call.method} {call.path[:200] or '/'}"
                  f"{'?' + call.query[:200] if call.query else ''}).")


def _params(route: _Route, bucket: str, key: str, query: dict[str, str], call: HttpCall) -> dict[str, Any]:
    params: dict[str, Any] = {"Bucket": bucket}
    if key:
        params["Key"] = key
    for wire_name, (member, shape) in route.query.items():
        if wire_name in query:
            _set(params, member, _scalar(shape, query[wire_name], wire_name, echoed=member.startswith("Response")))
    for wire_name, (member, shape) in route.headers.items():
        value = call.headers.get(wire_name)
        if value is not None:
            _set(params, member, _scalar(shape, value, wire_name))
    if route.metadata is not None:
        member, prefix = route.metadata
        metadata = {name[len(prefix):]: value for name, value in call.headers.items() if name.startswith(prefix)}
        if metadata:
            params[member] = metadata
    if route.payload is not None:
        member, shape = route.payload
        if str(call.headers.get("x-amz-content-sha256", "")).startswith("STREAMING-"):
            # aws-chunked framing, which SDKs use over HTTPS only; stored as sent it would corrupt the object.
            raise S3Error(501, "NotImplemented", "A header you provided implies functionality that is not "
                          "implemented (aws-chunked uploads).")
        if shape.type_name == "blob":
            if call.headers.get("content-length") is None and call.headers.get("transfer-encoding") is None:
                # The front reads a PUT without either as empty; S3 refuses it rather than store nothing.
                raise S3Error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
            params[member] = call.body
        elif call.body.strip():
            assert isinstance(shape, StructureShape)
            params[member] = _xml_payload(shape, call.body)
            _check_location_constraint(params[member], shape)
    return params


def _set(params: dict[str, Any], member: str, value: Any) -> None:
    if value is not None:
        params[member] = value


def _invalid_argument(name: str, value: str, message: str) -> S3Error:
    return S3Error(400, "InvalidArgument", message, ArgumentName=name, ArgumentValue=value[:200])


def _scalar(shape: Shape, text: str, wire_name: str, *, echoed: bool = False) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise _invalid_argument(wire_name, text, f"Provided {wire_name} not an integer or within integer range")\
                from None
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise _invalid_argument(wire_name, text, f"Invalid value for {wire_name}: {text[:100]}")
        return text.lower() == "true"
    if kind == "timestamp":
        # S3 ignores a conditional header whose date it can't read.
        try:
            return email.utils.parsedate_to_datetime(text).timestamp()
        except (TypeError, ValueError):
            return None
    if isinstance(shape, ListShape):
        return [item.strip() for item in text.split(",") if item.strip()]
    if echoed and any(ord(c) < 0x20 or c == "\x7f" for c in text):
        # It comes back as a response header, where a line break would end the header.
        raise _invalid_argument(wire_name, text, f"Header value for {wire_name} contains control characters")
    return text


def _malformed_xml() -> S3Error:
    return S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our "
                   "published schema")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_payload(shape: StructureShape, body: bytes) -> dict[str, Any]:
    # No document type, so no entities to expand: S3's schemas have none.
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise _malformed_xml()
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise _malformed_xml() from None
    if _local(root.tag) != shape.serialization.get("name", shape.name):
        raise _malformed_xml()
    value = _xml_value(shape, root)
    assert isinstance(value, dict)
    return value


def _xml_value(shape: Shape, node: ET.Element) -> Any:
    if isinstance(shape, StructureShape):
        by_tag = {member.serialization.get("name", name): (name, member) for name, member in shape.members.items()}
        value: dict[str, Any] = {}
        for child in node:
            found = by_tag.get(_local(child.tag))
            if found is None:
                raise _malformed_xml()
            value[found[0]] = _xml_value(found[1], child)
        return value
    if isinstance(shape, ListShape):
        return [_xml_value(shape.member, child) for child in node]
    if list(node):
        raise _malformed_xml()
    return node.text or ""


def _check_location_constraint(configuration: dict[str, Any], shape: StructureShape) -> None:
    # S3 names a constraint outside its list of Regions InvalidLocationConstraint, not a validation error.
    constraint = configuration.get("LocationConstraint")
    member = shape.members.get("LocationConstraint")
    enum = getattr(member, "enum", None) or []
    if constraint is not None and constraint not in enum:
        raise S3Error(400, "InvalidLocationConstraint", "The specified location-constraint is not valid",
                      LocationConstraint=str(constraint)[:200])


# Answers --------------------------------------------------------------------------------


def _request_ids() -> tuple[tuple[str, str], ...]:
    request_id = uuid.uuid4().hex[:16].upper()
    return (("x-amz-request-id", request_id), ("x-amz-id-2", uuid.uuid4().hex))


def _header_value(shape: Shape, value: Any) -> str:
    if shape.type_name == "timestamp":
        if shape.serialization.get("timestampFormat") == "iso8601":
            return xml_shapes.iso8601(float(value))
        return email.utils.formatdate(float(value), usegmt=True)
    if shape.type_name == "boolean":
        return "true" if value else "false"
    # Header lines are bytes: text that came from a query (UTF-8) goes back as its UTF-8 bytes.
    return str(value).encode("utf-8").decode("latin-1")


def _reply(operation: str, result: dict[str, Any], head: bool) -> Reply:
    shape = model_operation(operation, SERVICE).output_shape
    assert isinstance(shape, StructureShape)
    headers: list[tuple[str, str]] = []
    content_type = None
    for name, member in shape.members.items():
        value = result.get(name)
        location = member.serialization.get("location")
        if value is None or location not in ("header", "headers"):
            continue
        if location == "headers":
            assert isinstance(member, MapShape)
            prefix = member.serialization["name"]
            headers += [(prefix + key, _header_value(member.value, item)) for key, item in value.items()]
            continue
        wire_name = member.serialization["name"]
        if wire_name.lower() == "content-type":
            content_type = _header_value(member, value)
        elif wire_name.lower() != "content-length":  # the server writes it, from the body or ``length``
            headers.append((wire_name, _header_value(member, value)))
    payload = shape.serialization.get("payload")
    body = b""
    if payload:
        body = bytes(result.get(payload) or b"")
    elif any(not member.serialization.get("location") for member in shape.members.values()):
        root = xml_shapes.element(_ROOTS.get(operation, f"{operation}Result"), NAMESPACE)
        xml_shapes.append_members(root, shape, result)
        body, content_type = xml_shapes.document(root), "application/xml"
    length = None
    if head:
        length, body = int(result.get("ContentLength") or 0), b""
    # An answer with part of an object says which part in Content-Range, and is 206 Partial
    # Content rather than 200 (RFC 9110, "206 Partial Content").
    status = 206 if result.get("ContentRange") is not None else 200
    return Reply(status, body, content_type, (*headers, *_request_ids()), length)


def error_reply(exc: errors.ServiceError, *, head: bool = False) -> Reply:
    """S3's error document: ``<Error><Code>..</Code><Message>..</Message>...</Error>``.

    A HEAD answer has no body, so its client sees only the status, as with S3; so has a 304.
    """
    code, status = _S3_CODES.get(exc.code, (exc.code, exc.status))
    ids = _request_ids()
    if head or status == 304:
        return Reply(status, b"", None, ids)
    root = xml_shapes.element("Error")
    xml_shapes.text(root, "Code", code)
    xml_shapes.text(root, "Message", exc.message)
    for name, value in getattr(exc, "fields", {}).items():
        xml_shapes.text(root, name, value)
    xml_shapes.text(root, "RequestId", ids[0][1])
    xml_shapes.text(root, "HostId", ids[1][1])
    return Reply(status, xml_shapes.document(root), "application/xml", ids)
