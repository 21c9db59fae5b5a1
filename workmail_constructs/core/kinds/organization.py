"""The organization: create (or adopt), re-tag, replace, delete.

WorkMail has no UpdateOrganization: the alias, the directory, the KMS key and
interoperability are fixed when an organization is created, so changing one is a
replacement (a new organization; the old one is deleted with every mailbox), and is
destructive. Tags are the only thing an update changes.

The API-level functions (``create``, ``retag``, ``delete_step``, ``describe``) serve both
apply and the organization's custom-resource handler: one ClientToken derivation, one
delete, one tagging path.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..changes import Change, ChangeFailed, FieldChange, OrganizationAddress, Plan
from ..errors import error_code
from ..spec import OrganizationSpec, WorkMailSpec, create_organization_request
from ..state import ActualState
from . import tokens
from .base import ApplyContext, Kind, KindInfo, Phase, PlanContext, PlanError, Steps
from .compare import differs

if TYPE_CHECKING:
    from ..api import WorkMailApi
    from ..validate import Validator


OrganizationChange = Change[OrganizationAddress, OrganizationSpec]

# Settings fixed at creation: WorkMail has no UpdateOrganization.
IMMUTABLE = ("alias", "directory_id", "kms_key_arn", "enable_interoperability")
PENDING_STATES = ("Requested", "Creating")
GONE_STATES = ("Deleting", "Deleted")
ORGANIZATION_ID = re.compile(r"m-[0-9a-f]{32}")
# WorkMail's name for the directory it creates itself; any other type is one the user brought.
WORKMAIL_DIRECTORY = "WorkMailDirectory"


# The API ---------------------------------------------------------------------------


def describe(api: WorkMailApi, organization_id: str) -> dict[str, Any] | None:
    """DescribeOrganization's answer, or None when there is no such organization."""
    try:
        return api.call("DescribeOrganization", OrganizationId=organization_id)
    except ClientError as exc:
        if error_code(exc) == "OrganizationNotFoundException":
            return None
        raise


def create(api: WorkMailApi, spec: OrganizationSpec, *, scope: tuple[str, ...] = ()) -> dict[str, Any]:
    """CreateOrganization with a ClientToken derived from the request (and ``scope``: a custom
    resource's stack and logical id), so a retry finds what the first attempt made; returns
    DescribeOrganization's answer for the new organization. An alias in use is a
    ChangeFailed with that code."""
    params = create_organization_request(spec)
    answers: dict[str, dict[str, Any]] = {}

    def attempt(token: str) -> str | None:
        try:
            organization_id = str(api.call("CreateOrganization", ClientToken=token, **params)["OrganizationId"])
        except ClientError as exc:
            if error_code(exc) == "NameAvailabilityException":
                raise ChangeFailed(
                    f"the alias {spec.alias} is taken by another organization; choose another alias, or adopt that "
                    "organization with organization.organization_id",
                    field="alias", code="NameAvailabilityException",
                ) from exc
            raise
        described = describe(api, organization_id)
        # A token an earlier organization of this alias used answers with that organization.
        if described is None or described.get("State") in GONE_STATES:
            return None
        answers[organization_id] = described
        return organization_id

    return answers[tokens.chain(attempt, "CreateOrganization", *scope, tokens.canonical(params))]


def adopt(api: WorkMailApi, spec: OrganizationSpec) -> dict[str, Any]:
    """Check that ``spec.organization_id`` names a live organization with the declared alias;
    returns DescribeOrganization's answer for it."""
    organization_id = spec.organization_id or ""
    if not ORGANIZATION_ID.fullmatch(organization_id):
        raise ChangeFailed(f"must be an organization id (m- and 32 hex digits), not {organization_id!r}",
                           field="organization_id")
    described = describe(api, organization_id)
    if described is None:
        raise ChangeFailed(f"the organization {organization_id} to adopt does not exist in this Region",
                           field="organization_id")
    state = str(described.get("State"))
    if state in GONE_STATES or state == "Failed":
        raise ChangeFailed(f"the organization {organization_id} to adopt is {state}; only a live organization can be "
                           "adopted", field="organization_id")
    alias = str(described.get("Alias", ""))
    if alias.lower() != spec.alias.lower():
        raise ChangeFailed(f"the organization {organization_id} has the alias {alias}, but the spec says {spec.alias}: "
                           f"an alias can't change, so declare alias={alias!r}", field="alias")
    return described


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def retag(api: WorkMailApi, organization_id: str, old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Tags from ``old`` to ``new``: remove what went, set what changed; returns what it did, for logs."""
    described = describe(api, organization_id)
    if described is None:
        raise ChangeFailed(f"the organization {organization_id} does not exist (or was deleted)")
    done: list[str] = []
    removed = sorted(k for k in old if k not in new)
    if removed:
        api.call("UntagResource", ResourceARN=described["ARN"], TagKeys=removed)
        done.append("untagged " + ", ".join(removed))
    changed = {k: v for k, v in new.items() if old.get(k) != v}
    if changed:
        api.call("TagResource", ResourceARN=described["ARN"], Tags=tag_list(changed))
        done.append("tagged " + ", ".join(sorted(changed)))
    return done


def delete_step(api: WorkMailApi, organization_id: str) -> bool:
    """Delete the organization; True once it is gone or going, False while it can't be deleted
    yet (still being created). Only a directory WorkMail made for it goes with it: a directory
    the user brought may serve other applications."""
    described = describe(api, organization_id)
    if described is None or described.get("State") in GONE_STATES:
        return True
    if described.get("State") in PENDING_STATES:
        return False
    try:
        api.call("DeleteOrganization", OrganizationId=organization_id,
                 DeleteDirectory=described.get("DirectoryType") == WORKMAIL_DIRECTORY, ForceDelete=True)
    except ClientError as exc:
        if error_code(exc) == "OrganizationNotFoundException":
            return True
        # A delete that an interrupted run (or someone else) started meanwhile is fine.
        if error_code(exc) != "OrganizationStateException":
            raise
        again = describe(api, organization_id)
        if again is not None and again.get("State") not in GONE_STATES:
            raise
    return True


def immutable_changes(old: OrganizationSpec, new: OrganizationSpec) -> list[FieldChange]:
    """What can't change on an existing organization and does (aliases compare without case)."""
    return [FieldChange(name, getattr(old, name), getattr(new, name)) for name in IMMUTABLE
            if differs(name, _fixed(old, name), _fixed(new, name))]


def _fixed(spec: OrganizationSpec, name: str) -> Any:
    value = getattr(spec, name)
    return value.lower() if name == "alias" and isinstance(value, str) else value


# The kind ---------------------------------------------------------------------------


class OrganizationKind(Kind[OrganizationAddress, OrganizationSpec]):
    name = "organization"
    info = KindInfo("Organization", None, {"$ref": "#/$defs/OrganizationSpec"})
    delete_rank = 99

    def path(self, change: OrganizationChange) -> str:
        return "organization"

    def plan(self, ctx: PlanContext) -> None:
        declared = ctx.declared.organization
        found = ctx.actual.organization
        address = OrganizationAddress(declared.alias)
        if found is None:
            if declared.organization_id:
                raise PlanError(
                    f"organization.organization_id: the organization {declared.organization_id} to adopt "
                    "does not exist (or is deleted)."
                )
            ctx.add(Change("create", address, "declared, does not exist", after=declared))
            ctx.start_empty()
            return
        current = found.spec
        # Settings WorkMail does not report are compared with what was declared before.
        known_before = ctx.previous.organization if ctx.previous else None
        immutable = []
        for name in IMMUTABLE:
            new = getattr(declared, name)
            old = getattr(current, name)
            if name == "directory_id" and new is None:
                continue
            if name == "kms_key_arn":
                old = getattr(known_before, name) if known_before else new
            if differs(name, old, new):
                immutable.append(FieldChange(name, old, new))
        if immutable:
            names = ", ".join(f.name for f in immutable)
            ctx.add(Change(
                "replace", address,
                f"{names} can't change on an existing organization: a new organization replaces it, and the "
                "old one is deleted with all its mailboxes",
                destructive=True, before=current, after=declared, fields=tuple(immutable), id=found.organization_id,
            ))
            # The new organization starts empty: everything declared is created in it.
            ctx.start_empty()
            return
        if current.tags != declared.tags:
            ctx.add(Change("update", address, "changed: tags", before=current, after=declared,
                           fields=(FieldChange("tags", current.tags, declared.tags),), id=found.organization_id))

    def validate(self, v: Validator) -> None:
        org = v.spec.organization
        if org.enable_interoperability and not org.directory_id:
            # Interoperability works through an AD Connector directory, which the organization
            # must be created with (CreateOrganization.EnableInteroperability documentation).
            v.add("organization.enable_interoperability", "needs directory_id (an AD Connector directory)")
        for key in org.tags:
            if isinstance(key, str) and key.lower().startswith("aws:"):
                # The aws: prefix is reserved for AWS's own tags.
                v.add(f"organization.tags[{key}]", "tag keys can't start with 'aws:'")

    def steps(self, change: OrganizationChange, ctx: ApplyContext) -> Steps:
        if change.action == "create":
            return {Phase.ORGANIZATION: lambda: self._create(change.declared, ctx)}
        if change.action == "update":
            return {Phase.ORGANIZATION: lambda: self._retag(change, ctx)}
        if change.action == "replace":
            def replace() -> None:
                self._delete(change, ctx, wait=True)
                self._create(change.declared, ctx)
            return {Phase.ORGANIZATION: replace}
        return {Phase.ORGANIZATION_DELETE: lambda: self._delete(change, ctx, wait=False)}

    @staticmethod
    def _create(spec: OrganizationSpec, ctx: ApplyContext) -> None:
        # The answer create has already is the first look at the new organization's state.
        answers = [create(ctx.api, spec)]
        organization_id = str(answers[0]["OrganizationId"])
        ctx.set_organization(organization_id)

        def active() -> dict[str, Any] | None:
            described = answers.pop() if answers else describe(ctx.api, organization_id)
            state = described.get("State") if described else "missing"
            if state == "Active":
                return described
            if state not in PENDING_STATES:
                detail = f": {described['ErrorMessage']}" if described and described.get("ErrorMessage") else ""
                raise ChangeFailed(f"the new organization {organization_id} is {state}{detail}")
            return None

        described = ctx.wait(f"organization {organization_id} to become Active", ctx.timeouts.organization_active,
                             active)
        if spec.tags:
            ctx.api.call("TagResource", ResourceARN=described["ARN"], Tags=tag_list(spec.tags))

    @staticmethod
    def _retag(change: OrganizationChange, ctx: ApplyContext) -> None:
        old = dict(change.existing.tags)
        for f in change.fields:
            if f.name == "tags" and isinstance(f.old, dict):
                old = dict(f.old)
        retag(ctx.api, change.id or ctx.org, old, change.declared.tags)

    @staticmethod
    def _delete(change: OrganizationChange, ctx: ApplyContext, *, wait: bool) -> None:
        organization_id = change.id or ctx.plan.organization_id
        if organization_id is None:
            raise ChangeFailed("the organization to delete has no id")
        if not delete_step(ctx.api, organization_id):
            raise ChangeFailed(f"the organization {organization_id} is still being created; apply again once it is "
                               "Active to delete it")
        if not wait:
            return

        def deleted() -> bool | None:
            described = describe(ctx.api, organization_id)
            return True if described is None or described.get("State") == "Deleted" else None

        # The alias is free for the replacement only once the old organization is Deleted.
        ctx.wait(f"organization {organization_id} to be deleted", ctx.timeouts.organization_active, deleted)


def plan_removal(previous: WorkMailSpec | None, actual: ActualState, result: Plan) -> None:
    """The spec is removed (a stack deletion): delete the organization only if its removal policy says so."""
    if previous is None or actual.organization is None:
        return
    organization = previous.organization
    if organization.removal_policy == "destroy":
        result.changes.append(Change(
            "delete", OrganizationAddress(organization.alias),
            "the spec is removed and its removal policy is destroy: every mailbox and all mail are deleted",
            destructive=True, before=actual.organization.spec, id=actual.organization.organization_id,
        ))
