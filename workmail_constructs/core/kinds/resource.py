"""Resources (rooms and equipment): type, description, renames and booking options (delegates
are ``delegate.py``).

Booking options run after delegates are added, since turning auto-accept off needs a
delegate (Administrator Guide, "Editing resource details"), and before delegates are
removed (the last delegate can't go while auto-accept is off).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from ..changes import Change, EntityAddress, FieldChange
from ..spec import BookingOptionsSpec, ResourceSpec, ResourceType
from ..state import ActualResource
from .base import SECTION_OF_TYPE, ApplyContext, KindInfo, Phase, PlanContext, Steps
from .compare import field_changes
from .entities import Actual, EntityKindBase, read_addresses

if TYPE_CHECKING:
    from ..read import Job, Reader
    from ..validate import Validator

ResourceChange = Change[EntityAddress, ResourceSpec]
ATTRIBUTE_FIELDS = frozenset({"name", "type", "description", "hidden_from_global_address_list"})


class ResourceKind(EntityKindBase[ResourceSpec]):
    name = "resource"
    section = "resources"
    info = KindInfo("Resources", "resources", {"$ref": "#/$defs/ResourceSpec"})
    delete_rank = 82
    update_fields = ATTRIBUTE_FIELDS | {"booking_options", "delegates"}

    def rename(self, ctx: PlanContext, old: ResourceSpec, spec: ResourceSpec, found: Actual) -> None:
        # UpdateResource takes a name: a rename is an update of the same resource.
        assert isinstance(found, ActualResource)
        self.update(ctx, found, spec, old, renamed=True)

    def attribute_changes(self, current: ResourceSpec, spec: ResourceSpec, previous: ResourceSpec | None,
                          enabled_now: bool) -> list[FieldChange]:
        fields = field_changes(current, spec, ("type", "description", "hidden_from_global_address_list"))
        if current.booking_options != spec.booking_options:
            fields.append(FieldChange("booking_options", current.booking_options, spec.booking_options))
        return fields

    def entity_jobs(self, reader: Reader, entity_id: str, name: str, enabled: bool) -> list[Job]:
        fetch = partial(reader.list_all, "ListResourceDelegates", "Delegates", ResourceId=entity_id)
        return [(reader.tolerant(fetch), reader.keep_detail(reader.detail("delegates"), entity_id)),
                *super().entity_jobs(reader, entity_id, name, enabled)]

    def references(self, reader: Reader) -> None:
        for delegates in reader.detail("delegates").values():
            for delegate in delegates:
                reader.need(str(delegate["Id"]), SECTION_OF_TYPE.get(str(delegate.get("Type")), "users"))

    def build_one(self, reader: Reader, entity_id: str, described: dict[str, Any]) -> ActualResource:
        booking = described.get("BookingOptions") or {}
        defaults = BookingOptionsSpec()
        delegates = [str(x["Id"]) for x in reader.detail("delegates").get(entity_id) or []
                     if str(x["Id"]) not in reader.deleted]
        spec = ResourceSpec(
            name=described["Name"],
            type=cast(ResourceType, described.get("Type") or "ROOM"),
            email=described.get("Email"),
            enabled=described.get("State") == "ENABLED",
            description=described.get("Description"),
            hidden_from_global_address_list=bool(described.get("HiddenFromGlobalAddressList", False)),
            booking_options=BookingOptionsSpec(
                auto_accept_requests=bool(booking.get("AutoAcceptRequests", defaults.auto_accept_requests)),
                auto_decline_recurring_requests=bool(
                    booking.get("AutoDeclineRecurringRequests", defaults.auto_decline_recurring_requests)
                ),
                auto_decline_conflicting_requests=bool(
                    booking.get("AutoDeclineConflictingRequests", defaults.auto_decline_conflicting_requests)
                ),
            ),
            delegates=sorted(reader.names_of(delegates), key=str.lower),
            aliases=read_addresses(reader, entity_id, described),
        )
        return ActualResource(id=entity_id, state=str(described["State"]), spec=spec)

    def validate_one(self, v: Validator, resource: ResourceSpec, path: Callable[[], str]) -> None:
        if not resource.booking_options.auto_accept_requests and not resource.delegates:
            # Requests not accepted automatically need a delegate to answer them
            # (Administrator Guide, "Editing resource details").
            v.add(f"{path()}.booking_options.auto_accept_requests",
                  "a resource that does not accept requests automatically needs at least one delegate")

    def create_params(self, spec: ResourceSpec, password: str | None) -> dict[str, Any]:
        return {"Type": spec.type, **({"Description": spec.description} if spec.description else {})}

    def after_create(self, entity_id: str, spec: ResourceSpec, adopted: bool, password: str | None,
                     ctx: ApplyContext) -> None:
        if adopted:
            ctx.call("UpdateResource", ResourceId=entity_id, Type=spec.type, Description=spec.description or "",
                     HiddenFromGlobalAddressList=spec.hidden_from_global_address_list)

    def update_attributes(self, change: ResourceChange, after: ResourceSpec, entity_id: str, was_enabled: bool,
                          now_enabled: bool, password: str | None, ctx: ApplyContext) -> None:
        names = change.field_names()
        if not names & ATTRIBUTE_FIELDS:
            return
        params: dict[str, Any] = {
            "Type": after.type, "Description": after.description or "",
            "HiddenFromGlobalAddressList": after.hidden_from_global_address_list,
        }
        if "name" in names:
            params["Name"] = after.name
        ctx.call("UpdateResource", ResourceId=entity_id, **params)

    def later_steps(self, change: ResourceChange, after: ResourceSpec, shared: dict[str, Any],
                    ctx: ApplyContext) -> Steps:
        if change.action == "update" and "booking_options" not in change.field_names():
            return {}
        return {Phase.POLICIES: lambda: booking(after, shared, change.action == "update", ctx)}


def booking(spec: ResourceSpec, shared: dict[str, Any], update: bool, ctx: ApplyContext) -> None:
    # A new resource starts with the default options; set them only if they differ.
    if not update and not shared.get("adopted") and spec.booking_options == BookingOptionsSpec():
        return
    options = spec.booking_options
    ctx.call("UpdateResource", ResourceId=shared["id"], BookingOptions={
        "AutoAcceptRequests": options.auto_accept_requests,
        "AutoDeclineRecurringRequests": options.auto_decline_recurring_requests,
        "AutoDeclineConflictingRequests": options.auto_decline_conflicting_requests,
    })
