"""The one Lambda entry module of a stack's WorkMail provider.

Every WorkMail custom resource of a stack shares one Provider-framework provider, so one
``on_event`` and one ``is_complete`` function receive every resource type's events. They
route each event by its ``ResourceType`` to the module that owns it:

| ResourceType | Module |
|---|---|
| ``Custom::WorkMailOrganization`` | ``handlers.organization`` |
| ``Custom::WorkMailDomain`` | ``handlers.domain`` |
| ``Custom::WorkMailDirectory`` | ``handlers.directory`` |
| ``Custom::WorkMailEmailMonitoring`` | ``handlers.email_monitoring`` |

The module is imported on first use, so a cold start pays only for the one it needs. An
event of another type is refused with a ``HandlerError`` naming the types served.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from .common import HandlerError, log

ROUTES: dict[str, str] = {
    "Custom::WorkMailOrganization": "organization",
    "Custom::WorkMailDomain": "domain",
    "Custom::WorkMailDirectory": "directory",
    "Custom::WorkMailEmailMonitoring": "email_monitoring",
}


def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result: dict[str, Any] = _module(event).on_event(event, context)
    return result


def is_complete(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result: dict[str, Any] = _module(event).is_complete(event, context)
    return result


def _module(event: Any) -> Any:
    if not isinstance(event, Mapping):
        raise HandlerError(f"the event must be a CloudFormation custom-resource request (an object), "
                           f"not {type(event).__name__}")
    resource_type = event.get("ResourceType")
    module = ROUTES.get(resource_type) if isinstance(resource_type, str) else None
    if module is None:
        served = ", ".join(ROUTES)
        message = (f"this provider serves {served}; the event's ResourceType is {resource_type!r} "
                   f"(logical id {event.get('LogicalResourceId')!r})")
        log.error("%s", message)
        raise HandlerError(message)
    return importlib.import_module(f"{__package__}.{module}")
