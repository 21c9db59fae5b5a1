"""Email event logging to CloudWatch Logs (Administrator Guide, "Enabling email event logging").

Without a declared role WorkMail uses its service-linked role, which it then reports, so
the role is compared only when declared.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..changes import Change, FieldChange, SettingAddress
from ..errors import error_code
from ..spec import EmailMonitoringSpec
from ..state import ActualState
from .base import ApplyContext, Kind, KindInfo, Phase, PlanContext, Steps

if TYPE_CHECKING:
    from ..api import WorkMailApi
    from ..read import Job, Reader

MonitoringChange = Change[SettingAddress, EmailMonitoringSpec]
ADDRESS = SettingAddress("email_monitoring")


# What DeleteEmailMonitoringConfiguration answers when there is nothing left to switch off.
GONE_ERRORS = frozenset({"OrganizationNotFoundException", "OrganizationStateException", "ResourceNotFoundException"})


def put(api: WorkMailApi, organization_id: str, spec: EmailMonitoringSpec) -> None:
    """Turn email event logging on, to ``spec``'s log group (PutEmailMonitoringConfiguration replaces)."""
    params: dict[str, Any] = {"OrganizationId": organization_id, "LogGroupArn": spec.log_group_arn}
    if spec.role_arn:
        params["RoleArn"] = spec.role_arn
    api.call("PutEmailMonitoringConfiguration", **params)


def delete(api: WorkMailApi, organization_id: str) -> bool:
    """Turn email event logging off; False when there was nothing to switch off (the organization
    is gone, or not active)."""
    try:
        api.call("DeleteEmailMonitoringConfiguration", OrganizationId=organization_id)
    except ClientError as exc:
        if error_code(exc) in GONE_ERRORS:
            return False
        raise
    return True


def _fields(found: EmailMonitoringSpec, spec: EmailMonitoringSpec) -> list[FieldChange]:
    fields = []
    if found.log_group_arn != spec.log_group_arn:
        fields.append(FieldChange("log_group_arn", found.log_group_arn, spec.log_group_arn))
    if spec.role_arn is not None and found.role_arn != spec.role_arn:
        fields.append(FieldChange("role_arn", found.role_arn, spec.role_arn))
    return fields


class EmailMonitoringKind(Kind[SettingAddress, EmailMonitoringSpec]):
    name = "email_monitoring"
    info = KindInfo("Email monitoring", None, {"$ref": "#/$defs/EmailMonitoringSpec"})
    delete_rank = 9

    def path(self, change: MonitoringChange) -> str:
        return "email_monitoring"

    def plan(self, ctx: PlanContext) -> None:
        if not ctx.read("email_monitoring"):
            return
        declared = ctx.declared.email_monitoring
        found = ctx.actual.email_monitoring
        if declared is None:
            if found is not None and ctx.previous is not None and ctx.previous.email_monitoring is not None:
                ctx.add(Change("delete", ADDRESS, "no longer declared", before=found))
            return
        if found is None:
            ctx.add(Change("create", ADDRESS, "declared", after=declared))
            return
        fields = _fields(found, declared)
        if fields:
            ctx.add(Change("update", ADDRESS, "configuration differs", before=found, after=declared,
                           fields=tuple(fields)))

    def read_jobs(self, reader: Reader) -> list[Job]:
        if "email_monitoring" not in reader.sections:
            return []
        fetch = partial(reader.optional, "DescribeEmailMonitoringConfiguration", "ResourceNotFoundException")
        return [(fetch, reader.keep(self.name))]

    def build(self, reader: Reader, state: ActualState) -> None:
        found = reader.raw.get(self.name)
        if found is not None:
            state.email_monitoring = EmailMonitoringSpec(log_group_arn=found["LogGroupArn"],
                                                         role_arn=found.get("RoleArn"))

    def steps(self, change: MonitoringChange, ctx: ApplyContext) -> Steps:
        if change.action == "delete":
            return {Phase.REMOVALS: lambda: self._delete(ctx)}
        return {Phase.POLICIES: lambda: self._put(change.declared, ctx)}

    @staticmethod
    def _put(spec: EmailMonitoringSpec, ctx: ApplyContext) -> None:
        put(ctx.api, ctx.org, spec)

    @staticmethod
    def _delete(ctx: ApplyContext) -> None:
        delete(ctx.api, ctx.org)
