"""Impersonation roles: what an application may do in mailboxes as their users
(Administrator Guide, "Managing impersonation roles").

A role's rules name target users, which the API takes as ids, so roles come after the
users they name (phase LINKS). Role names are unique in an organization.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from ..changes import Change, NamedAddress
from ..errors import error_code
from ..spec import Effect, ImpersonationRoleSpec, ImpersonationRoleType, ImpersonationRuleSpec, UserSpec
from ..state import ActualRule, ActualState
from . import tokens
from .access_rule import role_names
from .base import ApplyContext, Kind, KindInfo, Phase, PlanContext, Ref, Steps
from .named import plan_named

if TYPE_CHECKING:
    from ..read import Job, Reader
    from ..validate import Validator

RoleChange = Change[NamedAddress, ImpersonationRoleSpec]


def _address(role: ImpersonationRoleSpec) -> NamedAddress:
    return NamedAddress("impersonation_role", role.name)


class ImpersonationRoleKind(Kind[NamedAddress, ImpersonationRoleSpec]):
    name = "impersonation_role"
    info = KindInfo("Impersonation roles", "impersonation_roles", {"$ref": "#/$defs/ImpersonationRoleSpec"})
    delete_rank = 6

    def plan(self, ctx: PlanContext) -> None:
        if not ctx.read("impersonation_roles"):
            return
        roles = {k: v.spec for k, v in ctx.actual.impersonation_roles.items()}
        ids = {k: v.id for k, v in ctx.actual.impersonation_roles.items()}
        previous = [r.name for r in ctx.previous.impersonation_roles] if ctx.previous else []
        plan_named(ctx, ctx.declared.impersonation_roles, roles, address=_address, authoritative=False, ids=ids,
                   previous=previous)

    def read_jobs(self, reader: Reader) -> list[Job]:
        if "impersonation_roles" not in reader.sections:
            return []
        return [(partial(reader.list_all, "ListImpersonationRoles", "Roles"), partial(self._listed, reader))]

    def _listed(self, reader: Reader, roles: list[dict[str, Any]]) -> None:
        reader.raw[self.name] = roles
        role_names(reader, roles)

    def detail_jobs(self, reader: Reader) -> list[Job]:
        # The list has no rules: one GetImpersonationRole per role.
        details = reader.raw.setdefault("impersonation_role.details", {})
        return [
            (reader.tolerant(partial(reader.call, "GetImpersonationRole", ImpersonationRoleId=role_id)),
             reader.keep_detail(details, role_id))
            for role_id in (str(role["ImpersonationRoleId"]) for role in reader.raw.get(self.name) or [])
        ]

    def references(self, reader: Reader) -> None:
        for role in (reader.raw.get("impersonation_role.details") or {}).values():
            for rule in role.get("Rules") or []:
                for user_id in (rule.get("TargetUsers") or []) + (rule.get("NotTargetUsers") or []):
                    reader.need(str(user_id), "users")

    def build(self, reader: Reader, state: ActualState) -> None:
        details = reader.raw.get("impersonation_role.details") or {}
        for listed in reader.raw.get(self.name) or []:
            role = details.get(str(listed["ImpersonationRoleId"]))
            if role is None:
                continue  # deleted while the read ran
            rules = [
                ImpersonationRuleSpec(
                    rule_id=rule["ImpersonationRuleId"], effect=cast(Effect, rule["Effect"]), name=rule.get("Name"),
                    description=rule.get("Description"), target_users=reader.names_of(rule.get("TargetUsers")),
                    not_target_users=reader.names_of(rule.get("NotTargetUsers")),
                )
                for rule in role.get("Rules") or []
            ]
            spec = ImpersonationRoleSpec(name=role["Name"], type=cast(ImpersonationRoleType, role["Type"]),
                                         description=role.get("Description"), rules=rules)
            state.impersonation_roles[spec.name.lower()] = ActualRule(id=str(role["ImpersonationRoleId"]), spec=spec)

    def validate(self, v: Validator) -> None:
        v.limit("impersonation_roles", "ListImpersonationRoles", "Roles", "impersonation roles")
        roles = v.spec.impersonation_roles
        # Role names are unique (Administrator Guide, "Managing impersonation roles").
        v.duplicates("impersonation_roles", roles, lambda r: str(r.name).lower(), "this role name")
        for ri, role in enumerate(roles):
            path = f"{v.path('impersonation_roles', roles, ri)}.rules"
            v.duplicates(path, role.rules, lambda r: r.rule_id, "this rule id", field="rule_id")
            # Rule names are unique within a role (Administrator Guide, "Managing impersonation roles").
            v.duplicates(path, role.rules, lambda r: r.name.lower() if isinstance(r.name, str) else None,
                         "this rule name")
            for rj, rule in enumerate(role.rules):
                for field in ("target_users", "not_target_users"):
                    for i, name in enumerate(getattr(rule, field)):
                        v.resolve(name, f"{v.path(path, role.rules, rj)}.{field}[{i}]", (UserSpec,), "user")

    def needs(self, change: RoleChange) -> set[Ref]:
        if change.action == "delete":
            return set()
        return {("entity", u.lower()) for rule in change.declared.rules for u in rule.target_users
                + rule.not_target_users}

    def provides(self, change: RoleChange) -> set[Ref]:
        return set() if change.action == "delete" else {("role", change.key.lower())}

    def steps(self, change: RoleChange, ctx: ApplyContext) -> Steps:
        if change.action == "delete":
            return {Phase.ENTITY_DELETES: lambda: self._delete(change, ctx)}
        return {Phase.LINKS: lambda: self._put(change, ctx)}

    @staticmethod
    def _params(spec: ImpersonationRoleSpec, ctx: ApplyContext) -> dict[str, Any]:
        rules: list[dict[str, Any]] = []
        for index, rule in enumerate(spec.rules):
            item: dict[str, Any] = {"ImpersonationRuleId": rule.rule_id, "Effect": rule.effect}
            if rule.name:
                item["Name"] = rule.name
            if rule.description:
                item["Description"] = rule.description
            # The API documents TargetUsers as user ids.
            if rule.target_users:
                item["TargetUsers"] = ctx.user_ids(rule.target_users, f"rules[{index}].target_users")
            if rule.not_target_users:
                item["NotTargetUsers"] = ctx.user_ids(rule.not_target_users, f"rules[{index}].not_target_users")
            rules.append(item)
        params: dict[str, Any] = {"Name": spec.name, "Type": spec.type, "Rules": rules}
        if spec.description:
            params["Description"] = spec.description
        return params

    def _put(self, change: RoleChange, ctx: ApplyContext) -> None:
        spec = change.declared
        params = self._params(spec, ctx)
        if change.action == "update":
            role_id = change.id or ctx.role_id(spec.name, "name")
            ctx.call("UpdateImpersonationRole", ImpersonationRoleId=role_id, **params)
        else:
            if change.action == "replace" and change.id:
                ctx.call("DeleteImpersonationRole", ImpersonationRoleId=change.id)

            def create(token: str) -> str | None:
                created = str(ctx.call("CreateImpersonationRole", ClientToken=token, **params)["ImpersonationRoleId"])
                try:
                    ctx.call("GetImpersonationRole", ImpersonationRoleId=created)
                except ClientError as exc:
                    if error_code(exc) == "ResourceNotFoundException":
                        return None
                    raise
                return created

            try:
                role_id = tokens.chain(create, "CreateImpersonationRole", ctx.org, tokens.canonical(params))
            except ClientError as exc:
                # Role names are unique: one named so exists, made by an earlier run with other
                # target ids, or planned before it was made. Make it the declared role.
                if error_code(exc) != "InvalidParameterException" or not ctx.role_exists(spec.name):
                    raise
                role_id = ctx.role_id(spec.name, "name")
                ctx.call("UpdateImpersonationRole", ImpersonationRoleId=role_id, **params)
        ctx.remember_role(spec.name, role_id)

    @staticmethod
    def _delete(change: RoleChange, ctx: ApplyContext) -> None:
        role_id = change.id
        if role_id is None:
            if not ctx.role_exists(change.key):
                return
            role_id = ctx.role_id(change.key, "name")
        ctx.call("DeleteImpersonationRole", ImpersonationRoleId=role_id)
