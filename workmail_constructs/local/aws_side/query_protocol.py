"""The AWS query protocol, as CloudFormation speaks it under the path prefix ``/_cloudformation``:
a form (``Action=DescribeStacks&Version=2010-05-15&StackName=...``) in, XML in the service's
namespace out, and errors as ``<ErrorResponse>``.

The form is read into the operation's input shape and the answer written from its output shape
(botocore's model: the result wrapper, the namespace, each member's name), so an unmodified
client parses it.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl

from botocore.model import Shape, StructureShape

from ...core.service_model import operation as model_operation
from ...core.service_model import service_model
from .. import errors
from ..engine import Emulator
from ..registry import OPERATIONS
from . import xml_shapes
from .wire import HttpCall, Reply

# The emulator's own codes (the engine's checks, the HTTP front) as query services say them.
_QUERY_CODES = {
    "ValidationException": "ValidationError",
    "SerializationException": "ValidationError",
    "UnknownOperationException": "InvalidAction",
    "ThrottlingException": "Throttling",
}


def answer(emulator: Emulator, service: str, call: HttpCall) -> Reply:
    """The answer to a query request for ``service``; the form is the body (POST) or the query (GET)."""
    try:
        operation, params = _read(service, call)
        result = emulator.call(operation, params, call.region, service=service)
    except errors.ServiceError as exc:
        return error_reply(exc, service)
    model = model_operation(operation, service)
    namespace = service_model(service).metadata.get("xmlNamespace")
    root = xml_shapes.element(f"{operation}Response", namespace)
    output = model.output_shape
    if isinstance(output, StructureShape):
        wrapper = xml_shapes.child(root, output.serialization.get("resultWrapper", f"{operation}Result"))
        xml_shapes.append_members(wrapper, output, result)
    request_id = str(uuid.uuid4())
    metadata = xml_shapes.child(root, "ResponseMetadata")
    xml_shapes.text(metadata, "RequestId", request_id)
    return Reply(200, xml_shapes.document(root), "text/xml", (("x-amzn-RequestId", request_id),))


def _read(service: str, call: HttpCall) -> tuple[str, dict[str, Any]]:
    raw = call.body if call.method == "POST" else call.query.encode("latin-1")
    try:
        form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise errors.ServiceError("The query string is not UTF-8.", code="MalformedQueryString") from None
    action = form.pop("Action", None)
    if not action:
        raise errors.ServiceError("The request must contain the parameter Action.", code="MissingAction")
    version = form.pop("Version", None)
    expected = service_model(service).api_version
    if version != expected:
        raise errors.ServiceError(f"The requested version ({version}) of service {service} does not exist; "
                                  f"it is {expected}.", code="NoSuchVersion")
    if action not in OPERATIONS[service]:
        served = ", ".join(sorted(OPERATIONS[service]))
        raise errors.ServiceError(f"The action {action[:100]} is not valid for this endpoint: the emulator's "
                                  f"{service} serves {served} only.", code="InvalidAction")
    shape = model_operation(action, service).input_shape
    params: dict[str, Any] = {}
    if isinstance(shape, StructureShape):
        for name, member in shape.members.items():
            wire_name = member.serialization.get("name", name)
            if wire_name in form:
                params[name] = _scalar(member, wire_name, form[wire_name])
    return action, params


def _scalar(shape: Shape, name: str, text: str) -> Any:
    """A top-level member's value; the operations served take scalars only."""
    if shape.type_name in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise errors.ServiceError(f"Invalid value for {name}: {text[:100]!r} is not an integer.",
                                      code="ValidationError") from None
    if shape.type_name == "boolean":
        if text not in ("true", "false"):
            raise errors.ServiceError(f"Invalid value for {name}: {text[:100]!r} is not a boolean.",
                                      code="ValidationError")
        return text == "true"
    return text


def error_reply(exc: errors.ServiceError, service: str) -> Reply:
    """``<ErrorResponse><Error><Type>Sender</Type><Code>..</Code><Message>..</Message></Error>...``."""
    code = _QUERY_CODES.get(exc.code, exc.code)
    root = xml_shapes.element("ErrorResponse", service_model(service).metadata.get("xmlNamespace"))
    error = xml_shapes.child(root, "Error")
    xml_shapes.text(error, "Type", "Receiver" if exc.status >= 500 else "Sender")
    xml_shapes.text(error, "Code", code)
    xml_shapes.text(error, "Message", exc.message)
    request_id = str(uuid.uuid4())
    xml_shapes.text(root, "RequestId", request_id)
    return Reply(exc.status, xml_shapes.document(root), "text/xml", (("x-amzn-RequestId", request_id),))
