"""Inbound DMARC enforcement (Administrator Guide, "Enforcing DMARC policies on incoming email").

``inbound_dmarc_enforced`` None leaves it unmanaged. There is no "unset": one declared
before and no longer goes back to the service's default, enforced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..changes import Change, FieldChange, SettingAddress
from ..state import ActualState
from .base import ApplyContext, Kind, KindInfo, Phase, PlanContext, Steps

if TYPE_CHECKING:
    from ..read import Job, Reader

DmarcChange = Change[SettingAddress, bool]
ADDRESS = SettingAddress("inbound_dmarc")


class DmarcKind(Kind[SettingAddress, bool]):
    name = "inbound_dmarc"
    info = KindInfo("Inbound DMARC", None, {"type": "boolean"})
    delete_rank = 10

    def path(self, change: DmarcChange) -> str:
        return "inbound_dmarc_enforced"

    def plan(self, ctx: PlanContext) -> None:
        declared = ctx.declared.inbound_dmarc_enforced
        if declared is None or not ctx.read("inbound_dmarc"):
            return
        current = ctx.actual.inbound_dmarc_enforced
        if current != declared:
            ctx.add(Change("update", ADDRESS, "enforcement differs", before=current, after=declared,
                           fields=(FieldChange("enforced", current, declared),)))

    def read_jobs(self, reader: Reader) -> list[Job]:
        if "inbound_dmarc" not in reader.sections:
            return []
        return [(lambda: bool(reader.call("DescribeInboundDmarcSettings").get("Enforced")), reader.keep(self.name))]

    def build(self, reader: Reader, state: ActualState) -> None:
        state.inbound_dmarc_enforced = reader.raw.get(self.name)

    def steps(self, change: DmarcChange, ctx: ApplyContext) -> Steps:
        enforced = True if change.action == "delete" else change.declared
        phase = Phase.REMOVALS if change.action == "delete" else Phase.POLICIES
        return {phase: lambda: self._put(enforced, ctx)}

    @staticmethod
    def _put(enforced: bool, ctx: ApplyContext) -> None:
        ctx.call("PutInboundDmarcSettings", Enforced=enforced)
