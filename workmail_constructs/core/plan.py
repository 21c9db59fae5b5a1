"""Planning: a pure function from (previous spec, declared spec, actual state) to changes.

Planning never calls the API. Ownership follows the design notes: what is declared is
managed; what was declared before and is now gone is deleted; what was never declared
is left alone unless the spec opts in to ``prune``. Within a declared object, its
attributes, aliases, members and delegates are authoritative: the declared object is
the whole truth about them. Sections that are optional in the spec (access control
rules, mobile device rules, the retention policy, DMARC) are unmanaged while None.

Identity is by name, case-insensitively, as in WorkMail. An entity that keeps its
``logical_id`` under a new name is a rename: a replacement for users and groups
(WorkMail can't rename them), an update for resources (UpdateResource takes a name).

A read may be scoped (see ``incremental_scope``): then only the entities and sections
that were read are compared, and everything else is taken to be as declared before.
"""

from __future__ import annotations

from .changes import Plan
from .kinds import KINDS
from .kinds.base import PlanContext, PlanError
from .kinds.compare import by_name
from .kinds.flow_rule import flow_rule_steps
from .kinds.organization import plan_removal
from .read import ReadScope
from .spec import WorkMailSpec
from .state import ActualState

ENTITY_SECTIONS = ("users", "groups", "resources")

__all__ = ["PlanError", "compared_quotas", "flow_rule_steps", "incremental_scope", "plan"]


def plan(
    declared: WorkMailSpec | None,
    actual: ActualState,
    previous: WorkMailSpec | None = None,
    *,
    scope: ReadScope | None = None,
) -> Plan:
    """The ordered changes that make ``actual`` match ``declared``.

    ``declared`` None means the spec is being removed (a stack deletion): the organization
    is deleted only when its removal policy is ``destroy``, and otherwise left as it is.
    ``scope`` is the scope of a scoped read; None means ``actual`` was read in full.
    Each kind (``core/kinds``) plans its own objects, in the registry's order; deletes come
    after everything else, most dependent first, as apply runs them.
    """
    result = Plan(organization_id=actual.organization.organization_id if actual.organization else None)
    if declared is None:
        plan_removal(previous, actual, result)
        return result
    ctx = PlanContext(declared, actual, previous, scope, result)
    for kind in KINDS.values():
        kind.plan(ctx)
    ctx.deletes.sort(key=lambda c: KINDS[c.kind].delete_rank)
    result.changes = ctx.creates + ctx.deletes
    result.manual = flow_rule_steps(declared)
    return result


# Incremental planning ---------------------------------------------------------------


def incremental_scope(previous: WorkMailSpec | None, declared: WorkMailSpec) -> ReadScope | None:
    """What to read for a plan of the declared change from ``previous`` to ``declared``.

    None means a full read is needed (no previous spec, or the organization changed).
    Otherwise the scope names the entities whose declarations differ (added, removed or
    changed, including both names of a rename) and the policy sections that differ, so
    the read and the plan cost in proportion to the change, not to the organization.
    """
    if previous is None or previous.organization != declared.organization or previous.prune != declared.prune:
        return None
    # The organization is read too (2 calls): the plan needs to know it is there and Active.
    scope = ReadScope(organization=True, quotas=compared_quotas(declared))
    if previous.domains != declared.domains:
        scope.sections.add("domains")
    for section in ENTITY_SECTIONS:
        before = by_name(getattr(previous, section), lambda e: e.name)
        after = by_name(getattr(declared, section), lambda e: e.name)
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        _scope_names(scope, section).update(changed)
    before_permissions = {(p.mailbox.lower(), p.grantee.lower()): p for p in previous.mailbox_permissions}
    after_permissions = {(p.mailbox.lower(), p.grantee.lower()): p for p in declared.mailbox_permissions}
    for key in set(before_permissions) | set(after_permissions):
        if before_permissions.get(key) != after_permissions.get(key):
            mailbox = key[0]
            section = _section_of(declared, mailbox) or _section_of(previous, mailbox) or "users"
            _scope_names(scope, section).add(mailbox)
            scope.mailbox_permissions.add(mailbox)
    for section in (
        "access_control_rules", "retention_policy", "mobile_device_access_rules", "mobile_device_access_overrides",
        "impersonation_roles", "email_monitoring", "availability_configurations",
    ):
        if getattr(previous, section) != getattr(declared, section):
            scope.sections.add(section)
    if previous.inbound_dmarc_enforced != declared.inbound_dmarc_enforced:
        scope.sections.add("inbound_dmarc")
    return scope


def declared_scope(previous: WorkMailSpec | None, declared: WorkMailSpec) -> ReadScope:
    """What to read for a plan that compares only the objects the specs name (``plan``
    without ``--refresh``): the organization, its domains, the users, groups and resources
    either spec declares with their mailbox permissions, and the policy sections. Objects
    neither names (made in the console) are not read, so they are neither drift nor
    deletions; a full read finds them."""
    scope = ReadScope(organization=True, quotas=compared_quotas(declared), sections={
        "domains", "access_control_rules", "retention_policy", "mobile_device_access_rules",
        "mobile_device_access_overrides", "impersonation_roles", "inbound_dmarc", "email_monitoring",
        "availability_configurations",
    })
    for spec in (previous, declared):
        if spec is None:
            continue
        for section in ENTITY_SECTIONS:
            names = {e.name for e in getattr(spec, section)}
            _scope_names(scope, section).update(names)
            scope.mailbox_permissions.update(names)
    return scope


def compared_quotas(declared: WorkMailSpec) -> set[str]:
    """The users whose mailbox quota a plan compares: those that declare one."""
    return {u.name.lower() for u in declared.users if u.mailbox_quota_mb is not None}


def _scope_names(scope: ReadScope, section: str) -> set[str]:
    names: set[str] = getattr(scope, section)
    return names


def _section_of(spec: WorkMailSpec, name: str) -> str | None:
    for section in ENTITY_SECTIONS:
        if any(e.name.lower() == name for e in getattr(spec, section)):
            return section
    return None
