"""Access control rules: which protocols, addresses, users and impersonation roles may reach
the organization (Administrator Guide, "Working with access control rules").

Rules are upserted by name (PutAccessControlRule); users and roles are named in the spec
and sent as ids. Once ``access_control_rules`` is declared (even empty), it is the whole
list: rules not in it are deleted.
"""

from __future__ import annotations

import re
from functools import cache, partial
from typing import TYPE_CHECKING, Any, cast

from ..changes import Change, NamedAddress
from ..spec import AccessControlRuleSpec, Effect, UserSpec
from ..state import ActualState
from .base import ApplyContext, Kind, KindInfo, Phase, PlanContext, Ref, Steps
from .named import plan_named

if TYPE_CHECKING:
    from ..read import Job, Reader
    from ..validate import Validator

AccessRuleChange = Change[NamedAddress, AccessControlRuleSpec]


def _address(rule: AccessControlRuleSpec) -> NamedAddress:
    return NamedAddress("access_control_rule", rule.name)


class AccessRuleKind(Kind[NamedAddress, AccessControlRuleSpec]):
    name = "access_control_rule"
    info = KindInfo("Access control rules", "access_control_rules", {"$ref": "#/$defs/AccessControlRuleSpec"})
    delete_rank = 3

    def plan(self, ctx: PlanContext) -> None:
        rules = ctx.declared.access_control_rules
        if rules is not None and ctx.read("access_control_rules"):
            plan_named(ctx, rules, ctx.actual.access_control_rules, address=_address, authoritative=True)

    def read_jobs(self, reader: Reader) -> list[Job]:
        if "access_control_rules" not in reader.sections:
            return []
        return [(partial(reader.list_all, "ListAccessControlRules", "Rules"), reader.keep(self.name))]

    def detail_jobs(self, reader: Reader) -> list[Job]:
        rules = reader.raw.get(self.name) or []
        if "impersonation_roles" in reader.sections or not any(
            rule.get("ImpersonationRoleIds") or rule.get("NotImpersonationRoleIds") for rule in rules
        ):
            return []
        # Rules name roles by id; their names come from the role list (one page, usually).
        return [(partial(reader.list_all, "ListImpersonationRoles", "Roles"), partial(role_names, reader))]

    def references(self, reader: Reader) -> None:
        for rule in reader.raw.get(self.name) or []:
            for user_id in (rule.get("UserIds") or []) + (rule.get("NotUserIds") or []):
                reader.need(str(user_id), "users")

    def build(self, reader: Reader, state: ActualState) -> None:
        names: dict[str, str] = reader.raw.get("role_names") or {}

        def roles(ids: list[str] | None) -> list[str]:
            return [names.get(str(i), str(i)) for i in ids or []]

        for rule in reader.raw.get(self.name) or []:
            spec = AccessControlRuleSpec(
                name=rule["Name"],
                effect=cast(Effect, rule["Effect"]),
                description=rule.get("Description") or "",
                actions=list(rule.get("Actions") or []),
                not_actions=list(rule.get("NotActions") or []),
                ip_ranges=list(rule.get("IpRanges") or []),
                not_ip_ranges=list(rule.get("NotIpRanges") or []),
                users=reader.names_of(rule.get("UserIds")),
                not_users=reader.names_of(rule.get("NotUserIds")),
                impersonation_roles=roles(rule.get("ImpersonationRoleIds")),
                not_impersonation_roles=roles(rule.get("NotImpersonationRoleIds")),
            )
            state.access_control_rules[spec.name.lower()] = spec

    def validate(self, v: Validator) -> None:
        v.limit("access_control_rules", "ListAccessControlRules", "Rules", "access control rules")
        rules = v.spec.access_control_rules or []
        v.duplicates("access_control_rules", rules, lambda r: str(r.name).lower(), "this rule name")
        actions = access_actions()
        for ri, rule in enumerate(rules):
            path = partial(v.path, "access_control_rules", rules, ri)
            for field in ("actions", "not_actions"):
                for i, action in enumerate(getattr(rule, field)):
                    if actions and isinstance(action, str) and action not in actions:
                        v.add(f"{path()}.{field}[{i}]",
                              f"{action!r} is not an access protocol; one of {', '.join(actions)}")
            for field in ("users", "not_users"):
                for i, name in enumerate(getattr(rule, field)):
                    v.resolve(name, f"{path()}.{field}[{i}]", (UserSpec,), "user")
            for field in ("impersonation_roles", "not_impersonation_roles"):
                for i, name in enumerate(getattr(rule, field)):
                    if isinstance(name, str) and name.lower() not in v.roles:
                        v.add(f"{path()}.{field}[{i}]", f"{name!r} is not a declared impersonation role")

    def needs(self, change: AccessRuleChange) -> set[Ref]:
        if change.action == "delete":
            return set()
        rule = change.declared
        return ({("entity", n.lower()) for n in rule.users + rule.not_users}
                | {("role", n.lower()) for n in rule.impersonation_roles + rule.not_impersonation_roles})

    def steps(self, change: AccessRuleChange, ctx: ApplyContext) -> Steps:
        if change.action == "delete":
            return {Phase.REMOVALS: lambda: self._delete(change.key, ctx)}
        return {Phase.POLICIES: lambda: self._put(change.declared, ctx)}

    @staticmethod
    def _delete(name: str, ctx: ApplyContext) -> None:
        ctx.call("DeleteAccessControlRule", Name=name)

    @staticmethod
    def _put(spec: AccessControlRuleSpec, ctx: ApplyContext) -> None:
        ctx.call(
            "PutAccessControlRule", Name=spec.name, Effect=spec.effect, Description=spec.description,
            Actions=list(spec.actions), NotActions=list(spec.not_actions), IpRanges=list(spec.ip_ranges),
            NotIpRanges=list(spec.not_ip_ranges),
            UserIds=ctx.user_ids(spec.users, "users"), NotUserIds=ctx.user_ids(spec.not_users, "not_users"),
            ImpersonationRoleIds=[ctx.role_id(n, "impersonation_roles") for n in spec.impersonation_roles],
            NotImpersonationRoleIds=[ctx.role_id(n, "not_impersonation_roles") for n in spec.not_impersonation_roles],
        )


def role_names(reader: Reader, roles: list[dict[str, Any]]) -> None:
    """Keep impersonation roles' names by id, which access rules name roles by."""
    names: dict[str, str] = reader.raw.setdefault("role_names", {})
    for role in roles:
        names[str(role["ImpersonationRoleId"])] = str(role["Name"])



@cache
def access_actions() -> tuple[str, ...]:
    """The protocols an access control rule can name, as the model's documentation lists them.

    The model types Actions as any letters; the valid values are written only in the
    member's documentation, so they are read from there rather than retyped.
    """
    from .. import service_model  # botocore's model: loaded when validating, not when a handler starts

    doc = service_model.member_shape("PutAccessControlRule", "Actions").documentation
    return tuple(re.findall(r"<code>([A-Za-z]+)</code>", doc))
