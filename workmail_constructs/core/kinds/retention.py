"""The mailbox retention policy: how long each folder keeps mail (Administrator Guide,
"Setting mailbox retention policies"). An organization has one; ``retention_policy`` None
leaves it unmanaged, and one declared before and no longer is deleted."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from ..changes import Change, FieldChange, NamedAddress
from ..errors import error_code
from ..spec import FolderConfigurationSpec, FolderName, RetentionAction, RetentionPolicySpec
from ..state import ActualRetentionPolicy, ActualState
from .base import ApplyContext, Kind, KindInfo, Phase, PlanContext, Steps

if TYPE_CHECKING:
    from ..read import Job, Reader
    from ..validate import Validator

RetentionChange = Change[NamedAddress, RetentionPolicySpec]


def _fields(found: RetentionPolicySpec, spec: RetentionPolicySpec) -> list[FieldChange]:
    fields = []
    if found.name != spec.name:
        fields.append(FieldChange("name", found.name, spec.name))
    if (found.description or "") != (spec.description or ""):
        fields.append(FieldChange("description", found.description, spec.description))

    def folders(policy: RetentionPolicySpec) -> dict[str, tuple[str, int | None]]:
        return {f.name: (f.action, f.period_days) for f in policy.folders if f.action != "NONE"}

    if folders(found) != folders(spec):
        fields.append(FieldChange("folders", found.folders, spec.folders))
    return fields


class RetentionKind(Kind[NamedAddress, RetentionPolicySpec]):
    name = "retention_policy"
    info = KindInfo("Retention policy", "retention_policy", {"$ref": "#/$defs/RetentionPolicySpec"})
    delete_rank = 8

    def path(self, change: RetentionChange) -> str:
        return "retention_policy"

    def plan(self, ctx: PlanContext) -> None:
        if not ctx.read("retention_policy"):
            return
        declared = ctx.declared.retention_policy
        found = ctx.actual.retention_policy
        if declared is None:
            if found is not None and ctx.previous is not None and ctx.previous.retention_policy is not None:
                ctx.add(Change("delete", NamedAddress(self.name, found.spec.name), "no longer declared",
                               before=found.spec, id=found.id))
            return
        address = NamedAddress(self.name, declared.name)
        if found is None:
            ctx.add(Change("create", address, "declared", after=declared))
            return
        fields = _fields(found.spec, declared)
        if fields:
            ctx.add(Change("update", address, "changed: " + ", ".join(f.name for f in fields), before=found.spec,
                           after=declared, fields=tuple(fields), id=found.id))

    def read_jobs(self, reader: Reader) -> list[Job]:
        if "retention_policy" not in reader.sections:
            return []
        # No policy is EntityNotFoundException (GetDefaultRetentionPolicy's documented error).
        fetch = partial(reader.optional, "GetDefaultRetentionPolicy", "EntityNotFoundException")
        return [(fetch, reader.keep(self.name))]

    def build(self, reader: Reader, state: ActualState) -> None:
        policy = reader.raw.get(self.name)
        if policy is None:
            return
        folders = [
            FolderConfigurationSpec(name=cast(FolderName, f["Name"]), action=cast(RetentionAction, f["Action"]),
                                    period_days=f.get("Period"))
            for f in policy.get("FolderConfigurations") or []
        ]
        spec = RetentionPolicySpec(name=policy["Name"], description=policy.get("Description"), folders=folders)
        state.retention_policy = ActualRetentionPolicy(id=str(policy["Id"]), spec=spec)

    def validate(self, v: Validator) -> None:
        policy = v.spec.retention_policy
        if policy is None:
            return
        folders = policy.folders
        v.duplicates("retention_policy.folders", folders, lambda f: f.name, "a configuration for this folder")
        for i, folder in enumerate(folders):
            if folder.action in ("DELETE", "PERMANENTLY_DELETE") and folder.period_days is None:
                # The console asks for the days to keep mail for every action
                # (Administrator Guide, "Setting mailbox retention policies").
                v.add(f"{v.path('retention_policy.folders', folders, i)}.period_days",
                      f"the action {folder.action} needs period_days")

    def steps(self, change: RetentionChange, ctx: ApplyContext) -> Steps:
        if change.action == "delete":
            return {Phase.REMOVALS: lambda: self._delete(change, ctx)}
        return {Phase.POLICIES: lambda: self._put(change, ctx)}

    @staticmethod
    def _put(change: RetentionChange, ctx: ApplyContext) -> None:
        spec = change.declared
        params: dict[str, Any] = {
            "Name": spec.name,
            "FolderConfigurations": [
                {"Name": f.name, "Action": f.action, **({"Period": f.period_days} if f.period_days is not None else {})}
                for f in spec.folders
            ],
        }
        if spec.description:
            params["Description"] = spec.description
        policy_id = (change.id or _policy_id(ctx)) if change.action == "update" else None
        if policy_id is not None:
            params["Id"] = policy_id
        ctx.call("PutRetentionPolicy", **params)

    @staticmethod
    def _delete(change: RetentionChange, ctx: ApplyContext) -> None:
        policy_id = change.id or _policy_id(ctx)
        if policy_id is not None:
            ctx.call("DeleteRetentionPolicy", Id=policy_id)


def _policy_id(ctx: ApplyContext) -> str | None:
    try:
        return str(ctx.call("GetDefaultRetentionPolicy")["Id"])
    except ClientError as exc:
        if error_code(exc) in ("EntityNotFoundException", "ResourceNotFoundException"):
            return None
        raise
