"""``Custom::WorkMailEmailMonitoring``: email event logging of an organization managed elsewhere.

An ``Organization`` of the same stack declares its email event logging in its directory
spec (``email_monitoring``), which the directory resource reconciles. This resource is for
an organization the stack does not manage (a reference, or one of another stack), where
there is no directory resource to carry it.

Properties: ``OrganizationId``, ``LogGroupArn`` (ending in ``:*``) and ``RoleArn`` (the
role WorkMail assumes to write). The physical id is ``<organization id>/email-monitoring``.

- Create and Update call PutEmailMonitoringConfiguration, which replaces the
  configuration (an upsert). An Update naming another organization gets a new physical id,
  after which CloudFormation deletes the old one: the old organization's configuration.
- Delete calls DeleteEmailMonitoringConfiguration; an organization that is gone, or no
  longer active, has nothing left to switch off. A physical id that is not this resource's
  (the Provider framework's marker of a failed Create) is nothing to delete.
"""

from __future__ import annotations

import re
from typing import Any

from workmail_constructs.core.kinds import email_monitoring as kind
from workmail_constructs.core.spec import EmailMonitoringSpec

from . import common
from .common import HandlerError, Request, entry_point, error_code, log

PHYSICAL_ID = re.compile(r"(?P<organization>m-[0-9a-f]{32})/email-monitoring")


@entry_point
def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = Request.from_event(event)
    if request.request_type == "Delete":
        _delete(request.physical_id or "")
        return {"PhysicalResourceId": request.physical_id or ""}
    organization_id = common.organization_id(request.properties)
    spec = EmailMonitoringSpec(log_group_arn=_arn(request.properties, "LogGroupArn"),
                               role_arn=common.text(request.properties, "RoleArn", required=False))
    try:
        kind.put(common.workmail_api(), organization_id, spec)
    except Exception as exc:
        if error_code(exc) is None:
            raise
        raise HandlerError(f"turning on email event logging of {organization_id}: "
                           f"{common.describe_client_error(exc)}") from None
    log.info("email event logging of %s goes to %s", organization_id, spec.log_group_arn)
    return common.response(f"{organization_id}/email-monitoring")


@entry_point
def is_complete(event: dict[str, Any], context: Any) -> dict[str, Any]:
    Request.from_event(event)
    return common.complete()


def _delete(physical_id: str) -> None:
    match = PHYSICAL_ID.fullmatch(physical_id)
    if match is None:
        log.info("nothing to delete: %r is not an email monitoring configuration this resource made", physical_id)
        return
    organization_id = match["organization"]
    try:
        switched_off = kind.delete(common.workmail_api(), organization_id)
    except Exception as exc:
        if error_code(exc) is None:
            raise
        raise HandlerError(f"turning off email event logging of {organization_id}: "
                           f"{common.describe_client_error(exc)}") from None
    log.info("email event logging of %s is off%s", organization_id, "" if switched_off else " (it was already)")


def _arn(properties: Any, name: str) -> str:
    value = common.text(properties, name)
    assert value is not None
    if not value.startswith("arn:"):
        raise HandlerError(f"the property {name} must be an ARN, not {value!r}")
    return value
