"""Mobile device access overrides: one user's device allowed or denied whatever the rules say
(Administrator Guide, "Managing mobile device access overrides")."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from ..changes import Change, OverrideAddress
from ..errors import error_code
from ..spec import Effect, MobileDeviceAccessOverrideSpec, UserSpec
from ..state import ActualState
from .base import ApplyContext, Kind, KindInfo, Phase, PlanContext, Ref, Steps
from .named import plan_named

if TYPE_CHECKING:
    from ..read import Job, Reader
    from ..validate import Validator

OverrideChange = Change[OverrideAddress, MobileDeviceAccessOverrideSpec]


def _address(override: MobileDeviceAccessOverrideSpec) -> OverrideAddress:
    return OverrideAddress(override.user, override.device_id)


class MobileOverrideKind(Kind[OverrideAddress, MobileDeviceAccessOverrideSpec]):
    name = "mobile_device_access_override"
    info = KindInfo("Mobile device access overrides", "mobile_device_access_overrides",
                    {"$ref": "#/$defs/MobileDeviceAccessOverrideSpec"})
    delete_rank = 4

    def plan(self, ctx: PlanContext) -> None:
        if not ctx.read("mobile_device_access_overrides"):
            return
        actual = {f"{u}/{d}": o for (u, d), o in ctx.actual.mobile_device_access_overrides.items()}
        previous = ctx.previous.mobile_device_access_overrides if ctx.previous else []
        plan_named(ctx, ctx.declared.mobile_device_access_overrides, actual, address=_address, authoritative=False,
                   previous=[_address(o).key for o in previous])

    def read_jobs(self, reader: Reader) -> list[Job]:
        if "mobile_device_access_overrides" not in reader.sections:
            return []
        return [(partial(reader.list_all, "ListMobileDeviceAccessOverrides", "Overrides"), reader.keep(self.name))]

    def references(self, reader: Reader) -> None:
        for override in reader.raw.get(self.name) or []:
            reader.need(str(override["UserId"]), "users")

    def build(self, reader: Reader, state: ActualState) -> None:
        for override in reader.raw.get(self.name) or []:
            spec = MobileDeviceAccessOverrideSpec(
                user=reader.name(str(override["UserId"])), device_id=override["DeviceId"],
                effect=cast(Effect, override["Effect"]), description=override.get("Description"),
            )
            state.mobile_device_access_overrides[(spec.user.lower(), spec.device_id.lower())] = spec

    def validate(self, v: Validator) -> None:
        overrides = v.spec.mobile_device_access_overrides
        # DeviceId is case-insensitive (PutMobileDeviceAccessOverride documentation).
        v.duplicates("mobile_device_access_overrides", overrides,
                     lambda o: (str(o.user).lower(), str(o.device_id).lower()),
                     "an override for this user and device", field="device_id")
        for i, override in enumerate(overrides):
            path = v.path("mobile_device_access_overrides", overrides, i)
            user = v.resolve(override.user, f"{path}.user", (UserSpec,), "user")
            if user is not None and not user.enabled:
                v.add(f"{path}.user", f"{user.name} is disabled; overrides need an enabled user")

    def needs(self, change: OverrideChange) -> set[Ref]:
        return set() if change.action == "delete" else {("entity", change.address.user.lower())}

    def steps(self, change: OverrideChange, ctx: ApplyContext) -> Steps:
        if change.action == "delete":
            return {Phase.REMOVALS: lambda: self._delete(change.existing, ctx)}
        return {Phase.POLICIES: lambda: self._put(change.declared, ctx)}

    @staticmethod
    def _put(spec: MobileDeviceAccessOverrideSpec, ctx: ApplyContext) -> None:
        params: dict[str, Any] = {"UserId": spec.user, "DeviceId": spec.device_id, "Effect": spec.effect}
        if spec.description:
            params["Description"] = spec.description
        ctx.call("PutMobileDeviceAccessOverride", **params)

    @staticmethod
    def _delete(spec: MobileDeviceAccessOverrideSpec, ctx: ApplyContext) -> None:
        try:
            ctx.call("DeleteMobileDeviceAccessOverride", UserId=spec.user, DeviceId=spec.device_id)
        except ClientError as exc:
            if error_code(exc) != "EntityNotFoundException":
                raise
