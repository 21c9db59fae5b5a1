"""A boto3-like client that calls an in-process emulator directly, without HTTP.

Same method names and arguments as ``boto3.client("workmail")``, same errors
(``botocore.exceptions.ClientError`` with the service's code and message), same
client-side parameter validation; only the transport is gone. Seeding a 10,000-user
organization for a benchmark, or a local deploy, then takes seconds instead of minutes.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError, ParamValidationError
from botocore.model import OperationModel, Shape, StructureShape
from botocore.validate import ParamValidator

from ..core import service_model
from . import errors
from .engine import Emulator


class InProcessClient:
    """Call ``emulator`` the way a boto3 workmail client would call the service."""

    def __init__(self, emulator: Emulator, region: str | None = None, service: str = "workmail") -> None:
        self._emulator = emulator
        self._region = region
        self._service = service
        self._model = service_model.service_model(service)
        self._operations = {xform_name(name): name for name in self._model.operation_names}

    def __getattr__(self, method: str) -> Callable[..., dict[str, Any]]:
        operation = self._operations.get(method)
        if operation is None:
            raise AttributeError(f"{self._service} has no operation for {method}")

        def call(**params: Any) -> dict[str, Any]:
            return self._call(operation, params)

        return call

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        model = self._model.operation_model(operation)
        params = _with_idempotency_tokens(model, params)
        if model.input_shape is not None:
            report = ParamValidator().validate(params, model.input_shape)
            if report.has_errors():
                raise ParamValidationError(report=report.generate_report())
        try:
            result = self._emulator.call(operation, params, self._region, service=self._service)
        except errors.ServiceError as exc:
            raise ClientError(
                {"Error": {"Code": exc.code, "Message": exc.message},
                 "ResponseMetadata": {"HTTPStatusCode": exc.status, "HTTPHeaders": {}, "RequestId": "",
                                      "HostId": "", "RetryAttempts": 0}},
                operation,
            ) from None
        return _parse(model.output_shape, result) if model.output_shape is not None else {}


def _with_idempotency_tokens(model: OperationModel, params: dict[str, Any]) -> dict[str, Any]:
    """boto3 fills idempotency tokens the caller leaves out; so does this client."""
    shape = model.input_shape
    if shape is None:
        return params
    filled = dict(params)
    for name, member in shape.members.items():
        if member.metadata.get("idempotencyToken") and name not in filled:
            filled[name] = str(uuid.uuid4())
    return filled


def _parse(shape: Shape | None, value: Any) -> Any:
    """Turn JSON-protocol values into what boto3 returns (timestamps as aware datetimes)."""
    if shape is None or value is None:
        return value
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {k: _parse(shape.members.get(k), v) for k, v in value.items() if k in shape.members}
    if shape.type_name == "list" and isinstance(value, list):
        return [_parse(shape.member, v) for v in value]  # type: ignore[attr-defined]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: _parse(shape.value, v) for k, v in value.items()}  # type: ignore[attr-defined]
    if shape.type_name == "timestamp" and isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
    return value
