"""Mobile device access rules: which devices may connect over Exchange ActiveSync
(Administrator Guide, "Managing mobile device access rules").

WorkMail names rules by generated ids; the spec by name. Once ``mobile_device_access_rules``
is declared (even empty), it is the whole list.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, cast

from ..changes import Change, ChangeFailed, NamedAddress
from ..spec import Effect, MobileDeviceAccessRuleSpec, api_member
from ..state import ActualRule, ActualState
from . import tokens
from .base import ApplyContext, Kind, KindInfo, Phase, PlanContext, Steps
from .named import plan_named

if TYPE_CHECKING:
    from ..read import Job, Reader
    from ..validate import Validator

MobileRuleChange = Change[NamedAddress, MobileDeviceAccessRuleSpec]
# "$NONE" matches a device that reports nothing, in positive conditions only; a negated
# condition never matches a missing value, so there it means nothing (Administrator Guide,
# "Managing mobile device access rules").
NONE_VALUE = "$NONE"
NEGATED_CONDITIONS = ("not_device_types", "not_device_models", "not_device_operating_systems", "not_device_user_agents")
CONDITIONS = (
    "device_types", "not_device_types", "device_models", "not_device_models", "device_operating_systems",
    "not_device_operating_systems", "device_user_agents", "not_device_user_agents",
)


def _address(rule: MobileDeviceAccessRuleSpec) -> NamedAddress:
    return NamedAddress("mobile_device_access_rule", rule.name)


class MobileRuleKind(Kind[NamedAddress, MobileDeviceAccessRuleSpec]):
    name = "mobile_device_access_rule"
    info = KindInfo("Mobile device access rules", "mobile_device_access_rules",
                    {"$ref": "#/$defs/MobileDeviceAccessRuleSpec"})
    delete_rank = 5

    def plan(self, ctx: PlanContext) -> None:
        rules = ctx.declared.mobile_device_access_rules
        if rules is None or not ctx.read("mobile_device_access_rules"):
            return
        actual = {k: v.spec for k, v in ctx.actual.mobile_device_access_rules.items()}
        ids = {k: v.id for k, v in ctx.actual.mobile_device_access_rules.items()}
        plan_named(ctx, rules, actual, address=_address, authoritative=True, ids=ids)

    def read_jobs(self, reader: Reader) -> list[Job]:
        if "mobile_device_access_rules" not in reader.sections:
            return []
        return [(partial(reader.list_all, "ListMobileDeviceAccessRules", "Rules"), reader.keep(self.name))]

    def build(self, reader: Reader, state: ActualState) -> None:
        for rule in reader.raw.get(self.name) or []:
            spec = MobileDeviceAccessRuleSpec(
                name=rule["Name"], effect=cast(Effect, rule["Effect"]), description=rule.get("Description"),
                **{name: list(rule.get(api_member(name)) or []) for name in CONDITIONS},
            )
            state.mobile_device_access_rules[spec.name.lower()] = ActualRule(
                id=str(rule["MobileDeviceAccessRuleId"]), spec=spec)

    def validate(self, v: Validator) -> None:
        v.limit("mobile_device_access_rules", "ListMobileDeviceAccessRules", "Rules", "mobile device access rules")
        rules = v.spec.mobile_device_access_rules or []
        v.duplicates("mobile_device_access_rules", rules, lambda r: str(r.name).lower(), "this rule name")
        for ri, rule in enumerate(rules):
            for field in NEGATED_CONDITIONS:
                for i, value in enumerate(getattr(rule, field)):
                    if value == NONE_VALUE:
                        v.add(f"{v.path('mobile_device_access_rules', rules, ri)}.{field}[{i}]",
                              f"{NONE_VALUE} can be used only in positive conditions "
                              '(Administrator Guide, "Managing mobile device access rules")')

    def steps(self, change: MobileRuleChange, ctx: ApplyContext) -> Steps:
        if change.action == "delete":
            return {Phase.REMOVALS: lambda: self._delete(change, ctx)}
        return {Phase.POLICIES: lambda: self._put(change, ctx)}

    @staticmethod
    def _params(spec: MobileDeviceAccessRuleSpec) -> dict[str, Any]:
        params: dict[str, Any] = {"Name": spec.name, "Effect": spec.effect}
        if spec.description:
            params["Description"] = spec.description
        for name in CONDITIONS:
            if getattr(spec, name):
                params[api_member(name)] = list(getattr(spec, name))
        return params

    def _put(self, change: MobileRuleChange, ctx: ApplyContext) -> None:
        spec = change.declared
        params = self._params(spec)
        if change.action == "update":
            rule_id = change.id or _rule_id(spec.name, ctx)
            if rule_id is None:
                raise ChangeFailed(f"there is no mobile device access rule named {spec.name} to update")
            ctx.call("UpdateMobileDeviceAccessRule", MobileDeviceAccessRuleId=rule_id, **params)
            return
        if change.action == "replace" and change.id:
            ctx.call("DeleteMobileDeviceAccessRule", MobileDeviceAccessRuleId=change.id)

        def create(token: str) -> str | None:
            rule_id = str(ctx.call("CreateMobileDeviceAccessRule", ClientToken=token, **params)
                          ["MobileDeviceAccessRuleId"])
            rules = ctx.call("ListMobileDeviceAccessRules").get("Rules") or []
            return rule_id if any(r.get("MobileDeviceAccessRuleId") == rule_id for r in rules) else None

        tokens.chain(create, "CreateMobileDeviceAccessRule", ctx.org, tokens.canonical(params))

    @staticmethod
    def _delete(change: MobileRuleChange, ctx: ApplyContext) -> None:
        rule_id = change.id or _rule_id(change.key, ctx)
        if rule_id is not None:
            ctx.call("DeleteMobileDeviceAccessRule", MobileDeviceAccessRuleId=rule_id)


def _rule_id(name: str, ctx: ApplyContext) -> str | None:
    for rule in ctx.call("ListMobileDeviceAccessRules").get("Rules") or []:
        if str(rule.get("Name", "")).lower() == name.lower():
            return str(rule["MobileDeviceAccessRuleId"])
    return None
